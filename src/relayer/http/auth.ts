import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { ApiError } from "../errors";
import type { ApiKeyRecord, Hex } from "../domain";
import type { RelayerStore } from "../store/types";
import type { Principal } from "./context";

/** The request limiter's bucket of a caller: per merchant (not per key: keys multiply), per IP. */
export const rateLimitKey = (p: Principal): string =>
  p.kind === "merchant" ? `merchant:${p.merchantId}` : p.kind === "admin" ? "admin" : `ip:${p.ip}`;

/** Prefix of merchant API keys: recognisable in a leaked file or a secret scanner. */
export const API_KEY_PREFIX = "sp_live_";
const API_KEY_PATTERN = /^sp_live_[A-Za-z0-9_-]{43}$/;

/** SHA-256 of a key: keys are random 256-bit secrets, so a plain hash (no salt, no KDF) suffices. */
export const hashApiKey = (secret: string): Hex => `0x${createHash("sha256").update(secret, "utf8").digest("hex")}`;

/** A new key for `merchantId`: the record to store and the secret to show once. */
export function newApiKey(merchantId: bigint, now: number): { record: ApiKeyRecord; secret: string } {
  const secret = API_KEY_PREFIX + randomBytes(32).toString("base64url");
  const record: ApiKeyRecord = {
    id: `key_${randomBytes(12).toString("base64url")}`,
    merchantId,
    secretHash: hashApiKey(secret),
    createdAt: now,
    revokedAt: null,
  };
  return { record, secret };
}

/**
 * The merchant behind `Authorization: Bearer <key>`. Looked up by hash on every request, never
 * cached, so a revoked key fails on its very next use. Messages never echo the key.
 */
export async function authenticateMerchant(store: RelayerStore, request: FastifyRequest): Promise<Principal> {
  const header = request.headers.authorization;
  if (!header) throw new ApiError("unauthorized", "missing Authorization: Bearer <API key>");
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match || !API_KEY_PATTERN.test(match[1])) throw new ApiError("unauthorized", "malformed API key");
  const key = await store.apiKeys.findBySecretHash(hashApiKey(match[1]));
  if (!key || key.revokedAt !== null) throw new ApiError("unauthorized", "invalid or revoked API key");
  return { kind: "merchant", merchantId: key.merchantId, keyId: key.id };
}

/** The operator, by `X-Admin-Token` (compared in constant time). */
export function authenticateAdmin(adminToken: string, request: FastifyRequest): Principal {
  const given = request.headers["x-admin-token"];
  if (typeof given !== "string" || given.length === 0) throw new ApiError("unauthorized", "missing X-Admin-Token");
  const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();
  if (!timingSafeEqual(digest(given), digest(adminToken))) throw new ApiError("unauthorized", "invalid admin token");
  return { kind: "admin" };
}
