/**
 * What every demo step shares: the chain (ethers + typechain, the operator as the node's unlocked
 * account #0), the relayer (SDK clients), the escrow's EIP-712 domain and the chain's clock.
 *
 * The operator's transactions go through the node's eth_sendTransaction without a nonce: the node
 * assigns it on arrival. The relayer signs with the same account by default and keeps its own
 * nonce counter, which resyncs when a nonce was taken outside it; every step here waits for the
 * relayer's transaction to be mined before the operator sends, so the two never race.
 */
import path from "node:path";
import { JsonRpcProvider, type JsonRpcSigner, type TransactionReceipt } from "ethers";
import { defaultCurrency, readDeployment, type DeploymentRecord } from "../../../src/chain/deployments";
import { RelayerClient, escrowDomain, type Address, type EscrowDomain, type Hex } from "../../../src/sdk";
import {
  MerchantRegistry__factory,
  PaymentEscrow__factory,
  SettlementToken__factory,
  type MerchantRegistry,
  type PaymentEscrow,
  type SettlementToken,
} from "../../../typechain-types";
import { jsonRpc } from "../../../src/localnet/rpc";

/** A relayed transaction is mined within a second on the local chain; this is the outer bound. */
export const RECEIPT_TIMEOUT_MS = 60_000;
const RECEIPT_POLL_MS = 250;
/** Signed actions (confirm, dispute, refund, deposit) stay valid this long past the chain's now. */
export const SIGNATURE_VALIDITY_SECONDS = 3_600n;

export interface DemoEndpoints {
  rpcUrl: string;
  relayerUrl: string;
  deploymentsFile: string;
  adminToken: string;
  /** demo.json is written here. */
  dataDir: string;
}

export interface DemoContext {
  endpoints: DemoEndpoints;
  record: DeploymentRecord;
  provider: JsonRpcProvider;
  operator: JsonRpcSigner;
  token: SettlementToken;
  registry: MerchantRegistry;
  escrow: PaymentEscrow;
  symbol: string;
  tokenName: string;
  chainId: bigint;
  domain: EscrowDomain;
  /** No credentials: what a customer's app uses. */
  customerApi: RelayerClient;
  /** The operator's admin token: issues merchant API keys. */
  adminApi: RelayerClient;
  log: (line: string) => void;
  signal?: AbortSignal;
}

export async function createContext(
  endpoints: DemoEndpoints,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<DemoContext> {
  const record = readDeployment(
    path.basename(endpoints.deploymentsFile, ".json"),
    path.dirname(endpoints.deploymentsFile),
  );
  const provider = new JsonRpcProvider(endpoints.rpcUrl, record.chainId, { staticNetwork: true });
  const operator = await provider.getSigner(record.deployer);
  // The demo pays in the deployment's first currency.
  const currency = defaultCurrency(record);
  const token = SettlementToken__factory.connect(currency.token.address, operator);
  const [symbol, tokenName] = await Promise.all([token.symbol(), token.name()]);
  const chainId = BigInt(record.chainId);
  return {
    endpoints,
    record,
    provider,
    operator,
    token,
    registry: MerchantRegistry__factory.connect(record.contracts.MerchantRegistry.address, operator),
    escrow: PaymentEscrow__factory.connect(currency.escrow.address, operator),
    symbol,
    tokenName,
    chainId,
    domain: escrowDomain(chainId, currency.escrow.address as Address),
    customerApi: new RelayerClient({ baseUrl: endpoints.relayerUrl }),
    adminApi: new RelayerClient({ baseUrl: endpoints.relayerUrl, adminToken: endpoints.adminToken }),
    log,
    signal,
  };
}

/** Unix seconds of the latest block: the escrow's clock (ahead of the wall clock after evm_increaseTime). */
export async function chainNow(ctx: DemoContext): Promise<bigint> {
  const block = await ctx.provider.getBlock("latest");
  if (!block) throw new Error("the chain has no latest block");
  return BigInt(block.timestamp);
}

/**
 * A deadline both clocks accept: the relayer checks windows against the wall clock, the escrow
 * against block time, and block time runs ahead of the wall once the demo has moved it.
 */
export async function deadlineFromNow(ctx: DemoContext): Promise<bigint> {
  const wall = BigInt(Math.floor(Date.now() / 1000));
  const chain = await chainNow(ctx);
  return (chain > wall ? chain : wall) + SIGNATURE_VALIDITY_SECONDS;
}

/**
 * Polls for the receipt. Not ethers' waitForTransaction: it listens for new blocks from the first
 * block number it polls, so a transaction mined just before that poll is never seen when no
 * later block comes, and on an automining chain with nothing else to do none comes.
 */
export async function receipt(ctx: DemoContext, txHash: string): Promise<TransactionReceipt> {
  const deadline = Date.now() + RECEIPT_TIMEOUT_MS;
  for (;;) {
    checkAborted(ctx);
    const mined = await ctx.provider.getTransactionReceipt(txHash);
    if (mined) {
      if (mined.status !== 1) throw new Error(`transaction ${txHash} reverted`);
      return mined;
    }
    if (Date.now() > deadline)
      throw new Error(`transaction ${txHash} was not mined within ${RECEIPT_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, RECEIPT_POLL_MS));
  }
}

/** Moves the local chain's clock forward and mines a block at the new time (Hardhat only). */
export async function increaseTime(ctx: DemoContext, seconds: bigint): Promise<void> {
  await jsonRpc(ctx.endpoints.rpcUrl, "evm_increaseTime", [Number(seconds)]);
  await jsonRpc(ctx.endpoints.rpcUrl, "evm_mine", []);
}

export function checkAborted(ctx: DemoContext): void {
  if (ctx.signal?.aborted) throw new Error("demo aborted");
}

export type { Address, Hex };
