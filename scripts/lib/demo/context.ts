/**
 * What every demo step shares: the chain (ethers + typechain, the operator as the node's unlocked
 * account #0), the relayer (SDK clients), each currency's token, escrow and EIP-712 domain, and the
 * chain's clock.
 *
 * The operator's transactions go through the node's eth_sendTransaction without a nonce: the node
 * assigns it on arrival. The relayer signs with the same account by default and keeps its own
 * nonce counter, which resyncs when a nonce was taken outside it; every step here waits for the
 * relayer's transaction to be mined before the operator sends, so the two never race.
 */
import path from "node:path";
import { JsonRpcProvider, type JsonRpcSigner, type TransactionReceipt } from "ethers";
import { readDeployment, type DeploymentRecord } from "../../../src/chain/deployments";
import { RelayerClient, type Address, type EscrowDomain, type Hex } from "../../../src/sdk";
import {
  MerchantRegistry__factory,
  PaymentEscrow__factory,
  SettlementToken__factory,
  type MerchantRegistry,
  type PaymentEscrow,
  type SettlementToken,
} from "../../../typechain-types";
import { jsonRpc } from "../../../src/localnet/rpc";
import { formatToken } from "./format";

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

/** One currency the demo pays in: its token, its escrow and the domain its payments are signed under. */
export interface DemoCurrency {
  /** USD, EUR: the code the relayer's API names it by. */
  code: string;
  symbol: string;
  decimals: number;
  tokenName: string;
  token: SettlementToken;
  escrow: PaymentEscrow;
  /** As the relayer hands it out (GET /v1/currencies), checked against the deployment record. */
  domain: EscrowDomain;
  /** An amount of it for people: "12.50 spEUR". */
  format(amount: bigint): string;
}

export interface DemoContext {
  endpoints: DemoEndpoints;
  record: DeploymentRecord;
  provider: JsonRpcProvider;
  operator: JsonRpcSigner;
  registry: MerchantRegistry;
  /** The currencies the demo pays in, in the deployment's order (its default first). */
  currencies: DemoCurrency[];
  chainId: bigint;
  /** No credentials: what a customer's app uses. */
  customerApi: RelayerClient;
  /** The operator's admin token: issues merchant API keys. */
  adminApi: RelayerClient;
  log: (line: string) => void;
  signal?: AbortSignal;
}

/** The demo pays in every currency the relayer serves (GET /v1/currencies), in the deployment's order. */
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
  const customerApi = new RelayerClient({ baseUrl: endpoints.relayerUrl });
  const chainId = BigInt(record.chainId);
  // The domains a customer's app would use: the relayer's, which must be the deployment's escrows.
  const offered = await customerApi.getCurrencies();
  const wanted = offered.filter((o) => o.served).map((o) => o.code);
  if (wanted.length === 0) throw new Error("the relayer serves no currency");
  const currencies = await Promise.all(
    record.currencies
      .filter((c) => wanted.includes(c.code))
      .map(async (c): Promise<DemoCurrency> => {
        const listed = offered.find((o) => o.code === c.code);
        if (!listed || listed.escrow.toLowerCase() !== c.escrow.address.toLowerCase() || listed.chainId !== chainId) {
          throw new Error(
            `the relayer lists ${c.code} ${listed ? `with escrow ${listed.escrow} on chain ${listed.chainId}` : "not at all"}, ` +
              `the deployment record with escrow ${c.escrow.address} on chain ${chainId}`,
          );
        }
        const token = SettlementToken__factory.connect(c.token.address, operator);
        return {
          code: c.code,
          symbol: c.symbol,
          decimals: c.decimals,
          tokenName: await token.name(),
          token,
          escrow: PaymentEscrow__factory.connect(c.escrow.address, operator),
          domain: listed.domain,
          format: (amount) => formatToken(amount, c.symbol, c.decimals),
        };
      }),
  );
  return {
    endpoints,
    record,
    provider,
    operator,
    registry: MerchantRegistry__factory.connect(record.contracts.MerchantRegistry.address, operator),
    currencies,
    chainId,
    customerApi,
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
