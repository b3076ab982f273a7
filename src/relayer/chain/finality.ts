/**
 * When a block is final enough to act on, per network. Chains differ: Ethereum finalises after two
 * epochs and rarely reorganises more than a block or two before that; an optimistic rollup's
 * sequencer can drop unsafe blocks when its batches do not land on L1; Polygon PoS has reorganised
 * far deeper than Ethereum; a local chain reorganises only when a test asks it to.
 *
 * A profile gives, for one chain id:
 *  - `confirmations`: blocks a log must have (head included) before the chain watcher applies it,
 *    and the submitter counts its transactions final;
 *  - `reorgDepth`: how far back the watcher rewinds on a reorg, i.e. the window it watches. A reorg
 *    whose common ancestor lies further back is reported as deep (./jobs/chainWatcher.ts);
 *  - `mode`: "depth" (head minus confirmations) or "finalized" (the node's `finalized` block tag:
 *    slower, but beyond it only a consensus failure reorganises).
 *
 * `CONFIRMATIONS`, `REORG_DEPTH` and `FINALITY` override the profile (config.ts reads them; the
 * relayer applies the profile once it knows the chain id, {@link withFinalityProfile}).
 */

import type { FinalityMode, FinalitySettings } from "../config";

export type { FinalityMode };

export interface FinalityProfile {
  /** Network name, for logs and docs. */
  network: string;
  confirmations: number;
  reorgDepth: bigint;
  mode: FinalityMode;
}

/** What the environment set (null: the profile decides). */
export type FinalityOverrides = FinalitySettings;

export const NO_FINALITY_OVERRIDES: FinalityOverrides = { confirmations: null, reorgDepth: null, mode: null };

/** Local development chains: a reorg happens only when a test makes one. */
const LOCAL: Omit<FinalityProfile, "network"> = { confirmations: 1, reorgDepth: 64n, mode: "depth" };
/** Ethereum and its test networks: a rewind of two epochs reaches a finalised block. */
const ETHEREUM: Omit<FinalityProfile, "network"> = { confirmations: 12, reorgDepth: 64n, mode: "depth" };
const ETHEREUM_TESTNET: Omit<FinalityProfile, "network"> = { confirmations: 3, reorgDepth: 64n, mode: "depth" };
/** OP Stack (2-s blocks): unsafe blocks can be replaced until their batch is on L1. */
const OP_STACK: Omit<FinalityProfile, "network"> = { confirmations: 10, reorgDepth: 256n, mode: "depth" };
/** Arbitrum (sub-second blocks): the sequencer's order is final unless it fails over. */
const ARBITRUM: Omit<FinalityProfile, "network"> = { confirmations: 20, reorgDepth: 1024n, mode: "depth" };
/** Polygon PoS (2-s blocks): deep reorgs have happened; milestones bound them now. */
const POLYGON: Omit<FinalityProfile, "network"> = { confirmations: 32, reorgDepth: 256n, mode: "depth" };
/** BNB Smart Chain: fast finality, sub-second blocks. */
const BSC: Omit<FinalityProfile, "network"> = { confirmations: 15, reorgDepth: 128n, mode: "depth" };

/** Profiles by chain id. */
export const FINALITY_PROFILES: ReadonlyMap<bigint, FinalityProfile> = new Map(
  (
    [
      [31337n, "local (Hardhat, Anvil)", LOCAL],
      [1337n, "local (geth --dev, Ganache)", LOCAL],
      [1n, "ethereum", ETHEREUM],
      [11155111n, "sepolia", ETHEREUM_TESTNET],
      [17000n, "holesky", ETHEREUM_TESTNET],
      [560048n, "hoodi", ETHEREUM_TESTNET],
      [10n, "optimism", OP_STACK],
      [11155420n, "optimism-sepolia", OP_STACK],
      [8453n, "base", OP_STACK],
      [84532n, "base-sepolia", OP_STACK],
      [42161n, "arbitrum-one", ARBITRUM],
      [421614n, "arbitrum-sepolia", ARBITRUM],
      [137n, "polygon", POLYGON],
      [80002n, "polygon-amoy", POLYGON],
      [56n, "bsc", BSC],
    ] as const
  ).map(([chainId, network, profile]) => [chainId, { network, ...profile }]),
);

/** An unknown chain: careful values, to be tuned with CONFIRMATIONS and REORG_DEPTH. */
export const UNKNOWN_CHAIN_PROFILE: FinalityProfile = {
  network: "unknown",
  confirmations: 12,
  reorgDepth: 128n,
  mode: "depth",
};

/** The profile of `chainId` with the environment's overrides applied. */
export function finalityProfile(
  chainId: bigint,
  overrides: Partial<FinalityOverrides> = NO_FINALITY_OVERRIDES,
): FinalityProfile & { known: boolean } {
  const base = FINALITY_PROFILES.get(chainId);
  const profile = base ?? UNKNOWN_CHAIN_PROFILE;
  return {
    network: profile.network,
    confirmations: overrides.confirmations ?? profile.confirmations,
    reorgDepth: overrides.reorgDepth ?? profile.reorgDepth,
    mode: overrides.mode ?? profile.mode,
    known: base !== undefined,
  };
}

/**
 * A configuration with the chain's profile filled in: `confirmations` from the profile unless the
 * environment set it, and `finality` complete (what the chain watcher follows). Also the profile,
 * for the start-up log line.
 */
export function withFinalityProfile<C extends { confirmations: number; finality?: FinalityOverrides }>(
  config: C,
  chainId: bigint,
): { config: C & { finality: FinalityOverrides }; profile: FinalityProfile & { known: boolean } } {
  const profile = finalityProfile(chainId, config.finality ?? NO_FINALITY_OVERRIDES);
  return {
    config: {
      ...config,
      confirmations: profile.confirmations,
      finality: { confirmations: profile.confirmations, reorgDepth: profile.reorgDepth, mode: profile.mode },
    },
    profile,
  };
}
