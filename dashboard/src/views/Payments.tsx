/** The merchant's payments: filters by state and time, search by order reference, pages by cursor. */
import { useState } from "preact/hooks";
import * as api from "../api";
import { short, tokenAmount, when } from "../format";
import { Section, Status, useLoad } from "./common";

const STATES = [
  "",
  "accepted",
  "batched",
  "submitted",
  "escrowed",
  "held",
  "refund_requested",
  "refund_rejected",
  "released",
  "refunded",
  "disputed",
  "resolved",
  "settled",
  "rejected",
  "expired",
];

interface Filters {
  state: string;
  currency: string;
  orderRef: string;
  from: string;
  to: string;
}

export function Payments({
  onOpen,
  title = "Payments",
  fixedState,
}: {
  onOpen: (id: string) => void;
  title?: string;
  fixedState?: string;
}) {
  const [draft, setDraft] = useState<Filters>({ state: "", currency: "", orderRef: "", from: "", to: "" });
  const [filters, setFilters] = useState<Filters>(draft);
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const currencies = useLoad(() => api.currencies(), []);
  const loaded = useLoad(
    () =>
      api.payments({
        state: fixedState ?? filters.state,
        currency: filters.currency,
        orderRef: filters.orderRef.trim(),
        from: filters.from ? new Date(`${filters.from}T00:00:00Z`).toISOString() : undefined,
        to: filters.to ? new Date(`${filters.to}T23:59:59.999Z`).toISOString() : undefined,
        cursor,
      }),
    [filters, cursor, fixedState],
  );
  const apply = (event: Event) => {
    event.preventDefault();
    setCursors([]);
    setFilters({ ...draft });
  };
  const field = (name: keyof Filters) => ({
    value: draft[name],
    onInput: (e: Event) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value }),
  });
  return (
    <Section title={title}>
      <form class="filters" onSubmit={apply}>
        <label>
          Order reference
          <input id="order-search" type="search" placeholder="text or 0x… bytes32" {...field("orderRef")} />
        </label>
        {!fixedState && (
          <label>
            State
            <select id="state-filter" {...field("state")}>
              {STATES.map((s) => (
                <option value={s}>{s || "any"}</option>
              ))}
            </select>
          </label>
        )}
        {(currencies.data?.items.length ?? 0) > 1 && (
          <label>
            Currency
            <select id="currency-filter" {...field("currency")}>
              <option value="">any</option>
              {currencies.data!.items.map((c) => (
                <option value={c.code}>{c.code}</option>
              ))}
            </select>
          </label>
        )}
        <label>
          From
          <input type="date" {...field("from")} />
        </label>
        <label>
          To
          <input type="date" {...field("to")} />
        </label>
        <button id="search" type="submit">
          Search
        </button>
      </form>
      <Status loaded={loaded}>
        {loaded.data && loaded.data.items.length === 0 && <p class="muted">No payments.</p>}
        {loaded.data && loaded.data.items.length > 0 && (
          <table class="payments">
            <thead>
              <tr>
                <th>Created (UTC)</th>
                <th>Payment</th>
                <th>Order reference</th>
                <th>Payer</th>
                <th>Currency</th>
                <th class="num">Amount</th>
                <th class="num">Refunded</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {loaded.data.items.map((p) => (
                <tr key={p.id}>
                  <td>{when(p.createdAt)}</td>
                  <td>
                    <button class="link payment-link" data-id={p.id} onClick={() => onOpen(p.id)}>
                      {short(p.id)}
                    </button>
                  </td>
                  <td class="mono">{short(p.orderRef)}</td>
                  <td class="mono">{short(p.payer)}</td>
                  <td class="currency">{p.currency}</td>
                  <td class="num">{tokenAmount(p.amount)}</td>
                  <td class="num">{tokenAmount(p.refunded)}</td>
                  <td>
                    <span class={`state state-${p.state}`}>{p.state}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <div class="pager">
          {cursors.length > 0 && <button onClick={() => setCursors(cursors.slice(0, -1))}>Newer</button>}
          {loaded.data?.nextCursor && (
            <button onClick={() => setCursors([...cursors, loaded.data!.nextCursor!])}>Older</button>
          )}
        </div>
      </Status>
    </Section>
  );
}
