/**
 * Logs and receipts as the relayer reads them: the node's JSON-RPC objects reduced to the fields
 * the jobs use, with hex quantities converted once (bigint / number).
 *
 * ethers' getLogs and getTransactionReceipt build a Log or TransactionReceipt object per answer
 * (hexlify, byte copies, frozen properties, a checksum keccak per address): for a receipt of a
 * 400-payment batch or a page of logs that held the relayer's event loop for tens of milliseconds.
 * Here a log costs a few string copies and two BigInts.
 *
 * Every hex string (address, hashes, topics, data) is lowercase: as nodes send them, and as the
 * store keeps them, so they compare with `===`.
 */
import type { Hex } from "../domain";

/** An escrow log from eth_getLogs. */
export interface RawLog {
  /** The emitting contract, lowercase. */
  readonly address: Hex;
  readonly topics: readonly Hex[];
  readonly data: Hex;
  readonly blockNumber: bigint;
  readonly blockHash: Hex;
  readonly transactionHash: Hex;
  /** True when a reorg dropped the log (nodes report it on filters; eth_getLogs may too). */
  readonly removed: boolean;
}

/** A log inside a receipt: its block and transaction are the receipt's own. */
export type RawReceiptLog = Pick<RawLog, "address" | "topics" | "data">;

/** A transaction receipt from eth_getTransactionReceipt. */
export interface RawReceipt {
  /** 1 success, 0 reverted; null from pre-Byzantium nodes (which report a state root instead). */
  readonly status: number | null;
  readonly blockNumber: bigint;
  readonly blockHash: Hex;
  readonly transactionHash: Hex;
  readonly gasUsed: bigint;
  readonly logs: readonly RawReceiptLog[];
}

/** The JSON-RPC shape of a log (the fields read here; nodes send more). */
export interface JsonRpcLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string | null;
  blockHash: string | null;
  transactionHash: string | null;
  removed?: boolean;
}

/** The JSON-RPC shape of a receipt (the fields read here; nodes send more). */
export interface JsonRpcReceipt {
  status?: string | null;
  blockNumber: string;
  blockHash: string;
  transactionHash: string;
  gasUsed: string;
  logs: JsonRpcLog[];
}

const QUANTITY = /^0x[0-9a-fA-F]+$/;

function quantity(value: unknown, field: string): bigint {
  if (typeof value !== "string" || !QUANTITY.test(value)) {
    throw new Error(`node returned a malformed ${field}: ${JSON.stringify(value)}`);
  }
  return BigInt(value);
}

function hex(value: unknown, field: string): Hex {
  if (typeof value !== "string" || !value.startsWith("0x")) {
    throw new Error(`node returned a malformed ${field}: ${JSON.stringify(value)}`);
  }
  return value.toLowerCase() as Hex;
}

function topicsOf(log: JsonRpcLog): Hex[] {
  if (!Array.isArray(log.topics)) throw new Error("node returned a log without topics");
  return log.topics.map((t) => hex(t, "log topic"));
}

/** One eth_getLogs entry. A log still pending (no block yet) is refused: the watcher reads mined blocks. */
export function toRawLog(log: JsonRpcLog): RawLog {
  return {
    address: hex(log.address, "log address"),
    topics: topicsOf(log),
    data: hex(log.data, "log data"),
    blockNumber: quantity(log.blockNumber, "log blockNumber"),
    blockHash: hex(log.blockHash, "log blockHash"),
    transactionHash: hex(log.transactionHash, "log transactionHash"),
    removed: log.removed === true,
  };
}

/** An eth_getLogs answer. */
export function toRawLogs(logs: JsonRpcLog[]): RawLog[] {
  if (!Array.isArray(logs)) throw new Error("node returned a non-array eth_getLogs result");
  return logs.map(toRawLog);
}

function toRawReceiptLog(log: JsonRpcLog): RawReceiptLog {
  return { address: hex(log.address, "log address"), topics: topicsOf(log), data: hex(log.data, "log data") };
}

/** An eth_getTransactionReceipt answer (null: the node knows no mined transaction with that hash). */
export function toRawReceipt(receipt: JsonRpcReceipt | null): RawReceipt | null {
  if (receipt === null || receipt === undefined) return null;
  if (!Array.isArray(receipt.logs)) throw new Error("node returned a receipt without logs");
  return {
    status: receipt.status === null || receipt.status === undefined ? null : Number(quantity(receipt.status, "status")),
    blockNumber: quantity(receipt.blockNumber, "receipt blockNumber"),
    blockHash: hex(receipt.blockHash, "receipt blockHash"),
    transactionHash: hex(receipt.transactionHash, "receipt transactionHash"),
    gasUsed: quantity(receipt.gasUsed, "receipt gasUsed"),
    logs: receipt.logs.map(toRawReceiptLog),
  };
}
