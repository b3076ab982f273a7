import { Type } from "@sinclair/typebox";
import type { ApiKeyRecord } from "../../domain";

export const NewApiKeyView = Type.Object({
  id: Type.String(),
  merchantId: Type.String(),
  key: Type.String({ description: "The API key (sp_live_…): shown only in this response, stored only as a hash" }),
  createdAt: Type.String({ format: "date-time" }),
  revokedKeyId: Type.Optional(Type.String()),
});

export function newApiKeyView(record: ApiKeyRecord, secret: string, revokedKeyId?: string) {
  return {
    id: record.id,
    merchantId: record.merchantId.toString(),
    key: secret,
    createdAt: new Date(record.createdAt).toISOString(),
    ...(revokedKeyId ? { revokedKeyId } : {}),
  };
}
