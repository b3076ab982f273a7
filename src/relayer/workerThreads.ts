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
