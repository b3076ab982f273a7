import { expect } from "chai";
import { ethers } from "hardhat";
import { MockERC1271Wallet__factory } from "../../../typechain-types";
import { PaymentState, type Hex } from "../../../src/relayer/domain";
import { toHighS, splitSignature } from "../../helpers/eip3009";
import { buildPayment, CUSTOMER_DEPOSIT, domainOf, idOf, ONE_DAY, signPayment, usd } from "../../escrow/fixtures";
import { MAX_UINT128, paymentBody, signedPayment, useApi, type ApiHarness } from "../helpers/api";

describe("relayer API: POST /v1/payments", function () {
  let h: ApiHarness;
  useApi((started) => (h = started));

  const post = (body: unknown) => h.request("POST", "/v1/payments", { body });

  it("accepts a signed payment: 201 after it is stored, with its id (the escrow's paymentId) and state accepted", async function () {
    const { payment, body } = await signedPayment(h, 0);
    const res = await post(body);
    expect(res.status).to.equal(201);
    const id = await idOf(h.f, payment);
    expect(res.body.id).to.equal(id);
    expect(id).to.equal(await h.f.escrow.paymentId(payment));
    expect(res.body.state).to.equal("accepted");
    expect(res.body.amount).to.equal(usd(10).toString());
    expect(res.headers.get("location")).to.equal(`/v1/payments/${id}`);
    const stored = await h.store.payments.get(id);
    expect(stored?.state).to.equal(PaymentState.Accepted);
    expect(stored?.amount).to.equal(usd(10));
  });

  it("a replayed payment returns the stored one with 200 and is stored once", async function () {
    const { body } = await signedPayment(h, 0);
    const first = await post(body);
    const again = await post(body);
    expect(first.status).to.equal(201);
    expect(again.status).to.equal(200);
    expect(again.body.id).to.equal(first.body.id);
    expect(again.body.createdAt).to.equal(first.body.createdAt);
    expect(await h.store.payments.pendingAmountOf(body.payer.toLowerCase() as Hex)).to.equal(usd(10));
  });

  it("concurrent replays of one payment: exactly one 201, the rest 200, one row", async function () {
    const { body } = await signedPayment(h, 0);
    const results = await Promise.all(Array.from({ length: 8 }, () => post(body)));
    expect(results.map((r) => r.status).sort()).to.deep.equal([200, 200, 200, 200, 200, 200, 200, 201]);
    const page = await h.store.payments.list({ limit: 10 });
    expect(page.items).to.have.length(1);
  });

  describe("signatures", function () {
    it("rejects a signature by another key (foreign signature): 400 invalid_signature", async function () {
      const payment = await buildPayment(h.f, h.f.customers[0]);
      const signature = await signPayment(h.f, h.f.customers[1], payment);
      const res = await post(paymentBody(payment, signature));
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal("invalid_signature");
    });

    it("rejects a signature over other fields (amount changed after signing)", async function () {
      const { body } = await signedPayment(h, 0);
      const res = await post({ ...body, amount: usd(11).toString() });
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal("invalid_signature");
    });

    it("rejects garbage, short, high-s and bad-v signatures", async function () {
      const { body } = await signedPayment(h, 0);
      const split = splitSignature(body.signature);
      const badV = split.signature.slice(0, -2) + "1d"; // v = 29
      const cases = {
        garbage: "0x" + "ab".repeat(65),
        short: split.signature.slice(0, 2 + 64 * 2),
        highS: toHighS(split).signature,
        badV,
        zeroes: "0x" + "00".repeat(65),
      };
      for (const [name, signature] of Object.entries(cases)) {
        const res = await post({ ...body, signature });
        expect(res.status, name).to.equal(400);
        expect(res.body.error.code, name).to.equal("invalid_signature");
      }
    });

    it("accepts an ERC-1271 contract wallet payer (isValidSignature), and rejects what the wallet refuses", async function () {
      const owner = h.f.customers[2];
      const wallet = await new MockERC1271Wallet__factory(owner).deploy(owner.address);
      const walletAddress = (await wallet.getAddress()) as Hex;
      await h.f.token.connect(h.f.admin).mint(walletAddress, usd(100));
      const escrowAddress = await h.f.escrow.getAddress();
      await wallet
        .connect(owner)
        .execute(
          await h.f.token.getAddress(),
          h.f.token.interface.encodeFunctionData("approve", [escrowAddress, usd(100)]),
        );
      await wallet
        .connect(owner)
        .execute(escrowAddress, h.f.escrow.interface.encodeFunctionData("deposit", [usd(100)]));

      const payment = await buildPayment(h.f, { address: walletAddress });
      const id = await idOf(h.f, payment);
      // The mock wallet accepts the owner's raw ECDSA signature of the digest itself.
      const signature = ethers.Signature.from(new ethers.SigningKey(ownerKey(2)).sign(id)).serialized as Hex;
      const ok = await post(paymentBody(payment, signature));
      expect(ok.status, ok.text).to.equal(201);
      expect(ok.body.payer).to.equal(walletAddress.toLowerCase());

      const other = await buildPayment(h.f, { address: walletAddress }, { nonce: 1n });
      const strangerSig = ethers.Signature.from(
        new ethers.SigningKey(ownerKey(3)).sign(await idOf(h.f, other)),
      ).serialized;
      const refused = await post(paymentBody(other, strangerSig as Hex));
      expect(refused.status).to.equal(400);
      expect(refused.body.error.code).to.equal("invalid_signature");
    });
  });

  it("a contract payer whose isValidSignature reverts (or is missing) is refused: 400 invalid_signature, not a 5xx", async function () {
    const registry = (await h.f.registry.getAddress()) as Hex;
    const payment = await buildPayment(h.f, { address: registry });
    const signature = await signPayment(h.f, h.f.customers[0], payment);
    const res = await post(paymentBody(payment, signature));
    expect(res.status).to.equal(400);
    expect(res.body.error.code).to.equal("invalid_signature");
  });

  describe("domain", function () {
    it("rejects a payment that names another chain id: 400 wrong_domain", async function () {
      const { body } = await signedPayment(h, 0);
      const res = await post({ ...body, chainId: "1" });
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal("wrong_domain");
    });

    it("rejects a payment that names another escrow: 400 wrong_domain", async function () {
      const { body } = await signedPayment(h, 0);
      const res = await post({ ...body, escrow: ethers.Wallet.createRandom().address });
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal("wrong_domain");
    });

    it("accepts a payment that names the right domain", async function () {
      const { body } = await signedPayment(h, 0);
      const res = await post({ ...body, chainId: h.f.chainId.toString(), escrow: await h.f.escrow.getAddress() });
      expect(res.status).to.equal(201);
    });

    it("a signature made for another chain or contract does not verify: 400 invalid_signature", async function () {
      const signer = h.f.customers[0];
      const payment = await buildPayment(h.f, signer);
      const otherChain = await signPayment(h.f, signer, payment, await domainOf(h.f, 1n));
      const otherContract = await signPayment(h.f, signer, payment, {
        ...(await domainOf(h.f)),
        verifyingContract: ethers.Wallet.createRandom().address as Hex,
      });
      for (const signature of [otherChain, otherContract]) {
        const res = await post(paymentBody(payment, signature));
        expect(res.status).to.equal(400);
        expect(res.body.error.code).to.equal("invalid_signature");
      }
    });
  });

  describe("amounts", function () {
    const cases: [string, bigint][] = [
      ["0", 0n],
      ["2^128", 1n << 128n],
      ["2^256", 1n << 256n],
      ["above 2^256", (1n << 256n) * 10n + 7n],
    ];
    for (const [name, amount] of cases) {
      it(`rejects amount ${name}: 400 invalid_amount`, async function () {
        const { body } = await signedPayment(h, 0);
        const res = await post({ ...body, amount: amount.toString() });
        expect(res.status).to.equal(400);
        expect(res.body.error.code).to.equal("invalid_amount");
      });
    }

    it("2^128-1 passes the range check (and then fails on balance: 409 insufficient_balance)", async function () {
      const { body } = await signedPayment(h, 0, { amount: MAX_UINT128 });
      const res = await post(body);
      expect(res.status).to.equal(409);
      expect(res.body.error.code).to.equal("insufficient_balance");
    });

    it("rejects other fields above their uint range: 400 validation_failed", async function () {
      const { body } = await signedPayment(h, 0);
      for (const [field, value] of [
        ["merchantId", (1n << 64n).toString()],
        ["nonce", (1n << 64n).toString()],
        ["deadline", (1n << 48n).toString()],
      ]) {
        const res = await post({ ...body, [field]: value });
        expect(res.status, field).to.equal(400);
        expect(res.body.error.code, field).to.equal("validation_failed");
      }
    });
  });

  describe("balance net of pending payments", function () {
    it("two payments that together exceed the balance: the first is accepted, the second 409 insufficient_balance", async function () {
      const first = await signedPayment(h, 0, { amount: usd(600), nonce: 0n });
      const second = await signedPayment(h, 0, { amount: usd(600), nonce: 1n });
      expect((await post(first.body)).status).to.equal(201);
      const res = await post(second.body);
      expect(res.status).to.equal(409);
      expect(res.body.error.code).to.equal("insufficient_balance");
      expect(res.body.error.details).to.deep.equal({
        balance: CUSTOMER_DEPOSIT.toString(),
        pending: usd(600).toString(),
      });
    });

    it("sent concurrently, exactly one of two over-spending payments is accepted", async function () {
      const a = await signedPayment(h, 1, { amount: usd(700), nonce: 0n });
      const b = await signedPayment(h, 1, { amount: usd(700), nonce: 1n });
      const results = await Promise.all([post(a.body), post(b.body)]);
      expect(results.map((r) => r.status).sort()).to.deep.equal([201, 409]);
      expect(results.find((r) => r.status === 409)!.body.error.code).to.equal("insufficient_balance");
    });

    it("the whole balance can be spent in several payments", async function () {
      for (let nonce = 0n; nonce < 4n; nonce++) {
        const { body } = await signedPayment(h, 2, { amount: usd(250), nonce });
        expect((await post(body)).status).to.equal(201);
      }
      const { body } = await signedPayment(h, 2, { amount: 1n, nonce: 4n });
      expect((await post(body)).body.error.code).to.equal("insufficient_balance");
    });
  });

  describe("nonces", function () {
    it("a nonce used by a pending payment: 409 nonce_unavailable", async function () {
      const a = await signedPayment(h, 0, { nonce: 5n });
      const b = await signedPayment(h, 0, { nonce: 5n });
      expect((await post(a.body)).status).to.equal(201);
      const res = await post(b.body);
      expect(res.status).to.equal(409);
      expect(res.body.error.code).to.equal("nonce_unavailable");
    });

    it("a nonce outside the 64-wide window, or used on chain: 409 nonce_unavailable", async function () {
      const outside = await signedPayment(h, 0, { nonce: 64n }); // window is [0, 64)
      const res = await post(outside.body);
      expect(res.status).to.equal(409);
      expect(res.body.error.code).to.equal("nonce_unavailable");

      await h.f.escrow.connect(h.f.customers[0]).cancelNonce(0); // window slides to [1, 65)
      const used = await signedPayment(h, 0, { nonce: 0n });
      const again = await post(used.body);
      expect(again.status).to.equal(409);
      expect(again.body.error.code).to.equal("nonce_unavailable");
      expect((await post(outside.body)).status).to.equal(201);
    });
  });

  describe("validity window and merchant", function () {
    it("an expired deadline: 400 expired", async function () {
      const now = BigInt(Math.floor(h.clock() / 1000));
      const { body } = await signedPayment(h, 0, { deadline: now - 5n });
      const res = await post(body);
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal("expired");
    });

    it("validAfter in the future: 400 not_yet_valid", async function () {
      const now = BigInt(Math.floor(h.clock() / 1000));
      const { body } = await signedPayment(h, 0, { validAfter: now + 3600n, deadline: now + ONE_DAY });
      const res = await post(body);
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal("not_yet_valid");
    });

    it("an unknown merchant: 404 unknown_merchant", async function () {
      const { body } = await signedPayment(h, 0, { merchantId: 99n });
      const res = await post(body);
      expect(res.status).to.equal(404);
      expect(res.body.error.code).to.equal("unknown_merchant");
    });

    it("a payer the token blocklists: 403 payer_blocklisted, nothing stored (the escrow would reject it)", async function () {
      const payer = h.f.customers[0];
      await h.f.token.connect(h.f.admin).grantRole(await h.f.token.BLOCKLISTER_ROLE(), h.f.admin.address);
      await h.f.token.connect(h.f.admin).blocklist(payer.address);
      const { body } = await signedPayment(h, 0);
      const res = await post(body);
      expect([res.status, res.body.error.code]).to.deep.equal([403, "payer_blocklisted"]);
      expect((await h.store.payments.list({ limit: 10 })).items).to.have.length(0);
      // Another payer is unaffected.
      const other = await signedPayment(h, 1);
      expect((await post(other.body)).status).to.equal(201);
    });

    it("a hold outside the merchant's bounds: 400 hold_out_of_range naming the bounds, nothing stored", async function () {
      // Bounds the registrar set for merchant 2: one to ten days.
      const [minHold, maxHold] = [ONE_DAY, 10n * ONE_DAY];
      await h.f.registry.connect(h.f.registrar).setTerms(2n, 250, minHold, maxHold);
      for (const hold of [minHold - 1n, maxHold + 1n, 0n]) {
        const { body } = await signedPayment(h, 0, { merchantId: 2n, hold });
        const res = await post(body);
        expect([res.status, res.body.error.code], `hold ${hold}`).to.deep.equal([400, "hold_out_of_range"]);
        expect(res.body.error.message).to.equal(
          `hold ${hold} s is outside merchant 2's bounds [${minHold}, ${maxHold}] s`,
        );
        expect(res.body.error.details).to.deep.equal({
          hold: Number(hold),
          minHold: Number(minHold),
          maxHold: Number(maxHold),
        });
      }
      expect((await h.store.payments.list({ limit: 10 })).items).to.have.length(0);
      // At either bound it is accepted, and stored (and shown) with its own hold.
      for (const hold of [minHold, maxHold]) {
        const { body } = await signedPayment(h, 0, { merchantId: 2n, hold, nonce: hold === minHold ? 0n : 1n });
        const res = await post(body);
        expect(res.status, res.text).to.equal(201);
        expect(res.body.hold).to.equal(Number(hold));
        expect((await h.store.payments.get(res.body.id))?.hold).to.equal(hold);
      }
    });

    it("a suspended merchant: 409 merchant_not_active", async function () {
      await h.f.registry.connect(h.f.registrar).suspend(2n);
      const { body } = await signedPayment(h, 0, { merchantId: 2n });
      const res = await post(body);
      expect(res.status).to.equal(409);
      expect(res.body.error.code).to.equal("merchant_not_active");
    });
  });

  describe("validation", function () {
    it("wrong JSON types (number amount, string where object, missing field, extra field): 400 validation_failed", async function () {
      const { body } = await signedPayment(h, 0);
      const { signature: _omit, ...withoutSignature } = body;
      const cases: Record<string, unknown> = {
        numberAmount: { ...body, amount: 10_000_000 },
        negativeAmount: { ...body, amount: "-1" },
        decimalAmount: { ...body, amount: "1.5" },
        hexAmount: { ...body, amount: "0x10" },
        badPayer: { ...body, payer: "0x1234" },
        badOrderRef: { ...body, orderRef: "order-1" },
        stringHold: { ...body, hold: String(body.hold) },
        fractionalHold: { ...body, hold: 3600.5 },
        negativeHold: { ...body, hold: -1 },
        holdAboveUint32: { ...body, hold: 2 ** 32 },
        missingHold: { ...body, hold: undefined },
        missingSignature: withoutSignature,
        extraField: { ...body, tip: "1" },
        array: [body],
        string: "payment",
      };
      for (const [name, payload] of Object.entries(cases)) {
        const res = await post(payload);
        expect(res.status, name).to.equal(400);
        expect(res.body.error.code, name).to.equal("validation_failed");
      }
    });
  });
});

/** Private keys of Hardhat's default accounts (customers are accounts 12..15). */
function ownerKey(customer: number): string {
  const wallet = ethers.HDNodeWallet.fromPhrase(
    "test test test test test test test test test test test junk",
    undefined,
    `m/44'/60'/0'/0/${12 + customer}`,
  );
  return wallet.privateKey;
}
