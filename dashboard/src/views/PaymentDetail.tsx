/**
 * One payment: its facts, its timeline (relayer records and escrow events) and a partial or full
 * refund signed by the merchant owner's browser wallet: the relayer gives the EIP-712 typed data,
 * the wallet signs it (eth_signTypedData_v4), the page posts the signature.
 */
import { useEffect, useState } from "preact/hooks";
import * as api from "../api";
import { parseAmount, short, tokenAmount, when } from "../format";
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
  settled: "Settled (paid out)",
};

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
  // After a refund is sent, look again every 2 s (for a minute) until the escrow's event shows up.
  useEffect(() => {
    if (watching === 0) return;
    const timer = window.setInterval(loaded.reload, 2000);
    const stop = window.setTimeout(() => setWatching(0), 60_000);
    return () => {
      window.clearInterval(timer);
      window.clearTimeout(stop);
    };
  }, [watching]);
  const refunds = loaded.data?.[1].entries.filter((e) => e.kind === "refunded").length ?? 0;
  useEffect(() => {
    if (watching > 0 && refunds >= watching) setWatching(0);
  }, [refunds, watching]);

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
            <Timeline timeline={loaded.data[1]} />
            {loaded.data[0].state === "escrowed" && (
              <Refund
                payment={loaded.data[0]}
                refunded={refundedSoFar(loaded.data[1])}
                onSent={() => {
                  setWatching(refunds + 1);
                  loaded.reload();
                }}
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
      <dd>{tokenAmount(payment.amount)}</dd>
      <dt>Refunded</dt>
      <dd id="refunded">{tokenAmount(refundedSoFar(timeline).toString())}</dd>
      <dt>State</dt>
      <dd>
        <span class={`state state-${payment.state}`}>{payment.state}</span>
      </dd>
      <dt>Hold</dt>
      <dd id="hold">{holdText(payment.hold)}</dd>
      <dt>Release at</dt>
      <dd>{payment.releaseAt ? when(new Date(Number(payment.releaseAt) * 1000).toISOString()) : "—"}</dd>
    </dl>
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
  const [text, setText] = useState("");
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
      <h3>Refund</h3>
      <p class="muted">
        Up to {tokenAmount(left.toString())} can be refunded. The merchant's owner key signs it in the browser wallet
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

/** A payment's hold (seconds, its own auto-confirm timer) in days and hours, as a merchant reads it. */
function holdText(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3_600);
  const rest = seconds % 3_600;
  if (rest !== 0 || (days === 0 && hours === 0)) return `${seconds} s`;
  return [days > 0 ? `${days} d` : "", hours > 0 ? `${hours} h` : ""].filter(Boolean).join(" ");
}
