/**
 * Which chain a relayer database belongs to.
 *
 * Hardhat's chain lives in memory: stop the node and the chain is gone, and a new node is a new
 * chain (same chain id 31337, same contract addresses after the same deploy, different history).
 * The relayer's SQLite store remembers payments, batches, nonces and a block cursor of the old
 * chain; run against the new one it would wait for transactions that never happened. So the start
 * script records the identity of the chain next to the database (data/chain.json) and, when the
 * chain answering now is another one, moves the database aside instead of reusing it.
 *
 * The identity is the chain id, the genesis block hash (Hardhat stamps the genesis block with the
 * start time, so every node start has a new one) and the escrow address (a redeploy on the same
 * chain also orphans the store).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { jsonRpc } from "./rpc";

export const CHAIN_IDENTITY_FILE = "chain.json";

export interface ChainIdentity {
  chainId: number;
  genesisHash: string;
  escrow: string;
  rpcUrl: string;
  /** ISO 8601, for people reading the file. */
  recordedAt: string;
}

/** Reads the identity of the chain at `rpcUrl` with the escrow deployed there. */
export async function readChainIdentity(rpcUrl: string, escrow: string): Promise<ChainIdentity> {
  const [chainId, genesis] = await Promise.all([
    jsonRpc<string>(rpcUrl, "eth_chainId"),
    jsonRpc<{ hash: string } | null>(rpcUrl, "eth_getBlockByNumber", ["0x0", false]),
  ]);
  if (!genesis) throw new Error(`the node at ${rpcUrl} has no genesis block`);
  return {
    chainId: Number(chainId),
    genesisHash: genesis.hash.toLowerCase(),
    escrow: escrow.toLowerCase(),
    rpcUrl,
    recordedAt: new Date().toISOString(),
  };
}

export function loadChainIdentity(dataDir: string): ChainIdentity | null {
  const file = path.join(dataDir, CHAIN_IDENTITY_FILE);
  if (!existsSync(file)) return null;
  try {
    const data = JSON.parse(readFileSync(file, "utf8")) as Partial<ChainIdentity>;
    if (typeof data.chainId !== "number" || typeof data.genesisHash !== "string" || typeof data.escrow !== "string") {
      return null;
    }
    return data as ChainIdentity;
  } catch {
    return null;
  }
}

export function saveChainIdentity(dataDir: string, identity: ChainIdentity): string {
  const file = path.join(dataDir, CHAIN_IDENTITY_FILE);
  writeFileSync(file, JSON.stringify(identity, null, 2) + "\n");
  return file;
}

/** Why a database recorded for `recorded` does not belong to `current`; null when it does. */
export function identityMismatch(recorded: ChainIdentity | null, current: ChainIdentity): string | null {
  if (!recorded) return "no record of the chain it was made on (data/chain.json is missing or unreadable)";
  if (recorded.chainId !== current.chainId) {
    return `it was made on chain id ${recorded.chainId}, the chain now is ${current.chainId}`;
  }
  if (recorded.genesisHash.toLowerCase() !== current.genesisHash.toLowerCase()) {
    return "the chain it was made on was restarted (Hardhat keeps its chain in memory: new genesis block)";
  }
  if (recorded.escrow.toLowerCase() !== current.escrow.toLowerCase()) {
    return `it follows escrow ${recorded.escrow}, the deployment now is ${current.escrow}`;
  }
  return null;
}

/** SQLite's write-ahead log and shared-memory files travel with the database. */
const SQLITE_SIDE_FILES = ["-wal", "-shm"];

/**
 * Moves `dbPath` (and its -wal/-shm files) to `<name>.<timestamp>.stale.sqlite` next to it.
 * Returns the new path. Only call this while no relayer has the database open.
 */
export function moveDatabaseAside(dbPath: string, now = new Date()): string {
  const dir = path.dirname(dbPath);
  const ext = path.extname(dbPath) || ".sqlite";
  const base = path.basename(dbPath, path.extname(dbPath));
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  let target = path.join(dir, `${base}.${stamp}.stale${ext}`);
  for (let n = 2; existsSync(target); n++) target = path.join(dir, `${base}.${stamp}-${n}.stale${ext}`);
  renameSync(dbPath, target);
  for (const suffix of SQLITE_SIDE_FILES) {
    if (existsSync(dbPath + suffix)) renameSync(dbPath + suffix, target + suffix);
  }
  return target;
}
