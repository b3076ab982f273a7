/**
 * The escrow's events, decoded by hand.
 *
 * ethers' `Interface.parseLog` is slow per log (it recomputes every event's topic hash, a keccak,
 * on each call), and the jobs read hundreds of logs per batch. Every event the relayer
 * reads has a fixed layout: indexed parameters in topics 1..3, the others one 32-byte data word
 * each. So each decoder is a table of (field, word) built once, and a log costs a Map lookup on
 * topic0 (logs of unwanted events are skipped there, before any other work) plus a few string
 * slices and `BigInt`s.
 *
 * The layouts are written out below for their types, and checked against the escrow's ABI when
 * this module loads: a contract change that moves or retypes a field fails at startup instead of
 * decoding garbage. Addresses and bytes32 values come out lowercase (as the store keeps them);
 * uints as bigint; enums as number.
 */
import type { Hex } from "../domain";
import { escrowInterface } from "./calldata";

/** How a parameter sits in its 32-byte word. */
type Kind = "address" | "uint" | "bytes32" | "bool" | "enum";

interface KindValue {
  address: Hex;
  uint: bigint;
  bytes32: Hex;
  bool: boolean;
  enum: number;
}

interface FieldSpec<N extends string = string, K extends Kind = Kind> {
  name: N;
  kind: K;
  indexed: boolean;
}

const topic = <N extends string, K extends Kind>(name: N, kind: K) => ({ name, kind, indexed: true as const });
const word = <N extends string, K extends Kind>(name: N, kind: K) => ({ name, kind, indexed: false as const });

/** Parameters in ABI order (the order the ABI check compares). */
const LAYOUTS = {
  Deposited: [topic("account", "address"), topic("funder", "address"), word("amount", "uint")],
  Withdrawn: [topic("account", "address"), topic("to", "address"), word("amount", "uint")],
  NonceCancelled: [topic("account", "address"), word("nonce", "uint")],
  PaymentEscrowed: [
    topic("paymentId", "bytes32"),
    topic("payer", "address"),
    topic("merchantId", "uint"),
    word("batchId", "uint"),
    word("amount", "uint"),
  ],
  PaymentRejected: [topic("paymentId", "bytes32"), topic("payer", "address"), word("reason", "enum")],
  TrancheFunded: [
    topic("batchId", "uint"),
    topic("merchantId", "uint"),
    word("amount", "uint"),
    word("releaseAt", "uint"),
    word("feeBps", "uint"),
  ],
  BatchEscrowed: [
    topic("batchId", "uint"),
    word("root", "bytes32"),
    word("paymentCount", "uint"),
    word("total", "uint"),
    topic("submitter", "address"),
  ],
  PaymentConfirmed: [
    topic("paymentId", "bytes32"),
    topic("merchantId", "uint"),
    word("batchId", "uint"),
    word("released", "uint"),
    word("fee", "uint"),
  ],
  PaymentRefunded: [
    topic("paymentId", "bytes32"),
    topic("merchantId", "uint"),
    topic("payer", "address"),
    word("batchId", "uint"),
    word("amount", "uint"),
    word("totalRefunded", "uint"),
  ],
  DisputeOpened: [
    topic("paymentId", "bytes32"),
    topic("merchantId", "uint"),
    topic("payer", "address"),
    word("batchId", "uint"),
    word("amount", "uint"),
    word("expiresAt", "uint"),
  ],
  DisputeResolved: [
    topic("paymentId", "bytes32"),
    topic("merchantId", "uint"),
    topic("payer", "address"),
    word("toPayer", "uint"),
    word("toMerchant", "uint"),
    word("fee", "uint"),
    word("byTimeout", "bool"),
  ],
  TrancheSettled: [topic("batchId", "uint"), topic("merchantId", "uint"), word("amount", "uint"), word("fee", "uint")],
  MerchantPaid: [topic("merchantId", "uint"), topic("payout", "address"), word("amount", "uint")],
  PayoutDeferred: [topic("merchantId", "uint"), topic("payout", "address"), word("amount", "uint")],
  Claimed: [topic("merchantId", "uint"), topic("payout", "address"), word("amount", "uint")],
  HoldExtended: [
    topic("paymentId", "bytes32"),
    topic("merchantId", "uint"),
    topic("payer", "address"),
    word("batchId", "uint"),
    word("releaseAt", "uint"),
    word("extensions", "uint"),
  ],
  RefundRequested: [
    topic("paymentId", "bytes32"),
    topic("merchantId", "uint"),
    topic("payer", "address"),
    word("batchId", "uint"),
    word("amount", "uint"),
    word("reason", "uint"),
    word("holdLeft", "uint"),
    word("respondBy", "uint"),
  ],
  RefundRequestRejected: [
    topic("paymentId", "bytes32"),
    topic("merchantId", "uint"),
    topic("payer", "address"),
    word("escalateBy", "uint"),
    word("releaseAt", "uint"),
  ],
  HoldResumed: [topic("paymentId", "bytes32"), topic("merchantId", "uint"), word("releaseAt", "uint")],
  PaymentReleased: [
    topic("paymentId", "bytes32"),
    topic("merchantId", "uint"),
    word("released", "uint"),
    word("fee", "uint"),
  ],
} as const satisfies Record<string, readonly FieldSpec[]>;

type Layouts = typeof LAYOUTS;
export type EscrowEventName = keyof Layouts;

type FieldsOf<L extends readonly FieldSpec[]> = { [F in L[number] as F["name"]]: KindValue[F["kind"]] };

