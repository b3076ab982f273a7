import { createHash } from "node:crypto";
import { ApiError } from "../../errors";
import type { Hex } from "../../domain";

/** bigint ↔ TEXT decimal: exact at any size, and equal values compare equal as strings. */
export const dec = (value: bigint): string => value.toString(10);
export const decOrNull = (value: bigint | null | undefined): string | null =>
  value === null || value === undefined ? null : value.toString(10);
export const big = (value: string): bigint => BigInt(value);
export const bigOrNull = (value: string | null): bigint | null => (value === null ? null : BigInt(value));

/** Hex is stored lowercase so lookups by id or address never depend on the caller's casing. */
export const hex = (value: string): Hex => value.toLowerCase() as Hex;
export const hexOrNull = (value: string | null | undefined): Hex | null =>
  value === null || value === undefined ? null : hex(value);

export const placeholders = (count: number): string => Array.from({ length: count }, () => "?").join(", ");

/**
 * Keyset cursors are opaque base64url of JSON plus a short digest. The digest is not a secret: it
 * turns a hand-edited cursor into a clear 400 instead of a silently wrong page.
 */
const digest = (body: string): string => createHash("sha256").update(body).digest("base64url").slice(0, 8);

export function encodeCursor(position: unknown[]): string {
  const body = JSON.stringify(position);
  return Buffer.from(`${body}.${digest(body)}`, "utf8").toString("base64url");
}

function invalidCursor(): ApiError {
  return new ApiError("validation_failed", "cursor is invalid: pass back the nextCursor of a previous page unchanged", {
    field: "cursor",
  });
}

/** Decodes a cursor and checks each position element's type ("number" or "string"). */
export function decodeCursor(cursor: string, shape: ("number" | "string")[]): unknown[] {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalidCursor();
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const dot = text.lastIndexOf(".");
  if (dot < 0) throw invalidCursor();
  const body = text.slice(0, dot);
  if (digest(body) !== text.slice(dot + 1)) throw invalidCursor();
  let position: unknown;
  try {
    position = JSON.parse(body);
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(position) || position.length !== shape.length) throw invalidCursor();
  position.forEach((value, i) => {
    if (typeof value !== shape[i]) throw invalidCursor();
    if (typeof value === "number" && !Number.isSafeInteger(value)) throw invalidCursor();
  });
  return position;
}
