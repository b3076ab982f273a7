/**
 * Role `all`'s chain jobs on a thread of their own (./jobsThreadMain.ts), seen from the HTTP thread,
 * per served currency (RELAYER_CURRENCIES; `accounts` and `writer` are the default currency's):
 *  - `accountsFor(code)`: intake's payer ledger of that currency, a mirror of the jobs thread's
 *    ledger of it (../ledger/ledgerMirror.ts);
 *  - `writerFor(code)`: that currency's relayed operations, sent through the signer lanes of its
 *    worker on the jobs thread (its escrow, its keys); an ApiError the simulation raised there
 *    arrives here with its code, status and details, anything else (the thread gone) is
 *    chain_unavailable;
 *  - the thread's readiness conditions go into the API's Readiness, its metrics into every scrape,
 *    its log lines onto the process's log stream (redacted there like the API's own);
 *  - `leases` and `signers` as the thread last reported them.
 * If the thread stops without being asked to, `onExit` is told (the process should exit: a
 * supervisor restarts it) and readiness reports `jobs_unavailable` meanwhile.
 */
import type { Worker } from "node:worker_threads";
import type { RelayerConfig } from "../config";
import type { Hex } from "../domain";
import { ApiError, ERROR_CODES, type ErrorCode } from "../errors";
import type {
  ChainWriter,
  DepositAuthorization,
  RelayCall,
  SentTransaction,
  SignedPaymentAction,
} from "../chain/chainWriter";
import type { Withdrawal } from "../../protocol";
import { LedgerMirror, type LoadedView } from "../ledger/ledgerMirror";
import { errorMessage, type Logger } from "../runtime/log";
import type { MetricsSnapshot, RelayerMetrics } from "../runtime/metrics";
import type { Readiness } from "../runtime/readiness";
import { startModuleWorker } from "../runtime/workerThreads";
import {
  configToWire,
  type FromJobs,
  type JobsThreadData,
  type RelayOperation,
  type ToJobs,
  type WireError,
} from "./jobsWire";

export interface JobsThreadOptions {
  /** The configuration as loaded (the thread applies the chain's finality profile itself). */
  config: RelayerConfig;
  holder: string;
  logLevel: string | false;
  /** Where the thread's log lines go (the process's redacting log stream). */
  logLine(line: string): void;
  log: Logger;
  metrics: RelayerMetrics;
  readiness: Readiness;
  /** The thread ended without a stop (crashed, or its start-up failed after it began). */
  onExit(error: Error): void;
}

export class JobsThread {
  /** Per currency code: made when its first notice arrives (during start-up) or when first asked for. */
  private readonly mirrors = new Map<string, LedgerMirror>();
  private readonly writers = new Map<string, ChainWriter>();
  /** The served codes in RELAYER_CURRENCIES' order, and the default's, as the started thread told. */
  private served: string[] = [];
  private primary = "";
  private thread: Worker | null = null;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  private seq = 0;
  private leases: string[] = [];
  private addresses: Hex[] = [];
  private stopped: Promise<void> | null = null;
  private exited = false;

  private constructor(private readonly options: JobsThreadOptions) {
    options.metrics.addRemoteSource("jobs", () => this.request<MetricsSnapshot>({ t: "metrics", id: 0 }));
  }

  /** The served currencies' codes, in RELAYER_CURRENCIES' order. */
  get currencies(): readonly string[] {
    return this.served;
  }

  /** The default currency's ledger mirror (see `accountsFor`). */
  get accounts(): LedgerMirror {
    return this.accountsFor(this.primary);
  }

  /** The default currency's writer (see `writerFor`). */
  get writer(): ChainWriter {
    return this.writerFor(this.primary);
  }

  /** Intake's payer ledger of served currency `code`: a mirror of the jobs thread's ledger of it. */
  accountsFor(code: string): LedgerMirror {
    this.checkServed(code);
    return this.mirror(code);
  }

  /** Relays served currency `code`'s signed operations through its worker's lanes on the jobs thread. */
  writerFor(code: string): ChainWriter {
    this.checkServed(code);
    let writer = this.writers.get(code);
    if (!writer) {
      writer = new ThreadChainWriter((op, args) =>
        this.request<SentTransaction>({ t: "relay", id: 0, currency: code, op, args }),
      );
      this.writers.set(code, writer);
    }
    return writer;
  }

  private checkServed(code: string): void {
    if (!this.served.includes(code)) {
      throw new Error(`the jobs thread serves ${this.served.join(", ") || "no currency yet"}, not ${code}`);
    }
  }

  private mirror(code: string): LedgerMirror {
    let mirror = this.mirrors.get(code);
    if (!mirror) {
      mirror = new LedgerMirror({
        load: (payer) => this.request<LoadedView>({ t: "load", id: 0, currency: code, payer }),
        catchUp: () => this.request<boolean>({ t: "catchUp", id: 0, currency: code }),
      });
      this.mirrors.set(code, mirror);
    }
    return mirror;
  }

  /** Starts the thread and resolves once its jobs run (leases taken, caught up with the chain). */
  static async start(options: JobsThreadOptions): Promise<JobsThread> {
    const jobs = new JobsThread(options);
    await jobs.spawn();
    return jobs;
  }

