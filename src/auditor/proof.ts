/**
 * Proves one payment from events alone (no relayer, no full scan): finds its PaymentEscrowed by the
 * indexed payment id, rebuilds its batch's leaves from that transaction's PaymentEscrowed events,
 * derives the Merkle inclusion proof with BatchTree, and verifies it against both the root the
 * batch committed (BatchEscrowed) and escrow.batchRoot on chain. Its history comes from the events
 * indexed by its id, and its settlement from its (batch, merchant) tranche.
 */
import { encodeEventTopics, type Log, type PublicClient } from "viem";
import { BatchTree, REJECT_REASON_NAMES, processProof, refundReasonName } from "../protocol";
import { escrowAbi } from "./abi";
import { contractsByAddress, decodeLogs } from "./decode";
import { ConnectionError, PaymentNotFoundError } from "./errors";
import { fetchLogPages } from "./fetchLogs";
import { fillTimestamps } from "./timestamps";
import type { AuditEvent, AuditTarget, EventOf, EventRef, Hex } from "./types";
import { fmtMoney } from "./util";

export interface ProofOptions {
  client: PublicClient;
  target: AuditTarget;
  paymentId: Hex;
  fromBlock: bigint;
  toBlock: bigint;
  pageSize: bigint;
}

export interface PaymentProof {
  paymentId: Hex;
  payer: Hex;
  merchantId: bigint;
  batchId: bigint;
  amount: bigint;
  /** Leaf position in the batch. */
  index: number;
  escrowed: EventRef;
  batch: { root: Hex; onChainRoot: Hex; paymentCount: bigint; total: bigint; leaves: Hex[]; ref: EventRef };
  proof: Hex[];
  /** Root recomputed from the payment id and the proof (what MerkleProof.verify does on chain). */
  computedRoot: Hex;
  verified: boolean;
  /** Why verification failed, if it did. */
  problems: string[];
  history: { event: string; ref: EventRef; detail: string }[];
  status: string;
}

const sig = (name: Parameters<typeof encodeEventTopics<typeof escrowAbi>>[0]["eventName"]): Hex =>
  encodeEventTopics({ abi: escrowAbi, eventName: name })[0] as Hex;

