/** What the operator does with the admin token. */
import { parseApiKey, type ApiKey, type ApiKeyWire } from "../wire";
import { post, type ApiClient, type CreateOptions } from "./request";

/** POST /v1/admin/merchants/:id/api-keys: the operator issues a merchant's API key (the merchant must be registered). */
export function createMerchantApiKey(client: ApiClient, merchantId: bigint, options?: CreateOptions): Promise<ApiKey> {
  const path = `/v1/admin/merchants/${merchantId.toString()}/api-keys`;
  return post<ApiKeyWire, ApiKey>(client, "admin", path, undefined, parseApiKey, options);
}

export const operatorActions = { createMerchantApiKey };
