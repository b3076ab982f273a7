// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";

/**
 * @title BatchMerkle
 * @notice Builds the Merkle root of a batch's payment ids on chain, so the root commits to exactly
 * the payments the escrow accepted (the submitter is not trusted to supply it).
 *
 * Layout (rebuilt off chain by src/protocol/merkle.ts): leaves are the payment ids in acceptance order;
 * each level hashes adjacent pairs with OpenZeppelin's commutative keccak (sorted pair), and an odd
 * last node is carried up unchanged. Proofs verify with OpenZeppelin's {MerkleProof}.
 * Leaves are EIP-712 digests (32 bytes) and inner nodes hash 64 bytes, so no inner node can be
 * passed off as a payment id without a keccak preimage.
 */
library BatchMerkle {
    /// @notice Root of `leaves[0:count]`. Overwrites `leaves` (the level is built in place).
    function root(bytes32[] memory leaves, uint256 count) internal pure returns (bytes32) {
        if (count == 0) return bytes32(0);
        while (count > 1) {
            uint256 next = 0;
            for (uint256 i = 0; i < count; i += 2) {
                leaves[next] = i + 1 < count ? Hashes.commutativeKeccak256(leaves[i], leaves[i + 1]) : leaves[i];
                ++next;
            }
            count = next;
        }
        return leaves[0];
    }
}
