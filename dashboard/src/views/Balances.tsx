/** Balances per currency: the escrow settles in one token, so one row. */
import * as api from "../api";
import { tokenAmount } from "../format";
import { Section, Status, useLoad } from "./common";

export function Balances({ merchantId }: { merchantId: string }) {
  const loaded = useLoad(() => Promise.all([api.balance(), api.credit(merchantId).catch(() => null)]), [merchantId]);
  return (
    <Section title="Balances">
      <Status loaded={loaded}>
        {loaded.data && (
          <table id="balances">
            <thead>
              <tr>
                <th>Currency (token)</th>
                <th class="num">Released, paid at the next settlement</th>
                <th class="num">Claimable (payout refused)</th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <td class="mono">{loaded.data[1]?.token ?? "settlement token"}</td>
                <td class="num">{tokenAmount(loaded.data[0].released)}</td>
                <td class="num">{tokenAmount(loaded.data[0].claimable)}</td>
              </tr>
            </tbody>
          </table>
        )}
      </Status>
    </Section>
  );
}
