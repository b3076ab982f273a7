/** Dispatchers and outbox reads shared by the webhook tests. */
import Database from "better-sqlite3";
import { WebhookDispatcher, type WebhookDispatcherOptions } from "../../../src/relayer/webhooks/dispatcher";

/** The receivers run on 127.0.0.1, which the production URL policy refuses. */
export const LOOPBACK_OK = { allowLoopback: true, allowPrivate: false };

/** A dispatcher that polls fast, retries within 400 ms, never jitters and may call loopback receivers. */
export function testDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  return new WebhookDispatcher({
    pollIntervalMs: 10,
    maxDelayMs: 400,
    timeoutMs: 2_000,
    random: () => 0.5,
    urlPolicy: LOOPBACK_OK,
    ...options,
  });
}

/** One outbox row as SQLite stores it. */
export interface OutboxRow {
  id: number;
  endpoint_id: string;
  attempts: number;
  next_attempt_at: number;
  delivered_at: number | null;
  dead_at: number | null;
  last_error: string | null;
}

/** The outbox rows of the SQLite file `file`, oldest first, read through a separate connection. */
export function outboxRows(file: string): OutboxRow[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT * FROM outbox ORDER BY id").all() as OutboxRow[];
  } finally {
    db.close();
  }
}
