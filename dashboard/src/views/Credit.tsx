/** The merchant's credit record, computed from chain events alone (docs/REPORTS.md). */
import * as api from "../api";
import { tokenAmount, when } from "../format";
import { Section, Status, useLoad } from "./common";

const percent = (bps: number): string => `${(bps / 100).toFixed(2)} %`;

export function Credit({ merchantId }: { merchantId: string }) {
  const loaded = useLoad(() => api.credit(merchantId), [merchantId]);
  const c = loaded.data;
  return (
    <Section title="Credit record">
      <Status loaded={loaded}>
        {c && (
          <>
            <dl class="facts" id="credit">
              <dt>As of</dt>
              <dd>
                {when(c.asOf)} (block {c.asOfBlock})
              </dd>
              <dt>First payment</dt>
              <dd>
                {when(c.firstEscrowAt)} ({c.ageDays} days)
              </dd>
              <dt>Payments</dt>
              <dd>{c.payments}</dd>
              <dt>Volume</dt>
              <dd>{tokenAmount(c.volume)}</dd>
              <dt>Refund rate</dt>
              <dd>
                {percent(c.refundRateBps)} ({c.refundedPayments} payments, {tokenAmount(c.refundedAmount)})
              </dd>
              <dt>Dispute rate</dt>
              <dd>
                {percent(c.disputeRateBps)} ({c.disputedPayments}: {c.disputes.forMerchant} for the merchant,{" "}
                {c.disputes.forPayer} for the payer, {c.disputes.split} split, {c.disputes.expired} expired,{" "}
                {c.disputes.open} open)
              </dd>
              <dt>Confirmed early by buyers</dt>
              <dd>
                {percent(c.earlyConfirmShareBps)} ({c.confirmedEarly})
              </dd>
              <dt>Median time to settle</dt>
              <dd>{c.timeToSettle.medianSeconds === null ? "—" : `${c.timeToSettle.medianSeconds} s`}</dd>
            </dl>
            <h3>Per {c.periodDays} days</h3>
            <table>
              <thead>
                <tr>
                  <th>From</th>
                  <th>To</th>
                  <th class="num">Payments</th>
                  <th class="num">Volume</th>
                </tr>
              </thead>
              <tbody>
                {c.periods.map((p) => (
                  <tr key={p.start}>
                    <td>{when(p.start)}</td>
                    <td>{when(p.end)}</td>
                    <td class="num">{p.payments}</td>
                    <td class="num">{tokenAmount(p.volume)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </Status>
    </Section>
  );
}
