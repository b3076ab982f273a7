/**
 * One payment: its facts, its order timer, its timeline (relayer records and escrow events) and a
 * partial or full refund signed by the merchant owner's browser wallet: the relayer gives the
 * EIP-712 typed data, the wallet signs it (eth_signTypedData_v4), the page posts the signature. An
 * open refund request is answered the same way: a refund (prefilled with the amount asked) or a
 * signed rejection.
 */
import { useEffect, useState } from "preact/hooks";
import * as api from "../api";
import { decimalAmount, parseAmount, short, timeLeft, tokenAmount, unixTime, when } from "../format";
import { hasWallet, signTypedData } from "../wallet";
import { describe, Section, Status, useLoad } from "./common";

const LABELS: Record<string, string> = {
  accepted: "Accepted by the relayer",
  batched: "Put in a batch",
  escrowed: "Escrowed on chain",
  rejected: "Rejected",
  confirmed: "Confirmed by the payer (released)",
  refunded: "Refunded",
  dispute_opened: "Dispute opened",
  dispute_resolved: "Dispute resolved",
  hold_extended: "Hold extended by the payer",
  refund_requested: "Refund requested by the payer (clock paused)",
  refund_request_rejected: "Refund request rejected",
  hold_resumed: "Clock resumed (a partial refund answered the request)",
  released: "Released to the merchant (hold ended)",
  settled: "Settled (paid out)",
};

/** States a refund can still be sent in: the escrow holds the money (on its tranche or own timer). */
const REFUNDABLE = ["escrowed", "held", "refund_requested", "refund_rejected"];

/** Timeline entries that answer the merchant's signed action: a refund or a rejection. */
const ANSWERS = ["refunded", "refund_request_rejected"];

/** What the chain says is refunded so far (the relayer's record may lag behind its watcher). */
function refundedSoFar(t: api.PaymentTimelineView): bigint {
  let total = BigInt(t.refunded);
  for (const e of t.entries) {
    if (e.kind === "refunded" && e.details.totalRefunded && BigInt(e.details.totalRefunded) > total) {
      total = BigInt(e.details.totalRefunded);
    }
  }
  return total;
}

export function PaymentDetail({ id, onBack }: { id: string; onBack: () => void }) {
  const loaded = useLoad(() => Promise.all([api.payment(id), api.timeline(id)]), [id]);
  const [watching, setWatching] = useState(0);
  // After a refund or rejection is sent, look again every 2 s (for a minute) until the escrow's event shows up.
  useEffect(() => {
    if (watching === 0) return;
    const timer = window.setInterval(loaded.reload, 2000);
    const stop = window.setTimeout(() => setWatching(0), 60_000);
    return () => {
      window.clearInterval(timer);
      window.clearTimeout(stop);
    };
  }, [watching]);
  const answers = loaded.data?.[1].entries.filter((e) => ANSWERS.includes(e.kind)).length ?? 0;
  useEffect(() => {
    if (watching > 0 && answers >= watching) setWatching(0);
  }, [answers, watching]);
  const sent = () => {
    setWatching(answers + 1);
    loaded.reload();
  };

  return (
    <Section
      title="Payment"
      actions={
        <span>
          <button onClick={loaded.reload}>Refresh</button> <button onClick={onBack}>Back</button>
        </span>
      }
    >
      <Status loaded={loaded}>
        {loaded.data && (
          <>
            <Facts payment={loaded.data[0]} timeline={loaded.data[1]} />
            {loaded.data[0].timer && <Timer payment={loaded.data[0]} timer={loaded.data[0].timer} />}
            <Timeline timeline={loaded.data[1]} />
            {loaded.data[0].state === "refund_requested" && loaded.data[0].timer?.refundRequest && (
              <Reject payment={loaded.data[0]} onSent={sent} />
            )}
            {REFUNDABLE.includes(loaded.data[0].state) && (
              <Refund
                key={`${loaded.data[0].state}-${loaded.data[0].timer?.refundRequests ?? 0}`}
                payment={loaded.data[0]}
                refunded={refundedSoFar(loaded.data[1])}
                onSent={sent}
              />
            )}
          </>
        )}
      </Status>
    </Section>
  );
}

