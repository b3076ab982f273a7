/**
 * Thread of the relayer's transaction signer (./signingThread.ts). Serialising, hashing and signing
 * a large batch is mostly viem's serialiser in JavaScript; here it runs beside the HTTP thread
 * instead of stopping it once per batch.
 */
import { parentPort, workerData } from "node:worker_threads";
import { errorText } from "../runtime/workerThreads";
import { privateKeyBytes, signEip1559, type SignReply, type SignRequest } from "./signingThread";

const key = privateKeyBytes((workerData as { key: `0x${string}` }).key);

parentPort!.on("message", (request: SignRequest) => {
  let reply: SignReply;
  try {
    reply = { seq: request.seq, result: signEip1559(key, request.tx) };
  } catch (error) {
    reply = { seq: request.seq, error: errorText(error) };
  }
  parentPort!.postMessage(reply);
});
