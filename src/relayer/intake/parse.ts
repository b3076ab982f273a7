import { ApiError } from "../errors";
import type { Hex } from "../domain";
import type { Payment } from "../../protocol";
import type { PaymentSubmission } from "../../protocol/schemas";

/** Upper bounds of the Solidity types the escrow uses. */
export const MAX_UINT48 = (1n << 48n) - 1n;
export const MAX_UINT64 = (1n << 64n) - 1n;
export const MAX_UINT128 = (1n << 128n) - 1n;
export const MAX_UINT256 = (1n << 256n) - 1n;

/** A decimal string (schema-checked) as bigint, or validation_failed naming the field if above `max`. */
export function uint(field: string, value: string, max: bigint): bigint {
  const parsed = BigInt(value);
  if (parsed > max) throw new ApiError("validation_failed", `${field} is out of range`, { field, max: max.toString() });
  return parsed;
}

/** Amounts the escrow holds are 1 .. 2^128-1 (its balances are uint128). */
export function amount(field: string, value: string): bigint {
  const parsed = BigInt(value);
  if (parsed === 0n || parsed > MAX_UINT128) {
    throw new ApiError("invalid_amount", `${field} must be between 1 and 2^128-1`, { field });
  }
  return parsed;
}

export const lower = <T extends string>(value: T): Hex => value.toLowerCase() as Hex;

/** The signed payment inside a submission, with every field range-checked. */
export function parsePayment(
  body: Pick<
    PaymentSubmission,
    "payer" | "merchantId" | "amount" | "orderRef" | "nonce" | "validAfter" | "deadline" | "hold"
  >,
): Payment {
  return {
    payer: lower(body.payer),
    merchantId: uint("merchantId", body.merchantId, MAX_UINT64),
    amount: amount("amount", body.amount),
    orderRef: lower(body.orderRef),
    nonce: uint("nonce", body.nonce, MAX_UINT64),
    validAfter: uint("validAfter", body.validAfter, MAX_UINT48),
    deadline: uint("deadline", body.deadline, MAX_UINT48),
    // The schema bounds it to a uint32 integer.
    hold: BigInt(body.hold),
  };
}

/**
 * A payment's hold within its merchant's registered bounds, as the escrow checks it when it escrows
 * the payment (HoldOutOfRange): refused before it is stored rather than accepted and then rejected.
 */
export function checkHold(hold: bigint, merchantId: bigint, bounds: { minHold: number; maxHold: number }): void {
  if (hold < BigInt(bounds.minHold) || hold > BigInt(bounds.maxHold)) {
    throw new ApiError(
      "hold_out_of_range",
      `hold ${hold} s is outside merchant ${merchantId}'s bounds [${bounds.minHold}, ${bounds.maxHold}] s`,
      {
        hold: Number(hold),
        minHold: bounds.minHold,
        maxHold: bounds.maxHold,
      },
    );
  }
}

/** Rejects a submission that names a domain other than the relayer's (it would never verify on chain). */
export function checkDomain(body: { chainId?: string; escrow?: string }, chainId: bigint, escrow: Hex): void {
  if (body.chainId !== undefined && BigInt(body.chainId) !== chainId) {
    throw new ApiError("wrong_domain", "signed for another chain", { expected: chainId.toString(), got: body.chainId });
  }
  if (body.escrow !== undefined && body.escrow.toLowerCase() !== escrow) {
    throw new ApiError("wrong_domain", "signed for another escrow contract", { expected: escrow, got: body.escrow });
  }
}

/** Validity window as the escrow checks it: valid while validAfter <= now <= deadline. */
export function checkValidity(validAfter: bigint, deadline: bigint, nowSeconds: bigint): void {
  if (nowSeconds < validAfter) {
    throw new ApiError("not_yet_valid", "not valid yet", {
      validAfter: validAfter.toString(),
      now: nowSeconds.toString(),
    });
  }
  if (nowSeconds > deadline) {
    throw new ApiError("expired", "deadline has passed", { deadline: deadline.toString(), now: nowSeconds.toString() });
  }
}
