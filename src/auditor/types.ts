/**
 * The shapes every auditor module shares: decoded events with their position on chain, and the
 * mismatches the audit reports. Event arguments are typed by the ABIs in ./abi (viem's decoding
 * types), so a renamed or retyped field is a compile error here rather than a silent zero.
 */
import type { DecodeEventLogReturnType } from "viem";
import type { ABIS, ContractKey } from "./abi";

export type Hex = `0x${string}`;
export type Address = Hex;

/** Where an event sits on chain: enough to find it in any explorer or with eth_getTransactionReceipt. */
export interface EventRef {
  /** "<contract>.<event>", e.g. "escrow.PaymentEscrowed". */
  event: string;
  blockNumber: bigint;
  logIndex: number;
  transactionHash: Hex;
  transactionIndex: number;
  /** Block timestamp (unix seconds). */
  timestamp: number;
}

type Decoded<K extends ContractKey> = { contract: K } & DecodeEventLogReturnType<(typeof ABIS)[K]>;

/** One decoded log of an audited contract, typed by contract and event name. */
export type AuditEvent = (Decoded<"token"> | Decoded<"registry"> | Decoded<"escrow">) & { ref: EventRef };

export type TokenEvent = Extract<AuditEvent, { contract: "token" }>;
export type RegistryEvent = Extract<AuditEvent, { contract: "registry" }>;
export type EscrowEvent = Extract<AuditEvent, { contract: "escrow" }>;

/** An event of `contract` named `name`, with its typed args. */
export type EventOf<C extends ContractKey, N extends string> = Extract<AuditEvent, { contract: C; eventName: N }>;

/** Addresses and starting point of one StablePay deployment. */
export interface AuditTarget {
  network: string;
  chainId: number;
  /** The currency audited: its escrow and token (docs/CURRENCIES.md); the registry is shared. */
  currency: string;
  /** Block of the first deployment transaction: nothing of ours can be logged before it. */
  deployBlock: bigint;
  token: Address;
  registry: Address;
  escrow: Address;
  /** True when the token predates the deployment (EXISTING_TOKEN): its history before the deploy block is unseen. */
  externalToken: boolean;
}

/** Where a mismatch was found: between events themselves, or between events and on-chain state. */
export type MismatchSource = "events" | "chain";

/** One thing that does not reconcile, with the events that show it. */
export interface Mismatch {
  /** Stable machine-readable name of the check, e.g. "batch.root" or "escrow.unmatched-transfer". */
  check: string;
  source: MismatchSource;
  /** What it is about, e.g. "batch 3" or "customer 0xabc…". */
  subject: string;
  message: string;
  /** What the rebuild (or the rule) says, as an exact string (token units, hex). */
  expected?: string;
  /** What the event or the chain says. */
  actual?: string;
  events: EventRef[];
}

/** The six buckets of the escrow's token balance (IPaymentEscrow.Liabilities). */
export interface Buckets {
  customerBalances: bigint;
  held: bigint;
  disputed: bigint;
  released: bigint;
  claimable: bigint;
  fees: bigint;
}

export const BUCKET_NAMES = ["customerBalances", "held", "disputed", "released", "claimable", "fees"] as const;

export const sumBuckets = (b: Buckets): bigint => BUCKET_NAMES.reduce((sum, name) => sum + b[name], 0n);

export const emptyBuckets = (): Buckets => ({
  customerBalances: 0n,
  held: 0n,
  disputed: 0n,
  released: 0n,
  claimable: 0n,
  fees: 0n,
});
