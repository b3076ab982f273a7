/**
 * The relayer's JSON-RPC transport (nodeGetUrl in src/relayer/chain/transport.ts) against local
 * HTTP servers: a large response written in many chunks arrives intact (also gzipped); a stalled
 * node, an error status and a reset connection fail with the errors ethers' own transport gives
 * (same code, same retry classification), so the retry and fault handling built on them holds.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { gzipSync } from "node:zlib";
import { expect } from "chai";
import { FetchRequest, isError } from "ethers";
import { jsonRpcProvider } from "../../../src/relayer/chain/provider";
import { nodeGetUrl } from "../../../src/relayer/chain/transport";
import { classifyRpcError } from "../../../src/relayer/chain/rpcErrors";

type Handler = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => void;

interface TestServer {
  url: string;
  /** Connections closed by the client (or reset) so far. */
  closed: number;
  close(): Promise<void>;
}

async function startServer(handler: Handler): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handler(req, Buffer.concat(chunks), res));
  });
  const state: TestServer = {
    url: "",
    closed: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => {
      sockets.delete(socket);
      state.closed++;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/** Writes `body` in `size`-byte pieces, one per event-loop turn, so the client sees many chunks. */
async function writeInPieces(res: http.ServerResponse, body: Buffer, size: number): Promise<void> {
  for (let at = 0; at < body.length; at += size) {
    res.write(body.subarray(at, at + size));
    await new Promise((resolve) => setImmediate(resolve));
  }
  res.end();
}

/** A fake eth_getLogs answer of about `count` * 600 bytes. */
function bigLogs(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    address: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
    topics: [`0x${i.toString(16).padStart(64, "0")}`, `0x${"ab".repeat(32)}`],
    data: `0x${"0".repeat(62)}${(i % 256).toString(16).padStart(2, "0")}${"1".repeat(192)}`,
    blockNumber: `0x${(1000 + i).toString(16)}`,
    blockHash: `0x${"cd".repeat(32)}`,
    transactionHash: `0x${i.toString(16).padStart(64, "e")}`,
    transactionIndex: "0x0",
    logIndex: `0x${i.toString(16)}`,
    removed: false,
  }));
}

const rpcAnswer = (body: Buffer, result: unknown) => {
  const call = JSON.parse(body.toString("utf8")) as { id: number };
  return Buffer.from(JSON.stringify({ jsonrpc: "2.0", id: call.id, result }), "utf8");
};

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail("expected a rejection"),
    (e: unknown) => e,
  );
}

/** A request as JsonRpcProvider makes it, with ethers' default transport or the relayer's. */
function rpcRequest(url: string, timeoutMs: number, transport: "ethers" | "relayer"): FetchRequest {
  const request = new FetchRequest(url);
  request.timeout = timeoutMs;
  if (transport === "relayer") request.getUrlFunc = nodeGetUrl;
  request.body = Buffer.from(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }));
  request.setHeader("content-type", "application/json");
  return request;
}

