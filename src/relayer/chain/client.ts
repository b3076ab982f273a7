/**
 * The relayer's chain client: the deployment's addresses, typechain bindings, the one signer key,
 * and every RPC call wrapped in retry-with-backoff of transient failures. Its provider is
 * ./provider.ts, whose HTTP transport is ./transport.ts.
 */
import path from "node:path";
import { ZeroAddress, toQuantity, type Block, type JsonRpcProvider } from "ethers";
import { readDeployment } from "../../chain/deployments";
import type { UnsignedTx } from "./signingThread";
import { LocalKeySigner } from "./signers/local";
import type { TxSigner } from "./signers/types";
import type { Hex } from "../domain";
import { silentLogger, type Logger } from "../runtime/log";
import {
  MerchantRegistry__factory,
  PaymentEscrow__factory,
  SettlementToken__factory,
  type MerchantRegistry,
  type PaymentEscrow,
  type SettlementToken,
} from "../../../typechain-types";
import { jsonRpcProvider } from "./provider";
import { classifyRpcError, withRetry, type RetryOptions } from "./rpcErrors";
import {
  toRawLogs,
  toRawReceipt,
  type JsonRpcLog,
  type JsonRpcReceipt,
  type RawLog,
  type RawReceipt,
} from "./rawTypes";

/** One currency of the deployment: its token and the escrow that holds it (docs/CURRENCIES.md). */
export interface CurrencyAddresses {
  /** "USD", "EUR" (the record's code). */
  code: string;
  /** The token's own symbol (spUSD, USDC). */
  symbol: string;
  decimals: number;
  token: string;
  escrow: string;
  /** The escrow's deploy block: the first that can hold its events. */
  startBlock: bigint;
  /** The token's deploy block when the deployment created the token; absent for an external one. */
  tokenStartBlock?: bigint;
  /** An existing token (USDC) rather than one the deployment created. */
  external: boolean;
}

export interface ChainAddresses {
  chainId: bigint;
  /** The default currency's escrow (currencies[0]'s): what the single-currency parts serve. */
  escrow: string;
  registry: string;
  /** The default currency's token. */
  token: string;
  /** First block that can hold escrow events (the default escrow's deploy block); the watcher starts here. */
  startBlock: bigint;
  /**
   * The default token's deploy block when the deployment created the token: its blocklist events
   * from there are its whole blocklist (./blocklistBook.ts). Absent for an external token (USDC).
   */
  tokenStartBlock?: bigint;
  /** Every currency, in the record's order: the first is the default. */
  currencies: CurrencyAddresses[];
}

/** Reads deployments/<network>.json (validated by src/chain/deployments.ts). */
export function loadDeploymentAddresses(file: string): ChainAddresses {
  const network = path.basename(file, ".json");
  const record = readDeployment(network, path.dirname(file));
  const currencies = record.currencies.map(({ code, symbol, decimals, token, escrow }): CurrencyAddresses => ({
    code,
    symbol,
    decimals,
    token: token.address,
    escrow: escrow.address,
    startBlock: BigInt(escrow.blockNumber ?? record.blockNumber),
    ...(token.external !== true && token.blockNumber !== null ? { tokenStartBlock: BigInt(token.blockNumber) } : {}),
    external: token.external === true,
  }));
  const { escrow, token, startBlock, tokenStartBlock } = currencies[0];
  return {
    chainId: BigInt(record.chainId),
    escrow,
    registry: record.contracts.MerchantRegistry.address,
    token,
    startBlock,
    ...(tokenStartBlock !== undefined ? { tokenStartBlock } : {}),
    currencies,
  };
}

/** A currency code the deployment does not have. */
export class UnknownCurrencyError extends Error {
  readonly code = "unknown_currency";

  constructor(
    readonly currency: string,
    /** The codes the deployment has, in its order. */
    readonly known: readonly string[],
  ) {
    super(`no currency "${currency}" in the deployment: it has ${known.join(", ")}`);
    this.name = "UnknownCurrencyError";
  }
}

/** One currency's addresses and typechain bindings (on the client's provider). */
export interface CurrencyBinding {
  addresses: CurrencyAddresses;
  escrow: PaymentEscrow;
  token: SettlementToken;
}

