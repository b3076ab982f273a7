/**
 * The merchant dashboard: sign in with the API key (memory only, dropped after inactivity), then
 * payments, open refund requests, disputes, settlements, balances, reports, the credit record and
 * webhooks. Everything shown is rendered as text by Preact; the page never builds markup from data.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import * as api from "./api";
import { watchIdle } from "./session";
import { Balances } from "./views/Balances";
import { Credit } from "./views/Credit";
import { PaymentDetail } from "./views/PaymentDetail";
import { Payments } from "./views/Payments";
import { RefundRequests } from "./views/RefundRequests";
import { Reports } from "./views/Reports";
import { Settlements } from "./views/Settlements";
import { SignIn } from "./views/SignIn";
import { Webhooks } from "./views/Webhooks";
import "./style.css";

const TABS = [
  "payments",
  "refund-requests",
  "disputes",
  "settlements",
  "balances",
  "reports",
  "credit",
  "webhooks",
] as const;
type Tab = (typeof TABS)[number];
const TAB_NAMES: Record<Tab, string> = {
  payments: "Payments",
  "refund-requests": "Refund requests",
  disputes: "Disputes",
  settlements: "Settlements",
  balances: "Balances",
  reports: "Reports",
  credit: "Credit",
  webhooks: "Webhooks",
};
const DEFAULT_IDLE_SECONDS = 15 * 60;

function App() {
  const [merchantId, setMerchantId] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [tab, setTab] = useState<Tab>("payments");
  const [open, setOpen] = useState<string | null>(null);
  const [idleSeconds, setIdleSeconds] = useState(DEFAULT_IDLE_SECONDS);

  useEffect(() => {
    api.settings().then(
      (s) => s.idleSeconds > 0 && setIdleSeconds(s.idleSeconds),
      () => undefined,
    );
  }, []);

  const signOut = (message: string | null) => {
    api.forget();
    setMerchantId(null);
    setOpen(null);
    setTab("payments");
    setNotice(message);
  };

  useEffect(() => {
    if (merchantId === null) return;
    return watchIdle(idleSeconds, () => signOut("Signed out after inactivity: the API key was forgotten."));
  }, [merchantId, idleSeconds]);

  if (merchantId === null || !api.signedIn()) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(balance) => {
          setNotice(null);
          setMerchantId(balance.merchantId);
        }}
      />
    );
  }

  const show = (t: Tab) => {
    setOpen(null);
    setTab(t);
  };
  return (
    <div class="shell">
      <header class="top">
        <h1>StablePay</h1>
        <span class="muted" id="merchant">
          merchant {merchantId}
        </span>
        <nav>
          {TABS.map((t) => (
            <button id={`tab-${t}`} class={t === tab ? "tab active" : "tab"} onClick={() => show(t)}>
              {TAB_NAMES[t]}
            </button>
          ))}
        </nav>
        <button id="sign-out" onClick={() => signOut(null)}>
          Sign out
        </button>
      </header>
      <main>
        {open !== null ? (
          <PaymentDetail id={open} onBack={() => setOpen(null)} />
        ) : tab === "payments" ? (
          <Payments onOpen={setOpen} />
        ) : tab === "refund-requests" ? (
          <RefundRequests onOpen={setOpen} />
        ) : tab === "disputes" ? (
          <Payments onOpen={setOpen} title="Disputes" fixedState="disputed,resolved" />
        ) : tab === "settlements" ? (
          <Settlements />
        ) : tab === "balances" ? (
          <Balances />
        ) : tab === "reports" ? (
          <Reports />
        ) : tab === "credit" ? (
          <Credit merchantId={merchantId} />
        ) : (
          <Webhooks />
        )}
      </main>
    </div>
  );
}

render(<App />, document.getElementById("app")!);
