import { randomBytes } from "node:crypto";
import { PaymentRequestBody, PaymentRequestView } from "../../../protocol/schemas";
import { ApiError } from "../../errors";
import type { Hex, PaymentRequestRecord } from "../../domain";
import { merchantOf } from "../../http/context";
import { defineRoute } from "../../http/route";
import { MerchantStatus } from "../../chain/chainView";
import { keccakUtf8 } from "../../../protocol/hash";
import { amount, checkHold } from "../../intake/parse";
import { servedByCode } from "../../http/currencies";
import { escrowTypedDataJson, paymentTypes } from "../../../protocol";

/**
 * POST /v1/merchant/payment-requests — what the customer should sign: the EIP-712 typed data of a
 * Payment to this merchant with the amount, order reference, hold (default the merchant's shortest,
 * its registered minHold; refused `hold_out_of_range` outside its bounds) and a deadline
 * `expiresIn` seconds away, in `currency` (default the relayer's default currency): the typed data's
 * domain is that currency's escrow, so the signed payment can be escrowed in no other currency.
 * The request expires by the relayer's clock (`expiresAt`); the signed deadline is counted from the
 * later of that clock and the chain's (its latest block's time), which is what the escrow checks it
 * by: on a local chain moved ahead of the wall clock (evm_increaseTime) a deadline from the wall
 * clock alone would already be past on chain, and every payment of the request expire unescrowed.
 * `payer` and `nonce` are left null for the customer's wallet to fill (the nonce from
 * GET /v1/accounts/{payer} → nextNonces); the customer then POSTs it to /v1/payments with `requestId`.
 */
export default defineRoute(
  "POST /v1/merchant/payment-requests",
  "Create a payment request (returns the typed data the customer signs)",
  { auth: "merchant", body: PaymentRequestBody, response: { 201: PaymentRequestView } },
  async (request, ctx, reply) => {
    const { merchantId } = merchantOf(request.principal);
    const { currency } = servedByCode(ctx, request.body.currency);
    const value = amount("amount", request.body.amount);
    const terms = await ctx.chain.merchant(merchantId);
    if (terms.status !== MerchantStatus.Active)
      throw new ApiError("merchant_not_active", "this merchant cannot receive payments");
    const hold = BigInt(request.body.hold ?? terms.minHold);
    checkHold(hold, merchantId, terms);
    const isBytes32 = /^0x[0-9a-fA-F]{64}$/.test(request.body.orderRef);
    const orderRef = isBytes32 ? (request.body.orderRef.toLowerCase() as Hex) : keccakUtf8(request.body.orderRef);
    const now = ctx.clock();
    const expiresAt = now + request.body.expiresIn * 1000;
    const wallSeconds = BigInt(Math.floor(now / 1000));
    const chainTime = await ctx.chain.chainTime();
    const deadline = (chainTime > wallSeconds ? chainTime : wallSeconds) + BigInt(request.body.expiresIn);
    const record: PaymentRequestRecord = {
      id: `req_${randomBytes(16).toString("base64url")}`,
      currency: currency.code,
      merchantId,
      amount: value,
      orderRef,
      orderRefText: isBytes32 ? null : request.body.orderRef,
      hold,
      expiresAt,
      paymentId: null,
      createdAt: now,
    };
    await ctx.store.requests.create(record);
    return reply.status(201).send({
      id: record.id,
      merchantId: merchantId.toString(),
      currency: currency.code,
      amount: value.toString(),
      orderRef,
      hold: Number(hold),
      expiresAt: new Date(expiresAt).toISOString(),
      typedData: escrowTypedDataJson(
        ctx.chain.chainId,
        currency.escrow.toLowerCase() as Hex,
        "Payment",
        paymentTypes.Payment,
        {
          payer: null,
          merchantId: merchantId.toString(),
          amount: value.toString(),
          orderRef,
          nonce: null,
          validAfter: "0",
          deadline: deadline.toString(),
          hold: Number(hold),
        },
      ),
      placeholders: {
        payer: "the customer's address",
        nonce: "a free nonce of the payer: GET /v1/accounts/{payer} → nextNonces[0]",
      },
      submit: { method: "POST" as const, path: "/v1/payments", requestId: record.id },
    });
  },
);
