/**
 * The relayer's connection to the chain: the deployment's addresses, typechain bindings, the one
 * signer key, and every RPC call wrapped in retry-with-backoff of transient failures.
 */
import http from "node:http";
import https from "node:https";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import {
  FetchRequest,
  JsonRpcProvider,
  Network,
  Wallet,
  assert,
  makeError,
  toQuantity,
  type Block,
  type FetchCancelSignal,
  type GetUrlResponse,
  type JsonRpcPayload,
  type JsonRpcResult,
} from "ethers";
import { readDeployment } from "../../chain/deployments";
import { SigningThread, privateKeyBytes, signEip1559, type UnsignedTx } from "./signingThread";
import type { Hex } from "../domain";
import type { Logger } from "../runtime/log";
import { silentLogger } from "../runtime/log";
import {
  MerchantRegistry__factory,
  PaymentEscrow__factory,
  SettlementToken__factory,
  type MerchantRegistry,
  type PaymentEscrow,
  type SettlementToken,
} from "../../../typechain-types";
import { classifyRpcError, withRetry, type RetryOptions } from "./rpcErrors";
import {
  toRawLogs,
  toRawReceipt,
  type JsonRpcLog,
  type JsonRpcReceipt,
  type RawLog,
  type RawReceipt,
} from "./rawTypes";

export type { RawLog, RawReceipt, RawReceiptLog } from "./rawTypes";

/** A stalled node must not hang a job: requests give up after this and count as transient. */
export const RPC_TIMEOUT_MS = 10_000;

export interface ChainAddresses {
  chainId: bigint;
  escrow: string;
  registry: string;
  token: string;
  /** First block that can hold escrow events (the deploy block); the watcher starts here. */
  startBlock: bigint;
}

/** Reads deployments/<network>.json (validated by src/chain/deployments.ts). */
export function loadDeploymentAddresses(file: string): ChainAddresses {
  const network = path.basename(file, ".json");
  const record = readDeployment(network, path.dirname(file));
  return {
    chainId: BigInt(record.chainId),
    escrow: record.contracts.PaymentEscrow.address,
    registry: record.contracts.MerchantRegistry.address,
    token: record.contracts.SettlementToken.address,
    startBlock: BigInt(record.contracts.PaymentEscrow.blockNumber ?? record.blockNumber),
  };
}

/** What happened to a broadcast; everything but `sent` is a node's answer that needs no retry. */
export type BroadcastOutcome =
  "sent" | "already_known" | "nonce_too_low" | "replacement_underpriced" | "nonce_too_high";

export interface ChainClientOptions {
  provider: JsonRpcProvider;
  addresses: ChainAddresses;
  signerKey: Hex;
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
  readonly signer: Wallet;
  /** The same key's bytes: signs the relayer's transactions (./signingThread.ts). */
  private readonly keyBytes: Uint8Array;
  private readonly key: Hex;
  private signingThread: SigningThread | null = null;
  readonly address: Hex;
  readonly addresses: ChainAddresses;
  readonly escrow: PaymentEscrow;
  readonly registry: MerchantRegistry;
  readonly token: SettlementToken;
  private readonly log: Logger;
  private readonly retry: RetryOptions;

  constructor(options: ChainClientOptions) {
    this.provider = options.provider;
    this.addresses = options.addresses;
    this.signer = new Wallet(options.signerKey, this.provider);
    this.keyBytes = privateKeyBytes(options.signerKey);
    this.key = options.signerKey;
    this.address = this.signer.address as Hex;
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
   * TransactionResponse: a batch's 330 KB of calldata would be parsed into one only to be dropped.
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
    return this.signingThread ? this.signingThread.sign(unsigned) : signEip1559(this.keyBytes, unsigned);
  }

  /** Signs on a thread of its own from now on (the relayer process; tests sign inline). */
  useSigningThread(): void {
    this.signingThread ??= new SigningThread(this.key);
  }

