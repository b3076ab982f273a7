import { Interface } from "ethers";
import type { Hex } from "../domain";

/** A payer's escrow account: free balance and nonce window (IPaymentEscrow.balanceOf / nonceWindow). */
export interface EscrowAccount {
  balance: bigint;
  nonceBase: bigint;
  nonceBitmap: bigint;
}

const reads = new Interface([
  "function balanceOf(address account) view returns (uint256)",
  "function nonceWindow(address account) view returns (uint64 base, uint64 bitmap)",
]);
const BALANCE_OF = reads.getFunction("balanceOf")!.selector;
const NONCE_WINDOW = reads.getFunction("nonceWindow")!.selector;

/** The minimal JSON-RPC surface the reads need (an ethers provider's `send`). */
export interface RawRpc {
  send(method: string, params: unknown[]): Promise<unknown>;
}

/**
 * Reads a payer's escrow account with two raw `eth_call`s over precomputed call data. Intake and
 * the batcher read hundreds of accounts per second; through typechain each read would re-encode the
 * call (selector hashing, address checksums), here only the address is spliced in.
 */
export async function readEscrowAccount(
  rpc: RawRpc,
  escrow: string,
  account: string,
  blockTag: string,
): Promise<EscrowAccount> {
  const word = account.toLowerCase().slice(2).padStart(64, "0");
  const [balance, window] = (await Promise.all([
    rpc.send("eth_call", [{ to: escrow, data: BALANCE_OF + word }, blockTag]),
    rpc.send("eth_call", [{ to: escrow, data: NONCE_WINDOW + word }, blockTag]),
  ])) as [Hex, Hex];
  if (typeof balance !== "string" || typeof window !== "string" || balance.length !== 66 || window.length !== 130) {
    throw new Error(`unexpected escrow answer for ${account} at ${blockTag}`);
  }
  return {
    balance: BigInt(balance),
    nonceBase: BigInt(window.slice(0, 66)),
    nonceBitmap: BigInt(`0x${window.slice(66)}`),
  };
}

/** A block number as a JSON-RPC block tag. */
export const blockTag = (block: bigint): string => `0x${block.toString(16)}`;
