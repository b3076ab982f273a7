import { expect } from "chai";
import { Wallet } from "ethers";
import fc from "fast-check";
import { EscrowDigester } from "../../../src/protocol/digest";
import { bytesToHex as toHex } from "../../../src/protocol/hash";
import {
  InlineRecovery,
  SignaturePool,
  WorkerRecovery,
  decodeRecoveryRequest,
  decodeRecoveryResponse,
  encodeRecoveryRequest,
  encodeRecoveryResponse,
  type Recovered,
} from "../../../src/relayer/intake/signaturePool";
import { signPayment } from "../../../src/sdk/sign";
import { fromEthersSigner } from "../../../src/sdk/signers";
import type { Address, Hex, Payment } from "../../../src/protocol";

const CHAIN_ID = 31337n;
const ESCROW = "0x5fbdb2315678afecb367f032d93f642f64180aa3" as Address;
/** A second currency's escrow: the same payments signed for it have other ids. */
const OTHER_ESCROW = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512" as Address;
const SETUP = { chainId: CHAIN_ID.toString(), escrow: ESCROW };
const OTHER_SETUP = { chainId: CHAIN_ID.toString(), escrow: OTHER_ESCROW };
const domainOf = (escrow: Address) => ({
  name: "StablePay Escrow",
  version: "1",
  chainId: CHAIN_ID,
  verifyingContract: escrow,
});

async function signedPayments(
  count: number,
  escrow: Address = ESCROW,
): Promise<{ payment: Payment; signature: Hex; signer: Hex }[]> {
  const domain = domainOf(escrow);
  const wallets = [Wallet.createRandom(), Wallet.createRandom(), Wallet.createRandom()];
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const wallet = wallets[i % wallets.length];
      const payment: Payment = {
        payer: wallet.address.toLowerCase() as Address,
        merchantId: BigInt(1 + (i % 4)),
        amount: 1_000_000n + BigInt(i),
        orderRef: toHex(new Uint8Array(32).fill(i % 256)),
        nonce: BigInt(i),
        validAfter: 0n,
        deadline: 2_000_000_000n,
        hold: BigInt(60 + i),
      };
      const signature = await signPayment(fromEthersSigner(wallet), { domain, payment });
      return { payment, signature, signer: payment.payer };
    }),
  );
}

