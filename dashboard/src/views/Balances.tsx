/** Balances per currency: one row for each currency the relayer serves (each escrow holds one token). */
import * as api from "../api";
import { tokenAmount } from "../format";
import { Section, Status, useLoad } from "./common";

export function Balances() {
  const loaded = useLoad(async () => {
    const { items } = await api.currencies();
    const served = items.filter((c) => c.served);
    return Promise.all(served.map(async (currency) => ({ currency, balance: await api.balance(currency.code) })));
  }, []);
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
              {loaded.data.map(({ currency, balance }) => (
                <tr key={currency.code} data-currency={currency.code}>
                  <td>
                    {currency.code} <span class="muted">{currency.symbol}</span>{" "}
                    <span class="mono" title={currency.token}>
                      {currency.token}
                    </span>
                  </td>
                  <td class="num">{tokenAmount(balance.released, currency.decimals)}</td>
                  <td class="num">{tokenAmount(balance.claimable, currency.decimals)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Status>
    </Section>
  );
}
