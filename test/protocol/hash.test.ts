import { expect } from "chai";
import { keccak256 as viemKeccak256, toHex } from "viem";
import { keccak256, nativeKeccak } from "../../src/protocol";

describe("protocol: keccak256 (src/protocol/hash.ts, native sponge)", function () {
  it("uses the native binding on this machine", function () {
    expect(nativeKeccak).to.equal(true);
  });

  // 136 bytes is Keccak-256's rate: lengths around it cross the padding's block boundary.
  for (const length of [0, 1, 31, 32, 135, 136, 137, 272, 300, 10_000]) {
    it(`matches viem's keccak256 for ${length} bytes`, function () {
      const data = Buffer.alloc(length);
      for (let i = 0; i < length; i++) data[i] = (i * 31 + length) & 0xff;
      expect(toHex(keccak256(data))).to.equal(viemKeccak256(data));
    });
  }

  it("starts every hash from a fresh state (no carry-over between calls)", function () {
    const a = Buffer.from("first message");
    const b = Buffer.from("second");
    const first = keccak256(a);
    keccak256(b);
    expect(keccak256(a).equals(first)).to.equal(true);
    expect(toHex(keccak256(b))).to.equal(viemKeccak256(b));
  });
});