/** What happened to a broadcast; everything but `sent` is a node's answer that needs no retry. */
export type BroadcastOutcome =
  "sent" | "already_known" | "nonce_too_low" | "replacement_underpriced" | "nonce_too_high";

export interface ChainClientOptions {
  provider: JsonRpcProvider;
  addresses: ChainAddresses;
  /** The key this client sends with: a private key (signed in this process), or any TxSigner. */
  signerKey?: Hex;
  /** Takes precedence over signerKey. Null: a read-only client (an `api` instance without a lane). */
  signer?: TxSigner | null;
  logger?: Logger;
  retry?: RetryOptions;
  /** Counted on every retried RPC failure (e.g. `metrics.failures.inc`). */
  onRpcRetry?: (label: string) => void;
}

export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** Fallback tip when the node offers none (pre-1559 nodes, some L2s). */
const DEFAULT_PRIORITY_FEE = 1_000_000_000n;

export class ChainClient {
  readonly provider: JsonRpcProvider;
  /** Signs the relayer's transactions (./signers); null for a read-only client. */
  readonly signer: TxSigner | null;
  /** The signer's address (the zero address for a read-only client). */
  readonly address: Hex;
  readonly addresses: ChainAddresses;
  readonly escrow: PaymentEscrow;
  readonly registry: MerchantRegistry;
  readonly token: SettlementToken;
  private readonly log: Logger;
  private readonly retry: RetryOptions;
  private readonly options: ChainClientOptions;
  /** Bound when first asked for, by code. */
  private readonly bindings = new Map<string, CurrencyBinding>();

  constructor(options: ChainClientOptions) {
    // The top-level addresses are one currency's: the default's (currencies[0]), or the one a
    // currency's client (forCurrency) serves. A client built from hand-made ones checks it.
    const served = options.addresses.currencies.find(
      (c) => c.escrow.toLowerCase() === options.addresses.escrow.toLowerCase(),
    );
    if (!served || served.token.toLowerCase() !== options.addresses.token.toLowerCase()) {
      throw new Error(
        "ChainAddresses: `escrow` and `token` must be one of `currencies`' (the default is currencies[0])",
      );
    }
    this.provider = options.provider;
    this.addresses = options.addresses;
    this.signer =
      options.signer !== undefined
        ? options.signer
        : options.signerKey !== undefined
          ? new LocalKeySigner(options.signerKey)
          : null;
    this.address = (this.signer?.address ?? ZeroAddress) as Hex;
    this.options = options;
    this.escrow = PaymentEscrow__factory.connect(options.addresses.escrow, this.provider);
    this.registry = MerchantRegistry__factory.connect(options.addresses.registry, this.provider);
    this.token = SettlementToken__factory.connect(options.addresses.token, this.provider);
    this.log = options.logger ?? silentLogger;
    this.retry = {
      ...options.retry,
      onRetry: (info) => {
        this.log.warn(
          { rpc: info.label, attempt: info.attempt, delayMs: info.delayMs, err: classifyRpcError(info.error) },
          "rpc call failed; retrying",
        );
        options.onRpcRetry?.(info.label);
        options.retry?.onRetry?.(info);
      },
    };
  }

  get chainId(): bigint {
    return this.addresses.chainId;
  }

  /** The currency `code`'s addresses and bindings; throws {@link UnknownCurrencyError} for a code the deployment lacks. */
  currency(code: string): CurrencyBinding {
    const bound = this.bindings.get(code);
    if (bound) return bound;
    const addresses = this.addresses.currencies.find((c) => c.code === code);
    if (!addresses) {
      const codes = this.addresses.currencies.map((c) => c.code);
      throw new UnknownCurrencyError(code, codes);
    }
    const binding = {
      addresses,
      escrow: PaymentEscrow__factory.connect(addresses.escrow, this.provider),
      token: SettlementToken__factory.connect(addresses.token, this.provider),
    };
    this.bindings.set(code, binding);
    return binding;
  }

