/**
 * The FX desk's mirror (docs/CURRENCIES.md, "Failure and refund rules"): keeps the two legs of a
 * cross-currency payment in step, signing with the desk's key (the pay leg's merchant owner and the
 * settle leg's payer) and sending through each leg's own currency writer.
 *
 * - `mirrorStep` decides, from the two stored legs alone, the one action a pair needs next;
 * - `FxMirror` finds the pairs that may need one and sends it, on a timer, under a store lease so
 *   that of several API instances one mirrors at a time. Every action is idempotent on chain
 *   (cumulative refund totals, ordinals), so a repeat after a crash is refused, never doubled.
 */
import { randomBytes } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import {
  escalationDigest,
  escrowDomain,
  holdExtensionDigest,
  mirroredRefund,
  mirroredRequest,
  REFUND_REASONS,
  refundRejectionDigest,
  refundRequestDigest,
  paymentFields,
} from "../../protocol";
import { PaymentState, type Hex, type PaymentRecord } from "../domain";
import { isApiError } from "../errors";
import { RelayPendingError, type SentTransaction } from "../chain/chainWriter";
import { relayCalls } from "../chain/relayCalls";
import type { RouteContext, ServedCurrency } from "../http/context";
import { errorMessage } from "../runtime/log";
import { PeriodicTask } from "../runtime/periodic";

declare module "fastify" {
  interface FastifyInstance {
    /** The FX desk's mirror of its two legs (null without a desk; `runOnce()` for one pass). */
    fxMirror: FxMirror | null;
  }
}

/** The legs of one FX payment: the payer's (to the desk) and the desk's (to the merchant), if stored. */
export interface FxLegs {
  pay: PaymentRecord;
  settle: PaymentRecord | null;
}

/** What a pair needs next; each names the leg it acts on. */
export type MirrorAction =
  /** The desk (merchant of the pay leg) refunds it up to `totalRefund` in all. */
  | {
      kind: "refund_pay_leg";
      leg: PaymentRecord;
      totalRefund: bigint;
      because: "settle_leg_missing" | "settle_leg_failed" | "settle_leg_refunded";
    }
  /** The desk (payer of the settle leg) extends its hold to the pay leg's release time. */
  | { kind: "extend_settle_leg"; leg: PaymentRecord; extension: bigint; ordinal: bigint }
  /** The desk asks the merchant for `amount` back on the settle leg (the traveller asked on the pay leg, or never paid). */
  | { kind: "request_settle_refund"; leg: PaymentRecord; amount: bigint; reason: bigint; ordinal: bigint }
  /** The merchant rejected the settle leg's request: the desk rejects the traveller's, who may escalate it. */
  | { kind: "reject_pay_request"; leg: PaymentRecord; ordinal: bigint }
  /** The traveller escalated its request to a dispute: the desk escalates the settle leg's. */
  | { kind: "escalate_settle_request"; leg: PaymentRecord; ordinal: bigint }
  /** The traveller's leg was released (confirmed, or its hold ended): the desk confirms the merchant's. */
  | { kind: "confirm_settle_leg"; leg: PaymentRecord };

/** The escrow holds the payment (PaymentLifecycle._loadHeld): a refund may answer it. */
const HELD: readonly PaymentState[] = [
  PaymentState.Escrowed,
  PaymentState.Held,
  PaymentState.RefundRequested,
  PaymentState.RefundRejected,
];
/** On its clock, with no request open: extensions and new requests are taken. */
const RUNNING: readonly PaymentState[] = [PaymentState.Escrowed, PaymentState.Held];
/** Released to its merchant (the desk, for the pay leg). */
const RELEASED: readonly PaymentState[] = [PaymentState.Released, PaymentState.Settled];
/** The settle leg never was or never will be escrowed. */
const FAILED: readonly PaymentState[] = [PaymentState.Rejected, PaymentState.Expired];

const extensionsOf = (p: PaymentRecord) => BigInt(p.timer?.extensions ?? 0);
const requestsOf = (p: PaymentRecord) => BigInt(p.timer?.refundRequests ?? 0);

/**
 * The one action the pair needs next, or null. Refunds owed to the traveller come first; then the
 * traveller's timer actions are carried over to the merchant's leg, and the merchant's answers back.
 * `graceMs`: how long after the pay leg was accepted a missing settle leg counts as never coming
 * (the desk submits it right after the pay leg, in the same request).
 */
