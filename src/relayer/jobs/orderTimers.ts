/**
 * Order-timer keeper: acts on payments that run on their own timer (a buyer extended the hold or
 * asked for a refund; see src/protocol/states.ts) when the escrow lets anyone act:
 *  - `release(payment)` once its releaseAt passed by the chain's clock, for a payment `held` or
 *    `refund_rejected` (whose releaseAt already covers the buyer's escalation window); never while
 *    a request is open, nor for a Suspended merchant (the escrow refuses both: MerchantSuspended,
 *    RefundRequestPending);
 *  - `escalateUnansweredRefundRequest(payment)` once a `refund_requested` payment's respondBy passed:
 *    the merchant did not answer, the request becomes a dispute.
 * The due list is the store's (each timer's dueAt, written by the chain watcher from the escrow's
 * events); each candidate is checked against the escrow's record first, then sent as its own
 * transaction through the submitter ("release:<id>", "escalate:<id>"), at most `maxCalls` per tick.
 * A payment with such a transaction pending is skipped, so a restart does not send it twice; once
 * mined, the watcher applies PaymentReleased / DisputeOpened and the timer is no longer due. The
 * released amount lands in the merchant's released balance, which the settler pays out.
 */
import { PaymentState, SubmissionState, type Hex, type PaymentRecord } from "../domain";
import type { RelayerConfig } from "../config";
import type { RelayerStore } from "../store/types";
import type { ChainClient } from "../chain/client";
import { encodeEscalateUnanswered, encodeRelease } from "../chain/calldata";
import { classifyRpcError } from "../chain/rpcErrors";
import { EscrowPaymentStatus, MerchantStatus } from "../../protocol";
import { NO_STORE_WRITES, parsePurpose } from "./batchOutcome";
import type { SubmitterPort } from "./submitter";
import { errorMessage, silentLogger, type Logger } from "../runtime/log";
import { Job, type JobMetrics } from "./job";

/** Transactions per tick at most: each is one payment. */
export const MAX_TIMER_CALLS_PER_TICK = 20;
/** Gas limit when the estimate fails for a reason other than a revert. */
const TIMER_CALL_FALLBACK_GAS = 150_000n;
/** Due-list reads per tick at most (each after learning of more suspended merchants to leave out). */
const MAX_DUE_READS = 3;

export type TimerAction = "release" | "escalate";

export const timerPurpose = (action: TimerAction, paymentId: Hex): string => `${action}:${paymentId.toLowerCase()}`;

export interface OrderTimerKeeperOptions {
  store: RelayerStore;
  chain: ChainClient;
  submitter: SubmitterPort;
  config: Pick<RelayerConfig, "settleIntervalMs">;
  logger?: Logger;
  metrics?: JobMetrics;
  maxCalls?: number;
}

export class OrderTimerKeeper extends Job {
  private readonly maxCalls: number;
  /** What the last tick sent (for logs and tests). */
  lastSent: { action: TimerAction; paymentId: Hex; txHash: Hex }[] = [];
  /** What the last tick left for now, and why (for logs and tests). */
  lastSkipped: { paymentId: Hex; reason: string }[] = [];

  constructor(private readonly options: OrderTimerKeeperOptions) {
    super("order-timers", options.logger ?? silentLogger, options.metrics);
    this.maxCalls = options.maxCalls ?? MAX_TIMER_CALLS_PER_TICK;
    for (const action of ["release", "escalate"] as const) {
      options.submitter.registerPurpose(action, {
        onMined: (keys, receipt) => {
          // Reverted: someone acted first, or the merchant was suspended meanwhile. The watcher
          // follows the escrow's events either way; a still-due timer is tried again.
          if (receipt.status !== 1) {
            this.log.warn({ action, paymentId: keys, txHash: receipt.transactionHash }, "order-timer call reverted");
          }
          return NO_STORE_WRITES;
        },
        onDropped: async (keys) => {
          this.log.warn(
            { action, paymentId: keys },
            "order-timer call dropped: its nonce was taken outside the relayer",
          );
        },
      });
    }
  }

  protected intervalMs(): number {
    return this.options.config.settleIntervalMs;
  }

