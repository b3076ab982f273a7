/**
 * Readiness conditions by reason and source (src/relayer/runtime/readiness.ts): with several signer
 * lanes, one lane funded again must not clear another lane's `signer_unfunded`.
 */
import { expect } from "chai";
import { Readiness } from "../../../src/relayer/runtime/readiness";

const LANE_A = "0x00000000000000000000000000000000000000aa";
const LANE_B = "0x00000000000000000000000000000000000000bb";

describe("relayer readiness", function () {
  it("a reason holds while any of its sources does", function () {
    const readiness = new Readiness(() => 1_000);
    expect(readiness.fail("signer_unfunded", `signer ${LANE_A} has no ETH`, LANE_A)).to.equal(true);
    expect(readiness.fail("signer_unfunded", `signer ${LANE_B} has no ETH`, LANE_B)).to.equal(true);
    // Reported again while it holds: kept as first reported.
    expect(readiness.fail("signer_unfunded", "again", LANE_A)).to.equal(false);
    expect(readiness.conditions()).to.deep.equal([
      { reason: "signer_unfunded", source: LANE_A, message: `signer ${LANE_A} has no ETH`, since: 1_000 },
      { reason: "signer_unfunded", source: LANE_B, message: `signer ${LANE_B} has no ETH`, since: 1_000 },
    ]);

    // Lane B funded: lane A still holds the condition.
    expect(readiness.clear("signer_unfunded", LANE_B)).to.equal(true);
    expect(readiness.has("signer_unfunded")).to.equal(true);
    expect(readiness.conditions().map((c) => c.source)).to.deep.equal([LANE_A]);
    // Clearing a source that holds nothing changes nothing.
    expect(readiness.clear("signer_unfunded", LANE_B)).to.equal(false);
    expect(readiness.clear("signer_unfunded")).to.equal(false);
    expect(readiness.has("signer_unfunded")).to.equal(true);

    expect(readiness.clear("signer_unfunded", LANE_A)).to.equal(true);
    expect(readiness.has("signer_unfunded")).to.equal(false);
    expect(readiness.conditions()).to.deep.equal([]);
  });

  it("a condition without a source is one condition", function () {
    const readiness = new Readiness();
    expect(readiness.fail("storage_unavailable", "disk full")).to.equal(true);
    expect(readiness.fail("storage_unavailable", "disk full")).to.equal(false);
    expect(readiness.has("storage_unavailable")).to.equal(true);
    expect(readiness.has("signer_unfunded")).to.equal(false);
    expect(readiness.clear("storage_unavailable")).to.equal(true);
    expect(readiness.has("storage_unavailable")).to.equal(false);
  });
});
