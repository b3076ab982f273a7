/**
 * The demo merchant's webhook endpoint: a local HTTP receiver registered with the relayer that
 * verifies every delivery's signature with the SDK (readWebhookEvent, with replay protection) and
 * keeps the events, so the run shows them and the dashboard's Webhooks tab lists real deliveries.
 * Unreferenced: it lives as long as the process does (`npm start` keeps it) without holding it open.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { readWebhookEvent, SIGNATURE_HEADER, type WebhookEvent } from "../../../src/sdk";

export interface DemoWebhookReceiver {
  url: string;
  /** Verified events, in arrival order. */
  readonly events: WebhookEvent[];
  /** Deliveries refused (bad signature, replay). */
  readonly refused: number;
  /** The endpoint's secret, once registered: deliveries before it are refused (and retried). */
  useSecret(secret: string): void;
  /**
   * Resolves once an event of `type` has arrived for every payment id in `paymentIds`, then no
   * delivery for `quietMs` (stragglers of other types); or after `maxMs`, whichever comes first.
   */
  awaitEvents(type: string, paymentIds: readonly string[], quietMs: number, maxMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<DemoWebhookReceiver> {
  const events: WebhookEvent[] = [];
  const seen = new Set<string>();
  let secret: string | null = null;
  let refused = 0;
  let lastArrival = Date.now();
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      lastArrival = Date.now();
      try {
        if (secret === null) throw new Error("not registered yet");
        events.push(
          readWebhookEvent({
            secret,
            header: request.headers[SIGNATURE_HEADER.toLowerCase()],
            body: Buffer.concat(chunks),
            seenEventIds: seen,
          }),
        );
        response.writeHead(204).end();
      } catch {
        refused++;
        response.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/stablepay`,
    events,
    get refused() {
      return refused;
    },
    useSecret(value) {
      secret = value;
    },
    async awaitEvents(type, paymentIds, quietMs, maxMs) {
      const deadline = Date.now() + maxMs;
      const wanted = new Set(paymentIds.map((id) => id.toLowerCase()));
      const missing = () => {
        const arrived = new Set(events.filter((e) => e.type === type).map((e) => e.data.id.toLowerCase()));
        return [...wanted].some((id) => !arrived.has(id));
      };
      const sleep = () => new Promise((resolve) => setTimeout(resolve, 100));
      // A quiet spell alone is no proof: the deliveries wanted may still be queued behind the dispatcher's tick.
      while (Date.now() < deadline && missing()) await sleep();
      while (Date.now() < deadline && Date.now() - lastArrival < quietMs) await sleep();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** "payment.escrowed ×6, payment.settled ×4": counts per event type, in first-seen order. */
export function eventCounts(events: readonly WebhookEvent[]): string {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
  return [...counts].map(([type, n]) => `${type} ×${n}`).join(", ");
}
