/** recoverAddress (src/relayer/intake/signature.ts): libsecp256k1 recovery against ethers and OpenZeppelin's ECDSA rules. */
import { expect } from "chai";
import { ethers } from "hardhat";
import fc from "fast-check";
import secp256k1 from "secp256k1";
import { recoverAddress } from "../../../src/relayer/intake/signature";
import { SECP256K1_N, bytesToHex as toHex } from "../../../src/protocol";

describe("relayer intake: ECDSA recovery", function () {
  describe("recoverAddress (libsecp256k1)", function () {
    const wallet = new ethers.Wallet(ethers.id("relayer digest test key"));
    const digest = ethers.getBytes(ethers.id("a digest"));
    const sign = () => ethers.getBytes(wallet.signingKey.sign(digest).serialized);

    it("recovers the signer exactly as ethers does, for many keys and digests", function () {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          (key, message) => {
            fc.pre(BigInt(toHex(key)) > 0n && BigInt(toHex(key)) < SECP256K1_N);
            const signer = new ethers.SigningKey(key);
            const signature = signer.sign(message).serialized;
            expect(recoverAddress(message, ethers.getBytes(signature))).to.equal(
              ethers.computeAddress(signer.publicKey).toLowerCase(),
            );
          },
        ),
        { numRuns: 100 },
      );
    });

    it("refuses what OpenZeppelin's ECDSA refuses: high s, v not 27/28, wrong length, r or s zero, r >= n", function () {
      const good = sign();
      expect(recoverAddress(digest, good)).to.equal(wallet.address.toLowerCase());
      const highS = Uint8Array.from(good);
      highS.set(ethers.getBytes(ethers.toBeHex(SECP256K1_N - BigInt(toHex(good.slice(32, 64))), 32)), 32);
      highS[64] = good[64] === 27 ? 28 : 27;
      // The malleable twin recovers the same key in libsecp256k1 itself...
      const twinKey = secp256k1.ecdsaRecover(highS.slice(0, 64), highS[64] - 27, digest, false);
      expect(ethers.computeAddress(toHex(twinKey))).to.equal(wallet.address);
      // ...but it is refused here, as on chain.
      expect(recoverAddress(digest, highS)).to.equal(null);
      for (const v of [0, 1, 29, 255]) {
        const badV = Uint8Array.from(good);
        badV[64] = v;
        expect(recoverAddress(digest, badV), `v=${v}`).to.equal(null);
      }
      expect(recoverAddress(digest, good.slice(0, 64))).to.equal(null);
      expect(recoverAddress(digest, Uint8Array.from([...good, 0]))).to.equal(null);
      const zeroR = Uint8Array.from(good);
      zeroR.fill(0, 0, 32);
      expect(recoverAddress(digest, zeroR)).to.equal(null);
      const zeroS = Uint8Array.from(good);
      zeroS.fill(0, 32, 64);
      expect(recoverAddress(digest, zeroS)).to.equal(null);
      const bigR = Uint8Array.from(good);
      bigR.fill(0xff, 0, 32);
      expect(recoverAddress(digest, bigR)).to.equal(null);
    });
  });
});
