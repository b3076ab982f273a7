/** Sign-in with the merchant's API key: checked against the API, then held in memory only. */
import { useState } from "preact/hooks";
import { signIn, type BalanceView } from "../api";
import { describe } from "./common";

export function SignIn({ onSignedIn, notice }: { onSignedIn: (balance: BalanceView) => void; notice: string | null }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const balance = await signIn(key.trim());
      setKey("");
      onSignedIn(balance);
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>StablePay merchant dashboard</h1>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={submit} autocomplete="off">
        <label>
          API key
          <input
            id="api-key"
            type="password"
            autocomplete="off"
            spellcheck={false}
            placeholder="sp_live_…"
            value={key}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          />
        </label>
        <button id="sign-in" type="submit" disabled={busy || key.trim() === ""}>
          Sign in
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
      <p class="muted">
        The key stays in this tab's memory: it is never stored, and it is forgotten after a while without activity or
        when the tab closes.
      </p>
    </main>
  );
}
