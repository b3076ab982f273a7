import type { NewApiKeyView } from "../../../protocol/schemas";
import type { ApiKeyRecord } from "../../domain";

/** A new key as its one response shows it, with its secret. */
export function newApiKeyView(record: ApiKeyRecord, secret: string, revokedKeyId?: string): NewApiKeyView {
  return {
    id: record.id,
    merchantId: record.merchantId.toString(),
    key: secret,
    createdAt: new Date(record.createdAt).toISOString(),
    ...(revokedKeyId ? { revokedKeyId } : {}),
  };
}
