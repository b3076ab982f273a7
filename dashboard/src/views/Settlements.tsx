/** Settlements (payouts) the relayer made for the merchant, newest first. */
import { useState } from "preact/hooks";
import * as api from "../api";
import { short, tokenAmount, when } from "../format";
import { Section, Status, useLoad } from "./common";

export function Settlements() {
  const [cursors, setCursors] = useState<string[]>([]);
  const loaded = useLoad(() => api.settlements(cursors[cursors.length - 1]), [cursors]);
  return (
    <Section title="Settlements">
      <Status loaded={loaded}>
        {loaded.data?.items.length === 0 && <p class="muted">No settlements yet.</p>}
        {!!loaded.data?.items.length && (
          <table id="settlements">
            <thead>
              <tr>
                <th>Created (UTC)</th>
                <th>Batches</th>
                <th>State</th>
                <th>Currency</th>
                <th class="num">Amount</th>
                <th class="num">Fee</th>
                <th>Transaction</th>
              </tr>
            </thead>
            <tbody>
              {loaded.data.items.map((s) => (
                <tr key={s.key}>
                  <td>{when(s.createdAt)}</td>
                  <td>{s.batchIds.join(", ")}</td>
                  <td>{s.state}</td>
                  <td class="currency">{s.currency}</td>
                  <td class="num">{tokenAmount(s.amount)}</td>
                  <td class="num">{tokenAmount(s.fee)}</td>
                  <td class="mono" title={s.txHash ?? ""}>
                    {short(s.txHash)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {loaded.data?.nextCursor && (
          <button onClick={() => setCursors([...cursors, loaded.data!.nextCursor!])}>Older</button>
        )}
      </Status>
    </Section>
  );
}
