/** Worker-thread plumbing: start a module as a worker (under ts-node too), and one request at a time to a single worker. */
import { Worker } from "node:worker_threads";

/**
 * Starts a worker thread from a module next to the caller. Under ts-node (tests, `npm start`,
 * the benchmark) the worker registers ts-node itself (transpile only: the main process already
 * type-checked or chose not to); compiled to JavaScript, it runs the .js file as is.
 */
export function startModuleWorker(modulePathWithoutExtension: string, workerData: unknown): Worker {
  if (__filename.endsWith(".ts")) {
    const entry = `${modulePathWithoutExtension}.ts`;
    const code = `require("ts-node").register({ transpileOnly: true }); require(${JSON.stringify(entry)});`;
    return new Worker(code, { eval: true, workerData });
  }
  return new Worker(`${modulePathWithoutExtension}.js`, { workerData });
}

/** A worker's answer to request `seq`: its result, or the message of the error the request failed with. */
export type WorkerAnswer<Result> = { seq: number; result: Result } | { seq: number; error: string };

export interface SingleWorkerOptions<Request, Result> {
  /** The worker's module, without extension (see `startModuleWorker`). */
  module: string;
  workerData: unknown;
  /** Names the worker in errors: "<name>: <the worker's error>", "<name> is closed". */
  name: string;
  /** Names the thread in "<thread> exited with code <n>" (default: `name`). */
  thread?: string;
  /** The message that carries request `seq` to the worker. */
  encode(seq: number, request: Request): unknown;
  /** The worker's reply as an answer (default: the reply is a `WorkerAnswer` object). */
  decode?(reply: unknown): WorkerAnswer<Result>;
}

/**
 * One worker thread answering requests, each reply naming the request's sequence number: the
 * plumbing the transaction signing thread and the intake writer thread share. The thread keeps the
 * process alive only while a request is in flight. If it dies, every request in flight fails with
 * that error (the owners' contracts say what that means for their callers) and a new thread serves
 * the requests that follow.
 */
export class SingleWorker<Request, Result> {
  private current: Worker;
  private readonly inFlight = new Map<number, { resolve: (result: Result) => void; reject: (e: unknown) => void }>();
  private seq = 0;
  private closed = false;

  constructor(private readonly options: SingleWorkerOptions<Request, Result>) {
    this.current = this.spawn();
  }

  /** The thread serving requests now (tests terminate it to play a crash). */
  get worker(): Worker {
    return this.current;
  }

  request(request: Request): Promise<Result> {
    if (this.closed) return Promise.reject(new Error(`${this.options.name} is closed`));
    return new Promise((resolve, reject) => {
      const seq = ++this.seq;
      const message = this.options.encode(seq, request);
      this.inFlight.set(seq, { resolve, reject });
      this.current.ref();
      this.current.postMessage(message);
    });
  }

  /**
   * Stops the thread. With `drain`, first waits until no request is in flight (new requests are
   * still taken meanwhile); without, the requests in flight fail.
   */
  async close(drain = false): Promise<void> {
    if (drain) {
      if (this.closed) return;
      while (this.inFlight.size > 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    this.closed = true;
    await this.current.terminate();
  }

  private spawn(): Worker {
    const { module, workerData, name, thread = name, decode = (reply) => reply as WorkerAnswer<Result> } = this.options;
    const worker = startModuleWorker(module, workerData);
    worker.on("message", (reply: unknown) => {
      const answer = decode(reply);
      const waiting = this.inFlight.get(answer.seq);
      if (!waiting) return;
      this.inFlight.delete(answer.seq);
      if (this.inFlight.size === 0) worker.unref();
      if ("error" in answer) waiting.reject(new Error(`${name}: ${answer.error}`));
      else waiting.resolve(answer.result);
    });
    const fail = (error: unknown) => {
      if (this.current !== worker) return;
      for (const waiting of this.inFlight.values()) waiting.reject(error);
      this.inFlight.clear();
      if (!this.closed) this.current = this.spawn();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`${thread} exited with code ${code}`)));
    // An idle thread must not keep the process alive; one with a request in flight does.
    worker.unref();
    return worker;
  }
}

/** The message of an error a worker caught, for its `WorkerAnswer`. */
export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));
