/**
 * Cross-currency quotes (src/protocol/fx.ts): the digest agrees with ethers' EIP-712 encoder and the
 * registry's role constant; the rate helpers are exact integer arithmetic (checked against a
 * rational reference with fast-check).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { TypedDataEncoder, Wallet } from "ethers";
import fc from "fast-check";
import {
  FX_DOMAIN_NAME,
  FX_QUOTER_ROLE,
  ethersTypes,
  fxDomain,
  mirroredRefund,
  mirroredRequest,
  parseRateEntry,
  payAmountFor,
  quoteDigest,
  quoteOrderRef,
  quoteTypes,
  withinBand,
  type Address,
  type Hex,
  type Quote,
} from "../../src/protocol";

const REGISTRY = "0x5fbdb2315678afecb367f032d93f642f64180aa3" as Address;
const quote: Quote = {
  quoteId: ethers.id("q1") as Hex,
  payToken: "0x1111111111111111111111111111111111111111",
  settleToken: "0x2222222222222222222222222222222222222222",
  payAmount: 10_870_000n,
  settleAmount: 10_000_000n,
  merchantId: 7n,
  orderRef: ethers.id("order") as Hex,
  expiresAt: 1_900_000_000n,
};

describe("protocol: FX quotes", function () {
  it("digests a quote as ethers' EIP-712 encoder does, under the StablePay FX domain of the registry", function () {
    const domain = fxDomain(31337n, REGISTRY);
    expect(domain.name).to.equal(FX_DOMAIN_NAME);
    expect(quoteDigest(domain, quote)).to.equal(TypedDataEncoder.hash(domain, ethersTypes(quoteTypes), quote));
    expect(quoteOrderRef(domain, quote)).to.equal(quoteDigest(domain, quote));
    // Another chain, registry or any field gives another digest (and so another orderRef).
    expect(quoteDigest(fxDomain(1n, REGISTRY), quote)).to.not.equal(quoteDigest(domain, quote));
    expect(quoteDigest(domain, { ...quote, payAmount: quote.payAmount + 1n })).to.not.equal(quoteDigest(domain, quote));
  });

  it("a quote signed with ethers recovers to its signer", async function () {
    const wallet = Wallet.createRandom();
    const domain = fxDomain(31337n, REGISTRY);
    const signature = await wallet.signTypedData(domain, ethersTypes(quoteTypes), quote);
    expect(ethers.recoverAddress(quoteDigest(domain, quote), signature)).to.equal(wallet.address);
  });

  it("FX_QUOTER_ROLE is the registry's constant", async function () {
    const [admin] = await ethers.getSigners();
    const registry = await ethers.deployContract("MerchantRegistry", [0, admin.address]);
    expect(await registry.FX_QUOTER_ROLE()).to.equal(FX_QUOTER_ROLE);
  });

  it("payAmountFor rounds up: the payer never pays less than the rate", function () {
    expect(payAmountFor(10_000_000n, { pay: 1087n, settle: 1000n })).to.equal(10_870_000n);
    expect(payAmountFor(1n, { pay: 1087n, settle: 1000n })).to.equal(2n);
    expect(payAmountFor(3n, { pay: 1n, settle: 3n })).to.equal(1n);
    expect(() => payAmountFor(1n, { pay: 0n, settle: 1n })).to.throw(RangeError);
    fc.assert(
      fc.property(fc.bigInt(1n, 2n ** 96n), fc.bigInt(1n, 10n ** 9n), fc.bigInt(1n, 10n ** 9n), (settle, p, s) => {
        const pay = payAmountFor(settle, { pay: p, settle: s });
        // pay/settle >= p/s, and one unit less would be below the rate.
        return pay * s >= settle * p && (pay - 1n) * s < settle * p;
      }),
    );
  });

  it("withinBand accepts a rate up to maxDeviationBps either side of the reference, and nothing past it", function () {
    const ref = { pay: 1087n, settle: 1000n };
    // 0.5% of 10.87 = 0.05435: 10.92435 is the edge above, 10.81565 below.
    expect(withinBand(10_924_350n, 10_000_000n, ref, 50n)).to.equal(true);
    expect(withinBand(10_924_351n, 10_000_000n, ref, 50n)).to.equal(false);
    expect(withinBand(10_815_650n, 10_000_000n, ref, 50n)).to.equal(true);
    expect(withinBand(10_815_649n, 10_000_000n, ref, 50n)).to.equal(false);
    expect(withinBand(10_870_000n, 10_000_000n, ref, 0n)).to.equal(true);
    expect(withinBand(0n, 10_000_000n, ref, 50n)).to.equal(false);
    expect(withinBand(1n, 0n, ref, 10_000n)).to.equal(false);
    fc.assert(
      fc.property(
        fc.bigInt(1n, 2n ** 96n),
        fc.bigInt(1n, 2n ** 96n),
        fc.bigInt(1n, 10n ** 9n),
        fc.bigInt(1n, 10n ** 9n),
        fc.bigInt(0n, 10_000n),
        (pay, settle, p, s, bps) => {
          // |pay/settle - p/s| <= bps/10000 * p/s, cross-multiplied by settle*s*10000.
          const lhs = pay * s * 10_000n - p * settle * 10_000n;
          const ok = (lhs < 0n ? -lhs : lhs) <= bps * p * settle;
          return withinBand(pay, settle, { pay: p, settle: s }, bps) === ok;
        },
      ),
    );
  });

  it("mirroredRefund: the settle leg's refunded share of the pay leg, rounded up, exact in full; fast-check", () => {
    expect(mirroredRefund(0n, 10_870_000n, 10_000_000n)).to.equal(0n);
    expect(mirroredRefund(3_333_333n, 10_870_000n, 10_000_000n)).to.equal(3_623_333n);
    expect(mirroredRefund(10_000_000n, 10_870_000n, 10_000_000n)).to.equal(10_870_000n);
    expect(() => mirroredRefund(1n, 0n, 1n)).to.throw(RangeError);
    fc.assert(
      fc.property(fc.bigInt(1n, 10n ** 30n), fc.bigInt(1n, 10n ** 30n), fc.bigInt(0n, 10n ** 30n), (pay, settle, r) => {
        const owed = mirroredRefund(r, pay, settle);
        const refunded = r > settle ? settle : r;
        // owed / pay ≥ refunded / settle, by less than one unit of the pay token.
        expect(owed * settle >= refunded * pay).to.equal(true);
        if (owed > 0n) expect((owed - 1n) * settle < refunded * pay).to.equal(true);
        expect(owed <= pay).to.equal(true);
      }),
    );
  });

  it("mirroredRequest: the pay leg's asked share of the settle leg, rounded down, all of it when all is asked", () => {
    expect(mirroredRequest(5_435_000n, 10_870_000n, 10_000_000n)).to.equal(5_000_000n);
    expect(mirroredRequest(1n, 10_870_000n, 10_000_000n)).to.equal(0n);
    expect(mirroredRequest(10_870_000n, 10_870_000n, 10_000_000n)).to.equal(10_000_000n);
    expect(() => mirroredRequest(1n, 1n, 0n)).to.throw(RangeError);
  });

  it("parseRateEntry: PAY/SETTLE=payUnits:settleUnits in positive integers, nothing else", () => {
    expect(parseRateEntry("USD/EUR=1087:1000")).to.deep.equal({ pair: "USD/EUR", rate: { pay: 1087n, settle: 1000n } });
    for (const bad of [
      "USD/EUR=1.087",
      "USD/EUR=0:1",
      "USD/EUR=01:1",
      "usd/EUR=1:1",
      "USDEUR=1:1",
      "USD/EUR=1:1 ",
      "1USD/EUR=1:1",
    ]) {
      expect(parseRateEntry(bad), bad).to.equal(null);
    }
  });
});
