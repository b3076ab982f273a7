import { parseSecretKey } from "../runtime/secretBox";

/** Webhook limits and policies; each has an environment variable (docs/relayer.md, "Webhooks"). */
export interface WebhookSettings {
  /** RELAYER_SECRET_KEY: encrypts endpoint secrets at rest. Null: a key file beside the database (local chain only). */
  secretKey: Buffer | null;
  /** WEBHOOK_MAX_ENDPOINTS: endpoints a merchant may register (disabled ones count; deleting frees a place). */
  maxEndpointsPerMerchant: number;
  /** WEBHOOK_ALLOW_LOOPBACK: deliver to 127.0.0.0/8, ::1 (local development, tests). */
  allowLoopback: boolean;
  /** WEBHOOK_ALLOW_PRIVATE: deliver to private, link-local and shared ranges (a private network). */
  allowPrivate: boolean;
  /** WEBHOOK_CONCURRENCY: deliveries in flight across all endpoints. */
  concurrency: number;
  /** WEBHOOK_ENDPOINT_CONCURRENCY: deliveries in flight to one endpoint (one while it is failing). */
  endpointConcurrency: number;
  /** WEBHOOK_DISABLE_AFTER_FAILURES and WEBHOOK_DISABLE_AFTER_MS: a run of failures this long disables an endpoint. */
  disableAfterFailures: number;
  disableAfterMs: number;
  /** WEBHOOK_RETENTION_MS: delivered and dead-lettered deliveries are deleted this long after. */
  retentionMs: number;
}

export const WEBHOOK_DEFAULTS = {
  maxEndpointsPerMerchant: 10,
  concurrency: 16,
  endpointConcurrency: 2,
  disableAfterFailures: 10,
  disableAfterMs: 3_600_000,
  retentionMs: 7 * 24 * 3_600_000,
  /** How often the dispatcher prunes the outbox. */
  pruneIntervalMs: 600_000,
} as const;

const flag = (raw: string | undefined): boolean => raw === "1" || raw?.toLowerCase() === "true";

export function loadWebhookSettings(
  env: NodeJS.ProcessEnv,
  int: (name: string, fallback: number) => number,
): WebhookSettings {
  const positive = (name: string, fallback: number): number => {
    const value = int(name, fallback);
    if (value < 1) throw new Error(`${name} must be at least 1, got ${value}`);
    return value;
  };
  return {
    secretKey: env.RELAYER_SECRET_KEY ? parseSecretKey(env.RELAYER_SECRET_KEY) : null,
    maxEndpointsPerMerchant: positive("WEBHOOK_MAX_ENDPOINTS", WEBHOOK_DEFAULTS.maxEndpointsPerMerchant),
    allowLoopback: flag(env.WEBHOOK_ALLOW_LOOPBACK),
    allowPrivate: flag(env.WEBHOOK_ALLOW_PRIVATE),
    concurrency: positive("WEBHOOK_CONCURRENCY", WEBHOOK_DEFAULTS.concurrency),
    endpointConcurrency: positive("WEBHOOK_ENDPOINT_CONCURRENCY", WEBHOOK_DEFAULTS.endpointConcurrency),
    disableAfterFailures: positive("WEBHOOK_DISABLE_AFTER_FAILURES", WEBHOOK_DEFAULTS.disableAfterFailures),
    disableAfterMs: int("WEBHOOK_DISABLE_AFTER_MS", WEBHOOK_DEFAULTS.disableAfterMs),
    retentionMs: int("WEBHOOK_RETENTION_MS", WEBHOOK_DEFAULTS.retentionMs),
  };
}
