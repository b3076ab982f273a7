/**
 * Store write costs of the hot paths, on PostgreSQL (default) or SQLite, without a chain: the
 * intake's guarded insert in groups, and the chain jobs' group state changes (writePaymentChanges:
 * accepted → submitted → escrowed, the escrow step with per-payment leaf index like the watcher's).
 * Prints one JSON line.
 *
 *   npx ts-node --transpile-only bench/storeWrites.ts [--store postgres|sqlite] [--payments 20000]
 *     [--group 100] [--page 1000] [--payers 200] [--webhooks]
 *
 * --webhooks gives the merchant a live endpoint, so every change also queues its outbox event.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { acceptedPayment, PaymentState, SignatureKind, type Hex, type PaymentRecord } from "../src/relayer/domain";
import type { RelayerStore } from "../src/relayer/store/types";
import { openPostgresStore } from "../src/relayer/store/postgres";
import { openSqliteStore } from "../src/relayer/store/sqlite";
import { createDatabase, ensurePostgres, freshSchema } from "../src/localnet/postgres";
import { writePaymentChanges } from "../src/relayer/jobs/paymentChanges";
import { NO_LEDGER } from "../src/relayer/ledger/listener";

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const kind = flag("store", "postgres");
const total = Number(flag("payments", "20000"));
const group = Number(flag("group", "100"));
const page = Number(flag("page", "1000"));
const payers = Number(flag("payers", "200"));
const webhooks = process.argv.includes("--webhooks");

const hex32 = (n: number, prefix: string): Hex => `0x${prefix}${n.toString(16).padStart(62, "0")}` as Hex;
const payerOf = (n: number): Hex => `0x${(n % payers).toString(16).padStart(40, "0")}` as Hex;

function payment(n: number): PaymentRecord {
  return acceptedPayment({
    id: hex32(n, "ab"),
    currency: "USD", // the default currency of a store opened without one
    payer: payerOf(n),
    merchantId: 1n,
    amount: 1_000n,
    orderRef: hex32(n, "0e"),
    nonce: BigInt(n),
    validAfter: 0n,
    deadline: 2_000_000_000n,
    hold: 3_600n,
    signature: `0x${"1b".repeat(65)}` as Hex,
    requestId: null,
    signatureKind: SignatureKind.Ecdsa,
    createdAt: Date.now(),
  });
}

async function open(): Promise<{ store: RelayerStore; cleanup: () => Promise<void> }> {
  if (kind === "sqlite") {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-store-"));
    const store = await openSqliteStore(path.join(dir, "relayer.sqlite"));
    return {
      store,
      cleanup: async () => {
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const server = await ensurePostgres();
  const schema = await freshSchema(await createDatabase(server.url, "stablepay_bench"), "bench");
  const store = await openPostgresStore(schema.url, { secretKey: Buffer.alloc(32, 7) });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await schema.drop();
      await server.stop();
    },
  };
}

async function main(): Promise<void> {
  const { store, cleanup } = await open();
  try {
    if (webhooks) {
      await store.webhooks.create({
        id: "we_bench",
        merchantId: 1n,
        url: "http://127.0.0.1:9/hook",
        secret: "s",
        createdAt: 1,
        disabledAt: null,
      });
    }
    const records = Array.from({ length: total }, (_, i) => payment(i + 1));

    /** This process's CPU (µs) per payment since `from` (the store's client side; the server's is not counted). */
    const cpuPerPayment = (from: NodeJS.CpuUsage) => {
      const used = process.cpuUsage(from);
      return Math.round((used.user + used.system) / total);
    };
    let cpu = process.cpuUsage();
    let started = process.hrtime.bigint();
    let inserted = 0;
    for (let at = 0; at < total; at += group) {
      const items = records.slice(at, at + group).map((record) => ({ record, ceiling: 10n ** 30n }));
      for (const outcome of (await store.payments.insertAcceptedGuarded(items)).values()) {
        if (outcome === "inserted") inserted++;
      }
    }
    const insertSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const insertCpu = cpuPerPayment(cpu);
    if (inserted !== total) throw new Error(`inserted ${inserted} of ${total}`);

    /** One job page per `page` payments, each in its own transaction, as the jobs run them. */
    const step = async (
      from: PaymentRecord[],
      state: PaymentState,
      fields: (p: PaymentRecord, i: number) => Partial<PaymentRecord>,
    ): Promise<{ seconds: number; after: PaymentRecord[] }> => {
      const after: PaymentRecord[] = [];
      const began = process.hrtime.bigint();
      for (let at = 0; at < from.length; at += page) {
        const chunk = from.slice(at, at + page);
        const written = await store.transaction(() =>
          writePaymentChanges(
            store,
            chunk.map((p, i) => ({ payment: p, state, fields: fields(p, i) })),
            Date.now(),
            NO_LEDGER,
          ),
        );
        after.push(...written);
      }
      return { seconds: Number(process.hrtime.bigint() - began) / 1e9, after };
    };

    started = process.hrtime.bigint();
    const stored = await store.payments.getMany(records.map((r) => r.id));
    const readSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    cpu = process.cpuUsage();
    const submitted = await step([...stored.values()], PaymentState.Submitted, () => ({ txHash: hex32(1, "fe") }));
    const escrowed = await step(submitted.after, PaymentState.Escrowed, (_, i) => ({
      batchId: 7n,
      leafIndex: i,
      txHash: hex32(2, "fe"),
      releaseAt: 1_900_000_000n,
      rejectReason: null,
    }));
    const jobsCpu = cpuPerPayment(cpu);
    const counts = await store.payments.countByState();
    if (counts[PaymentState.Escrowed] !== total) throw new Error(`escrowed ${counts[PaymentState.Escrowed]}`);
    const perSecond = (seconds: number) => Math.round(total / seconds);
    console.log(
      JSON.stringify({
        store: kind,
        payments: total,
        group,
        page,
        payers,
        webhooks,
        outboxRows: await store.outbox.pendingCount(),
        guardedInsertsPerSecond: perSecond(insertSeconds),
        getManyPerSecond: perSecond(readSeconds),
        submittedPerSecond: perSecond(submitted.seconds),
        escrowedPerSecond: perSecond(escrowed.seconds),
        clientCpuMicrosPerPayment: { guardedInsert: insertCpu, submittedAndEscrowed: jobsCpu },
      }),
    );
  } finally {
    await cleanup();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
