/**
 * Gas limits the relayer signs with: headroom over an estimate, never above EIP-7825's cap (a node
 * refuses such a transaction outright); and the merchant runs the payBatch model counts.
 */
import { expect } from "chai";
import { TX_GAS_LIMIT_CAP, gasLimitFromEstimate } from "../../../src/relayer/chain/fees";
import {
  CONTRACT_SIGNATURE_GAS,
  contractSignatureGas,
  merchantRuns,
  withContractSignatureGas,
} from "../../../src/relayer/jobs/batcher";
import { SignatureKind } from "../../../src/relayer/domain";
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

  it("adds the full ERC-1271 budget of every contract-signed payment and the escrow's finishing reserve once", function () {
    // BoundedSignature.ERC1271_GAS_NEEDED = 100,000 * 64 / 63 + 500; PaymentEscrow's reserve 100,000 + 200 per item.
    expect(CONTRACT_SIGNATURE_GAS.perItem >= (100_000n * 64n) / 63n + 500n).to.equal(true);
    expect(contractSignatureGas(0, 50)).to.equal(0n);
    expect(contractSignatureGas(3, 33)).to.equal(3n * CONTRACT_SIGNATURE_GAS.perItem + 100_000n + 33n * 200n);
    const ecdsa = makePayment(0, { signatureKind: SignatureKind.Ecdsa });
    const wallet = makePayment(1, { signatureKind: SignatureKind.Contract });
    const unknown = makePayment(2, { signatureKind: null });
    expect(withContractSignatureGas(500_000n, [ecdsa])).to.equal(500_000n);
    expect(withContractSignatureGas(500_000n, [ecdsa, wallet, unknown])).to.equal(
      500_000n + contractSignatureGas(2, 3),
    );
    // Never above the per-transaction cap: the wallets' items are then skipped, the batch not sunk.
    expect(withContractSignatureGas(16_700_000n, [wallet])).to.equal(TX_GAS_LIMIT_CAP);
  });

  it("counts contiguous runs of one merchant, as the escrow funds a tranche per run", function () {
    const of = (...merchants: number[]) => merchants.map((m, i) => makePayment(i, { merchantId: BigInt(m) }));
    expect(merchantRuns([])).to.equal(0);
    expect(merchantRuns(of(1, 1, 1))).to.equal(1);
    expect(merchantRuns(of(1, 1, 2, 2, 3))).to.equal(3);
    expect(merchantRuns(of(1, 2, 1))).to.equal(3);
  });
});
