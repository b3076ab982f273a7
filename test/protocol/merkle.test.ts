import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { BatchTree, hashPair, processProof, type Hex } from "../../src/protocol";
import { EscrowTypeHashesHarness__factory, type EscrowTypeHashesHarness } from "../../typechain-types";

interface HarnessFixture {
  harness: EscrowTypeHashesHarness;
}

async function deployHarnessFixture(): Promise<HarnessFixture> {
  const [deployer] = await ethers.getSigners();
  const harness = await new EscrowTypeHashesHarness__factory(deployer).deploy();
  await harness.waitForDeployment();
  return { harness };
}

/** `n` distinct deterministic 32-byte leaves (stand-ins for payment ids). */
function leaves(n: number, salt = "leaf"): Hex[] {
  return Array.from({ length: n }, (_, i) => ethers.id(`${salt}-${i}`) as Hex);
}

/** Asserts that BatchTree matches BatchMerkle.root and that every proof verifies on and off chain. */
async function checkTree(harness: EscrowTypeHashesHarness, ids: Hex[]): Promise<void> {
  const tree = new BatchTree(ids);
  expect(tree.size).to.equal(ids.length);
  expect(await harness.batchRoot(ids)).to.equal(tree.root, `root of ${ids.length} leaves`);
  const depth = Math.ceil(Math.log2(ids.length));
  for (let i = 0; i < ids.length; i++) {
    const proof = tree.proof(i);
    expect(proof.length).to.be.at.most(depth);
    expect(processProof(ids[i], proof)).to.equal(tree.root);
    expect(await harness.verify(proof, tree.root, ids[i])).to.equal(true, `leaf ${i} of ${ids.length}`);
    expect(tree.proofFor(ids[i])).to.deep.equal(proof);
  }
  if (ids.length > 1) {
    // A proof does not place another leaf in the tree.
    expect(await harness.verify(tree.proof(0), tree.root, ids[1])).to.equal(false);
    expect(await harness.verify(tree.proof(ids.length - 1), tree.root, ids[0])).to.equal(false);
  }
}

describe("protocol: BatchTree (src/protocol/merkle.ts) against BatchMerkle.sol and MerkleProof", function () {
  for (let n = 1; n <= 17; n++) {
    it(`matches the on-chain root and proofs for ${n} leaves`, async function () {
      const { harness } = await loadFixture(deployHarnessFixture);
      await checkTree(harness, leaves(n, `size-${n}`));
    });
  }

  it("matches the on-chain root and proofs for a 100-leaf tree", async function () {
    const { harness } = await loadFixture(deployHarnessFixture);
    await checkTree(harness, leaves(100, "hundred"));
  });

  it("a single leaf is its own root with an empty proof", async function () {
    const { harness } = await loadFixture(deployHarnessFixture);
    const [leaf] = leaves(1);
    const tree = new BatchTree([leaf]);
    expect(tree.root).to.equal(leaf);
    expect(tree.proof(0)).to.deep.equal([]);
    expect(await harness.verify([], leaf, leaf)).to.equal(true);
  });

  it("pairs are hashed sorted (commutative) and an odd last node is carried up unchanged", async function () {
    const [a, b, c] = leaves(3, "shape");
    const expected = hashPair(hashPair(a, b), c);
    expect(new BatchTree([a, b, c]).root).to.equal(expected);
    expect(hashPair(a, b)).to.equal(hashPair(b, a));
    const [lo, hi] = BigInt(a) < BigInt(b) ? [a, b] : [b, a];
    expect(hashPair(a, b)).to.equal(ethers.keccak256(ethers.concat([lo, hi])));
    expect(new BatchTree([a, b, c]).proof(2)).to.deep.equal([hashPair(a, b)]);
  });

  it("the root depends on leaf order (acceptance order is committed)", async function () {
    const { harness } = await loadFixture(deployHarnessFixture);
    const ids = leaves(5, "order");
    const swapped = [ids[0], ids[1], ids[3], ids[2], ids[4]];
    // Swapping within a pair keeps the root (sorted pairs); across pairs it changes it.
    const acrossPairs = [ids[2], ids[1], ids[0], ids[3], ids[4]];
    expect(new BatchTree(swapped).root).to.equal(new BatchTree(ids).root);
    expect(new BatchTree(acrossPairs).root).to.not.equal(new BatchTree(ids).root);
    expect(await harness.batchRoot(acrossPairs)).to.equal(new BatchTree(acrossPairs).root);
  });

  it("BatchMerkle.root over a prefix (as payBatch uses its oversized array) matches the prefix's tree", async function () {
    const { harness } = await loadFixture(deployHarnessFixture);
    const ids = leaves(9, "prefix");
    for (const count of [1, 2, 5, 8, 9]) {
      expect(await harness.batchRootPrefix(ids, count)).to.equal(new BatchTree(ids.slice(0, count)).root);
    }
    expect(await harness.batchRootPrefix(ids, 0)).to.equal(ethers.ZeroHash);
  });

  it("normalises upper-case hex leaves", async function () {
    const ids = leaves(4, "case");
    const upper = ids.map((id) => ("0x" + id.slice(2).toUpperCase()) as Hex);
    const tree = new BatchTree(upper);
    expect(tree.root).to.equal(new BatchTree(ids).root);
    expect(tree.proofFor(upper[2])).to.deep.equal(new BatchTree(ids).proof(2));
  });

  it("refuses an empty tree, out-of-range indices and unknown leaves", async function () {
    expect(() => new BatchTree([])).to.throw("at least one leaf");
    const tree = new BatchTree(leaves(3));
    expect(() => tree.proof(3)).to.throw(RangeError);
    expect(() => tree.proof(-1)).to.throw(RangeError);
    expect(() => tree.proof(1.5)).to.throw(RangeError);
    expect(() => tree.proofFor(ethers.ZeroHash as Hex)).to.throw("not in this batch");
  });

  it("an inner node verifies with the rest of its proof (why the escrow recomputes leaves as payment ids)", async function () {
    const { harness } = await loadFixture(deployHarnessFixture);
    // The escrow only accepts leaves that are payment ids it recomputes; this documents that an
    // inner node does verify with the rest of the proof, which is why leaves must be EIP-712 digests.
    const ids = leaves(4, "inner");
    const tree = new BatchTree(ids);
    const inner = hashPair(ids[0], ids[1]);
    expect(await harness.verify([hashPair(ids[2], ids[3])], tree.root, inner)).to.equal(true);
  });
});
