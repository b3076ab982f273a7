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
 * created nothing, so retrying them simply runs again. Keys are scoped by caller and path.
 *
 * Stored responses can carry secrets (a new API key is shown once), so the table holds only a hash
 * of the key and the response encrypted under a key derived from the Idempotency-Key itself: the
 * database alone can neither find nor read them, only a client presenting the key can.
 * Concurrent requests with one key are serialised in process; across instances `put` keeps the
 * first and the loser answers with the winner's response.
 */

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const REPLAY_HEADER = "idempotent-replayed";

interface Pending {
  scope: string;
  lookup: string;
  secret: Buffer;
  requestHash: Hex;
  release: () => void;
}

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

function decrypt(secret: Buffer, stored: string): string {
  const raw = Buffer.from(stored, "base64");
  const decipher = createDecipheriv("aes-256-gcm", secret, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString("utf8");
}

const principalScope = (p: Principal): string => (p.kind === "merchant" ? `merchant:${p.merchantId}` : p.kind);

export function registerIdempotency(app: App, store: RelayerStore, clock: () => number): void {
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
    const scope = `${principalScope(request.principal)} ${request.method} ${request.url.split("?")[0]}`;
    const lookup = sha256("lookup\n", scope, "\n", header).toString("hex");
    const secret = sha256("seal\n", scope, "\n", header);
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
      const existing = await store.idempotency.get(scope, lookup);
      if (!existing) return;
      release(request);
      if (existing.requestHash !== requestHash) {
        throw new ApiError("idempotency_key_reused", "this Idempotency-Key was used with a different request body");
      }
      return reply
        .status(existing.status)
        .header("content-type", "application/json; charset=utf-8")
        .header(REPLAY_HEADER, "true")
        .send(decrypt(secret, existing.body));
    } catch (error) {
      release(request);
      throw error;
    }
  });

  app.addHook("onSend", async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const entry = pending.get(request);
    if (!entry || reply.statusCode < 200 || reply.statusCode >= 300 || typeof payload !== "string") return payload;
    const record = {
      scope: entry.scope,
      key: entry.lookup,
      requestHash: entry.requestHash,
      status: reply.statusCode,
      body: encrypt(entry.secret, payload),
      createdAt: clock(),
    };
    const stored = await store.idempotency.put(record);
    if (stored.body === record.body) return payload;
    // Another instance answered this key first: give the client that answer.
    reply.status(stored.status);
    return decrypt(entry.secret, stored.body);
  });

  app.addHook("onResponse", async (request: FastifyRequest) => release(request));
  app.addHook("onRequestAbort", async (request: FastifyRequest) => release(request));
}