/** One decoded escrow event, discriminated by `name`. */
export type EscrowEvent = { [N in EscrowEventName]: { name: N } & FieldsOf<Layouts[N]> }[EscrowEventName];
export type EscrowEventOf<N extends EscrowEventName> = Extract<EscrowEvent, { name: N }>;

/** What a decoder needs of a log (./rawTypes.ts' RawLog and RawReceiptLog, ethers' Log all fit). */
export interface LogWords {
  readonly topics: readonly string[];
  readonly data: string;
}

export const ESCROW_EVENT_NAMES = Object.keys(LAYOUTS) as EscrowEventName[];

/** topic0 of each event, hashed once. */
export const ESCROW_TOPICS = Object.fromEntries(
  ESCROW_EVENT_NAMES.map((name) => [name, escrowInterface.getEvent(name)!.topicHash.toLowerCase() as Hex]),
) as Record<EscrowEventName, Hex>;

/** ABI base types each kind may stand for (enums are uint8 in the ABI). */
const ABI_TYPES: Record<Kind, RegExp> = {
  address: /^address$/,
  uint: /^uint\d+$/,
  bytes32: /^bytes32$/,
  bool: /^bool$/,
  enum: /^uint8$/,
};

function checkAgainstAbi(name: EscrowEventName): void {
  const inputs = escrowInterface.getEvent(name)!.inputs;
  const layout: readonly FieldSpec[] = LAYOUTS[name];
  const same =
    inputs.length === layout.length &&
    inputs.every(
      (p, i) => p.name === layout[i].name && p.indexed === layout[i].indexed && ABI_TYPES[layout[i].kind].test(p.type),
    );
  if (!same) throw new Error(`escrowEvents: the hand-written layout of ${name} no longer matches the escrow ABI`);
}
for (const name of ESCROW_EVENT_NAMES) checkAgainstAbi(name);

const HEX_PREFIX = 2;
const WORD_CHARS = 64;
/** An address is the low 20 bytes of its word: skip 12 bytes (24 hex characters). */
const ADDRESS_OFFSET = 24;
/** An enum is a uint8: its low byte. */
const ENUM_CHARS = 2;
const ZERO_WORD = "0".repeat(WORD_CHARS);

/** A word as 64 lowercase hex characters without the 0x. */
function fromWord(kind: Kind, w: string): KindValue[Kind] {
  switch (kind) {
    case "address":
      return `0x${w.slice(ADDRESS_OFFSET)}` as Hex;
    case "uint":
      return BigInt(`0x${w}`);
    case "bytes32":
      return `0x${w}` as Hex;
    case "bool":
      return w !== ZERO_WORD;
    case "enum":
      return parseInt(w.slice(WORD_CHARS - ENUM_CHARS), 16);
  }
}

interface Compiled {
  name: EscrowEventName;
  topics: number;
  dataWords: number;
  /** Per field: where its word is (a topic index, or a data word index). */
  fields: { name: string; kind: Kind; topic: number; word: number }[];
}

function compile(name: EscrowEventName): Compiled {
  let topics = 1;
  let dataWords = 0;
  const fields = (LAYOUTS[name] as readonly FieldSpec[]).map((f) =>
    f.indexed
      ? { name: f.name, kind: f.kind, topic: topics++, word: -1 }
      : { name: f.name, kind: f.kind, topic: -1, word: dataWords++ },
  );
  return { name, topics, dataWords, fields };
}

function decodeWith(spec: Compiled, log: LogWords): EscrowEvent {
  const data = log.data.toLowerCase();
  if (log.topics.length !== spec.topics || data.length !== HEX_PREFIX + spec.dataWords * WORD_CHARS) {
    // A log of the escrow with a known topic0 but another shape: the ABI is not what was deployed.
    throw new Error(`escrowEvents: ${spec.name} log has ${log.topics.length} topics and ${data.length} data chars`);
  }
  const out: Record<string, unknown> = { name: spec.name };
  for (const f of spec.fields) {
    const w =
      f.topic >= 0
        ? log.topics[f.topic].slice(HEX_PREFIX).toLowerCase()
        : data.slice(HEX_PREFIX + f.word * WORD_CHARS, HEX_PREFIX + (f.word + 1) * WORD_CHARS);
    out[f.name] = fromWord(f.kind, w);
  }
  return out as EscrowEvent;
}

/** Decodes the escrow's logs of the events it was built for, and skips every other log. */
export class EscrowEventDecoder<N extends EscrowEventName = EscrowEventName> {
  /** topic0 of the wanted events (e.g. for an eth_getLogs filter). */
  readonly topics: Hex[];
  private readonly byTopic = new Map<string, Compiled>();

  constructor(names: readonly N[]) {
    for (const name of names) this.byTopic.set(ESCROW_TOPICS[name], compile(name));
    this.topics = names.map((name) => ESCROW_TOPICS[name]);
  }

  /** Whether `log` is one of the wanted events (by topic0 only). */
  wants(log: LogWords): boolean {
    const topic0 = log.topics[0];
    return topic0 !== undefined && (this.byTopic.has(topic0) || this.byTopic.has(topic0.toLowerCase()));
  }

  /**
   * The event, or null when its topic0 is not a wanted one. Throws when a wanted topic0 comes with
   * another layout (as parseLog does): the caller reads the escrow's address only, so that means
   * the ABI does not match the deployed contract, and skipping would lose a state change.
   */
  decode(log: LogWords): EscrowEventOf<N> | null {
    const topic0 = log.topics[0];
    if (topic0 === undefined) return null;
    const spec = this.byTopic.get(topic0) ?? this.byTopic.get(topic0.toLowerCase());
    return spec ? (decodeWith(spec, log) as EscrowEventOf<N>) : null;
  }
}
