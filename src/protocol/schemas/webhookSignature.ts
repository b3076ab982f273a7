/**
 * Webhook signatures: the relayer signs deliveries, merchants verify them (the SDK re-exports this).
 *
 * Header: `StablePay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 * Several `v1=` entries may appear (e.g. while a secret is rotated); any one matching is enough.
 * The timestamp is signed with the body, so a captured delivery can't be replayed later than the
 * tolerance, and the event id lets a receiver drop a replay within it.
 *
 * Verify the RAW request bytes: a body parsed and re-serialised (other spacing, key order, number
 * formatting) no longer matches, by design.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "StablePay-Signature";
export const EVENT_ID_HEADER = "StablePay-Event-Id";
export const EVENT_TYPE_HEADER = "StablePay-Event-Type";

/** Deliveries older or newer than this (seconds) are refused by default. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export type WebhookSignatureErrorCode =
  "missing_header" | "malformed_header" | "bad_signature" | "timestamp_out_of_tolerance" | "duplicate_event";

export class WebhookSignatureError extends Error {
  constructor(
    readonly code: WebhookSignatureErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "WebhookSignatureError";
  }
}

type Body = string | Uint8Array;

const bytes = (body: Body): Buffer => (typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body));

function hmac(secret: string, timestamp: number, body: Body): Buffer {
  return createHmac("sha256", secret).update(`${timestamp}.`, "utf8").update(bytes(body)).digest();
}

/** The `StablePay-Signature` header value for `body` sent at `timestampSeconds` (unix seconds). */
export function signWebhook(secret: string, timestampSeconds: number, body: Body): string {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new RangeError(`timestamp must be non-negative unix seconds, got ${timestampSeconds}`);
  }
  return `t=${timestampSeconds},v1=${hmac(secret, timestampSeconds, body).toString("hex")}`;
}

/** Where a receiver remembers event ids it has accepted (a Set works; use a TTL store in production). */
export interface SeenEventIds {
  has(eventId: string): boolean;
  add(eventId: string): unknown;
}

export interface VerifyWebhookParams {
  /** The endpoint's secret; pass several during a rotation. */
  secret: string | string[];
  /** The StablePay-Signature header as received (undefined if absent). */
  header: string | string[] | undefined | null;
  /** The raw request body, exactly as received. */
  body: Body;
  /** Current time in milliseconds since the epoch (default: Date.now()). */
  now?: number;
  toleranceSeconds?: number;
  /**
   * When given, an event id already in the set is refused and an accepted one is added to it. The
   * id is read from the signed body, never from the unsigned StablePay-Event-Id header, which a
   * replaying attacker could change.
   */
  seenEventIds?: SeenEventIds;
}

export interface VerifiedWebhook {
  timestamp: number;
  eventId: string | null;
}

function parseHeader(header: string): { timestamp: number; signatures: Buffer[] } {
  let timestamp: number | null = null;
  const signatures: Buffer[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new WebhookSignatureError("malformed_header", `malformed ${SIGNATURE_HEADER} element "${part}"`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === "t") {
      if (!/^\d{1,15}$/.test(value) || timestamp !== null) {
        throw new WebhookSignatureError("malformed_header", `${SIGNATURE_HEADER} has an invalid timestamp`);
      }
      timestamp = Number(value);
    } else if (key === "v1") {
      if (!/^[0-9a-fA-F]{64}$/.test(value)) {
        throw new WebhookSignatureError("malformed_header", `${SIGNATURE_HEADER} v1 must be 64 hex characters`);
      }
      signatures.push(Buffer.from(value, "hex"));
    }
    // Other schemes (future versions) are ignored, so receivers keep working when one is added.
  }
  if (timestamp === null) throw new WebhookSignatureError("malformed_header", `${SIGNATURE_HEADER} has no timestamp`);
  if (signatures.length === 0)
    throw new WebhookSignatureError("malformed_header", `${SIGNATURE_HEADER} has no v1 signature`);
  return { timestamp, signatures };
}

function eventIdOf(body: Body): string | null {
  try {
    const parsed: unknown = JSON.parse(bytes(body).toString("utf8"));
    const id = (parsed as { id?: unknown } | null)?.id;
    return typeof id === "string" ? id : null;
  } catch {
    return null;
  }
}

/**
 * Checks a delivery; throws WebhookSignatureError (see `code`) unless the signature matches the
 * raw body under one of the secrets, the timestamp is within tolerance, and (with `seenEventIds`)
 * the event id is new. The signature is checked first so a forged request can't touch the seen-set.
 */
export function verifyWebhook(params: VerifyWebhookParams): VerifiedWebhook {
  const raw = Array.isArray(params.header) ? params.header[0] : params.header;
  if (raw === undefined || raw === null || raw.trim() === "") {
    throw new WebhookSignatureError("missing_header", `${SIGNATURE_HEADER} header is missing`);
  }
  const { timestamp, signatures } = parseHeader(raw);
  const secrets = Array.isArray(params.secret) ? params.secret : [params.secret];
  const matched = secrets.some((secret) => {
    const expected = hmac(secret, timestamp, params.body);
    // Every candidate is compared in constant time; `some` only stops after a full comparison matched.
    return signatures.some((candidate) => timingSafeEqual(candidate, expected));
  });
  if (!matched) throw new WebhookSignatureError("bad_signature", "signature does not match the body");

  const tolerance = params.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const nowSeconds = Math.floor((params.now ?? Date.now()) / 1000);
  if (Math.abs(nowSeconds - timestamp) > tolerance) {
    throw new WebhookSignatureError(
      "timestamp_out_of_tolerance",
      `signature timestamp is ${nowSeconds - timestamp}s from now (tolerance ${tolerance}s)`,
    );
  }

  const eventId = eventIdOf(params.body);
  if (params.seenEventIds) {
    if (eventId === null)
      throw new WebhookSignatureError("malformed_header", "the body has no event id to check for replay");
    if (params.seenEventIds.has(eventId)) {
      throw new WebhookSignatureError("duplicate_event", `event ${eventId} was already received`);
    }
    params.seenEventIds.add(eventId);
  }
  return { timestamp, eventId };
}
