/**
 * Finality per network: each chain id's profile (confirmations, reorg window, depth or finalized
 * tag), the environment's overrides (CONFIRMATIONS, REORG_DEPTH, FINALITY) and their checks, and
 * the profile applied to a relayer configuration once the chain id is known.
 */
import { expect } from "chai";
import {
  FINALITY_PROFILES,
  UNKNOWN_CHAIN_PROFILE,
  finalityProfile,
  withFinalityProfile,
} from "../../../src/relayer/chain/finality";
import { loadConfig } from "../../../src/relayer/config";

describe("relayer finality profiles", () => {
  it("differ per network: mainnet, an L2 and the local chain", () => {
    const local = finalityProfile(31337n);
    const mainnet = finalityProfile(1n);
    const base = finalityProfile(8453n);
    expect(local).to.deep.include({ confirmations: 1, reorgDepth: 64n, mode: "depth", known: true });
    expect(mainnet).to.deep.include({ network: "ethereum", confirmations: 12, reorgDepth: 64n, known: true });
    expect(base).to.deep.include({ network: "base", confirmations: 10, reorgDepth: 256n, known: true });
    expect(finalityProfile(42161n).reorgDepth > finalityProfile(1n).reorgDepth, "sub-second blocks").to.equal(true);
  });

  it("falls back to careful values on a chain it does not know", () => {
    const unknown = finalityProfile(999_999n);
    expect(unknown).to.deep.equal({ ...UNKNOWN_CHAIN_PROFILE, known: false });
    expect(unknown.confirmations > finalityProfile(31337n).confirmations).to.equal(true);
  });

  it("every profile watches a window of at least one block and confirms with at least one", () => {
    for (const [chainId, profile] of FINALITY_PROFILES) {
      expect(profile.confirmations >= 1, `${chainId}`).to.equal(true);
      expect(profile.reorgDepth >= 1n, `${chainId}`).to.equal(true);
    }
  });

  it("takes each override on its own, and keeps the profile for the rest", () => {
    expect(finalityProfile(1n, { confirmations: 3, reorgDepth: null, mode: null })).to.deep.include({
      confirmations: 3,
      reorgDepth: 64n,
      mode: "depth",
    });
    expect(finalityProfile(1n, { confirmations: null, reorgDepth: 10n, mode: "finalized" })).to.deep.include({
      confirmations: 12,
      reorgDepth: 10n,
      mode: "finalized",
    });
  });

  it("reads CONFIRMATIONS, REORG_DEPTH and FINALITY; unset ones are left to the profile", () => {
    expect(loadConfig({}).finality).to.deep.equal({ confirmations: null, reorgDepth: null, mode: null });
    expect(loadConfig({ CONFIRMATIONS: "5", REORG_DEPTH: "300", FINALITY: "finalized" }).finality).to.deep.equal({
      confirmations: 5,
      reorgDepth: 300n,
      mode: "finalized",
    });
    expect(loadConfig({ CONFIRMATIONS: "", FINALITY: "" }).finality).to.deep.equal({
      confirmations: null,
      reorgDepth: null,
      mode: null,
    });
  });

  it("refuses a FINALITY it does not know and a window of no blocks", () => {
    expect(() => loadConfig({ FINALITY: "safe" })).to.throw(/FINALITY must be one of depth, finalized, got "safe"/);
    expect(() => loadConfig({ REORG_DEPTH: "0" })).to.throw(/REORG_DEPTH must be at least 1/);
    expect(() => loadConfig({ REORG_DEPTH: "-3" })).to.throw(/REORG_DEPTH must be a non-negative integer/);
  });

  it("applied to a configuration: the chain's confirmations unless CONFIRMATIONS was set", () => {
    const onMainnet = withFinalityProfile(loadConfig({}), 1n);
    expect(onMainnet.config.confirmations).to.equal(12);
    expect(onMainnet.config.finality).to.deep.equal({ confirmations: 12, reorgDepth: 64n, mode: "depth" });
    expect(onMainnet.profile.network).to.equal("ethereum");

    const pinned = withFinalityProfile(loadConfig({ CONFIRMATIONS: "2", FINALITY: "finalized" }), 1n);
    expect(pinned.config.confirmations).to.equal(2);
    expect(pinned.config.finality).to.deep.equal({ confirmations: 2, reorgDepth: 64n, mode: "finalized" });

    // npm start's local chain keeps what it had: one confirmation.
    expect(withFinalityProfile(loadConfig({}), 31337n).config.confirmations).to.equal(1);
  });
});
