/** Webhook endpoints and each one's recent deliveries. */
import * as api from "../api";
import { when } from "../format";
import { Section, Status, useLoad } from "./common";

export function Webhooks() {
  const loaded = useLoad(() => api.webhooks(), []);
  return (
    <Section title="Webhooks" actions={<button onClick={loaded.reload}>Refresh</button>}>
      <Status loaded={loaded}>
        {loaded.data?.items.length === 0 && <p class="muted">No webhook endpoints.</p>}
        {loaded.data?.items.map((w) => (
          <Endpoint key={w.id} endpoint={w} />
        ))}
      </Status>
    </Section>
  );
}

function Endpoint({ endpoint }: { endpoint: api.WebhookView }) {
  const loaded = useLoad(() => api.deliveries(endpoint.id), [endpoint.id]);
  return (
    <article class="endpoint">
      <h3 class="mono">{endpoint.url}</h3>
      <p class="muted">
        {endpoint.id} · {endpoint.enabled ? "enabled" : `disabled (${endpoint.disabledReason})`} ·{" "}
        {endpoint.consecutiveFailures} failures in a row
        {endpoint.lastError ? ` · last error: ${endpoint.lastError}` : ""}
      </p>
      <Status loaded={loaded}>
        {loaded.data?.items.length === 0 && <p class="muted">No deliveries yet.</p>}
        {!!loaded.data?.items.length && (
          <table class="deliveries">
            <thead>
              <tr>
                <th>Created (UTC)</th>
                <th>Event</th>
                <th>Status</th>
                <th class="num">Attempts</th>
                <th>Delivered</th>
                <th>Last error</th>
              </tr>
            </thead>
            <tbody>
              {loaded.data.items.map((d) => (
                <tr key={d.eventId} data-type={d.type}>
                  <td>{when(d.createdAt)}</td>
                  <td>{d.type}</td>
                  <td>{d.status}</td>
                  <td class="num">{d.attempts}</td>
                  <td>{when(d.deliveredAt)}</td>
                  <td>{d.lastError ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Status>
    </article>
  );
}