export async function provePayment(options: ProofOptions): Promise<PaymentProof> {
  const { client, target, paymentId } = options;
  const id = paymentId.toLowerCase() as Hex;
  const timestamps = new Map<bigint, number>();
  const contracts = contractsByAddress(target);
  const fetch = async (topics: (Hex | Hex[] | null)[], fromBlock: bigint, toBlock: bigint): Promise<AuditEvent[]> => {
    const logs: Log[] = [];
    for await (const page of fetchLogPages(client, {
      addresses: [target.escrow],
      topics,
      fromBlock,
      toBlock,
      pageSize: options.pageSize,
    })) {
      logs.push(...page.logs);
    }
    await fillTimestamps(client, logs, timestamps);
    return decodeLogs(logs, contracts, (n) => timestamps.get(n)!).events;
  };

  const found = await fetch([[sig("PaymentEscrowed"), sig("PaymentRejected")], id], options.fromBlock, options.toBlock);
  const escrowed = found.find(
    (e): e is EventOf<"escrow", "PaymentEscrowed"> => e.contract === "escrow" && e.eventName === "PaymentEscrowed",
  );
  if (!escrowed) {
    const rejections = found.filter(
      (e): e is EventOf<"escrow", "PaymentRejected"> => e.contract === "escrow" && e.eventName === "PaymentRejected",
    );
    const why = rejections.map(
      (r) =>
        `rejected (${REJECT_REASON_NAMES[r.args.reason] ?? r.args.reason}) in block ${r.ref.blockNumber}, tx ${r.ref.transactionHash}`,
    );
    throw new PaymentNotFoundError(
      `Payment ${paymentId} was never escrowed between blocks ${options.fromBlock} and ${options.toBlock}` +
        (why.length ? `: ${why.join("; ")}` : ""),
    );
  }
  const { payer, merchantId, batchId, amount } = escrowed.args;

  // The whole batch is one transaction: its leaves are that transaction's PaymentEscrowed, in log order.
  const block = escrowed.ref.blockNumber;
  const batchEvents = (await fetch([[sig("PaymentEscrowed"), sig("BatchEscrowed")]], block, block)).filter(
    (e) => e.ref.transactionHash === escrowed.ref.transactionHash,
  );
  const leaves = batchEvents
    .filter(
      (e): e is EventOf<"escrow", "PaymentEscrowed"> =>
        e.contract === "escrow" && e.eventName === "PaymentEscrowed" && e.args.batchId === batchId,
    )
    .map((e) => e.args.paymentId.toLowerCase() as Hex);
  const committed = batchEvents.find(
    (e): e is EventOf<"escrow", "BatchEscrowed"> =>
      e.contract === "escrow" && e.eventName === "BatchEscrowed" && e.args.batchId === batchId,
  );
  if (!committed)
    throw new PaymentNotFoundError(
      `Payment ${paymentId} was escrowed in batch ${batchId}, but no BatchEscrowed commits that batch`,
    );

  const tree = new BatchTree(leaves);
  const index = leaves.indexOf(id);
  const proof = tree.proof(index);
  const computedRoot = processProof(id, proof);
  let onChainRoot: Hex;
  try {
    onChainRoot = await client.readContract({
      address: target.escrow,
      abi: escrowAbi,
      functionName: "batchRoot",
      args: [batchId],
      blockNumber: options.toBlock,
    });
  } catch (e) {
    throw new ConnectionError(`Reading escrow.batchRoot(${batchId}) failed: ${(e as Error).message.split("\n")[0]}`, e);
  }
  const root = committed.args.root.toLowerCase() as Hex;
  const problems: string[] = [];
  if (computedRoot !== root) problems.push(`the proof leads to ${computedRoot}, but BatchEscrowed committed ${root}`);
  if (onChainRoot.toLowerCase() !== root)
    problems.push(`escrow.batchRoot(${batchId}) is ${onChainRoot}, BatchEscrowed said ${root}`);
  if (BigInt(leaves.length) !== committed.args.paymentCount)
    problems.push(
      `the batch has ${leaves.length} PaymentEscrowed, BatchEscrowed counts ${committed.args.paymentCount}`,
    );

  const lifecycle = await fetch(
    [
      [
        sig("PaymentConfirmed"),
        sig("PaymentRefunded"),
        sig("DisputeOpened"),
        sig("DisputeResolved"),
        sig("HoldExtended"),
        sig("RefundRequested"),
        sig("RefundRequestRejected"),
        sig("HoldResumed"),
        sig("PaymentReleased"),
      ],
      id,
    ],
    block,
    options.toBlock,
  );
  const settled = await fetch(
    encodeEventTopics({ abi: escrowAbi, eventName: "TrancheSettled", args: { batchId, merchantId } }) as Hex[],
    block,
    options.toBlock,
  );
  // The tranche's settlement concerns this payment only if it was still held in it then.
  const settledWithTranche = settled.filter((t) => {
    const earlier = lifecycle.filter((e) => before(e.ref, t.ref));
    const leftTranche = earlier.some(
      (e) => e.contract === "escrow" && (e.eventName === "HoldExtended" || e.eventName === "RefundRequested"),
    );
    return !leftTranche && statusOf(amount, earlier, []) === "held";
  });
  const history = [escrowed, ...lifecycle, ...settledWithTranche]
    .sort((a, b) => (before(a.ref, b.ref) ? -1 : 1))
    .map((e) => ({ event: e.ref.event, ref: e.ref, detail: describe(e) }));
  return {
    paymentId: id,
    payer,
    merchantId,
    batchId,
    amount,
    index,
    escrowed: escrowed.ref,
    batch: {
      root,
      onChainRoot,
      paymentCount: committed.args.paymentCount,
      total: committed.args.total,
      leaves,
      ref: committed.ref,
    },
    proof,
    computedRoot,
    verified: problems.length === 0,
    problems,
    history,
    status: statusOf(amount, lifecycle, settledWithTranche),
  };
}

const before = (a: EventRef, b: EventRef): boolean =>
  a.blockNumber < b.blockNumber || (a.blockNumber === b.blockNumber && a.logIndex < b.logIndex);

/**
 * The payment's state after its history (the same states as the full audit's payments.csv). A
 * payment its buyer put on its own timer (extension, refund request) no longer settles with its tranche.
 */
