/**
 * A local chain with StablePay deployed, for the crash, fault and benchmark runs: `hardhat node`
 * (or anvil, `node: "anvil"`) as a child, the deploy script as a child, and what the runs do on it
 * (fund keys and customers, register merchants, sign payments fast, move time). Nothing here loads
 * the Hardhat runtime.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider, Network, Wallet, ZeroHash, id as keccakId, type TransactionRequest } from "ethers";
import secp256k1 from "secp256k1";
import {
  MerchantRegistry__factory,
  PaymentEscrow__factory,
  SettlementToken__factory,
  type MerchantRegistry,
  type PaymentEscrow,
  type SettlementToken,
} from "../../typechain-types";
import { RECEIVE_WITH_AUTHORIZATION_TYPES } from "../protocol/eip3009";
import { LOCAL_DEV_SIGNER_KEY } from "../relayer/config";
import {
  bytesToHex as toHex,
  EscrowDigester,
  escrowDomain,
  ethersTypes,
  tokenDomain,
  type Address,
  type Hex,
  type Payment,
} from "../protocol";
import { depositNonce } from "../sdk/eip3009";
import { oneOffPaymentBody, paymentBody } from "../sdk/wire";
import { signOneOffPayment, type SignedOneOffPayment as SdkSignedOneOffPayment } from "../sdk/sign";
import { fromEthersSigner } from "../sdk/signers";
import { setIntervalMining } from "./anvil";
import { deployInChild } from "./deploy";
import { defaultCurrency, type DeploymentRecord } from "../chain/deployments";
import { startNode, type LocalNode, type NodeKind } from "./node";
import { freePort, jsonRpc } from "./rpc";

/** The funding runs send hundreds of transactions a call; a loaded node answers them slowly. */
const RPC_TIMEOUT_MS = 300_000;

export interface Merchant {
  id: bigint;
  owner: Wallet;
  payout: Address;
  /** The hold bounds it registered: each payment to it names a hold within them. */
  minHold: number;
  maxHold: number;
}

/** A merchant's hold bounds: one number registers minHold = maxHold (every payment then asks that hold). */
export type HoldBounds = number | { minHold: number; maxHold: number };

export interface SignedPayment {
  id: Hex;
  payment: Payment;
  signature: Hex;
  /** The body POST /v1/payments takes. */
  body: ReturnType<typeof paymentBody>;
}

export interface SignedOneOffPayment extends SdkSignedOneOffPayment {
  body: ReturnType<typeof oneOffPaymentBody>;
}

export interface LocalChain {
  node: LocalNode;
  /** Which node runs the chain ("hardhat" or "anvil"). */
  kind: NodeKind;
  /** Anvil's interval in seconds once the chain is set up; null: a block per transaction. */
  blockTime: number | null;
  url: string;
  dir: string;
  deploymentsFile: string;
  chainId: bigint;
  provider: JsonRpcProvider;
  deployer: Wallet;
  token: SettlementToken;
  registry: MerchantRegistry;
  escrow: PaymentEscrow;
  escrowAddress: Address;
  deployBlock: number;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  mine(blocks?: number): Promise<void>;
  /** On: a block per transaction; off: blocks only when mined. {@link restoreMining} undoes either. */
  setAutomine(on: boolean): Promise<void>;
  /** Back to how the chain mined after set-up: anvil's interval when it has one, else automine. */
  restoreMining(): Promise<void>;
  /** Moves the chain's clock forward and mines a block at the new time. */
  increaseTime(seconds: number): Promise<void>;
  chainTime(): Promise<bigint>;
  /** A funded fresh key (100 ETH), e.g. the relayer's signer. */
  fundedKey(): Promise<Wallet>;
  registerMerchant(holds: HoldBounds, feeBps?: number): Promise<Merchant>;
  /**
   * `count` fresh customers holding `amount` each in the escrow: minted and deposited by gasless
   * EIP-3009 authorizations the deployer submits, all in a few blocks.
   */
  fundCustomers(count: number, amount: bigint): Promise<Wallet[]>;
  /** Signs with libsecp256k1 (fast enough to pre-sign tens of thousands). */
  signPayment(payer: Wallet, payment: Omit<Payment, "payer">): SignedPayment;
  /** `count` fresh one-off payers holding `amount` each in their wallets (minted), nothing in the escrow. */
  fundWallets(count: number, amount: bigint): Promise<Wallet[]>;
  /**
   * A one-off payment of `payer` (nonce ONE_OFF_NONCE) and its EIP-3009 authorization bound to it,
   * signed with the SDK; `body` is what POST /v1/payments/one-off takes.
   */
  signOneOffPayment(payer: Wallet, payment: Omit<Payment, "payer" | "nonce">): Promise<SignedOneOffPayment>;
  stop(): Promise<void>;
}

