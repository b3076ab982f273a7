import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "../errors";
import type { Hex } from "../domain";
import type { RelayerStore } from "../store/types";
import type { App, Principal } from "./context";

/**
 * Idempotency-Key on every POST that creates something. The first 2xx response is stored; a retry
 * with the same key and the same body gets it back byte for byte (with `Idempotent-Replayed: true`);
 * the same key with another body is 422 idempotency_key_reused. Failures are not stored: they
 * created nothing, so retrying them simply runs again.
 *
 * Keys are scoped by caller and path: a merchant's keys are its own; on public routes the caller is
 * the customer the body names (its payer or `from` address, the payers of a batch), so two customers
 * choosing the same key never meet. A record lives `retentionMs`: past that the key is free again
 * (and the retention pruner deletes the record).
 *
 * Secrets are never kept: a route that shows one (a new API key, a webhook secret) names its fields
 * in `secretFields`; its response is stored without them, and a replay answers 409
 * idempotent_replay_secret_withheld with the rest of the original response (the new key's id, to
 * revoke it if the secret was lost) instead of showing the secret again. Stored responses are also
 * sealed under a key derived from the Idempotency-Key (which is never logged), and looked up by a
 * hash of it. Concurrent requests with one key are serialised in process. Across instances
 * (`claimAcrossInstances`), the first request claims the key in the store before it runs (a record
 * with status 0 that expires after `IN_PROGRESS_MS`, so a crashed instance's claim frees itself);
 * the same key on another instance meanwhile answers 409 idempotency_in_progress, and once the
 * first has answered, its response. A failure frees the key. Without claims, `put` still keeps the
 * first response and a loser answers with the winner's.
 */

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const REPLAY_HEADER = "idempotent-replayed";

interface Pending {
  scope: string;
  lookup: string;
  secret: Buffer;
  requestHash: Hex;
  release: () => void;
  /** The store claim this request holds (its createdAt), if any. */
  claimedAt?: number;
}

/** How long a claim of an Idempotency-Key in the store lasts if its request never answers (ms). */
// Longer than any request takes to answer; short, because an instance killed mid-request leaves
// its claim behind and the client's retries on other instances wait for it to lapse.
export const IN_PROGRESS_MS = 15_000;

const sha256 = (...parts: (string | Buffer)[]): Buffer => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest();
};

function encrypt(secret: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", secret, iv);
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64");
}

/** Where a key's record is stored (a hash of scope and key) and the key its response is sealed with. */
export function recordAddress(scope: string, idempotencyKey: string): { lookup: string; secret: Buffer } {
  return {
    lookup: sha256("lookup\n", scope, "\n", idempotencyKey).toString("hex"),
    secret: sha256("seal\n", scope, "\n", idempotencyKey),
  };
}

export function decrypt(secret: Buffer, stored: string): string {
  const raw = Buffer.from(stored, "base64");
  const decipher = createDecipheriv("aes-256-gcm", secret, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString("utf8");
}

/** Marks a stored response whose secret fields were removed (JSON bodies never start with NUL). */
const WITHHELD = "\u0000withheld\n";

/** The customers a public request is made for: the addresses its body names as payer. */
function customersOf(body: unknown): string[] {
  const payers = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === "string") payers.add(value.toLowerCase());
  };
  if (body && typeof body === "object") {
    const b = body as { payer?: unknown; from?: unknown; payments?: unknown };
    add(b.payer);
    add(b.from);
    if (Array.isArray(b.payments)) {
      for (const item of b.payments) if (item && typeof item === "object") add((item as { payer?: unknown }).payer);
    }
  }
  return [...payers].sort();
}

function principalScope(p: Principal, body: unknown): string {
  if (p.kind === "merchant") return `merchant:${p.merchantId}`;
  if (p.kind === "admin") return "admin";
  // Routes without a payer in the body (confirm, dispute) name the payment in their path.
  const customers = customersOf(body);
  return customers.length === 0 ? "public" : `customer:${sha256(customers.join(",")).toString("hex").slice(0, 32)}`;
}

/** `payload` without `fields`, marked as withheld; or null if it is not a JSON object. */
function withoutSecrets(payload: string, fields: readonly string[]): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return null;
  const kept = { ...(parsed as Record<string, unknown>) };
  for (const field of fields) delete kept[field];
  return WITHHELD + JSON.stringify(kept);
}

/** The answer to a replay of a response whose secret was withheld. */
function withheldReplay(status: number, stored: string): ApiError {
  return new ApiError(
    "idempotent_replay_secret_withheld",
    "the original response showed a secret, which is shown only once and was not kept; the rest of it is in details",
    { status, response: JSON.parse(stored.slice(WITHHELD.length)) as unknown },
  );
}

export interface IdempotencyOptions {
  /** How long a stored response answers replays (ms). */
  retentionMs: number;
  /** Claim each key in the store before running its request (several instances on one store). */
  claimAcrossInstances?: boolean;
}

const inProgress = () =>
  new ApiError("idempotency_in_progress", "a request with this Idempotency-Key is still running; retry shortly", {
    retryAfterSeconds: 1,
  });

