/**
 * The jobs thread of role `all` (started by ./jobsThread.ts): the chain jobs exactly as role
 * `worker` runs them (./jobs.ts), on a store connection, chain client and signers of its own, so
 * that their synchronous work (SQLite, calldata, JSON-RPC parsing) never stalls HTTP. For every
 * served currency it keeps the authoritative payer ledger and streams its notices to the HTTP
 * thread's mirror of that currency, answers the mirror's fresh loads and catch-ups, and relays the
 * API's signed operations through that currency's lanes (each message names its currency). It also
 * reports its readiness conditions, leases, metrics and log lines.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Hex } from "../domain";
import type { ChainWriter } from "../chain/chainWriter";
import { ApiError } from "../errors";
import { SubmitterChainWriter } from "../jobs/relayWriter";
import { LedgerFeed } from "../ledger/ledgerMirror";
import { errorMessage } from "../runtime/log";
import { createMetrics } from "../runtime/metrics";
import { Readiness, type NotReadyReason } from "../runtime/readiness";
import { startJobs, type RunningJobs } from "./jobs";
import {
  configFromWire,
  jsonLineLogger,
  type FromJobs,
  type JobsThreadData,
  type ToJobs,
  type WireError,
} from "./jobsWire";

/** How often the held leases are compared with what the HTTP thread was last told. */
const LEASE_REPORT_MS = 200;

const port = parentPort!;
const data = workerData as JobsThreadData;
const post = (message: FromJobs) => port.postMessage(message);
const log = jsonLineLogger(data.logLevel, (line) => post({ t: "log", line }));

/** Conditions go to the HTTP thread's Readiness, which GET /ready and the metric read. */
class ForwardedReadiness extends Readiness {
  override fail(reason: NotReadyReason, message: string, source = ""): boolean {
    const changed = super.fail(reason, message, source);
    if (changed) post({ t: "readiness", reason, source, message });
    return changed;
  }

  override clear(reason: NotReadyReason, source = ""): boolean {
    const changed = super.clear(reason, source);
    if (changed) post({ t: "readiness", reason, source, message: null });
    return changed;
  }
}

function wireError(error: unknown): WireError {
  if (error instanceof ApiError) return { message: error.message, api: { code: error.code, details: error.details } };
  return { message: errorMessage(error) };
}

async function main(): Promise<void> {
  const config = configFromWire(data.config);
  const metrics = createMetrics({ defaultMetrics: false });
  // Each served currency's notices, numbered in its own sequence: its mirror's on the HTTP thread.
  const feeds = new Map<string, LedgerFeed>();
  let jobs: RunningJobs;
  try {
    jobs = await startJobs(config, {
      holder: data.holder,
      role: "all",
      log,
      metrics,
      readiness: new ForwardedReadiness(),
      // The HTTP thread logged them when it connected.
      logSettings: false,
      batchAccounts: true,
      listener: (ledger, currency) => {
        const feed = new LedgerFeed(ledger, (seq, event) => post({ t: "ledger", currency, seq, event }));
        feeds.set(currency, feed);
        return feed;
      },
    });
  } catch (error) {
    post({ t: "startFailed", message: errorMessage(error) });
    return;
  }
  // A currency's relayed operations go out on its own lanes: its escrow, and keys dealt to it alone.
  const writers = new Map<string, ChainWriter>(
    [...jobs.currencies].map(([code, running]) => [code, new SubmitterChainWriter(running.worker.lanes, log)]),
  );
  const served = (currency: string) => {
    const running = jobs.currencies.get(currency);
    if (!running) throw new Error(`currency ${currency} is not served here`);
    return { ...running, feed: feeds.get(currency)!, writer: writers.get(currency)! };
  };

  let leases = jobs.heldLeases();
  const leaseTimer = setInterval(() => {
    const now = jobs.heldLeases();
    if (now.join() === leases.join()) return;
    leases = now;
    post({ t: "leases", leases });
  }, LEASE_REPORT_MS);

  const relay = async (currency: string, op: string, args: unknown[]) => {
    const { writer, ledger } = served(currency);
    switch (op) {
      case "confirmWithSignature":
      case "openDisputeWithSignature":
      case "refundWithSignature":
        return writer[op](args[0] as never);
      case "depositWithAuthorization":
        return writer.depositWithAuthorization(args[0] as never);
      case "extendHoldWithSignature":
      case "requestRefundWithSignature":
      case "rejectRefundRequestWithSignature":
      case "escalateRefundRequestWithSignature":
        return writer.relayOrderTimer(args[0] as never);
      case "withdrawWithSignature": {
        const [withdrawal, signature] = args as Parameters<ChainWriter["withdrawWithSignature"]>;
        const sent = await writer.withdrawWithSignature(withdrawal, signature);
        // That currency's batch simulation reads this ledger: what is on its way out is not there to pay with.
        ledger.reserveOutflow(withdrawal.payer as Hex, {
          nonce: withdrawal.nonce,
          amount: withdrawal.amount,
          deadline: withdrawal.deadline,
        });
        return sent;
      }
      default:
        throw new Error(`unknown relayed operation ${op}`);
    }
  };

  let stopping: Promise<void> | null = null;
  port.on("message", (message: ToJobs) => {
    const answer = (id: number, work: () => Promise<unknown>) =>
      work().then(
        (result) => post({ t: "reply", id, result } as FromJobs),
        (error: unknown) => post({ t: "reply", id, error: wireError(error) }),
      );
    switch (message.t) {
      case "load":
        void answer(message.id, async () => served(message.currency).feed.load(message.payer));
        break;
      case "relay":
        void answer(message.id, () => relay(message.currency, message.op, message.args));
        break;
      case "metrics":
        void answer(message.id, () => metrics.registry.getMetricsAsJSON());
        break;
      case "catchUp":
        // The ledger's notices of what the pass applied go out on this port before the answer.
        void answer(message.id, async () => served(message.currency).worker.catchUp());
        break;
      case "stopJobs":
        for (const running of jobs.currencies.values()) void running.worker.stop();
        break;
      case "stop":
        stopping ??= (async () => {
          clearInterval(leaseTimer);
          await jobs.stop();
          post({ t: "stopped" });
          port.close();
        })();
        break;
    }
  });
  post({
    t: "started",
    signers: jobs.signers.map((s) => s.address as Hex),
    leases,
    currencies: [...jobs.currencies.keys()],
    primary: [...jobs.currencies.values()].find((c) => c.worker === jobs.worker)!.code,
  });
}

void main();
