import { DepositBody } from "../../../protocol/schemas";
import { ApiError } from "../../errors";
import type { Hex } from "../../domain";
import { amount, lower, MAX_UINT256, uint } from "../../intake/parse";
import { relayCalls } from "../../chain/relayCalls";
import { checkRelayMinimum, relayedRoute, relayWithinQuota } from "./paymentAction";

/**
 * POST /v1/deposits — gasless deposit: the relayer submits the payer's EIP-3009
 * ReceiveWithAuthorization (to = the escrow) and pays the gas; `from` is credited. 202 once sent.
 * The authorization's nonce is derived from the deposit tag and `salt` (see the SDK's depositNonce),
 * so a payment's authorization cannot be submitted here as a deposit. The token checks the
 * signature; its verdict comes back as the matching error code. Same minimum and per-payer daily
 * quota as relayed withdrawals.
 */
export default relayedRoute(
  "POST /v1/deposits",
  "Gasless deposit (signed EIP-3009 authorization)",
  DepositBody,
  async (body, ctx, currency, writer) => {
    const value = amount("amount", body.amount);
    const validAfter = uint("validAfter", body.validAfter, MAX_UINT256);
    const validBefore = uint("validBefore", body.validBefore, MAX_UINT256);
    const from = lower(body.from);
    const authorization = {
      from,
      amount: value,
      validAfter,
      validBefore,
      salt: lower(body.salt),
      signature: body.signature.toLowerCase() as Hex,
    };
    // Relayed before (role api's queue: a client's retry): its outcome, even past the window.
    const earlier = await writer.replay?.(relayCalls.depositWithAuthorization(authorization));
    if (earlier) return earlier;
    checkRelayMinimum(ctx, value);
    const now = BigInt(Math.floor(ctx.clock() / 1000));
    // EIP-3009 windows are exclusive at both ends.
    if (now <= validAfter)
      throw new ApiError("not_yet_valid", "authorization not valid yet", { validAfter: body.validAfter });
    if (now >= validBefore)
      throw new ApiError("expired", "authorization has expired", { validBefore: body.validBefore });
    const result = await relayWithinQuota(ctx, from, () => writer.depositWithAuthorization(authorization));
    currency.chain.forget(from);
    return result;
  },
);
