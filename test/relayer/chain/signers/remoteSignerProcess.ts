/**
 * A small remote signer for the tests, speaking the JSON-RPC that Clef and Web3Signer offer:
 * eth_accounts and eth_signTransaction (answering the raw signed transaction, Web3Signer's shape,
 * or Clef's `{ raw, tx }` with `clef`). It holds one key. `tamper` makes it sign something other
 * than what was asked (a compromised signer), which the relayer must refuse.
 *
 * In-process: `startRemoteSigner(key)`. As its own process (what the end-to-end test runs):
 *   REMOTE_SIGNER_KEY=0x... npx ts-node --transpile-only test/relayer/chain/signers/remoteSignerProcess.ts
 * prints one JSON line {"url": ...} once it listens on a port of its own on 127.0.0.1.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Transaction, Wallet, getAddress } from "ethers";

export type Tamper = "none" | "to" | "nonce" | "value" | "other-key";

export interface RemoteSignerOptions {
  tamper?: Tamper;
  /** Answer like Clef ({ raw, tx }) instead of Web3Signer (the raw hex). */
  clef?: boolean;
}

export interface RunningRemoteSigner {
  url: string;
  address: string;
  /** Requests served, by method. */
  calls: Map<string, number>;
  close(): Promise<void>;
}

interface TxRequest {
  from: string;
  to: string;
  data?: string;
  input?: string;
  value: string;
  nonce: string;
  gas: string;
  maxFeePerGas: string;
  maxPriorityFeePerGas: string;
  chainId: string;
}

export function startRemoteSigner(key: string, options: RemoteSignerOptions = {}): Promise<RunningRemoteSigner> {
  const wallet = new Wallet(key);
  const other = Wallet.createRandom();
  const calls = new Map<string, number>();
  const sign = async (request: TxRequest): Promise<string> => {
    if (getAddress(request.from) !== wallet.address) throw new Error("unknown account");
    const tx = Transaction.from({
      type: 2,
      to: request.to,
      data: request.data ?? request.input ?? "0x",
      value: BigInt(request.value),
      nonce: Number(BigInt(request.nonce)),
      gasLimit: BigInt(request.gas),
      maxFeePerGas: BigInt(request.maxFeePerGas),
      maxPriorityFeePerGas: BigInt(request.maxPriorityFeePerGas),
      chainId: BigInt(request.chainId),
    });
    switch (options.tamper ?? "none") {
      case "to":
        tx.to = other.address;
        break;
      case "nonce":
        tx.nonce = tx.nonce + 1;
        break;
      case "value":
        tx.value = tx.value + 1n;
        break;
      case "other-key":
        return other.signTransaction(tx);
    }
    return wallet.signTransaction(tx);
  };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      void (async () => {
        const call = JSON.parse(body) as { id: unknown; method: string; params: unknown[] };
        calls.set(call.method, (calls.get(call.method) ?? 0) + 1);
        let answer: object;
        try {
          if (call.method === "eth_accounts") answer = { result: [wallet.address] };
          else if (call.method === "eth_signTransaction") {
            const raw = await sign(call.params[0] as TxRequest);
            answer = { result: options.clef ? { raw, tx: Transaction.from(raw).toJSON() } : raw };
          } else answer = { error: { code: -32601, message: "method not found" } };
        } catch (error) {
          answer = { error: { code: -32000, message: (error as Error).message } };
        }
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ jsonrpc: "2.0", id: call.id, ...answer }));
      })();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        address: wallet.address,
        calls,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

if (require.main === module) {
  const key = process.env.REMOTE_SIGNER_KEY;
  if (!key) {
    process.stderr.write("REMOTE_SIGNER_KEY is required\n");
    process.exit(1);
  }
  void startRemoteSigner(key, { clef: process.env.REMOTE_SIGNER_CLEF === "1" }).then((signer) => {
    process.stdout.write(JSON.stringify({ url: signer.url, address: signer.address }) + "\n");
  });
}
