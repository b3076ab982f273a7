/** The relayer's ethers provider: JSON-RPC over ./transport.ts, decoded with Node's own UTF-8 codec. */
import { FetchRequest, JsonRpcProvider, Network, type JsonRpcPayload, type JsonRpcResult } from "ethers";
import { nodeGetUrl } from "./transport";

/** A stalled node must not hang a job: requests give up after this and count as transient. */
export const RPC_TIMEOUT_MS = 10_000;

/**
 * ethers' JSON-RPC transport with Node's own UTF-8 codec. ethers converts request and response
 * bodies between strings and bytes in JavaScript, a character at a time, which holds the event
 * loop for the large bodies of batches (calldata out, receipts and log pages back). Everything
 * else (timeouts, HTTP status errors, batching, error objects) is ethers' own; the HTTP exchange
 * is nodeGetUrl's.
 */
class NativeCodecJsonRpcProvider extends JsonRpcProvider {
  // ethers types the answers as JsonRpcResult[] though error objects come back in it too (as here).
  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const request = this._getConnection();
    request.body = Buffer.from(JSON.stringify(payload), "utf8");
    request.setHeader("content-type", "application/json");
    const response = await request.send();
    response.assertOk();
    const body = response.body;
    if (!body) throw new Error(`JSON-RPC response without a body (HTTP ${response.statusCode})`);
    const parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8")) as
      JsonRpcResult | JsonRpcResult[];
    return Array.isArray(parsed) ? parsed : [parsed];
  }
}

/** A JSON-RPC provider with a request timeout, no response cache and a fixed network. */
export function jsonRpcProvider(rpcUrl: string, chainId: bigint, timeoutMs: number = RPC_TIMEOUT_MS): JsonRpcProvider {
  const request = new FetchRequest(rpcUrl);
  request.timeout = timeoutMs;
  request.getUrlFunc = nodeGetUrl;
  // staticNetwork: no chain-id probe (and its retry loop) on every start; cacheTimeout -1: polling
  // jobs must see fresh answers, not a 250 ms cache.
  return new NativeCodecJsonRpcProvider(request, Network.from(chainId), { staticNetwork: true, cacheTimeout: -1 });
}
