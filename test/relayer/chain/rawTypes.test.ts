/**
 * Logs and receipts as the relayer reads them (src/relayer/chain/rawTypes.ts): the node's JSON
 * reduced to the fields the jobs use, quantities converted once, hex lowercase; a removed log is
 * kept (marked) for the log applier to skip. Also through ChainClient against a local JSON-RPC
 * server: the filter it sends and what escrowLogs / receipt return.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { ChainClient } from "../../../src/relayer/chain/client";
import { jsonRpcProvider } from "../../../src/relayer/chain/provider";
import {
  toRawLog,
  toRawLogs,
  toRawReceipt,
  type JsonRpcLog,
  type JsonRpcReceipt,
} from "../../../src/relayer/chain/rawTypes";
import { ESCROW_TOPICS } from "../../../src/relayer/chain/escrowEvents";
import { decodeEscrowLogs } from "../../../src/relayer/jobs/logApplier";
import { batchEscrowedIn } from "../../../src/relayer/jobs/batchOutcome";
import { oneCurrency } from "../helpers/chain";

const ESCROW = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const word = (n: bigint | number) => BigInt(n).toString(16).padStart(64, "0");
const PAYMENT_ID = `0x${"Ab".repeat(32)}`;
const PAYER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const BLOCK_HASH = `0x${"Cd".repeat(32)}`;
const TX_HASH = `0x${"Ef".repeat(32)}`;
/** The payer's topic: the address right-aligned in its word. */
const payerTopic = `0x${"0".repeat(24)}${PAYER.slice(2)}`;

/** A PaymentEscrowed log (batch 7, merchant 3, amount 1_000_000) as a node sends it (mixed case here). */
function escrowedLog(overrides: Partial<JsonRpcLog> = {}): JsonRpcLog {
  return {
    address: ESCROW,
    topics: [ESCROW_TOPICS.PaymentEscrowed, PAYMENT_ID, payerTopic, `0x${word(3)}`],
    data: `0x${word(7)}${word(1_000_000)}`,
    blockNumber: "0x1b4",
    blockHash: BLOCK_HASH,
    transactionHash: TX_HASH,
    removed: false,
    ...overrides,
  };
}