function Facts({ payment, timeline }: { payment: api.PaymentView; timeline: api.PaymentTimelineView }) {
  return (
    <dl class="facts">
      <dt>Id</dt>
      <dd class="mono" id="payment-id">
        {payment.id}
      </dd>
      <dt>Order reference</dt>
      <dd id="order-ref-text">{timeline.orderRefText ?? "—"}</dd>
      <dt>Order reference (bytes32)</dt>
      <dd class="mono">{payment.orderRef}</dd>
      <dt>Payer</dt>
      <dd class="mono">{payment.payer}</dd>
      <dt>Amount</dt>
      <dd>
        {tokenAmount(payment.amount)} <span id="payment-currency">{payment.currency}</span>
      </dd>
      <dt>Refunded</dt>
      <dd id="refunded">{tokenAmount(refundedSoFar(timeline).toString())}</dd>
      <dt>State</dt>
      <dd>
        <span id="payment-state" class={`state state-${payment.state}`}>
          {payment.state}
        </span>
      </dd>
      <dt>Hold</dt>
      <dd id="hold">{holdText(payment.hold)}</dd>
      <dt>Release at</dt>
      <dd id="release-at">
        {payment.releaseAt ? unixTime(payment.releaseAt) : payment.state === "refund_requested" ? "paused" : "—"}
      </dd>
    </dl>
  );
}

/** The payment's own order timer: release time, extensions, and the open or rejected refund request. */
function Timer({ payment, timer }: { payment: api.PaymentView; timer: NonNullable<api.PaymentView["timer"]> }) {
  const request = timer.refundRequest;
  const open = payment.state === "refund_requested";
  const rejected = payment.state === "refund_rejected";
  return (
    <>
      <h3>Order timer</h3>
      <dl class="facts" id="order-timer">
        <dt>Releases at (UTC)</dt>
        <dd id="timer-release-at">
          {timer.releaseAt
            ? `${unixTime(timer.releaseAt)} (in ${timeLeft(timer.releaseAt)})`
            : "paused while the refund request is open"}
        </dd>
        {timer.holdLeft !== null && (
          <>
            <dt>Hold left when paused</dt>
            <dd id="timer-hold-left">{holdText(Number(timer.holdLeft))}</dd>
          </>
        )}
        <dt>Hold extensions by the payer</dt>
        <dd id="timer-extensions">{timer.extensions}</dd>
        <dt>Refund requests so far</dt>
        <dd id="timer-requests">{timer.refundRequests}</dd>
      </dl>
      {request && (open || rejected) && (
        <div class={open ? "request request-open" : "request request-rejected"} id="refund-request">
          <h3>{open ? "Open refund request" : "Rejected refund request"}</h3>
          <dl class="facts">
            <dt>Amount asked back</dt>
            <dd id="request-amount">{tokenAmount(request.amount)}</dd>
            <dt>Reason</dt>
            <dd id="request-reason">{request.reasonName}</dd>
            {open && (
              <>
                <dt>Respond by (UTC)</dt>
                <dd id="request-respond-by">
                  {unixTime(request.respondBy)} ({timeLeft(request.respondBy)} left; unanswered, it becomes a dispute)
                </dd>
              </>
            )}
            {rejected && (
              <>
                <dt>Payer may escalate until (UTC)</dt>
                <dd id="escalate-by">
                  {unixTime(timer.escalateBy)} ({timeLeft(timer.escalateBy)} left to open a dispute over it)
                </dd>
              </>
            )}
          </dl>
        </div>
      )}
    </>
  );
}

function Timeline({ timeline }: { timeline: api.PaymentTimelineView }) {
  return (
    <>
      <h3>Timeline</h3>
      <ol class="timeline" id="timeline">
        {timeline.entries.map((e) => (
          <li class={`entry entry-${e.kind}`} data-kind={e.kind}>
            <span class="when">{when(e.at)}</span>
            <strong>{LABELS[e.kind] ?? e.kind}</strong>
            <span class="source">{e.source}</span>
            {Object.entries(e.details).map(([k, v]) => (
              <span class="detail">
                {k}:{" "}
                {/^[0-9]+$/.test(v) && /amount|released|fee|total|toPayer|toMerchant/i.test(k) ? tokenAmount(v) : v}
              </span>
            ))}
            {e.blockNumber !== null && <span class="detail">block {e.blockNumber}</span>}
            {e.txHash && (
              <span class="detail mono" title={e.txHash}>
                tx {short(e.txHash)}
              </span>
            )}
          </li>
        ))}
      </ol>
    </>
  );
}