  /** Stops the signing thread, if any. */
  async close(): Promise<void> {
    await this.signingThread?.close();
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
  signerKey: Hex;
  logger?: Logger;
  retry?: RetryOptions;
  onRpcRetry?: (label: string) => void;
  /** Per-request timeout (default RPC_TIMEOUT_MS). */
  timeoutMs?: number;
}

/**
 * Keep-alive connections to the node, as Node's global agent keeps them (same settings), but the
 * relayer's own: nothing else in the process changes or shares them.
 */
const AGENTS = {
  http: new http.Agent({ keepAlive: true, scheduling: "lifo", timeout: 5_000 }),
  https: new https.Agent({ keepAlive: true, scheduling: "lifo", timeout: 5_000 }),
};

/**
 * ethers' Node transport (ethers/lib.commonjs/utils/geturl.js) except for how the response body is
 * collected: ethers copies the whole body into a new Uint8Array on every chunk, quadratic in the
 * body's size (receipts of 400-payment batches and log pages are 200 KB to several MB, in 64 KB
 * chunks). Here the chunks are kept and concatenated once.
 *
 * Same contract otherwise: the answer is `{statusCode, statusMessage, headers, body}` whatever the
 * status (ethers' FetchResponse turns 4xx/5xx into its SERVER_ERROR), gzip bodies are inflated,
 * connection failures reject with Node's own errors (ECONNRESET, ECONNREFUSED, ...), a cancelled
 * request with ethers' CANCELLED and an overdue one with ethers' TIMEOUT error ("request timeout").
 * Unlike ethers' (an idle-socket timeout that leaves the socket open), `req.timeout` bounds the
 * whole exchange and a request that runs out of it is destroyed, so a stalled node does not pile
 * up open connections while the jobs retry.
 */
export function nodeGetUrl(req: FetchRequest, signal?: FetchCancelSignal): Promise<GetUrlResponse> {
  assert(signal == null || !signal.cancelled, "request cancelled before sending", "CANCELLED");
  const protocol = req.url.split(":")[0].toLowerCase();
  assert(protocol === "http" || protocol === "https", `unsupported protocol ${protocol}`, "UNSUPPORTED_OPERATION", {
    info: { protocol },
    operation: "request",
  });
  assert(
    protocol === "https" || !req.credentials || req.allowInsecureAuthentication,
    "insecure authorized connections unsupported",
    "UNSUPPORTED_OPERATION",
    { operation: "request" },
  );
  return new Promise<GetUrlResponse>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const fail = (error: unknown) => settle(() => reject(error));

    const request = (protocol === "http" ? http : https).request(req.url, {
      method: req.method,
      headers: req.headers,
      agent: AGENTS[protocol],
    });
    const abort = (error: Error) => {
      if (settled) return;
      fail(error);
      request.destroy();
    };
    // 0 is "no timeout", as for ethers' transport (socket.setTimeout(0)).
    if (req.timeout > 0) timer = setTimeout(() => abort(makeError("request timeout", "TIMEOUT")), req.timeout);
    signal?.addListener(() => abort(makeError("request cancelled", "CANCELLED")));
    request.on("error", fail);
    request.once("response", (resp) => {
      const statusCode = resp.statusCode ?? 0;
      const statusMessage = resp.statusMessage ?? "";
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(resp.headers)) {
        headers[name] = Array.isArray(value) ? value.join(", ") : (value ?? "");
      }
      const chunks: Buffer[] = [];
      let length = 0;
      resp.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        length += chunk.length;
      });
      resp.on("end", () => {
        let body: Uint8Array | null = chunks.length === 0 ? null : Buffer.concat(chunks, length);
        try {
          if (body && headers["content-encoding"] === "gzip") body = gunzipSync(body);
        } catch (error) {
          fail(makeError("bad response data", "SERVER_ERROR", { request: req, info: { response: resp, error } }));
          return;
        }
        settle(() => resolve({ statusCode, statusMessage, headers, body }));
      });
      resp.on("error", (error: Error & { response?: unknown }) => {
        error.response = { statusCode, statusMessage, headers, body: null };
        fail(error);
      });
      // The connection closed before the body ended, without an error event: never leave it hanging.
      resp.on("close", () => {
        if (!settled) fail(Object.assign(new Error("aborted"), { code: "ECONNRESET" }));
      });
    });
    const body = req.body;
    request.end(body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : undefined);
  });
}

/**
 * ethers' JSON-RPC transport with Node's own UTF-8 codec. ethers converts request and response
 * bodies between strings and bytes in JavaScript, a character at a time: for a 400-payment batch
 * (330 KB of calldata out, receipts and log pages of similar size back) that held the relayer's
 * event loop for ~100 ms per call. Everything else (timeouts, HTTP status errors, batching, error
 * objects) is ethers' own; the HTTP exchange is nodeGetUrl's.
 */
class NativeCodecJsonRpcProvider extends JsonRpcProvider {
  // ethers types the answers as JsonRpcResult[] though error objects come back in it too (as here).
  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const request = this._getConnection();
    request.body = Buffer.from(JSON.stringify(payload), "utf8");
    request.setHeader("content-type", "application/json");
    const response = await request.send();
    response.assertOk();
    const body = response.body;
    if (!body) throw new Error(`JSON-RPC response without a body (HTTP ${response.statusCode})`);
    const parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8")) as
      JsonRpcResult | JsonRpcResult[];
    return Array.isArray(parsed) ? parsed : [parsed];
  }
}

/** A JSON-RPC provider with a request timeout, no response cache and a fixed network. */
export function jsonRpcProvider(rpcUrl: string, chainId: bigint, timeoutMs: number = RPC_TIMEOUT_MS): JsonRpcProvider {
  const request = new FetchRequest(rpcUrl);
  request.timeout = timeoutMs;
  request.getUrlFunc = nodeGetUrl;
  // staticNetwork: no chain-id probe (and its retry loop) on every start; cacheTimeout -1: polling
  // jobs must see fresh answers, not a 250 ms cache.
  return new NativeCodecJsonRpcProvider(request, Network.from(chainId), { staticNetwork: true, cacheTimeout: -1 });
}

/** Connects to the chain the deployment describes; checks the node serves that chain and the escrow is there. */
export async function connectChain(options: ConnectOptions): Promise<ChainClient> {
  const addresses =
    typeof options.deployment === "string" ? loadDeploymentAddresses(options.deployment) : options.deployment;
  const provider = jsonRpcProvider(options.rpcUrl, addresses.chainId, options.timeoutMs);
  const client = new ChainClient({ ...options, provider, addresses });
  const served = await client.rpc("eth_chainId", async () => BigInt(await provider.send("eth_chainId", [])));
  const problem =
    served !== addresses.chainId
      ? `RPC ${options.rpcUrl} serves chain ${served}, the deployment is for chain ${addresses.chainId}`
      : (await client.rpc("eth_getCode", () => provider.getCode(addresses.escrow))) === "0x"
        ? `no code at the deployment's PaymentEscrow ${addresses.escrow} (chain reset?)`
        : null;
  if (problem) {
    provider.destroy();
    throw new Error(problem);
  }
  return client;
}
