import { hexToBytes, keccakHex } from "./hash";
import type { Hex } from "./types";

/**
 * The batch commitment the escrow builds on chain (contracts/libraries/BatchMerkle.sol): leaves are
 * the accepted payment ids in order; each level hashes adjacent pairs sorted (OpenZeppelin's
 * commutative keccak), and an odd last node is carried up unchanged. Proofs from here verify with
 * OpenZeppelin's MerkleProof, as the escrow does.
 */
export class BatchTree {
  private readonly levels: Hex[][];

  constructor(leaves: readonly Hex[]) {
    if (leaves.length === 0) throw new Error("a batch tree needs at least one leaf");
    const levels: Hex[][] = [leaves.map((leaf) => leaf.toLowerCase() as Hex)];
    while (levels[levels.length - 1].length > 1) {
      const level = levels[levels.length - 1];
      const next: Hex[] = [];
      for (let i = 0; i < level.length; i += 2) {
        next.push(i + 1 < level.length ? hashPair(level[i], level[i + 1]) : level[i]);
      }
      levels.push(next);
    }
    this.levels = levels;
  }

  get root(): Hex {
    return this.levels[this.levels.length - 1][0];
  }

  get size(): number {
    return this.levels[0].length;
  }

  /** Proof for the leaf at `index` (sibling hashes bottom-up; levels where it has none are skipped). */
  proof(index: number): Hex[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new RangeError(`leaf index ${index} outside 0..${this.size - 1}`);
    }
    const proof: Hex[] = [];
    for (let level = 0; level < this.levels.length - 1; level++) {
      const nodes = this.levels[level];
      const sibling = index ^ 1;
      if (sibling < nodes.length) proof.push(nodes[sibling]);
      index >>= 1;
    }
    return proof;
  }

  proofFor(leaf: Hex): Hex[] {
    const index = this.levels[0].indexOf(leaf.toLowerCase() as Hex);
    if (index < 0) throw new Error(`leaf ${leaf} is not in this batch`);
    return this.proof(index);
  }
}

export function hashPair(a: Hex, b: Hex): Hex {
  const [low, high] = BigInt(a) < BigInt(b) ? [a, b] : [b, a];
  return keccakHex(Buffer.concat([hexToBytes(low), hexToBytes(high)]));
}

/** Recomputes a root from a leaf and its proof (what MerkleProof.verify does on chain). */
export function processProof(leaf: Hex, proof: readonly Hex[]): Hex {
  return proof.reduce<Hex>((node, sibling) => hashPair(node, sibling), leaf.toLowerCase() as Hex);
}
