/**
 * Payments with an open refund request (refund_requested), the one to answer first on top: the
 * amount asked back, the payer's reason and the time left before an unanswered request becomes a
 * dispute by itself.
 */
import * as api from "../api";
import { short, timeLeft, tokenAmount, unixTime } from "../format";
import { Section, Status, useLoad } from "./common";

export function RefundRequests({ onOpen }: { onOpen: (id: string) => void }) {
  const loaded = useLoad(() => api.openRefundRequests(), []);
  const now = Date.now();
  return (
    <Section title="Refund requests" actions={<button onClick={loaded.reload}>Refresh</button>}>
      <p class="muted">
        The payer asked for money back and the clock is paused until you refund or reject. A request left unanswered
        past its respond-by time becomes a dispute.
      </p>
      <Status loaded={loaded}>
        {loaded.data && loaded.data.items.length === 0 && <p class="muted">No open refund requests.</p>}
        {loaded.data && loaded.data.items.length > 0 && (
          <table class="payments refund-requests">
            <thead>
              <tr>
                <th>Payment</th>
                <th>Order reference</th>
                <th>Payer</th>
                <th class="num">Amount</th>
                <th class="num">Requested</th>
                <th>Reason</th>
                <th>Respond by (UTC)</th>
                <th>Time left</th>
              </tr>
            </thead>
            <tbody>
              {loaded.data.items.map((p) => {
                const request = p.timer?.refundRequest ?? null;
                return (
                  <tr key={p.id} data-id={p.id}>
                    <td>
                      <button class="link payment-link" data-id={p.id} onClick={() => onOpen(p.id)}>
                        {short(p.id)}
                      </button>
                    </td>
                    <td class="mono">{short(p.orderRef)}</td>
                    <td class="mono">{short(p.payer)}</td>
                    <td class="num">{tokenAmount(p.amount)}</td>
                    <td class="num request-amount">{tokenAmount(request?.amount)}</td>
                    <td class="request-reason">{request?.reasonName ?? "—"}</td>
                    <td>{unixTime(request?.respondBy)}</td>
                    <td class="request-left">{timeLeft(request?.respondBy, now)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        {loaded.data?.more && <p class="muted">More open requests than shown: answer these first.</p>}
      </Status>
    </Section>
  );
}