describe("relayer chain: JSON-RPC transport", function () {
  this.timeout(30_000);
  const servers: TestServer[] = [];
  const serve = async (handler: Handler) => {
    const server = await startServer(handler);
    servers.push(server);
    return server;
  };

  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  it("returns a multi-megabyte response written in many small chunks intact, through the provider", async () => {
    const logs = bigLogs(6_000); // ~3.6 MB of JSON
    let pieces = 0;
    const server = await serve((_req, body, res) => {
      const answer = rpcAnswer(body, logs);
      pieces = Math.ceil(answer.length / 16_384);
      res.writeHead(200, { "content-type": "application/json" });
      void writeInPieces(res, answer, 16_384);
    });
    const provider = jsonRpcProvider(server.url, 31337n, 10_000);
    try {
      const result = (await provider.send("eth_getLogs", [{}])) as unknown[];
      expect(pieces).to.be.greaterThan(200);
      // (as JSON: chai's deep equality takes seconds on 6,000 objects)
      expect(JSON.stringify(result)).to.equal(JSON.stringify(logs));
    } finally {
      provider.destroy();
    }
  });

  it("returns the exact bytes, inflates gzip, and reports the status and headers as ethers does", async () => {
    const bytes = Buffer.alloc(1_500_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 9)) & 0xff;
    const server = await serve((req, _body, res) => {
      if (req.url === "/gzip") {
        res.writeHead(200, { "content-encoding": "gzip", "x-test": "zipped" });
        void writeInPieces(res, gzipSync(bytes), 4_096);
      } else {
        res.writeHead(200, { "x-test": "plain" });
        void writeInPieces(res, bytes, 8_192);
      }
    });
    for (const [path, header] of [
      ["/plain", "plain"],
      ["/gzip", "zipped"],
    ]) {
      const request = new FetchRequest(`${server.url}${path}`);
      request.getUrlFunc = nodeGetUrl;
      const response = await request.send();
      expect(response.statusCode).to.equal(200);
      expect(response.headers["x-test"]).to.equal(header);
      expect(Buffer.from(response.body!).equals(bytes), `${path} body`).to.equal(true);
    }
  });

  it("times out a stalled node with ethers' TIMEOUT error, and closes the connection", async () => {
    const stalled: http.ServerResponse[] = [];
    const server = await serve((_req, _body, res) => void stalled.push(res));
    const errors: Record<string, unknown> = {};
    for (const transport of ["ethers", "relayer"] as const) {
      const started = Date.now();
      errors[transport] = await rejection(rpcRequest(server.url, 300, transport).send());
      const elapsed = Date.now() - started;
      expect(elapsed, `${transport} waited the timeout`).to.be.at.least(250);
      expect(elapsed, `${transport} gave up soon after`).to.be.below(3_000);
    }
    for (const [transport, error] of Object.entries(errors)) {
      expect(isError(error, "TIMEOUT"), `${transport}: ${String(error)}`).to.equal(true);
      expect(classifyRpcError(error), transport).to.equal("transient");
    }
    expect((errors.relayer as Error).message).to.equal((errors.ethers as Error).message);
    // The relayer's request does not leave its connection open on the stalled node.
    const closedBefore = server.closed;
    const error = await rejection(jsonRpcProvider(server.url, 31337n, 200).send("eth_blockNumber", []));
    expect(isError(error, "TIMEOUT")).to.equal(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.closed).to.be.greaterThan(closedBefore);
    // Answering late changes nothing (the promise is settled, the socket gone).
    for (const res of stalled) if (!res.destroyed) res.writeHead(200).end("{}");
  });

  it("turns an error status into ethers' SERVER_ERROR and a reset into Node's ECONNRESET, as before", async () => {
    const server = await serve((req, _body, res) => {
      if (req.url === "/reset") req.socket.destroy();
      else res.writeHead(503, { "content-type": "text/plain" }).end("unavailable");
    });
    for (const transport of ["ethers", "relayer"] as const) {
      const response = await rpcRequest(server.url, 5_000, transport).send();
      expect(response.statusCode).to.equal(503);
      const error = await rejection(Promise.resolve().then(() => response.assertOk()));
      expect(isError(error, "SERVER_ERROR"), transport).to.equal(true);
      expect(classifyRpcError(error), transport).to.equal("transient");

      const reset = await rejection(rpcRequest(`${server.url}/reset`, 5_000, transport).send());
      expect((reset as { code?: string }).code, transport).to.equal("ECONNRESET");
      expect(classifyRpcError(reset), transport).to.equal("transient");
    }
    // Through the provider: the JSON-RPC layer sees the same SERVER_ERROR.
    const provider = jsonRpcProvider(server.url, 31337n, 5_000);
    try {
      const error = await rejection(provider.send("eth_blockNumber", []));
      expect(isError(error, "SERVER_ERROR")).to.equal(true);
    } finally {
      provider.destroy();
    }
  });

  it("rejects a connection cut in the middle of the body instead of waiting for the timeout", async () => {
    const server = await serve((req, _body, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "100000" });
      res.write(Buffer.alloc(20_000, 0x20));
      setTimeout(() => req.socket.destroy(), 20);
    });
    const started = Date.now();
    const error = await rejection(rpcRequest(server.url, 10_000, "relayer").send());
    expect(Date.now() - started).to.be.below(5_000);
    expect(classifyRpcError(error)).to.equal("transient");
  });
});