describe("relayer chain: raw logs and receipts", function () {
  it("converts a log's quantities once and lowercases its hex, keeping removed logs marked", () => {
    const json = escrowedLog();
    const log = toRawLog({ ...json, logIndex: "0x5", transactionIndex: "0x0" } as JsonRpcLog);
    expect(log).to.deep.equal({
      address: ESCROW.toLowerCase(),
      topics: [ESCROW_TOPICS.PaymentEscrowed, PAYMENT_ID.toLowerCase(), payerTopic.toLowerCase(), `0x${word(3)}`],
      data: `0x${word(7)}${word(1_000_000)}`,
      blockNumber: 436n,
      blockHash: BLOCK_HASH.toLowerCase(),
      transactionHash: TX_HASH.toLowerCase(),
      removed: false,
    });

    const [kept, dropped] = toRawLogs([json, { ...json, removed: true }]);
    expect(kept.removed).to.equal(false);
    expect(dropped.removed, "a removed log is kept, marked").to.equal(true);
    expect(dropped.blockNumber).to.equal(436n);
    // Nodes that omit `removed` report live logs.
    const { removed: _omitted, ...bare } = json;
    expect(toRawLog(bare as JsonRpcLog).removed).to.equal(false);

    // The log applier decodes the live one and skips the removed one.
    const page = decodeEscrowLogs([kept, dropped]);
    expect(page.events).to.have.length(1);
    expect(page.events[0].tx).to.equal(TX_HASH.toLowerCase());
    expect(page.events[0].event).to.deep.include({
      name: "PaymentEscrowed",
      paymentId: PAYMENT_ID.toLowerCase(),
      payer: PAYER.toLowerCase(),
      merchantId: 3n,
      batchId: 7n,
      amount: 1_000_000n,
    });
  });

  it("refuses malformed or pending logs instead of guessing", () => {
    expect(() => toRawLog(escrowedLog({ blockNumber: null }))).to.throw(/blockNumber/);
    expect(() => toRawLog(escrowedLog({ blockHash: null }))).to.throw(/blockHash/);
    expect(() => toRawLog(escrowedLog({ blockNumber: "12" }))).to.throw(/blockNumber/);
    expect(() => toRawLogs({} as JsonRpcLog[])).to.throw(/non-array/);
  });

  it("converts a receipt: status, block, gas as numbers; its logs reduced to address, topics and data", () => {
    const batchEscrowed: JsonRpcLog = {
      ...escrowedLog(),
      topics: [ESCROW_TOPICS.BatchEscrowed, `0x${word(7)}`, payerTopic],
      data: `0x${"AB".repeat(32)}${word(1)}${word(1_000_000)}`,
    };
    const json: JsonRpcReceipt = {
      status: "0x1",
      blockNumber: "0x1b4",
      blockHash: BLOCK_HASH,
      transactionHash: TX_HASH,
      gasUsed: "0x2dc6c0",
      logs: [escrowedLog(), batchEscrowed],
    };
    const receipt = toRawReceipt({
      ...json,
      effectiveGasPrice: "0x3b9aca00",
      cumulativeGasUsed: "0x1",
    } as JsonRpcReceipt)!;
    expect(receipt).to.deep.equal({
      status: 1,
      blockNumber: 436n,
      blockHash: BLOCK_HASH.toLowerCase(),
      transactionHash: TX_HASH.toLowerCase(),
      gasUsed: 3_000_000n,
      logs: [
        {
          address: ESCROW.toLowerCase(),
          topics: escrowedLog().topics.map((t) => t.toLowerCase()),
          data: `0x${word(7)}${word(1_000_000)}`,
        },
        {
          address: ESCROW.toLowerCase(),
          topics: [ESCROW_TOPICS.BatchEscrowed, `0x${word(7)}`, payerTopic.toLowerCase()],
          data: `0x${"ab".repeat(32)}${word(1)}${word(1_000_000)}`,
        },
      ],
    });
    // The batch handler finds its event whatever the case of the escrow address it is given.
    expect(batchEscrowedIn(receipt, ESCROW)).to.deep.equal({ batchId: 7n, root: `0x${"ab".repeat(32)}` });
    expect(batchEscrowedIn(receipt, "0x0000000000000000000000000000000000000001")).to.equal(null);

    expect(toRawReceipt({ ...json, status: "0x0" })!.status).to.equal(0);
    expect(toRawReceipt({ ...json, status: null })!.status, "pre-Byzantium: no status").to.equal(null);
    expect(toRawReceipt(null)).to.equal(null);
    expect(() => toRawReceipt({ ...json, gasUsed: "" })).to.throw(/gasUsed/);
  });

  it("ChainClient sends eth_getLogs / eth_getTransactionReceipt and returns raw logs and receipts", async () => {
    const calls: { method: string; params: unknown[] }[] = [];
    const results: Record<string, unknown> = {
      eth_getLogs: [escrowedLog(), escrowedLog({ removed: true, blockNumber: "0x1b5" })],
      eth_getTransactionReceipt: {
        status: "0x1",
        blockNumber: "0x1b4",
        blockHash: BLOCK_HASH,
        transactionHash: TX_HASH,
        gasUsed: "0x5208",
        logs: [escrowedLog()],
      },
    };
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as
          { id: number; method: string; params: unknown[] } | { id: number; method: string; params: unknown[] }[];
        const answer = (c: { id: number; method: string; params: unknown[] }) => {
          calls.push({ method: c.method, params: c.params });
          const unknownTx = c.method === "eth_getTransactionReceipt" && c.params[0] !== TX_HASH.toLowerCase();
          return { jsonrpc: "2.0", id: c.id, result: unknownTx ? null : (results[c.method] ?? null) };
        };
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify(Array.isArray(body) ? body.map(answer) : answer(body)));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const provider = jsonRpcProvider(url, 31337n, 5_000);
    try {
      const chain = new ChainClient({
        provider,
        addresses: oneCurrency({ chainId: 31337n, escrow: ESCROW, registry: ESCROW, token: ESCROW, startBlock: 0n }),
        signerKey: `0x${"11".repeat(32)}`,
      });
      const logs = await chain.escrowLogs(0n, 500n, [[ESCROW_TOPICS.PaymentEscrowed]]);
      expect(calls[0]).to.deep.equal({
        method: "eth_getLogs",
        params: [{ address: ESCROW, fromBlock: "0x0", toBlock: "0x1f4", topics: [[ESCROW_TOPICS.PaymentEscrowed]] }],
      });
      expect(logs.map((l) => [l.blockNumber, l.removed])).to.deep.equal([
        [436n, false],
        [437n, true],
      ]);
      expect(logs[0].address).to.equal(ESCROW.toLowerCase());

      const receipt = await chain.receipt(TX_HASH.toLowerCase() as `0x${string}`);
      expect(receipt).to.deep.include({ status: 1, blockNumber: 436n, gasUsed: 21_000n });
      expect(receipt!.logs).to.have.length(1);
      expect(await chain.receipt(`0x${"00".repeat(32)}`)).to.equal(null);
      expect(calls.map((c) => c.method)).to.deep.equal([
        "eth_getLogs",
        "eth_getTransactionReceipt",
        "eth_getTransactionReceipt",
      ]);
    } finally {
      provider.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
