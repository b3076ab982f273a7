/**
 * The relayer secret key of `npm start --postgres`: every instance must decrypt what another stored
 * (webhook secrets), so all of them get one key — RELAYER_SECRET_KEY when set, else one generated
 * once into the data dir (local chain only).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";

export function sharedSecretKey(dataDir: string, env: NodeJS.ProcessEnv): string {
  if (env.RELAYER_SECRET_KEY) return env.RELAYER_SECRET_KEY;
  const file = path.join(dataDir, "postgres", "secret.key");
  // With DATABASE_URL set no embedded server runs, so nothing else made this directory.
  mkdirSync(path.dirname(file), { recursive: true });
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}