  /**
   * A client whose top-level `escrow`, `token`, `startBlock` and `tokenStartBlock` are currency
   * `code`'s (the chain jobs of that currency read those), on the same provider and signer: closing
   * it closes only the signer, as `withSigner`'s. `currencies` stays the deployment's, default first.
   * Throws {@link UnknownCurrencyError} for a code the deployment lacks.
   */
  forCurrency(code: string): ChainClient {
    const { escrow, token, startBlock, tokenStartBlock } = this.currency(code).addresses;
    const { tokenStartBlock: _default, ...rest } = this.addresses;
    const addresses: ChainAddresses = {
      ...rest,
      escrow,
      token,
      startBlock,
      ...(tokenStartBlock !== undefined ? { tokenStartBlock } : {}),
    };
    return new ChainClient({ ...this.options, addresses, signerKey: undefined, signer: this.signer });
  }

  /** Runs one RPC-backed call with retries of transient failures. */
  rpc<T>(label: string, work: () => Promise<T>): Promise<T> {
    return withRetry(label, work, this.retry);
  }

  blockNumber(): Promise<bigint> {
    return this.rpc("eth_blockNumber", async () => BigInt(await this.provider.getBlockNumber()));
  }

  block(tag: bigint | "latest"): Promise<Block | null> {
    return this.rpc("eth_getBlockByNumber", () => this.provider.getBlock(tag === "latest" ? tag : Number(tag)));
  }

  /** Timestamp of the latest block: the chain's clock, which deadlines and holds are measured by. */
  async chainTime(): Promise<bigint> {
    const block = await this.block("latest");
    if (!block) throw new Error("node returned no latest block");
    return BigInt(block.timestamp);
  }

  /**
   * The escrow's logs in [fromBlock, toBlock], as the node sent them (see ./rawTypes.ts), not as
   * ethers' Log objects: the jobs read a few fields of hundreds of logs per page.
   */
  escrowLogs(fromBlock: bigint, toBlock: bigint, topics?: (string | string[] | null)[]): Promise<RawLog[]> {
    const filter = {
      address: this.addresses.escrow,
      fromBlock: toQuantity(fromBlock),
      toBlock: toQuantity(toBlock),
      ...(topics ? { topics } : {}),
    };
    return this.rpc("eth_getLogs", async () =>
      toRawLogs((await this.provider.send("eth_getLogs", [filter])) as JsonRpcLog[]),
    );
  }

  /** The token's logs in [fromBlock, toBlock] (e.g. its blocklist changes), as RawLogs. */
  tokenLogs(fromBlock: bigint, toBlock: bigint, topics: (string | string[] | null)[]): Promise<RawLog[]> {
    const filter = {
      address: this.addresses.token,
      fromBlock: toQuantity(fromBlock),
      toBlock: toQuantity(toBlock),
      topics,
    };
    return this.rpc("eth_getLogs", async () =>
      toRawLogs((await this.provider.send("eth_getLogs", [filter])) as JsonRpcLog[]),
    );
  }

  /** The receipt of a mined transaction (null when the node has none), as a RawReceipt. */
  receipt(hash: Hex): Promise<RawReceipt | null> {
    return this.rpc("eth_getTransactionReceipt", async () =>
      toRawReceipt((await this.provider.send("eth_getTransactionReceipt", [hash])) as JsonRpcReceipt | null),
    );
  }

  /**
   * Whether the node knows the transaction (mined or in its pool): its hash, or null. Not ethers'
   * TransactionResponse: a batch's large calldata would be parsed into one only to be dropped.
   */
  async transaction(hash: Hex): Promise<{ hash: Hex } | null> {
    const found = await this.rpc("eth_getTransactionByHash", () =>
      this.provider.send("eth_getTransactionByHash", [hash]),
    );
    return found ? { hash: (found as { hash: string }).hash.toLowerCase() as Hex } : null;
  }

  /** The signer's transaction count: mined ("latest") or including the node's mempool ("pending"). */
  nonceAt(tag: "latest" | "pending"): Promise<number> {
    return this.rpc("eth_getTransactionCount", () => this.provider.getTransactionCount(this.address, tag));
  }

  /** The signer's ETH balance (wei) at the latest block. */
  balance(): Promise<bigint> {
    return this.rpc("eth_getBalance", () => this.provider.getBalance(this.address, "latest"));
  }

  /** EIP-1559 fees the node suggests (base fee headroom plus tip). */
  async suggestedFees(): Promise<Fees> {
    const data = await this.rpc("fee_data", () => this.provider.getFeeData());
    const maxPriorityFeePerGas = data.maxPriorityFeePerGas ?? DEFAULT_PRIORITY_FEE;
    const maxFeePerGas = data.maxFeePerGas ?? (data.gasPrice ?? 0n) * 2n + maxPriorityFeePerGas;
    return { maxFeePerGas, maxPriorityFeePerGas };
  }