  get signers(): Hex[] {
    return this.addresses;
  }

  heldLeases(): string[] {
    return this.leases;
  }

  /** The thread itself (tests terminate it to play a crash). */
  get worker(): Worker | null {
    return this.thread;
  }

  /** The single-instance lease was lost: the jobs stop, the thread stays for a graceful stop. */
  stopJobs(): void {
    this.thread?.postMessage({ t: "stopJobs" } satisfies ToJobs);
  }

  /** The jobs finish their tick in flight and release their leases; the thread's store and chain close. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      const thread = this.thread;
      if (!thread || this.exited) return;
      const done = new Promise<void>((resolve) => {
        thread.on("message", (message: FromJobs) => message.t === "stopped" && resolve());
        thread.once("exit", () => resolve());
      });
      thread.postMessage({ t: "stop" } satisfies ToJobs);
      await done;
      await thread.terminate();
    })();
    return this.stopped;
  }

  private request<T>(message: ToJobs & { id: number }): Promise<T> {
    const thread = this.thread;
    if (!thread || this.exited || this.stopped) return Promise.reject(new Error("the jobs thread is not running"));
    return new Promise<T>((resolve, reject) => {
      const id = ++this.seq;
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      thread.postMessage({ ...message, id });
    });
  }

  private spawn(): Promise<void> {
    const { options } = this;
    const data: JobsThreadData = {
      config: configToWire(options.config),
      holder: options.holder,
      logLevel: options.logLevel,
    };
    const thread = startModuleWorker(`${__dirname}/jobsThreadMain`, data);
    this.thread = thread;
    return new Promise<void>((resolve, reject) => {
      let started = false;
      thread.on("message", (message: FromJobs) => {
        switch (message.t) {
          case "ledger":
            this.mirror(message.currency).receive(message.seq, message.event);
            break;
          case "reply": {
            const waiting = this.waiting.get(message.id);
            if (!waiting) break;
            this.waiting.delete(message.id);
            if ("error" in message) waiting.reject(fromWire(message.error));
            else waiting.resolve(message.result);
            break;
          }
          case "log":
            options.logLine(message.line);
            break;
          case "readiness":
            if (message.message === null) options.readiness.clear(message.reason, message.source);
            else options.readiness.fail(message.reason, message.message, message.source);
            break;
          case "leases":
            this.leases = message.leases;
            break;
          case "started":
            started = true;
            this.addresses = message.signers;
            this.leases = message.leases;
            this.served = message.currencies;
            this.primary = message.primary;
            resolve();
            break;
          case "startFailed":
            reject(new Error(message.message));
            void thread.terminate();
            break;
          case "stopped":
            break;
        }
      });
      const ended = (error: Error) => {
        if (this.exited) return;
        this.exited = true;
        this.leases = [];
        for (const waiting of this.waiting.values()) waiting.reject(error);
        this.waiting.clear();
        if (!started) reject(error);
        else if (!this.stopped) {
          options.log.error({ err: errorMessage(error) }, "the chain jobs thread stopped unexpectedly");
          options.readiness.fail("jobs_unavailable", "the chain jobs stopped");
          options.onExit(error);
        }
      };
      thread.on("error", ended);
      thread.on("exit", (code) => ended(new Error(`the jobs thread exited with code ${code}`)));
    });
  }
}

/** An error from the thread as the API raises it: an ApiError as it was, anything else chain_unavailable. */
function fromWire(error: WireError): Error {
  if (error.api && error.api.code in ERROR_CODES) {
    return new ApiError(error.api.code as ErrorCode, error.message, error.api.details);
  }
  return new Error(error.message);
}

/** The API's ChainWriter, relayed to the jobs thread's lanes. */
class ThreadChainWriter implements ChainWriter {
  constructor(private readonly send: (op: RelayOperation, args: unknown[]) => Promise<SentTransaction>) {}

  confirmWithSignature(action: SignedPaymentAction): Promise<SentTransaction> {
    return this.relay("confirmWithSignature", [action]);
  }

  openDisputeWithSignature(action: SignedPaymentAction): Promise<SentTransaction> {
    return this.relay("openDisputeWithSignature", [action]);
  }

  refundWithSignature(action: SignedPaymentAction & { totalRefund: bigint }): Promise<SentTransaction> {
    return this.relay("refundWithSignature", [action]);
  }

  depositWithAuthorization(authorization: DepositAuthorization): Promise<SentTransaction> {
    return this.relay("depositWithAuthorization", [authorization]);
  }

  withdrawWithSignature(withdrawal: Withdrawal, signature: Hex): Promise<SentTransaction> {
    return this.relay("withdrawWithSignature", [withdrawal, signature]);
  }

  relayOrderTimer(call: RelayCall): Promise<SentTransaction> {
    return this.relay(call.operation, [call]);
  }

  private async relay(op: RelayOperation, args: unknown[]): Promise<SentTransaction> {
    try {
      return await this.send(op, args);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError("chain_unavailable", "could not send the transaction", undefined, { cause: error });
    }
  }
}
