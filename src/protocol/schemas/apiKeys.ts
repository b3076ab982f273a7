/** Merchant API keys: issued by the operator or rotated by the merchant, revoked by id. */
import { Type, type Static } from "@sinclair/typebox";
import { DateTime } from "./common";

/** A new key: the only response that ever carries its secret. */
export const NewApiKeyView = Type.Object({
  id: Type.String(),
  merchantId: Type.String(),
  key: Type.String({ description: "The API key (sp_live_…): shown only in this response, stored only as a hash" }),
  createdAt: DateTime,
  revokedKeyId: Type.Optional(Type.String()),
});
export type NewApiKeyView = Static<typeof NewApiKeyView>;

export const RotateApiKeyBody = Type.Object(
  { revokeCurrent: Type.Optional(Type.Boolean({ description: "Also revoke the key this request is made with" })) },
  { additionalProperties: false },
);
export type RotateApiKeyBody = Static<typeof RotateApiKeyBody>;

export const ApiKeyParams = Type.Object({ id: Type.String({ pattern: "^key_[A-Za-z0-9_-]{1,64}$" }) });

export const RevokedApiKeyView = Type.Object({ id: Type.String(), revokedAt: DateTime });
export type RevokedApiKeyView = Static<typeof RevokedApiKeyView>;