  estimateGas(to: string, data: string): Promise<bigint> {
    return this.rpc("eth_estimateGas", () => this.provider.estimateGas({ from: this.address, to, data }));
  }

  /** Signs an EIP-1559 transaction from the relayer key; returns the raw bytes and hash. */
  async sign(tx: {
    to: string;
    data: string;
    nonce: number;
    gasLimit: bigint;
    fees: Fees;
    value?: bigint;
  }): Promise<{ rawTx: Hex; txHash: Hex }> {
    const unsigned: UnsignedTx = {
      chainId: Number(this.chainId),
      to: tx.to as Hex,
      data: tx.data as Hex,
      value: tx.value ?? 0n,
      nonce: tx.nonce,
      gas: tx.gasLimit,
      maxFeePerGas: tx.fees.maxFeePerGas,
      maxPriorityFeePerGas: tx.fees.maxPriorityFeePerGas,
    };
    if (!this.signer) throw new Error("this chain client has no signer (read-only)");
    return this.signer.signTransaction(unsigned);
  }

  /**
   * A client for another signer (lane) on the same provider and addresses. It shares the provider:
   * closing it closes only its signer.
   */
  withSigner(signer: TxSigner): ChainClient {
    return new ChainClient({ ...this.options, signerKey: undefined, signer });
  }

  /** A local key signs on a thread of its own from now on (the relayer process; tests sign inline). */
  useSigningThread(): void {
    if (this.signer instanceof LocalKeySigner) this.signer.useThread();
  }

  /** Stops the signer's thread, if any. */
  async close(): Promise<void> {
    await this.signer?.close();
  }

  /**
   * Broadcasts a signed transaction. Re-sending the same bytes is idempotent, so transient
   * failures are retried; the node's nonce answers are returned, never retried.
   */
  async broadcast(rawTx: Hex): Promise<BroadcastOutcome> {
    try {
      await this.rpc("eth_sendRawTransaction", () => this.provider.send("eth_sendRawTransaction", [rawTx]));
      return "sent";
    } catch (error) {
      const kind = classifyRpcError(error);
      if (
        kind === "already_known" ||
        kind === "nonce_too_low" ||
        kind === "replacement_underpriced" ||
        kind === "nonce_too_high"
      ) {
        return kind;
      }
      throw error;
    }
  }
}

export interface ConnectOptions {
  rpcUrl: string;
  /** Deployment file, or the addresses themselves (tests, embedding). */
  deployment: string | ChainAddresses;
  signerKey?: Hex;
  signer?: TxSigner | null;
  logger?: Logger;
  retry?: RetryOptions;
  onRpcRetry?: (label: string) => void;
  /** Per-request timeout (default RPC_TIMEOUT_MS of ./provider.ts). */
  timeoutMs?: number;
}

/** Connects to the chain the deployment describes; checks the node serves that chain and every currency's escrow is there. */
export async function connectChain(options: ConnectOptions): Promise<ChainClient> {
  const addresses =
    typeof options.deployment === "string" ? loadDeploymentAddresses(options.deployment) : options.deployment;
  const provider = jsonRpcProvider(options.rpcUrl, addresses.chainId, options.timeoutMs);
  const client = new ChainClient({ ...options, provider, addresses });
  const served = await client.rpc("eth_chainId", async () => BigInt(await provider.send("eth_chainId", [])));
  const problem =
    served !== addresses.chainId
      ? `RPC ${options.rpcUrl} serves chain ${served}, the deployment is for chain ${addresses.chainId}`
      : await missingEscrow(client);
  if (problem) {
    provider.destroy();
    throw new Error(problem);
  }
  return client;
}

/** Names the first currency whose escrow has no code (a chain reset since the deployment); null when every one has. */
async function missingEscrow(client: ChainClient): Promise<string | null> {
  for (const { code, escrow } of client.addresses.currencies) {
    const found = await client.rpc("eth_getCode", () => client.provider.getCode(escrow));
    if (found === "0x") return `no code at the deployment's ${code} PaymentEscrow ${escrow} (chain reset?)`;
  }
  return null;
}
