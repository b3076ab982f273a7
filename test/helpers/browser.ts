/**
 * Headless Chromium for browser tests, from npm alone: the binary ships inside `@sparticuz/chromium`
 * (unpacked into the temp directory on first use) and `puppeteer-core` drives it; nothing is
 * downloaded and nothing is installed by hand. `CHROMIUM_PATH` points the tests at another build.
 *
 * The packaged binary links against NSS and Expat. Where the machine lacks them, the package's own
 * copies (its Amazon Linux 2023 library bundle) are unpacked and put on the library path.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer, { type Browser } from "puppeteer-core";

/** No network of its own, no first-run work: the machine's network is closed. */
const QUIET_FLAGS = [
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run",
  "--hide-scrollbars",
  "--force-device-scale-factor=1",
];

export interface LaunchOptions {
  /** Load NSS and Expat from the package's bundle even where the machine has its own. */
  bundledLibraries?: boolean;
}

export interface ResolvedChromium {
  executablePath: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

const resolved = new Map<boolean, Promise<ResolvedChromium>>();

/** Libraries the binary needs that the dynamic loader cannot find (empty when it runs as is). */
function missingLibraries(binary: string, env: NodeJS.ProcessEnv): string[] {
  const out = execFileSync("ldd", [binary], { env, encoding: "utf8" });
  return out
    .split("\n")
    .filter((line) => line.includes("not found"))
    .map((line) => line.trim().split(" ")[0]);
}

async function resolveChromium(bundledLibraries: boolean): Promise<ResolvedChromium> {
  const override = process.env.CHROMIUM_PATH;
  if (override) {
    return { executablePath: override, args: ["--no-sandbox", "--disable-gpu"], env: process.env };
  }
  const { default: chromium, inflate } = await import("@sparticuz/chromium");
  const executablePath = await chromium.executablePath();
  let env: NodeJS.ProcessEnv = { ...process.env };
  if (bundledLibraries || missingLibraries(executablePath, env).length > 0) {
    const bundle = path.join(path.dirname(require.resolve("@sparticuz/chromium")), "..", "bin", "al2023.tar.br");
    const libDir = path.join(await inflate(bundle), "lib");
    env = { ...env, LD_LIBRARY_PATH: [libDir, env.LD_LIBRARY_PATH].filter(Boolean).join(":") };
    const still = missingLibraries(executablePath, env);
    if (still.length > 0) throw new Error(`headless Chromium cannot load: ${still.join(", ")}`);
  }
  return { executablePath, args: chromium.args, env };
}

/** The browser binary, its flags and environment (resolved once per process). */
export function chromiumBinary(options: LaunchOptions = {}): Promise<ResolvedChromium> {
  const bundled = options.bundledLibraries ?? false;
  let found = resolved.get(bundled);
  if (!found) resolved.set(bundled, (found = resolveChromium(bundled)));
  return found;
}

/** Libraries the resolved binary cannot load in its environment (what `ldd` reports missing). */
export async function unresolvedLibraries(options: LaunchOptions = {}): Promise<string[]> {
  const { executablePath, env } = await chromiumBinary(options);
  return missingLibraries(executablePath, env);
}

/** A headless browser with a fresh profile; `close()` ends it and removes the profile. */
export async function launchBrowser(options: LaunchOptions = {}): Promise<Browser> {
  const { executablePath, args, env } = await chromiumBinary(options);
  const profile = mkdtempSync(path.join(os.tmpdir(), "stablepay-chromium-"));
  const browser = await puppeteer.launch({
    executablePath,
    headless: "shell",
    args: [...args, ...QUIET_FLAGS],
    env,
    userDataDir: profile,
    protocolTimeout: 90_000,
  });
  browser.once("disconnected", () => rmSync(profile, { recursive: true, force: true }));
  return browser;
}
