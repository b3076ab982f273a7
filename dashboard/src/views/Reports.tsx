/**
 * Reconciliation files of a day (docs/REPORTS.md): fetched with the key in the header and saved
 * from a Blob, so no link ever carries the key.
 */
import { useState } from "preact/hooks";
import * as api from "../api";
import { today } from "../format";
import { describe, Section } from "./common";

const KINDS = [
  ["transactions", "Transactions"],
  ["settlements", "Settlements"],
  ["summary", "Summary"],
] as const;

function save(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function Reports() {
  const [date, setDate] = useState(today());
  const [tz, setTz] = useState("UTC");
  const [status, setStatus] = useState<{ error: boolean; text: string } | null>(null);
  const download = async (kind: string) => {
    setStatus({ error: false, text: `Preparing the ${kind} file…` });
    try {
      const { blob, name } = await api.report(kind, date, tz.trim());
      save(blob, name);
      setStatus({ error: false, text: `Downloaded ${name} (${blob.size} bytes)` });
    } catch (e) {
      setStatus({ error: true, text: describe(e) });
    }
  };
  return (
    <Section title="Reports">
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Day
          <input
            id="report-date"
            type="date"
            value={date}
            onInput={(e) => setDate((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Time zone
          <input id="report-tz" value={tz} onInput={(e) => setTz((e.target as HTMLInputElement).value)} />
        </label>
      </form>
      <p>
        {KINDS.map(([kind, label]) => (
          <button id={`report-${kind}`} type="button" onClick={() => download(kind)}>
            {label} (CSV)
          </button>
        ))}
      </p>
      {status && (
        <p id="report-status" class={status.error ? "error" : "notice"} role="status">
          {status.text}
        </p>
      )}
    </Section>
  );
}
