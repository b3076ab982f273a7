/**
 * Thread of the relayer's transaction signer (./signingThread.ts). Serialising, hashing and signing
 * a 400-payment batch (166 KB of calldata) takes ~40 ms of JavaScript; here it runs beside the HTTP
 * thread instead of stopping it once per batch.
 */
import { parentPort, workerData } from "node:worker_threads";
import { privateKeyToAccount } from "viem/accounts";
import { errorText } from "../workerThreads";
import { signEip1559, type SignReply, type SignRequest } from "./signingThread";

const account = privateKeyToAccount((workerData as { key: `0x${string}` }).key);

parentPort!.on("message", (request: SignRequest) => {
  signEip1559(account, request.tx).then(
    (result) => parentPort!.postMessage({ seq: request.seq, result } satisfies SignReply),
    (error: unknown) => parentPort!.postMessage({ seq: request.seq, error: errorText(error) } satisfies SignReply),
  );
});
