/** The batch Merkle tree under its former SDK path, for importers not yet moved to src/protocol. */
export { BatchTree, hashPair, processProof } from "../protocol/merkle";