export function mirrorStep({ pay, settle }: FxLegs, nowMs: number, graceMs: number): MirrorAction | null {
  if (HELD.includes(pay.state)) {
    let owed = 0n;
    let because: "settle_leg_missing" | "settle_leg_failed" | "settle_leg_refunded" = "settle_leg_refunded";
    if (settle === null) {
      if (nowMs - pay.createdAt >= graceMs) [owed, because] = [pay.amount, "settle_leg_missing"];
    } else if (FAILED.includes(settle.state)) {
      [owed, because] = [pay.amount, "settle_leg_failed"];
    } else {
      owed = mirroredRefund(settle.refunded, pay.amount, settle.amount);
    }
    if (owed > pay.refunded) return { kind: "refund_pay_leg", leg: pay, totalRefund: owed, because };
  }
  if (settle === null) return null;

  if (FAILED.includes(pay.state)) {
    // The traveller's leg failed on chain after the desk's went in: the desk asks for all of it back.
    if (RUNNING.includes(settle.state) && requestsOf(settle) === 0n && settle.refunded < settle.amount) {
      return {
        kind: "request_settle_refund",
        leg: settle,
        amount: settle.amount - settle.refunded,
        reason: BigInt(REFUND_REASONS.cancelled_order),
        ordinal: 1n,
      };
    }
    return null;
  }
  if (RELEASED.includes(pay.state)) {
    // The traveller confirmed delivery (or let the hold end): the merchant is paid now, not at its own hold's end.
    return HELD.includes(settle.state) ? { kind: "confirm_settle_leg", leg: settle } : null;
  }
  if (pay.state === PaymentState.RefundRequested && pay.timer?.request) {
    if (settle.state === PaymentState.RefundRejected) {
      return { kind: "reject_pay_request", leg: pay, ordinal: requestsOf(pay) };
    }
    if (RUNNING.includes(settle.state) && requestsOf(settle) < requestsOf(pay)) {
      const asked = mirroredRequest(pay.timer.request.amount, pay.amount, settle.amount);
      const amount = asked < settle.amount - settle.refunded ? asked : settle.amount - settle.refunded;
      if (amount > 0n) {
        return {
          kind: "request_settle_refund",
          leg: settle,
          amount,
          reason: BigInt(pay.timer.request.reason),
          ordinal: requestsOf(settle) + 1n,
        };
      }
    }
    return null;
  }
  if (pay.state === PaymentState.Disputed && settle.state === PaymentState.RefundRejected) {
    return { kind: "escalate_settle_request", leg: settle, ordinal: requestsOf(settle) };
  }
  if (
    RUNNING.includes(pay.state) &&
    RUNNING.includes(settle.state) &&
    extensionsOf(pay) > extensionsOf(settle) &&
    pay.releaseAt !== null &&
    settle.releaseAt !== null &&
    pay.releaseAt > settle.releaseAt
  ) {
    return {
      kind: "extend_settle_leg",
      leg: settle,
      extension: pay.releaseAt - settle.releaseAt,
      ordinal: extensionsOf(settle) + 1n,
    };
  }
  return null;
}

/** The desk as the mirror uses it: who it is and its key's signature over a digest. */
export interface MirrorDesk {
  readonly deskAddress: Hex;
  readonly deskMerchantId: bigint;
  signDigest(digest: Hex | Uint8Array): Hex;
}

export interface FxMirrorOptions {
  /** Period of the timer (ms); 0: no timer (`runOnce()` still works). */
  intervalMs: number;
  /** See mirrorStep. Default one minute. */
  graceMs?: number;
  /** How long a signed action stays valid, and how long the mirror waits for its effect before sending it again (s). */
  actionTtlSeconds?: number;
  log?: FastifyBaseLogger;
}

/** Pairs looked at per page of the listing. */
const PAGE = 200;
const LEASE = "fx-mirror";

type Ctx = Pick<RouteContext, "store" | "served" | "inclusion" | "clock" | "metrics">;