function statusOf(amount: bigint, lifecycle: AuditEvent[], settled: AuditEvent[]): string {
  let status = "held";
  let ownTimer = false;
  for (const e of lifecycle) {
    if (e.contract !== "escrow") continue;
    if (e.eventName === "PaymentConfirmed") status = "confirmed";
    else if (e.eventName === "PaymentRefunded")
      status = e.args.totalRefunded >= amount ? "refunded" : status === "refund-requested" ? "held" : status;
    else if (e.eventName === "DisputeOpened") status = "disputed";
    else if (e.eventName === "DisputeResolved") status = "resolved";
    else if (e.eventName === "HoldExtended" || e.eventName === "HoldResumed") status = "held";
    else if (e.eventName === "RefundRequested") status = "refund-requested";
    else if (e.eventName === "RefundRequestRejected") status = "refund-rejected";
    else if (e.eventName === "PaymentReleased") status = "released";
    if (e.eventName === "HoldExtended" || e.eventName === "RefundRequested") ownTimer = true;
  }
  return status === "held" && !ownTimer && settled.length > 0 ? "settled" : status;
}

function describe(e: AuditEvent): string {
  if (e.contract !== "escrow") return "";
  switch (e.eventName) {
    case "PaymentEscrowed":
      return `escrowed ${fmtMoney(e.args.amount)} from ${e.args.payer} to merchant ${e.args.merchantId} in batch ${e.args.batchId}`;
    case "PaymentConfirmed":
      return `confirmed: ${fmtMoney(e.args.released)} released to the merchant, fee ${fmtMoney(e.args.fee)}`;
    case "PaymentRefunded":
      return `refunded ${fmtMoney(e.args.amount)} (total ${fmtMoney(e.args.totalRefunded)})`;
    case "DisputeOpened":
      return `disputed ${fmtMoney(e.args.amount)}, expires ${new Date(e.args.expiresAt * 1000).toISOString()}`;
    case "DisputeResolved":
      return `${e.args.byTimeout ? "dispute expired" : "arbiter ruled"}: ${fmtMoney(e.args.toPayer)} to the payer, ${fmtMoney(e.args.toMerchant)} to the merchant, fee ${fmtMoney(e.args.fee)}`;
    case "HoldExtended":
      return `hold extended (${e.args.extensions}): releasable from ${iso(e.args.releaseAt)}, on its own timer`;
    case "RefundRequested":
      return `refund of ${fmtMoney(e.args.amount)} requested, reason ${refundReasonName(e.args.reason)}: clock paused with ${e.args.holdLeft} s left, the merchant answers by ${iso(e.args.respondBy)}`;
    case "RefundRequestRejected":
      return `refund request rejected: escalation until ${iso(e.args.escalateBy)}, releasable from ${iso(e.args.releaseAt)}`;
    case "HoldResumed":
      return `clock resumed: releasable from ${iso(e.args.releaseAt)}`;
    case "PaymentReleased":
      return `released on its own timer: ${fmtMoney(e.args.released)} to the merchant, fee ${fmtMoney(e.args.fee)}`;
    case "TrancheSettled":
      return `tranche ${e.args.batchId}/${e.args.merchantId} settled: ${fmtMoney(e.args.amount)}, fee ${fmtMoney(e.args.fee)}`;
    default:
      return "";
  }
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

export function proofText(p: PaymentProof): string {
  const lines = [
    `Payment ${p.paymentId}`,
    `  payer ${p.payer}, merchant ${p.merchantId}, amount ${fmtMoney(p.amount)}; status: ${p.status}`,
    `  batch ${p.batchId}: leaf ${p.index} of ${p.batch.leaves.length}, committed in block ${p.batch.ref.blockNumber} (tx ${p.batch.ref.transactionHash})`,
    "",
    "History (from events):",
    ...p.history.map(
      (h) =>
        `  block ${h.ref.blockNumber} log ${h.ref.logIndex} ${new Date(h.ref.timestamp * 1000).toISOString()}  ${h.event}: ${h.detail}`,
    ),
    "",
    `Inclusion proof (${p.proof.length} sibling hashes, sorted-pair keccak256):`,
    ...(p.proof.length > 0
      ? p.proof.map((h, i) => `  [${i}] ${h}`)
      : ["  (none: the payment is the batch's only leaf, so the root is its id)"]),
    `  recomputed root     ${p.computedRoot}`,
    `  BatchEscrowed root  ${p.batch.root}`,
    `  escrow.batchRoot()  ${p.batch.onChainRoot}`,
    "",
    p.verified
      ? "PROOF VERIFIES: the payment is committed in its batch's on-chain root"
      : `PROOF DOES NOT VERIFY:\n  ${p.problems.join("\n  ")}`,
  ];
  return lines.join("\n");
}
