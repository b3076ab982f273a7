/**
 * The protocol's fee rule (src/protocol/fees.ts) against the escrow: payments at edge amounts to
 * merchants at edge fee rates are confirmed, and PaymentConfirmed's fee and released amount must be
 * feeOf and netOf.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { BPS, feeOf, netOf } from "../../src/protocol";
import { deployEscrowFixture, escrowOne, type EscrowFixture } from "../escrow/fixtures";

/** The one hold these merchants allow, and their payments ask. */
const HOLD = 7n * 86_400n;

// Around one basis point of an amount (10,000 units) and where a 2.5% fee crosses a whole unit (40).
const AMOUNTS = [1n, 39n, 40n, 41n, 9_999n, 10_000n, 10_001n, 123_456_789n];

async function merchantAt(f: EscrowFixture, feeBps: bigint): Promise<bigint> {
  const owner = ethers.Wallet.createRandom().address;
  const payout = ethers.Wallet.createRandom().address;
  await f.registry.connect(f.registrar).registerMerchant(owner, payout, feeBps, HOLD, HOLD, ethers.ZeroHash);
  return f.registry.merchantCount();
}

describe("protocol: fee rule (src/protocol/fees.ts) against the escrow", function () {
  it("rounds up, as the escrow does (pure cases)", function () {
    expect(feeOf(1n, 1)).to.equal(1n);
    expect(feeOf(BPS, 1n)).to.equal(1n);
    expect(feeOf(BPS + 1n, 1n)).to.equal(2n);
    expect(feeOf(0n, 1_000)).to.equal(0n);
    expect(feeOf(123n, 0)).to.equal(0n);
    expect(netOf(100n, 250)).to.equal(97n);
  });

  it("PaymentConfirmed's fee and released amount equal feeOf and netOf at edge amounts and rates", async function () {
    const f = await loadFixture(deployEscrowFixture);
    const maxFeeBps = BigInt(await f.registry.MAX_FEE_BPS());
    const [payer] = f.customers;
    for (const feeBps of [0n, 1n, 250n, maxFeeBps - 1n, maxFeeBps]) {
      const merchantId = await merchantAt(f, feeBps);
      for (const amount of AMOUNTS) {
        const escrowed = await escrowOne(f, payer, { merchantId, amount, hold: HOLD });
        await expect(f.escrow.connect(payer).confirm(escrowed.payment, escrowed.inclusion))
          .to.emit(f.escrow, "PaymentConfirmed")
          .withArgs(escrowed.id, merchantId, escrowed.inclusion.batchId, netOf(amount, feeBps), feeOf(amount, feeBps));
      }
    }
  });
});
