/**
 * Webhook signing secrets at rest: AES-256-GCM under a 32-byte key the database never holds.
 *
 * The dispatcher needs each secret in clear to sign (HMAC), so it cannot be hashed like an API key.
 * A copy of the SQLite file (a backup, a stolen disk image, the file handed over for debugging)
 * without the key yields no secret. The key comes from RELAYER_SECRET_KEY; without it (local
 * development) a random key is generated once into a file beside the database (mode 0600), which
 * only protects copies of the database file that leave that directory without the key file.
 *
 * Stored form: `enc1:<iv>:<tag>:<ciphertext>` (base64url), the endpoint id as additional data so a
 * ciphertext copied onto another endpoint's row does not decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import fs from "node:fs";

const PREFIX = "enc1:";
const KEY_BYTES = 32;
const IV_BYTES = 12;

export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new RangeError(`the secret key must be ${KEY_BYTES} bytes, got ${key.length}`);
    this.key = Buffer.from(key);
  }

  static isSealed(stored: string): boolean {
    return stored.startsWith(PREFIX);
  }

  seal(plain: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const ciphertext = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return `${PREFIX}${iv.toString("base64url")}:${cipher.getAuthTag().toString("base64url")}:${ciphertext.toString("base64url")}`;
  }

  /** Throws if `stored` was sealed under another key or for another context, or was altered. */
  open(stored: string, context: string): string {
    if (!SecretBox.isSealed(stored)) throw new Error("webhook secret is not encrypted");
    const [iv, tag, ciphertext] = stored.slice(PREFIX.length).split(":");
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    try {
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
    } catch {
      throw new Error("webhook secret does not decrypt: wrong RELAYER_SECRET_KEY?");
    }
  }
}

/** RELAYER_SECRET_KEY: 64 hex characters or base64(url) of 32 bytes. */
export function parseSecretKey(raw: string): Buffer {
  const text = raw.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, "hex") : Buffer.from(text, "base64url");
  if (key.length !== KEY_BYTES) {
    throw new Error(
      `RELAYER_SECRET_KEY must be ${KEY_BYTES} bytes as 64 hex characters or base64, got ${key.length} bytes`,
    );
  }
  return key;
}

/** Reads the key file, or creates it (random, mode 0600) if absent; `created` says which. */
export function loadOrCreateKeyFile(file: string): { key: Buffer; created: boolean } {
  try {
    return { key: parseSecretKey(fs.readFileSync(file, "utf8")), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const key = randomBytes(KEY_BYTES);
  try {
    // wx: two processes opening the same database at once must not each write their own key.
    fs.writeFileSync(file, key.toString("hex") + "\n", { mode: 0o600, flag: "wx" });
    return { key, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return { key: parseSecretKey(fs.readFileSync(file, "utf8")), created: false };
  }
}
