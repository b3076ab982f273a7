import { randomBytes } from "node:crypto";
import { Type, type Static } from "@sinclair/typebox";
import { ApiError } from "../../errors";
import type { Hex, PaymentRequestRecord } from "../../domain";
import { merchantOf, type RouteModule } from "../../http/context";
import { MerchantStatus } from "../../chain/chainView";
import { keccakUtf8 } from "../../intake/digest";
import { amount } from "../../intake/parse";
import { AmountString, Bytes32, ERROR_RESPONSES } from "../../intake/schemas";
import { ESCROW_DOMAIN_NAME, ESCROW_DOMAIN_VERSION, paymentTypes } from "../../../sdk/typedData";

const MIN_EXPIRY_SECONDS = 60;
const MAX_EXPIRY_SECONDS = 30 * 24 * 3600;

const RequestBody = Type.Object(
  {
    amount: AmountString("Token units, 1 .. 2^128-1"),
    orderRef: Type.String({
      minLength: 1,
      maxLength: 128,
      description: "The merchant's order reference: a 0x-prefixed bytes32, or any text (its keccak256 is signed)",
    }),
    expiresIn: Type.Integer({ minimum: MIN_EXPIRY_SECONDS, maximum: MAX_EXPIRY_SECONDS, description: "Seconds" }),
  },
  { additionalProperties: false },
);

const TypedField = Type.Object({ name: Type.String(), type: Type.String() });
const RequestView = Type.Object({
  id: Type.String(),
  merchantId: Type.String(),
  amount: Type.String(),
  orderRef: Bytes32,
  expiresAt: Type.String({ format: "date-time" }),
  typedData: Type.Object({
    domain: Type.Object({
      name: Type.String(),
      version: Type.String(),
      chainId: Type.Integer(),
      verifyingContract: Type.String(),
    }),
    types: Type.Object({ EIP712Domain: Type.Array(TypedField), Payment: Type.Array(TypedField) }),
    primaryType: Type.Literal("Payment"),
    message: Type.Object({
      payer: Type.Null(),
      merchantId: Type.String(),
      amount: Type.String(),
      orderRef: Bytes32,
      nonce: Type.Null(),
      validAfter: Type.String(),
      deadline: Type.String(),
    }),
  }),
  placeholders: Type.Object({ payer: Type.String(), nonce: Type.String() }),
  submit: Type.Object({ method: Type.Literal("POST"), path: Type.String(), requestId: Type.String() }),
});

/**
 * POST /v1/merchant/payment-requests — what the customer should sign: the EIP-712 typed data of a
 * Payment to this merchant with the amount, order reference and a deadline at the request's expiry.
 * `payer` and `nonce` are left null for the customer's wallet to fill (the nonce from
 * GET /v1/accounts/{payer} → nextNonces); the customer then POSTs it to /v1/payments with `requestId`.
 */
const createPaymentRequest: RouteModule = (app, ctx) => {
  app.post<{ Body: Static<typeof RequestBody> }>(
    "/v1/merchant/payment-requests",
    {
      config: { auth: "merchant" },
      schema: {
        tags: ["merchants"],
        summary: "Create a payment request (returns the typed data the customer signs)",
        security: [{ merchantKey: [] }],
        body: RequestBody,
        response: { 201: RequestView, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { merchantId } = merchantOf(request.principal);
      const value = amount("amount", request.body.amount);
      const terms = await ctx.chain.merchant(merchantId);
      if (terms.status !== MerchantStatus.Active)
        throw new ApiError("merchant_not_active", "this merchant cannot receive payments");
      const orderRef = /^0x[0-9a-fA-F]{64}$/.test(request.body.orderRef)
        ? (request.body.orderRef.toLowerCase() as Hex)
        : keccakUtf8(request.body.orderRef);
      const now = ctx.clock();
      const expiresAt = now + request.body.expiresIn * 1000;
      const record: PaymentRequestRecord = {
        id: `req_${randomBytes(16).toString("base64url")}`,
        merchantId,
        amount: value,
        orderRef,
        expiresAt,
        paymentId: null,
        createdAt: now,
      };
      await ctx.store.requests.create(record);
      return reply.status(201).send({
        id: record.id,
        merchantId: merchantId.toString(),
        amount: value.toString(),
        orderRef,
        expiresAt: new Date(expiresAt).toISOString(),
        typedData: {
          domain: {
            name: ESCROW_DOMAIN_NAME,
            version: ESCROW_DOMAIN_VERSION,
            chainId: Number(ctx.chain.chainId),
            verifyingContract: ctx.chain.escrow,
          },
          types: {
            EIP712Domain: [
              { name: "name", type: "string" },
              { name: "version", type: "string" },
              { name: "chainId", type: "uint256" },
              { name: "verifyingContract", type: "address" },
            ],
            Payment: paymentTypes.Payment.map((field) => ({ ...field })),
          },
          primaryType: "Payment" as const,
          message: {
            payer: null,
            merchantId: merchantId.toString(),
            amount: value.toString(),
            orderRef,
            nonce: null,
            validAfter: "0",
            deadline: Math.floor(expiresAt / 1000).toString(),
          },
        },
        placeholders: {
          payer: "the customer's address",
          nonce: "a free nonce of the payer: GET /v1/accounts/{payer} → nextNonces[0]",
        },
        submit: { method: "POST" as const, path: "/v1/payments", requestId: record.id },
      });
    },
  );
};

export default createPaymentRequest;