  protected async run(): Promise<void> {
    this.lastSent = [];
    this.lastSkipped = [];
    const { chain } = this.options;
    const inFlight = await this.callsInFlight();
    const chainTime = await chain.chainTime();
    for (const { payment, action } of await this.due(chainTime, inFlight)) {
      if (this.lastSent.length >= this.maxCalls) break;
      if (!(await this.stillDue(payment, action, chainTime))) continue;
      await this.send(payment, action);
    }
  }

  /** Payment ids with a release or escalation transaction still pending. */
  private async callsInFlight(): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const s of await this.options.store.submissions.listPending()) {
      const { kind, keys } = parsePurpose(s.purpose);
      if ((kind === "release" || kind === "escalate") && s.state === SubmissionState.Pending) ids.add(keys);
    }
    return ids;
  }

  /**
   * The due timers, soonest first, with their action; releases of Suspended merchants are left out
   * (re-reading the list without them, so they do not crowd out the others).
   */
  private async due(
    chainTime: bigint,
    inFlight: Set<string>,
  ): Promise<{ payment: PaymentRecord; action: TimerAction }[]> {
    const { store, chain } = this.options;
    const suspended = new Set<bigint>();
    const statusOf = new Map<bigint, bigint>();
    let out: { payment: PaymentRecord; action: TimerAction }[] = [];
    for (let read = 0; read < MAX_DUE_READS; read++) {
      const rows = await store.payments.listTimersDue(chainTime, this.maxCalls + inFlight.size, [...suspended]);
      out = [];
      let more = false;
      for (const payment of rows) {
        if (inFlight.has(payment.id.toLowerCase())) continue;
        if (payment.state === PaymentState.RefundRequested) {
          out.push({ payment, action: "escalate" });
          continue;
        }
        if (payment.state !== PaymentState.Held && payment.state !== PaymentState.RefundRejected) continue;
        if (!statusOf.has(payment.merchantId)) {
          const [status] = await chain.rpc("registry.terms", () => chain.registry.terms(payment.merchantId));
          statusOf.set(payment.merchantId, status);
        }
        if (statusOf.get(payment.merchantId) === BigInt(MerchantStatus.Suspended)) {
          // The escrow refuses the release (MerchantSuspended) until the registrar reactivates it.
          suspended.add(payment.merchantId);
          this.lastSkipped.push({ paymentId: payment.id, reason: "merchant_suspended" });
          more = true;
          continue;
        }
        out.push({ payment, action: "release" });
      }
      if (!more || out.length >= this.maxCalls) break;
    }
    return out;
  }

  /** Whether the escrow's record still allows the action now (the store may lag the chain). */
  private async stillDue(payment: PaymentRecord, action: TimerAction, chainTime: bigint): Promise<boolean> {
    const { chain } = this.options;
    const record = await chain.rpc("escrow.paymentRecord", () => chain.escrow.paymentRecord(payment.id));
    const status = Number(record.status);
    const ok =
      action === "escalate"
        ? status === EscrowPaymentStatus.RefundRequested && record.deadline <= chainTime
        : (status === EscrowPaymentStatus.Held || status === EscrowPaymentStatus.RefundRejected) &&
          record.releaseAt <= chainTime;
    if (!ok) this.lastSkipped.push({ paymentId: payment.id, reason: `chain_status_${status}` });
    return ok;
  }

  private async send(payment: PaymentRecord, action: TimerAction): Promise<void> {
    const { submitter } = this.options;
    const data = action === "release" ? encodeRelease(payment) : encodeEscalateUnanswered(payment);
    let gasLimit: bigint;
    try {
      gasLimit = await submitter.gasLimitFor(data, TIMER_CALL_FALLBACK_GAS, { strict: true });
    } catch (error) {
      if (classifyRpcError(error) !== "revert") throw error;
      // It would revert on chain too (e.g. the merchant was suspended since the check).
      this.log.warn({ action, paymentId: payment.id, err: errorMessage(error) }, "order-timer call would revert");
      this.metrics?.failures.inc({ component: "order-timers", reason: "estimate_reverted" });
      this.lastSkipped.push({ paymentId: payment.id, reason: "would_revert" });
      return;
    }
    const submission = await submitter.send(timerPurpose(action, payment.id), data, gasLimit);
    this.lastSent.push({ action, paymentId: payment.id, txHash: submission.txHash });
    this.log.info({ action, paymentId: payment.id, txHash: submission.txHash }, "order-timer call sent");
  }
}
