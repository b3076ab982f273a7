/** The batch Merkle tree, as the SDK exports it (src/protocol/merkle.ts). */
export { BatchTree, hashPair, processProof } from "../protocol/merkle";
