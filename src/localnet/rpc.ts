/**
 * The one JSON-RPC helper of the local network, and HTTP and port probes: no provider object to
 * create and destroy, nothing left open between calls.
 */
import net from "node:net";

/** One probe must not hang the start: a node that does not answer this fast counts as absent. */
export const PROBE_TIMEOUT_MS = 2_000;

export class JsonRpcError extends Error {
  constructor(
    readonly method: string,
    message: string,
  ) {
    super(`${method}: ${message}`);
    this.name = "JsonRpcError";
  }
}

/** Calls `method` on the node at `url`; rejects on transport errors, timeouts and JSON-RPC errors. */
export async function jsonRpc<T = unknown>(
  url: string,
  method: string,
  params: unknown[] = [],
  timeoutMs = PROBE_TIMEOUT_MS * 5,
): Promise<T> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await response.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new JsonRpcError(method, body.error.message);
  return body.result as T;
}

/** The chain id of the node at `url`, or null when nothing answers JSON-RPC there. */
export async function probeChainId(url: string): Promise<number | null> {
  try {
    return Number(await jsonRpc<string>(url, "eth_chainId", [], PROBE_TIMEOUT_MS));
  } catch {
    return null;
  }
}

/** HTTP status of GET `url`, or null when nothing answers. */
export async function httpStatus(url: string): Promise<number | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return null;
  }
}

/** True when nothing listens on host:port (we could bind it ourselves). */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A TCP port that was free a moment ago (bound to port 0, then released). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
