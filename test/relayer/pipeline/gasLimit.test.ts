/**
 * Gas limits the relayer signs with: headroom over an estimate, never above EIP-7825's cap (a node
 * refuses such a transaction outright); and the merchant runs the payBatch model counts.
 */
import { expect } from "chai";
import { TX_GAS_LIMIT_CAP, gasLimitFromEstimate } from "../../../src/relayer/chain/fees";
import { merchantRuns } from "../../../src/relayer/jobs/batcher";
import { makePayment } from "../store/helpers";

describe("relayer pipeline: gas limits", function () {
  it("adds 25 % and 25,000 gas of headroom to an estimate", function () {
    expect(gasLimitFromEstimate(100_000n)).to.equal(150_000n);
    expect(gasLimitFromEstimate(8_000_000n)).to.equal(10_025_000n);
  });

  it("never goes above the per-transaction cap, nor below an estimate that is already above it", function () {
    expect(TX_GAS_LIMIT_CAP).to.equal(16_777_216n);
    expect(gasLimitFromEstimate(15_000_000n)).to.equal(TX_GAS_LIMIT_CAP);
    expect(gasLimitFromEstimate(TX_GAS_LIMIT_CAP)).to.equal(TX_GAS_LIMIT_CAP);
    // A chain without the cap: the estimate itself stands.
    expect(gasLimitFromEstimate(20_000_000n)).to.equal(20_000_000n);
  });

  it("counts contiguous runs of one merchant, as the escrow funds a tranche per run", function () {
    const of = (...merchants: number[]) => merchants.map((m, i) => makePayment(i, { merchantId: BigInt(m) }));
    expect(merchantRuns([])).to.equal(0);
    expect(merchantRuns(of(1, 1, 1))).to.equal(1);
    expect(merchantRuns(of(1, 1, 2, 2, 3))).to.equal(3);
    expect(merchantRuns(of(1, 2, 1))).to.equal(3);
  });
});
