import { expect } from "chai";
import { keccak256 as viemKeccak256, stringToBytes, toHex } from "viem";
import { keccak256, keccakHex, keccakUtf8, nativeKeccak } from "../../src/protocol";

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

describe("protocol: keccak hex helpers (src/protocol/hash.ts)", function () {
  it("keccakHex hashes bytes and hex strings, keccakUtf8 a text's UTF-8 bytes, as viem does", function () {
    const bytes = Uint8Array.from([0, 1, 2, 0xfe, 0xff]);
    expect(keccakHex(bytes)).to.equal(viemKeccak256(bytes));
    expect(keccakHex("0x0001020aFF")).to.equal(viemKeccak256("0x0001020aFF"));
    expect(keccakHex("0x")).to.equal(viemKeccak256("0x"));
    expect(keccakUtf8("Blocklisted(address)")).to.equal(viemKeccak256(stringToBytes("Blocklisted(address)")));
    expect(keccakUtf8("ordre n° 42 ✓")).to.equal(viemKeccak256(stringToBytes("ordre n° 42 ✓")));
  });

  it("hashes a Uint8Array view (not a Buffer) over its own bytes only", function () {
    const backing = Uint8Array.from([9, 9, 1, 2, 3, 9]);
    const view = backing.subarray(2, 5);
    expect(toHex(keccak256(view))).to.equal(viemKeccak256(Uint8Array.from([1, 2, 3])));
  });
});
