/**
 * A JSON-RPC proxy on 127.0.0.1 between the relayer and its node, for the fault and crash tests:
 * it answers 502, resets connections, stalls requests, or lets the node act on a request while the
 * caller never hears back.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type FaultAction = "502" | "status" | "reset" | "stall" | "hold-response" | "drop-response";

export interface FaultRule {
  action: FaultAction;
  /** Only HTTP requests carrying one of these JSON-RPC methods (default: every request). */
  methods?: string[];
  /** Let this many matching requests through before the rule applies. */
  skip?: number;
  /** Apply to this many matching requests, then retire (default: until removed). */
  times?: number;
  /** For "status": the HTTP status and body to answer with (as a provider rejecting a key would). */
  status?: number;
  body?: string;
}

export interface RpcProxy {
  url: string;
  /** HTTP requests received, and how many were faulted, by action. */
  stats: {
    requests: number;
    faulted: Record<FaultAction, number>;
    methods: Map<string, number>;
    /** Every JSON-RPC call received, in order, with its parameters. */
    calls: { method: string; params: unknown[] }[];
  };
  /** Adds a rule; rules are checked in order and the first that applies wins. */
  fault(rule: FaultRule): void;
  /** Drops every rule and lets stalled requests through (held responses are delivered). */
  heal(): void;
  /** Requests stalled or holding responses right now. */
  held(): number;
  close(): Promise<void>;
}

/**
 * A JSON-RPC proxy on 127.0.0.1 in front of `upstream`. Faults: "502" answers Bad Gateway, "status"
 * answers the rule's status and body without forwarding, "reset"
 * destroys the connection, "stall" holds the request without forwarding it, "hold-response"
 * forwards it (the node acts on it) but holds the answer: the caller cannot know it happened;
 * "drop-response" forwards it and then resets the connection instead of answering.
 */
export async function startRpcProxy(upstream: string): Promise<RpcProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const rules: (FaultRule & { seen: number; applied: number })[] = [];
  const held = new Set<() => void>();
  const sockets = new Set<Socket>();

  const forward = (body: Buffer): Promise<{ status: number; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 502, body: Buffer.concat(chunks) }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });

  const callsOf = (text: string): { method: string; params: unknown[] }[] => {
    try {
      type Call = { method?: string; params?: unknown[] };
      const parsed = JSON.parse(text) as Call | Call[];
      return (Array.isArray(parsed) ? parsed : [parsed]).map((c) => ({
        method: String(c.method),
        params: c.params ?? [],
      }));
    } catch {
      return [];
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const calls = callsOf(body.toString("utf8"));
      const methods = calls.map((c) => c.method);
      proxy.stats.calls.push(...calls);
      proxy.stats.requests++;
      for (const m of methods) proxy.stats.methods.set(m, (proxy.stats.methods.get(m) ?? 0) + 1);
      const rule = rules.find((r) => {
        if (r.times !== undefined && r.applied >= r.times) return false;
        if (r.methods && !methods.some((m) => r.methods!.includes(m))) return false;
        r.seen++;
        return r.seen > (r.skip ?? 0);
      });
      if (rule) {
        rule.applied++;
        proxy.stats.faulted[rule.action]++;
      }
      const reply = (answer: { status: number; body: Buffer }) => {
        if (res.writableEnded || res.destroyed) return;
        res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
      };
      const pass = () =>
        forward(body).then(reply, () => {
          if (!res.writableEnded) res.writeHead(502).end("upstream unavailable");
        });
      switch (rule?.action) {
        case "502":
          res.writeHead(502, { "content-type": "text/plain" }).end("bad gateway");
          return;
        case "status":
          res.writeHead(rule.status ?? 500, { "content-type": "text/plain" }).end(rule.body ?? "");
          return;
        case "reset":
          req.socket.destroy();
          return;
        case "stall": {
          const release = () => {
            held.delete(release);
            void pass();
          };
          held.add(release);
          res.on("close", () => held.delete(release));
          return;
        }
        case "hold-response": {
          const answer = forward(body);
          const release = () => {
            held.delete(release);
            answer.then(reply, () => res.writeHead(502).end());
          };
          held.add(release);
          res.on("close", () => held.delete(release));
          return;
        }
        case "drop-response":
          forward(body).then(
            () => req.socket.destroy(),
            () => req.socket.destroy(),
          );
          return;
        default:
          void pass();
      }
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  const proxy: RpcProxy = {
    url: `http://127.0.0.1:${port}`,
    stats: {
      requests: 0,
      faulted: { "502": 0, status: 0, reset: 0, stall: 0, "hold-response": 0, "drop-response": 0 },
      methods: new Map(),
      calls: [],
    },
    fault(rule) {
      rules.push({ ...rule, seen: 0, applied: 0 });
    },
    heal() {
      rules.length = 0;
      for (const release of [...held]) release();
    },
    held: () => held.size,
    async close() {
      rules.length = 0;
      held.clear();
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
