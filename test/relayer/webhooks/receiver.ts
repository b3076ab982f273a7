import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  at: number;
  method: string;
  headers: http.IncomingHttpHeaders;
  /** Raw body bytes as received. */
  body: Buffer;
  status: number;
}

/**
 * A real HTTP webhook receiver on 127.0.0.1. `respond` picks the status per request (default 200);
 * `stop()` closes it so connections are refused, `restart()` listens again on the same port.
 */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  respond: (index: number) => number | "hang" = () => 200;
  private server: http.Server | null = null;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const decision = this.respond(this.requests.length);
        const status = decision === "hang" ? 0 : decision;
        this.requests.push({
          at: Date.now(),
          method: req.method!,
          headers: req.headers,
          body: Buffer.concat(chunks),
          status,
        });
        if (decision === "hang") return; // never answers: the dispatcher's timeout must fire
        res.writeHead(status, status >= 300 && status < 400 ? { location: "http://127.0.0.1:1/" } : {});
        res.end(status < 300 ? "ok" : "nope");
      });
    });
    // Retry briefly: after a close the same port can still be held for a moment on a loaded machine.
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(this.port, "127.0.0.1", () => {
            server.off("error", reject);
            resolve();
          });
        });
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  restart(): Promise<this> {
    return this.start();
  }

  delivered(): ReceivedRequest[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300);
  }
}

/** Polls `condition` until true; fails with `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
