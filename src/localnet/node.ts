/**
 * The local chain's node, either one: `hardhat node` (a block per transaction, what `npm start`
 * runs) or anvil (interval mining, a real transaction pool, genuine reorgs). The benches and the
 * tests pick one with {@link startNode}; both answer on the same chain id with the same accounts.
 */
import { startAnvilNode, type AnvilNodeOptions } from "./anvil";
import { startHardhatNode, type ChainNode } from "./chain";

export const NODE_KINDS = ["hardhat", "anvil"] as const;
export type NodeKind = (typeof NODE_KINDS)[number];

/** A started node and which one it is (the bench reports it). */
export interface LocalNode extends ChainNode {
  kind: NodeKind;
}

export type StartNodeOptions = AnvilNodeOptions & {
  /** Default "hardhat". */
  kind?: NodeKind;
  /** Hardhat only: the node's environment (default: the parent's, without deploy variables). */
  env?: NodeJS.ProcessEnv;
};

/** A `--node` flag's value, checked. */
export function parseNodeKind(text: string): NodeKind {
  if ((NODE_KINDS as readonly string[]).includes(text)) return text as NodeKind;
  throw new Error(`unknown node "${text}": expected one of ${NODE_KINDS.join(", ")}`);
}

/** Starts the chosen node; anvil-only options (block time, epoch, base fee) are refused for Hardhat. */
export async function startNode(options: StartNodeOptions): Promise<LocalNode> {
  const kind = options.kind ?? "hardhat";
  if (kind === "anvil") return { ...(await startAnvilNode(options)), kind };
  if (options.blockTime !== undefined || options.slotsInAnEpoch !== undefined || options.baseFee !== undefined) {
    throw new Error("blockTime, slotsInAnEpoch and baseFee are anvil options; the Hardhat node mines per transaction");
  }
  return { ...(await startHardhatNode(options)), kind };
}