export function registerIdempotency(
  app: App,
  store: RelayerStore,
  clock: () => number,
  options: IdempotencyOptions,
): void {
  const inFlight = new Map<string, Promise<void>>();
  const pending = new WeakMap<FastifyRequest, Pending>();

  const release = (request: FastifyRequest) => {
    pending.get(request)?.release();
    pending.delete(request);
  };

  app.addHook("preHandler", async (request: FastifyRequest, reply: FastifyReply) => {
    const config = request.routeOptions.config;
    if (!(config.idempotent ?? request.method === "POST")) return;
    const header = request.headers["idempotency-key"];
    if (header === undefined) return;
    if (typeof header !== "string" || !KEY_PATTERN.test(header)) {
      throw new ApiError("validation_failed", "Idempotency-Key must be 1-255 printable ASCII characters");
    }
    const scope = `${principalScope(request.principal, request.body)} ${request.method} ${request.url.split("?")[0]}`;
    const { lookup, secret } = recordAddress(scope, header);
    const requestHash = `0x${sha256(request.rawBody ?? Buffer.alloc(0)).toString("hex")}` as Hex;

    while (inFlight.has(lookup)) await inFlight.get(lookup);
    let done!: () => void;
    inFlight.set(lookup, new Promise<void>((resolve) => (done = resolve)));
    pending.set(request, {
      scope,
      lookup,
      secret,
      requestHash,
      release: () => {
        inFlight.delete(lookup);
        done();
      },
    });

    try {
      let existing = await store.idempotency.get(scope, lookup);
      if (!existing || existing.createdAt < clock() - options.retentionMs) {
        if (!options.claimAcrossInstances) return;
        const now = clock();
        const claim = {
          scope,
          key: lookup,
          requestHash,
          status: 0,
          body: `claim:${randomBytes(12).toString("hex")}`,
          createdAt: now - options.retentionMs + IN_PROGRESS_MS,
        };
        existing = await store.idempotency.put(claim, now - options.retentionMs);
        if (existing.body === claim.body) {
          pending.get(request)!.claimedAt = claim.createdAt;
          return;
        }
      }
      release(request);
      if (existing.status === 0) {
        if (existing.requestHash !== requestHash) {
          throw new ApiError("idempotency_key_reused", "this Idempotency-Key was used with a different request body");
        }
        throw inProgress();
      }
      if (existing.requestHash !== requestHash) {
        throw new ApiError("idempotency_key_reused", "this Idempotency-Key was used with a different request body");
      }
      const body = decrypt(secret, existing.body);
      reply.header(REPLAY_HEADER, "true");
      if (body.startsWith(WITHHELD)) throw withheldReplay(existing.status, body);
      return reply.status(existing.status).header("content-type", "application/json; charset=utf-8").send(body);
    } catch (error) {
      release(request);
      throw error;
    }
  });

  /** Frees the key this request claimed (it failed: a retry runs again). */
  const unclaim = async (entry: Pending) => {
    if (entry.claimedAt === undefined) return;
    const claimedAt = entry.claimedAt;
    entry.claimedAt = undefined;
    await store.idempotency.put(
      { scope: entry.scope, key: entry.lookup, requestHash: entry.requestHash, status: 0, body: "", createdAt: 0 },
      claimedAt + 1,
    );
  };

  app.addHook("onSend", async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const entry = pending.get(request);
    if (!entry) return payload;
    if (reply.statusCode < 200 || reply.statusCode >= 300 || typeof payload !== "string") {
      // The error goes out whatever happens here: a claim that cannot be freed (the database is
      // down, which may be why this failed) lapses by itself after IN_PROGRESS_MS.
      await unclaim(entry).catch(() => undefined);
      return payload;
    }
    const secretFields = request.routeOptions.config.secretFields ?? [];
    const kept = secretFields.length > 0 ? withoutSecrets(payload, secretFields) : payload;
    // A response with secrets that cannot be stripped is not kept at all: its retry runs again.
    if (kept === null) {
      await unclaim(entry);
      return payload;
    }
    const now = clock();
    const record = {
      scope: entry.scope,
      key: entry.lookup,
      requestHash: entry.requestHash,
      status: reply.statusCode,
      body: encrypt(entry.secret, kept),
      createdAt: now,
    };
    // Replaces this request's own claim (created at claimedAt), nothing newer.
    const replaceBefore = entry.claimedAt !== undefined ? entry.claimedAt + 1 : now - options.retentionMs;
    entry.claimedAt = undefined;
    const stored = await store.idempotency.put(record, Math.max(replaceBefore, now - options.retentionMs));
    if (stored.body === record.body) return payload;
    // Another instance answered this key first: give the client that answer.
    const body = decrypt(entry.secret, stored.body);
    if (body.startsWith(WITHHELD)) {
      const error = withheldReplay(stored.status, body);
      reply.status(error.status).header(REPLAY_HEADER, "true");
      return JSON.stringify(error.toJSON());
    }
    reply.status(stored.status);
    return body;
  });

  app.addHook("onResponse", async (request: FastifyRequest) => {
    const entry = pending.get(request);
    if (entry) await unclaim(entry).catch(() => undefined);
    release(request);
  });
  app.addHook("onRequestAbort", async (request: FastifyRequest) => {
    const entry = pending.get(request);
    if (entry) await unclaim(entry).catch(() => undefined);
    release(request);
  });
}