const HUNDRED_ETH = "0x56BC75E2D63100000";
const MINTER_ALLOWANCE = 10n ** 30n;
/** Funding transactions per block: each is given at most 250,000 gas, under a 30,000,000-gas block. */
const FUNDING_CHUNK = 100;

export interface LocalChainOptions {
  timeoutMs?: number;
  /** Default "hardhat" (what `npm start` runs). */
  node?: NodeKind;
  /**
   * Anvil only: whole seconds between blocks once deployed and the deployer is a minter (deploying
   * and funding mine a block per transaction, which is faster). Default: a block per transaction.
   */
  blockTime?: number;
  /** Anvil only: blocks per epoch (`finalized` lags the head by two epochs). */
  slotsInAnEpoch?: number;
}

/**
 * Starts `hardhat node` (or anvil) on a free loopback port and deploys StablePay to it with the
 * deploy script (a child: nothing here loads the Hardhat runtime).
 */
export async function startLocalChain(options: LocalChainOptions = {}): Promise<LocalChain> {
  const kind = options.node ?? "hardhat";
  if (kind !== "anvil" && options.blockTime !== undefined) throw new Error("blockTime needs node: anvil");
  const node = await startNode({
    kind,
    port: await freePort(),
    timeoutMs: options.timeoutMs ?? 90_000,
    slotsInAnEpoch: options.slotsInAnEpoch,
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stablepay-relayer-"));
  try {
    await deployInChild({ rpcUrl: node.url, deploymentsDir: dir });
    return await connectLocalChain(node, dir, options.blockTime ?? null);
  } catch (error) {
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function connectLocalChain(node: LocalNode, dir: string, blockTime: number | null): Promise<LocalChain> {
  const deploymentsFile = path.join(dir, "localhost.json");
  const record = JSON.parse(fs.readFileSync(deploymentsFile, "utf8")) as DeploymentRecord;
  const currency = defaultCurrency(record);
  const chainId = BigInt(record.chainId);
  const provider = new JsonRpcProvider(node.url, Network.from(chainId), { staticNetwork: true, cacheTimeout: -1 });
  // ethers polls for receipts every 4 s by default: far too slow beside anvil's interval mining.
  if (blockTime !== null) provider.pollingInterval = 100;
  const deployer = new Wallet(LOCAL_DEV_SIGNER_KEY, provider);
  const escrowAddress = currency.escrow.address as Address;
  const token = SettlementToken__factory.connect(currency.token.address, deployer);
  const registry = MerchantRegistry__factory.connect(record.contracts.MerchantRegistry.address, deployer);
  const escrow = PaymentEscrow__factory.connect(escrowAddress, deployer);
  const rpc = <T = unknown>(method: string, params: unknown[] = []) =>
    jsonRpc<T>(node.url, method, params, RPC_TIMEOUT_MS);
  const digester = new EscrowDigester(chainId, escrowAddress.toLowerCase() as Hex);
  const tokenName = await token.name();
  let deployerNonce = await provider.getTransactionCount(deployer.address, "pending");

  // The deployer is master minter (deploy.ts default); it mints for the tests' customers itself.
  await (await token.configureMinter(deployer.address, MINTER_ALLOWANCE, { nonce: deployerNonce++ })).wait();
  const restoreMining = async () => {
    if (blockTime !== null && blockTime > 0) await setIntervalMining(node.url, blockTime);
    else await rpc("evm_setAutomine", [true]);
  };
  await restoreMining();

  /**
   * Sends the deployer's transactions with explicit nonces while the node holds them, mining each
   * chunk before the next: a chunk stays within one block's gas, since anvil drops (where hardhat
   * keeps) the pooled transactions that did not fit into the block it mines.
   */
  async function sendAll(requests: TransactionRequest[]): Promise<void> {
    const fees = await provider.getFeeData();
    await rpc("evm_setAutomine", [false]);
    try {
      const hashes: string[] = [];
      for (let i = 0; i < requests.length; i += FUNDING_CHUNK) {
        const chunk = requests.slice(i, i + FUNDING_CHUNK);
        const raws = await Promise.all(
          chunk.map((request) =>
            deployer.signTransaction({
              ...request,
              chainId,
              nonce: deployerNonce++,
              type: 2,
              // Far above today's base fee: the full blocks of a large funding raise it 12.5 % each.
              maxFeePerGas: (fees.maxFeePerGas ?? 10n ** 10n) * 1_000n,
              maxPriorityFeePerGas: fees.maxPriorityFeePerGas ?? 10n ** 9n,
            }),
          ),
        );
        hashes.push(...(await Promise.all(raws.map((raw) => rpc<string>("eth_sendRawTransaction", [raw])))));
        for (let blocks = 0; ; blocks++) {
          const mined = await provider.getTransactionCount(deployer.address, "latest");
          if (mined >= deployerNonce) break;
          if (blocks > 100) throw new Error(`funding transactions were not mined (nonce ${mined} of ${deployerNonce})`);
          await rpc("hardhat_mine", ["0x1"]);
        }
      }
      const failed = await Promise.all(
        hashes.map(async (hash) => (await provider.getTransactionReceipt(hash))?.status),
      );
      if (failed.some((status) => status !== 1)) throw new Error("a funding transaction reverted");
    } finally {
      await restoreMining();
    }
  }

  const chain: LocalChain = {
    node,
    kind: node.kind,
    blockTime,
    url: node.url,
    dir,
    deploymentsFile,
    chainId,
    provider,
    deployer,
    token,
    registry,
    escrow,
    escrowAddress,
    deployBlock: Number(record.blockNumber),
    rpc,
    async mine(blocks = 1) {
      await rpc("hardhat_mine", [`0x${blocks.toString(16)}`]);
    },
    async setAutomine(on) {
      await rpc("evm_setAutomine", [on]);
    },
    restoreMining,
    async increaseTime(seconds) {
      await rpc("evm_increaseTime", [seconds]);
      await rpc("hardhat_mine", ["0x1"]);
    },
    async chainTime() {
      return BigInt((await provider.getBlock("latest"))!.timestamp);
    },
    async fundedKey() {
      const wallet = new Wallet(Wallet.createRandom().privateKey, provider);
      await rpc("hardhat_setBalance", [wallet.address, HUNDRED_ETH]);
      return wallet;
    },
    async registerMerchant(holds, feeBps = 100) {
      const { minHold, maxHold } = typeof holds === "number" ? { minHold: holds, maxHold: holds } : holds;
      const owner = new Wallet(Wallet.createRandom().privateKey, provider);
      const payout = Wallet.createRandom().address as Address;
      const tx = await registry.registerMerchant(owner.address, payout, feeBps, minHold, maxHold, ZeroHash, {
        nonce: deployerNonce++,
      });
      await tx.wait();
      return { id: await registry.merchantCount(), owner, payout, minHold, maxHold };
    },
    async fundCustomers(count, amount) {
      const customers = Array.from({ length: count }, () => new Wallet(Wallet.createRandom().privateKey, provider));
      const domain = { name: tokenName, version: "2", chainId, verifyingContract: await token.getAddress() };
      const types = ethersTypes(RECEIVE_WITH_AUTHORIZATION_TYPES);
      const requests: TransactionRequest[] = [];
      const tokenAddress = await token.getAddress();
      for (const customer of customers) {
        // The escrow takes a salt and checks the authorization's nonce is the deposit nonce of it.
        const salt = keccakId(`deposit:${customer.address}`);
        const auth = {
          from: customer.address,
          to: escrowAddress,
          value: amount,
          validAfter: 0n,
          validBefore: 2n ** 40n,
          nonce: depositNonce(customer.address as Address, amount, salt as Address),
        };
        const signature = await customer.signTypedData(domain, types, auth);
        requests.push({
          to: tokenAddress,
          data: token.interface.encodeFunctionData("mint", [customer.address, amount]),
          gasLimit: 150_000n,
        });
        requests.push({
          to: escrowAddress,
          data: escrow.interface.encodeFunctionData("depositWithAuthorization", [
            customer.address,
            amount,
            auth.validAfter,
            auth.validBefore,
            salt,
            signature,
          ]),
          gasLimit: 250_000n,
        });
      }
      await sendAll(requests);
      return customers;
    },
    async fundWallets(count, amount) {
      const wallets = Array.from({ length: count }, () => new Wallet(Wallet.createRandom().privateKey, provider));
      const tokenAddress = await token.getAddress();
      await sendAll(
        wallets.map((wallet) => ({
          to: tokenAddress,
          data: token.interface.encodeFunctionData("mint", [wallet.address, amount]),
          gasLimit: 150_000n,
        })),
      );
      return wallets;
    },
    async signOneOffPayment(payer, fields) {
      const signed = await signOneOffPayment(fromEthersSigner(payer), {
        domain: escrowDomain(chainId, escrowAddress),
        tokenDomain: tokenDomain({ name: tokenName, chainId, token: (await token.getAddress()) as Address }),
        payment: { ...fields, payer: payer.address.toLowerCase() as Address },
      });
      return { ...signed, body: oneOffPaymentBody(signed) };
    },
    signPayment(payer, fields) {
      const payment: Payment = { ...fields, payer: payer.address.toLowerCase() as Address };
      const digest = digester.payment(payment);
      const { signature, recid } = secp256k1.ecdsaSign(digest, Buffer.from(payer.privateKey.slice(2), "hex"));
      const sig = `${toHex(signature)}${(27 + recid).toString(16)}` as Hex;
      return {
        id: toHex(digest),
        payment,
        signature: sig,
        body: paymentBody({ payment, signature: sig }),
      };
    },
    async stop() {
      provider.destroy();
      await node.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return chain;
}

/** A fresh order reference (bytes32) from a label. */
export const orderRef = (label: string): Hex => keccakId(label) as Hex;