function Refund({ payment, refunded, onSent }: { payment: api.PaymentView; refunded: bigint; onSent: () => void }) {
  const request = payment.state === "refund_requested" ? (payment.timer?.refundRequest ?? null) : null;
  // An open request: the amount asked back. Refunding it in part resumes the clock; in full ends it.
  const [text, setText] = useState(request ? decimalAmount(request.amount) : "");
  const [status, setStatus] = useState<{ kind: "error" | "ok" | "busy"; text: string } | null>(null);
  const left = BigInt(payment.amount) - refunded;
  const submit = async (event: Event) => {
    event.preventDefault();
    const units = parseAmount(text);
    if (units === null) return setStatus({ kind: "error", text: "Enter an amount such as 2.50" });
    if (BigInt(units) > left)
      return setStatus({ kind: "error", text: `At most ${tokenAmount(left.toString())} is left to refund` });
    const totalRefund = (refunded + BigInt(units)).toString();
    try {
      setStatus({ kind: "busy", text: "Asking the relayer for the refund to sign…" });
      const { typedData, signer } = await api.refundTypedData(payment.id, totalRefund);
      setStatus({ kind: "busy", text: `Waiting for the wallet (owner key ${short(signer)}) to sign…` });
      const signature = await signTypedData(signer, typedData);
      setStatus({ kind: "busy", text: "Sending the signed refund…" });
      const sent = await api.refund(payment.id, {
        totalRefund: typedData.message.totalRefund,
        deadline: typedData.message.deadline,
        signature,
      });
      setText("");
      setStatus({
        kind: "ok",
        text: `Refund sent (tx ${short(sent.txHash)}); the timeline shows it once the escrow has it.`,
      });
      onSent();
    } catch (e) {
      setStatus({ kind: "error", text: describe(e) });
    }
  };
  return (
    <form class="refund" onSubmit={submit}>
      <h3>{request ? "Answer with a refund" : "Refund"}</h3>
      <p class="muted">
        Up to {tokenAmount(left.toString())} can be refunded.
        {request &&
          ` The payer asked for ${tokenAmount(request.amount)}: refunding part of the payment answers the request and resumes the clock; refunding all of it ends the payment.`}{" "}
        The merchant's owner key signs it in the browser wallet
        {hasWallet() ? "." : " (no wallet found on this page)."}
      </p>
      <label>
        Amount
        <input
          id="refund-amount"
          inputMode="decimal"
          placeholder="0.00"
          value={text}
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
        />
      </label>
      <button id="refund-submit" type="submit" disabled={status?.kind === "busy"}>
        Refund
      </button>
      {status && (
        <p id="refund-status" class={status.kind === "error" ? "error" : "notice"} role="status">
          {status.text}
        </p>
      )}
    </form>
  );
}

/**
 * Rejects the open refund request: the relayer gives the `RefundRejection` typed data for the
 * request's ordinal, the owner's wallet signs it, the page posts it. The clock resumes and the payer
 * may escalate to a dispute until the escalation deadline.
 */
function Reject({ payment, onSent }: { payment: api.PaymentView; onSent: () => void }) {
  const [status, setStatus] = useState<{ kind: "error" | "ok" | "busy"; text: string } | null>(null);
  const reject = async (event: Event) => {
    event.preventDefault();
    try {
      setStatus({ kind: "busy", text: "Asking the relayer for the rejection to sign…" });
      // The open request is the payment's latest: its number is the count of requests so far.
      const ordinal = String(payment.timer?.refundRequests ?? 0);
      const { typedData, signer } = await api.refundRejectionTypedData(payment.id, ordinal);
      setStatus({ kind: "busy", text: `Waiting for the wallet (owner key ${short(signer)}) to sign…` });
      const signature = await signTypedData(signer, typedData);
      setStatus({ kind: "busy", text: "Sending the signed rejection…" });
      const sent = await api.rejectRefundRequest(payment.id, {
        ordinal: typedData.message.ordinal,
        deadline: typedData.message.deadline,
        signature,
      });
      setStatus({
        kind: "ok",
        text: `Rejection sent (tx ${short(sent.txHash)}); the timeline shows it once the escrow has it.`,
      });
      onSent();
    } catch (e) {
      setStatus({ kind: "error", text: describe(e) });
    }
  };
  return (
    <form class="reject" onSubmit={reject}>
      <h3>Reject the request</h3>
      <p class="muted">
        The clock resumes; the payer may still take it to a dispute until the escalation deadline. The merchant's owner
        key signs the rejection in the browser wallet.
      </p>
      <button id="reject-submit" type="submit" disabled={status?.kind === "busy"}>
        Reject refund request
      </button>
      {status && (
        <p id="reject-status" class={status.kind === "error" ? "error" : "notice"} role="status">
          {status.text}
        </p>
      )}
    </form>
  );
}

/** A payment's hold (seconds, its own auto-confirm timer) in days and hours, as a merchant reads it. */
function holdText(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3_600);
  const rest = seconds % 3_600;
  if (rest !== 0 || (days === 0 && hours === 0)) return `${seconds} s`;
  return [days > 0 ? `${days} d` : "", hours > 0 ? `${hours} h` : ""].filter(Boolean).join(" ");
}