/** One pass's outcome: the actions sent and those the escrow or the relayer refused. */
export interface MirrorPass {
  sent: { kind: MirrorAction["kind"]; paymentId: Hex; txHash: Hex | null }[];
  failed: { kind: MirrorAction["kind"]; paymentId: Hex; code: string }[];
  /** False when another instance holds the mirror's lease. */
  leader: boolean;
}

export class FxMirror {
  private readonly task = new PeriodicTask(
    () => this.runOnce(),
    (error: unknown) => this.options.log?.warn({ err: errorMessage(error) }, "fx mirror pass failed"),
  );
  private last: Promise<unknown> = Promise.resolve();
  private readonly holder = `fx-mirror:${randomBytes(8).toString("hex")}`;
  /** Actions sent (or refused) and not yet seen applied, by key: not tried again before their time is up. */
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly desk: MirrorDesk,
    private readonly ctx: Ctx,
    private readonly options: FxMirrorOptions,
  ) {}

  start(): void {
    this.task.start(this.options.intervalMs);
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  private get ttlMs(): number {
    return (this.options.actionTtlSeconds ?? 600) * 1000;
  }

  /**
   * One pass over every pair that may need an action, under the mirror's lease. Passes of one
   * instance never overlap (the timer's and a caller's): each waits for the one before.
   */
  runOnce(): Promise<MirrorPass> {
    const pass = this.last.then(() => this.pass());
    this.last = pass.catch(() => undefined);
    return pass;
  }

  private async pass(): Promise<MirrorPass> {
    const pass: MirrorPass = { sent: [], failed: [], leader: false };
    const now = this.ctx.clock();
    const leaseTtl = Math.max(3 * this.options.intervalMs, 30_000);
    if (!(await this.ctx.store.leases.acquire(LEASE, this.holder, leaseTtl, now, "fx mirror"))) return pass;
    pass.leader = true;
    for (const [key, until] of this.inFlight) if (until <= now) this.inFlight.delete(key);
    for await (const legs of this.pairs()) {
      const action = mirrorStep(legs, now, this.options.graceMs ?? 60_000);
      if (!action) continue;
      const key = actionKey(action);
      if (this.inFlight.has(key)) continue;
      // Sent, queued or refused, it is not tried again before its time is up: by then the legs
      // show its effect, or have moved on.
      this.inFlight.set(key, now + this.ttlMs);
      try {
        const sent = await this.send(action);
        pass.sent.push({ kind: action.kind, paymentId: action.leg.id, txHash: sent?.txHash ?? null });
        this.ctx.metrics.fxMirrorActions.inc({ action: action.kind, result: "sent" });
        this.options.log?.info(
          { action: action.kind, paymentId: action.leg.id, txHash: sent?.txHash ?? null },
          "fx mirror action sent",
        );
      } catch (error) {
        if (error instanceof RelayPendingError) {
          // Queued for the currency's workers (role api): it will be sent.
          pass.sent.push({ kind: action.kind, paymentId: action.leg.id, txHash: null });
          this.ctx.metrics.fxMirrorActions.inc({ action: action.kind, result: "sent" });
          continue;
        }
        const code = isApiError(error) ? error.code : "internal";
        pass.failed.push({ kind: action.kind, paymentId: action.leg.id, code });
        this.ctx.metrics.fxMirrorActions.inc({ action: action.kind, result: code });
        this.options.log?.warn(
          { action: action.kind, paymentId: action.leg.id, code, err: errorMessage(error) },
          "fx mirror action refused",
        );
      }
    }
    return pass;
  }

  /**
   * The pairs that may need an action: every pay leg the escrow holds or that is disputed (refunds,
   * requests, escalations), and every settle leg the escrow holds (its pay leg may have been
   * released or have failed).
   */
  private async *pairs(): AsyncGenerator<FxLegs> {
    const seen = new Set<Hex>();
    const payStates = [...HELD, PaymentState.Disputed];
    for await (const pay of this.list({ merchantId: this.desk.deskMerchantId, states: payStates })) {
      seen.add(pay.orderRef);
      yield { pay, settle: await this.partner(pay, { payer: this.desk.deskAddress }) };
    }
    for await (const settle of this.list({ payer: this.desk.deskAddress, states: [...HELD] })) {
      if (seen.has(settle.orderRef)) continue;
      const pay = await this.partner(settle, { merchantId: this.desk.deskMerchantId });
      if (pay) yield { pay, settle };
    }
  }

  private async *list(filter: { merchantId?: bigint; payer?: Hex; states: PaymentState[] }) {
    let cursor: string | undefined;
    do {
      const page = await this.ctx.store.payments.list({ ...filter, cursor, limit: PAGE });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  /** The other leg of `leg`: the payment in another currency with its orderRef that `filter` names. */
  private async partner(
    leg: PaymentRecord,
    filter: { merchantId: bigint } | { payer: Hex },
  ): Promise<PaymentRecord | null> {
    const found = await this.ctx.store.payments.list({ ...filter, orderRef: leg.orderRef, limit: 10 });
    return found.items.find((p) => p.currency !== leg.currency) ?? null;
  }

  private currencyOf(leg: PaymentRecord): ServedCurrency {
    const served = this.ctx.served.get(leg.currency);
    if (!served?.writer) throw new Error(`the relayer sends no ${leg.currency} transactions`);
    return served;
  }

  private async send(action: MirrorAction): Promise<SentTransaction | null> {
    const currency = this.currencyOf(action.leg);
    const writer = currency.writer!;
    const deadline = BigInt(Math.floor(this.ctx.clock() / 1000)) + BigInt(this.options.actionTtlSeconds ?? 600);
    const domain = escrowDomain(currency.chain.chainId, currency.chain.escrow);
    const paymentId = action.leg.id;
    const payment = paymentFields(action.leg);
    const inclusion = async () => {
      const proof = await this.ctx.inclusion.of(action.leg);
      if (!proof) throw new Error(`payment ${paymentId}'s inclusion proof is not available yet`);
      return proof;
    };
    switch (action.kind) {
      case "refund_pay_leg": {
        const { totalRefund } = action;
        const signature = this.desk.signDigest(currency.digester.refund(paymentId, totalRefund, deadline));
        return writer.refundWithSignature({ payment, inclusion: await inclusion(), totalRefund, deadline, signature });
      }
      case "extend_settle_leg": {
        const { extension, ordinal } = action;
        const signature = this.desk.signDigest(
          holdExtensionDigest(domain, { paymentId, extension, ordinal, deadline }),
        );
        return writer.relayOrderTimer(
          relayCalls.extendHoldWithSignature({
            payment,
            inclusion: await inclusion(),
            extension,
            ordinal,
            deadline,
            signature,
          }),
        );
      }
      case "request_settle_refund": {
        const { amount, reason, ordinal } = action;
        const signature = this.desk.signDigest(
          refundRequestDigest(domain, { paymentId, amount, reason, ordinal, deadline }),
        );
        return writer.relayOrderTimer(
          relayCalls.requestRefundWithSignature({
            payment,
            inclusion: await inclusion(),
            amount,
            reason,
            ordinal,
            deadline,
            signature,
          }),
        );
      }
      case "reject_pay_request": {
        const { ordinal } = action;
        const signature = this.desk.signDigest(refundRejectionDigest(domain, { paymentId, ordinal, deadline }));
        return writer.relayOrderTimer(
          relayCalls.rejectRefundRequestWithSignature({ payment, ordinal, deadline, signature }),
        );
      }
      case "confirm_settle_leg": {
        const signature = this.desk.signDigest(currency.digester.confirmation(paymentId, deadline));
        return writer.confirmWithSignature({ payment, inclusion: await inclusion(), deadline, signature });
      }
      case "escalate_settle_request": {
        const { ordinal } = action;
        const signature = this.desk.signDigest(escalationDigest(domain, { paymentId, ordinal, deadline }));
        return writer.relayOrderTimer(
          relayCalls.escalateRefundRequestWithSignature({ payment, ordinal, deadline, signature }),
        );
      }
    }
  }
}

/** An action's identity: the same action on the same leg state is not sent twice while in flight. */
function actionKey(action: MirrorAction): string {
  switch (action.kind) {
    case "refund_pay_leg":
      return `${action.kind}:${action.leg.id}:${action.totalRefund}`;
    case "request_settle_refund":
      return `${action.kind}:${action.leg.id}:${action.ordinal}:${action.amount}`;
    case "confirm_settle_leg":
      return `${action.kind}:${action.leg.id}`;
    default:
      return `${action.kind}:${action.leg.id}:${action.ordinal}`;
  }
}
