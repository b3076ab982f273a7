/**
 * The relayer's HTTP transport to the node: ethers' Node transport with the response body collected
 * once, and keep-alive agents of its own.
 */
import http from "node:http";
import https from "node:https";
import { gunzipSync } from "node:zlib";
import { assert, makeError, type FetchCancelSignal, type FetchRequest, type GetUrlResponse } from "ethers";

/**
 * Keep-alive connections to the node, as Node's global agent keeps them (same settings), but the
 * relayer's own: nothing else in the process changes or shares them.
 */
const AGENTS = {
  http: new http.Agent({ keepAlive: true, scheduling: "lifo", timeout: 5_000 }),
  https: new https.Agent({ keepAlive: true, scheduling: "lifo", timeout: 5_000 }),
};

/**
 * ethers' Node transport (ethers/lib.commonjs/utils/geturl.js) except for how the response body is
 * collected: ethers copies the whole body into a new Uint8Array on every chunk, quadratic in the
 * body's size (receipts of large batches and log pages are large). Here the chunks are kept and
 * concatenated once.
 *
 * Same contract otherwise: the answer is `{statusCode, statusMessage, headers, body}` whatever the
 * status (ethers' FetchResponse turns 4xx/5xx into its SERVER_ERROR), gzip bodies are inflated,
 * connection failures reject with Node's own errors (ECONNRESET, ECONNREFUSED, ...), a cancelled
 * request with ethers' CANCELLED and an overdue one with ethers' TIMEOUT error ("request timeout").
 * Unlike ethers' (an idle-socket timeout that leaves the socket open), `req.timeout` bounds the
 * whole exchange and a request that runs out of it is destroyed, so a stalled node does not pile
 * up open connections while the jobs retry.
 */
export function nodeGetUrl(req: FetchRequest, signal?: FetchCancelSignal): Promise<GetUrlResponse> {
  assert(signal == null || !signal.cancelled, "request cancelled before sending", "CANCELLED");
  const protocol = req.url.split(":")[0].toLowerCase();
  assert(protocol === "http" || protocol === "https", `unsupported protocol ${protocol}`, "UNSUPPORTED_OPERATION", {
    info: { protocol },
    operation: "request",
  });
  assert(
    protocol === "https" || !req.credentials || req.allowInsecureAuthentication,
    "insecure authorized connections unsupported",
    "UNSUPPORTED_OPERATION",
    { operation: "request" },
  );
  return new Promise<GetUrlResponse>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const fail = (error: unknown) => settle(() => reject(error));

    const request = (protocol === "http" ? http : https).request(req.url, {
      method: req.method,
      headers: req.headers,
      agent: AGENTS[protocol],
    });
    const abort = (error: Error) => {
      if (settled) return;
      fail(error);
      request.destroy();
    };
    // 0 is "no timeout", as for ethers' transport (socket.setTimeout(0)).
    if (req.timeout > 0) timer = setTimeout(() => abort(makeError("request timeout", "TIMEOUT")), req.timeout);
    signal?.addListener(() => abort(makeError("request cancelled", "CANCELLED")));
    request.on("error", fail);
    request.once("response", (resp) => {
      const statusCode = resp.statusCode ?? 0;
      const statusMessage = resp.statusMessage ?? "";
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(resp.headers)) {
        headers[name] = Array.isArray(value) ? value.join(", ") : (value ?? "");
      }
      const chunks: Buffer[] = [];
      let length = 0;
      resp.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        length += chunk.length;
      });
      resp.on("end", () => {
        let body: Uint8Array | null = chunks.length === 0 ? null : Buffer.concat(chunks, length);
        try {
          if (body && headers["content-encoding"] === "gzip") body = gunzipSync(body);
        } catch (error) {
          fail(makeError("bad response data", "SERVER_ERROR", { request: req, info: { response: resp, error } }));
          return;
        }
        settle(() => resolve({ statusCode, statusMessage, headers, body }));
      });
      resp.on("error", (error: Error & { response?: unknown }) => {
        error.response = { statusCode, statusMessage, headers, body: null };
        fail(error);
      });
      // The connection closed before the body ended, without an error event: never leave it hanging.
      resp.on("close", () => {
        if (!settled) fail(Object.assign(new Error("aborted"), { code: "ECONNRESET" }));
      });
    });
    const body = req.body;
    request.end(body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : undefined);
  });
}
