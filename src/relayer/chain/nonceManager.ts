/**
 * One signer's (lane's) nonce sequence.
 *
 * The store is the memory (every signed transaction is recorded with its nonce before it is
 * broadcast, see store.submissions), the chain is the truth. `reconcile()` runs on start and after
 * anything that may have moved the chain under us (a reorg, "nonce too low"):
 *  - counter below the chain (the key was used outside the relayer): jump to the chain's count;
 *  - counter above the chain with pending submissions: re-broadcast them, lowest nonce first
 *    ("already known" / "nonce too low" / "replacement underpriced" mean the node has it or it
 *    is mined; they are answers, not errors, and are never retried);
 *  - a hole below a pending submission (no live transaction of ours at that nonce): fill it with a
 *    0-value self-transfer so the transactions above it can be mined;
 *  - counter above the chain with nothing pending (e.g. the transactions were dropped by a reorg
 *    and their batches returned to the queue): lowered to the chain's count.
 * Callers serialise `reconcile`, `allocate` and the sends that use the nonces (the submitter's lock).
 */
import { SubmissionState, type Hex, type SubmissionRecord } from "../domain";
import type { Fence, RelayerStore } from "../store/types";
import { systemClock, type Clock } from "../runtime/clock";
import { silentLogger, type Logger } from "../runtime/log";
import type { ChainClient } from "./client";
import { initialFees } from "./fees";

/** Gas of a plain ETH transfer: what a gap-filling self-transfer needs. */
const CANCEL_GAS = 21_000n;

/** Purpose of a gap-filling self-transfer. */
export const cancelPurpose = (nonce: number): string => `cancel:${nonce}`;

export interface NonceReport {
  /** Transactions of the signer mined on chain. */
  latest: number;
  /** Including the node's mempool. */
  pending: number;
  /** Highest nonce the store ever recorded (null: none). */
  stored: number | null;
  /** Next nonce the relayer will use. */
  next: number;
  /** The store's counter was below the chain (the key was used elsewhere). */
  jumped: boolean;
  rebroadcast: number[];
  filled: number[];
}

export interface NonceManagerOptions {
  clock?: Clock;
  logger?: Logger;
  maxFeePerGasCap: bigint;
  /** The signer lane's lease: every record carries it (absent: unfenced, a single relayer). */
  fence?: () => Fence | null;
}

export class NonceManager {
  private nextNonce: number | null = null;
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(
    private readonly chain: ChainClient,
    private readonly store: RelayerStore,
    private readonly options: NonceManagerOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
  }

  /** The lane: this signer's nonces and submissions only (lowercased, as the store keeps it). */
  get signer(): Hex {
    return this.chain.address.toLowerCase() as Hex;
  }

  /** Next nonce to use, or null before the first reconcile. */
  get next(): number | null {
    return this.nextNonce;
  }

  /** Hands out the next nonce. The caller records a transaction with it before broadcasting. */
  allocate(): number {
    if (this.nextNonce === null) throw new Error("NonceManager.allocate before reconcile");
    return this.nextNonce++;
  }

  /** Gives back the last nonce handed out when its transaction was refused (no gap left behind). */
  release(nonce: number): void {
    if (this.nextNonce === nonce + 1) this.nextNonce = nonce;
  }

  /** After "nonce too low" on a fresh transaction: never hand out a nonce the chain already counts. */
  async resync(): Promise<number> {
    const pending = await this.chain.nonceAt("pending");
    const latest = await this.chain.nonceAt("latest");
    const chainNext = Math.max(pending, latest);
    if (this.nextNonce === null || this.nextNonce < chainNext) {
      this.log.warn({ from: this.nextNonce, to: chainNext }, "nonce counter behind the chain; jumping ahead");
      this.nextNonce = chainNext;
    }
    return this.nextNonce;
  }

  async reconcile(): Promise<NonceReport> {
    const latest = await this.chain.nonceAt("latest");
    const pending = await this.chain.nonceAt("pending");
    const stored = await this.store.submissions.maxNonce(this.signer);
    const live = groupByNonce((await this.store.submissions.listPending(this.signer)).filter((s) => s.nonce >= latest));
    const highestLive = live.size > 0 ? Math.max(...live.keys()) : -1;
    const report: NonceReport = {
      latest,
      pending,
      stored,
      next: Math.max(latest, pending, highestLive + 1),
      jumped: stored !== null && stored + 1 < Math.max(latest, pending),
      rebroadcast: [],
      filled: [],
    };
    if (report.jumped) {
      this.log.warn({ stored, latest, pending }, "signer used outside the relayer: nonce counter jumps to the chain's");
    }
    for (let nonce = latest; nonce <= highestLive; nonce++) {
      const group = live.get(nonce);
      if (group) {
        // The newest carries the highest fees; the node keeps whichever of the group it has.
        const newest = group[group.length - 1];
        const outcome = await this.chain.broadcast(newest.rawTx);
        this.log.info({ nonce, txHash: newest.txHash, outcome }, "re-broadcast pending transaction");
        report.rebroadcast.push(nonce);
      } else {
        await this.fillGap(nonce);
        report.filled.push(nonce);
      }
    }
    this.nextNonce = report.next;
    return report;
  }

  /** A 0-value transfer to self at `nonce`, so that higher pending nonces can be mined. */
  private async fillGap(nonce: number): Promise<void> {
    const fees = initialFees(await this.chain.suggestedFees(), this.options.maxFeePerGasCap);
    const { rawTx, txHash } = await this.chain.sign({
      to: this.chain.address,
      data: "0x",
      nonce,
      gasLimit: CANCEL_GAS,
      fees,
    });
    const fence = this.options.fence?.() ?? undefined;
    await this.store.submissions.record(
      {
        purpose: cancelPurpose(nonce),
        signer: this.signer,
        epoch: fence?.epoch ?? 0,
        nonce,
        txHash,
        rawTx,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
        state: SubmissionState.Pending,
        sentAt: this.clock.now(),
      },
      fence,
    );
    const outcome = await this.chain.broadcast(rawTx);
    this.log.warn({ nonce, txHash: txHash as Hex, outcome }, "filled a nonce gap with a self-transfer");
  }
}

/** Submissions by nonce, each group in recording order (oldest first). */
export function groupByNonce(submissions: SubmissionRecord[]): Map<number, SubmissionRecord[]> {
  const groups = new Map<number, SubmissionRecord[]>();
  for (const s of [...submissions].sort((a, b) => a.nonce - b.nonce || a.id - b.id)) {
    const group = groups.get(s.nonce);
    if (group) group.push(s);
    else groups.set(s.nonce, [s]);
  }
  return groups;
}
