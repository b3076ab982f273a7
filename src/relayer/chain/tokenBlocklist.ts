/**
 * The token's blocklist as the escrow reads it (CustomerFunds.syncBlocklist): `isBlocklisted`
 * (SettlementToken), else USDC's `isBlacklisted`, else no blocklist. One reader for intake and the
 * blocklist sync job, so both take the same answer for the same token.
 */
import { Interface } from "ethers";
import { classifyRpcError } from "./rpcErrors";

const tokenLists = new Interface([
  "function isBlocklisted(address) view returns (bool)",
  "function isBlacklisted(address) view returns (bool)",
]);

/** Runs one `eth_call` of `data` against the token; resolves with the raw return data. */
export type TokenCall = (data: string) => Promise<string>;

export async function readTokenBlocklisted(call: TokenCall, account: string): Promise<boolean> {
  for (const fn of ["isBlocklisted", "isBlacklisted"] as const) {
    try {
      const result = await call(tokenLists.encodeFunctionData(fn, [account]));
      if (result.length >= 66) return BigInt(result.slice(0, 66)) !== 0n;
    } catch (error) {
      // A revert: not this token's function, try the other name. Anything else is the node's.
      if (classifyRpcError(error) !== "revert") throw error;
    }
  }
  return false;
}