describe("relayer intake: signature recovery on worker threads", function () {
  let pool: SignaturePool | null = null;
  afterEach(async () => {
    await pool?.close();
    pool = null;
  });

  it("gives the same ids and signers as recovery on the calling thread, in request order", async function () {
    const items = await signedPayments(300);
    // A tampered signature (last byte of s flipped) and a malformed one recover to someone else / nobody.
    // (Flipped, not set to 00: a byte that was 00 already would leave the signature valid.)
    const lastOfS = parseInt(items[1].signature.slice(128, 130), 16) ^ 0xff;
    const tampered = (items[1].signature.slice(0, 128) +
      lastOfS.toString(16).padStart(2, "0") +
      items[1].signature.slice(130)) as Hex;
    const cases = [...items.map((i) => [i.payment, i.signature] as const), [items[1].payment, tampered] as const];
    cases.push([items[2].payment, "0x1234" as Hex]);
    pool = new SignaturePool(2);
    const recovery = pool.forDomain(SETUP);
    const inline = new InlineRecovery(new EscrowDigester(CHAIN_ID, ESCROW));
    const [fromPool, fromInline] = await Promise.all([
      Promise.all(cases.map(([p, s]) => recovery.recover(p, s))),
      Promise.all(cases.map(([p, s]) => inline.recover(p, s))),
    ]);
    expect(fromPool).to.deep.equal(fromInline);
    expect(fromPool.slice(0, 300).map((r) => r.signer)).to.deep.equal(items.map((i) => i.signer));
    expect(fromPool[300].signer).to.not.equal(items[1].signer);
    expect(fromPool[301].signer).to.equal(null);
  });

  it("fails the payments in flight when a worker dies, and replaces it", async function () {
    const items = await signedPayments(20);
    pool = new SignaturePool(1);
    const recovery = pool.forDomain(SETUP);
    // Warm up: the worker is running.
    await recovery.recover(items[0].payment, items[0].signature);
    const worker = (pool as unknown as { workers: { worker: { postMessage(message: unknown): void } }[] }).workers[0];
    // The worker dies on a message it cannot read, before the payments queued behind it. (Killing it
    // with terminate() while it is inside a native call can abort the whole process, not just it.)
    worker.worker.postMessage(42);
    const many = Array.from({ length: 2_000 }, (_, n) => items[n % items.length]);
    const outcomes = await Promise.allSettled(many.map((i) => recovery.recover(i.payment, i.signature)));
    expect(outcomes.some((o) => o.status === "rejected")).to.equal(true);
    // The replacement serves new payments.
    const again = await recovery.recover(items[3].payment, items[3].signature);
    expect(again.signer).to.equal(items[3].signer);
  });

  it("refuses work after close", async function () {
    const [item] = await signedPayments(1);
    pool = new SignaturePool(1);
    const recovery = pool.forDomain(SETUP);
    await pool.close();
    const error = await recovery.recover(item.payment, item.signature).then(
      () => null,
      (e: unknown) => e,
    );
    expect((error as Error | null)?.message).to.equal("signature pool is closed");
    expect(() => pool!.forDomain(SETUP)).to.throw("signature pool is closed");
  });

  it("serves several domains on one pool: each payment's id is its own domain's digest", async function () {
    const [usd, eur] = await Promise.all([signedPayments(40, ESCROW), signedPayments(40, OTHER_ESCROW)]);
    pool = new SignaturePool(2);
    const [first, second] = [pool.forDomain(SETUP), pool.forDomain(OTHER_SETUP)];
    const inline = [ESCROW, OTHER_ESCROW].map((e) => new InlineRecovery(new EscrowDigester(CHAIN_ID, e)));
    // Interleaved within one event-loop turn: one message per domain, each answered in order.
    const cases = usd.flatMap((u, i) => [
      [first, inline[0], u] as const,
      [second, inline[1], eur[i]] as const,
      // A payment signed for the first escrow, asked under the second's domain: another id, another signer.
      [second, inline[1], u] as const,
    ]);
    const [fromPool, fromInline] = await Promise.all([
      Promise.all(cases.map(([r, , i]) => r.recover(i.payment, i.signature))),
      Promise.all(cases.map(([, r, i]) => r.recover(i.payment, i.signature))),
    ]);
    expect(fromPool).to.deep.equal(fromInline);
    expect(fromPool.filter((_, n) => n % 3 !== 2).map((r) => r.signer)).to.deep.equal(
      usd.flatMap((u, i) => [u.signer, eur[i].signer]),
    );
    expect(fromPool[0].id).to.not.equal(fromPool[2].id);
    expect(fromPool[2].signer).to.not.equal(usd[0].signer);
    expect(pool.size, "one pool's threads, whatever the domains").to.equal(2);
  });

  it("a domain's recovery closes once; the pool stops when the last one is closed", async function () {
    const [item] = await signedPayments(1);
    const [other] = await signedPayments(1, OTHER_ESCROW);
    pool = new SignaturePool(1);
    const [first, second] = [pool.forDomain(SETUP), pool.forDomain(OTHER_SETUP)];
    const refusal = (r: WorkerRecovery, i: typeof item) =>
      r.recover(i.payment, i.signature).then(
        () => null,
        (e: unknown) => (e as Error).message,
      );
    // Closed twice (the app may hold it as a currency's and as the default): still serving the other.
    await Promise.all([first.close(), first.close()]);
    expect(await refusal(first, item)).to.equal("signature pool is closed");
    expect((await second.recover(other.payment, other.signature)).signer).to.equal(other.signer);
    await second.close();
    expect(() => pool!.forDomain(SETUP)).to.throw("signature pool is closed");
    expect(
      await pool.recover(SETUP, item.payment, item.signature).then(
        () => null,
        (e: unknown) => (e as Error).message,
      ),
    ).to.equal("signature pool is closed");
  });

  it("refuses a domain that is not an escrow's", function () {
    pool = new SignaturePool(0);
    expect(() => pool!.forDomain({ chainId: "31337", escrow: "0x12,34" as Hex })).to.throw(/not an escrow domain/);
    expect(() => pool!.forDomain({ chainId: "0x7a69", escrow: ESCROW })).to.throw(/not an escrow domain/);
  });

  it("lets the recoveries in flight finish when it closes", async function () {
    const items = await signedPayments(20);
    pool = new SignaturePool(2);
    const recovery = pool.forDomain(SETUP);
    const many = Array.from({ length: 2_000 }, (_, n) => items[n % items.length]);
    const pending = many.map((i) => recovery.recover(i.payment, i.signature));
    // Closed before the first message has even left for a worker.
    await pool.close();
    const recovered = await Promise.all(pending);
    expect(recovered.map((r) => r.signer)).to.deep.equal(many.map((i) => i.signer));
  });

  it("fails, rather than strands, what is still unanswered when the drain time is up", async function () {
    const items = await signedPayments(5);
    pool = new SignaturePool(1);
    const recovery = pool.forDomain(SETUP);
    const settled = Promise.allSettled(items.map((i) => recovery.recover(i.payment, i.signature)));
    await pool.close(0);
    const outcomes = await settled;
    expect(outcomes.map((o) => (o.status === "rejected" ? (o.reason as Error).message : "resolved"))).to.deep.equal(
      items.map(() => "signature pool is closed"),
    );
  });

  describe("messages between the pool and its workers", function () {
    const uint = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n });
    const hexBytes = (min: number, max: number) =>
      fc.uint8Array({ minLength: min, maxLength: max }).map((b) => toHex(b));
    // Intake only sends schema-checked hex; any other text must still arrive exactly as sent.
    const text = fc.oneof(hexBytes(0, 80), fc.string(), fc.constantFrom("", ",", "0x,12", "[", '"'));
    const item = fc.tuple(
      fc.record({
        payer: fc.oneof(hexBytes(20, 20), text),
        merchantId: uint,
        amount: uint,
        orderRef: fc.oneof(hexBytes(32, 32), text),
        nonce: uint,
        validAfter: uint,
        deadline: uint,
        hold: uint,
      }),
      fc.oneof(hexBytes(65, 65), text),
    ) as fc.Arbitrary<[Payment, Hex]>;

    it("a request carries its payments and signatures exactly, whatever their text", function () {
      fc.assert(
        fc.property(fc.nat(), fc.array(item, { minLength: 1, maxLength: 20 }), (seq, items) => {
          expect(decodeRecoveryRequest(encodeRecoveryRequest(seq, SETUP, items))).to.deep.equal({
            seq,
            domain: SETUP,
            items,
          });
        }),
        { numRuns: 300 },
      );
    });

    it("a request of schema-valid payments is one line of comma-separated fields", function () {
      const payment: Payment = {
        payer: `0x${"ab".repeat(20)}`,
        merchantId: 7n,
        amount: 1_000_000n,
        orderRef: `0x${"0e".repeat(32)}`,
        nonce: 3n,
        validAfter: 0n,
        deadline: 2_000_000_000n,
        hold: 259_200n,
      };
      const signature = `0x${"1b".repeat(65)}` as Hex;
      expect(encodeRecoveryRequest(9, SETUP, [[payment, signature]])).to.equal(
        `9,31337,${ESCROW},${payment.payer},7,1000000,${payment.orderRef},3,0,2000000000,259200,${signature}`,
      );
      // The start-up ping: no payments, no domain.
      expect(encodeRecoveryRequest(10, null, [])).to.equal("10");
      expect(decodeRecoveryRequest("10")).to.deep.equal({ seq: 10, domain: null, items: [] });
      expect(() => encodeRecoveryRequest(11, null, [[payment, signature]])).to.throw(/names their domain/);
    });

    it("a response carries ids and signers (or null) in order", function () {
      const recovered = fc.record({
        id: hexBytes(32, 32),
        signer: fc.option(hexBytes(20, 20), { nil: null }),
      }) as fc.Arbitrary<Recovered>;
      fc.assert(
        fc.property(fc.nat(), fc.array(recovered, { maxLength: 20 }), (seq, results) => {
          expect(decodeRecoveryResponse(encodeRecoveryResponse(seq, results))).to.deep.equal({ seq, results });
        }),
        { numRuns: 200 },
      );
    });
  });
});
