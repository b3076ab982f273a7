/**
 * Worker thread of the signature pool (./signaturePool.ts): EIP-712 digest and ECDSA recovery of
 * payments, in batches, off the thread that serves HTTP. Imports only what it computes with, so the
 * worker starts in well under a second.
 */
import { parentPort, workerData } from "node:worker_threads";
import { bytesToHex as toHex, hexToBytes } from "../../protocol/hash";
import { EscrowDigester } from "./digest";
import { recoverAddress } from "./signature";
import { decodeRecoveryRequest, encodeRecoveryResponse, type Recovered, type WorkerSetup } from "./signaturePool";

const setup = workerData as WorkerSetup;
const digester = new EscrowDigester(BigInt(setup.chainId), setup.escrow);

parentPort!.on("message", (message: string) => {
  const { seq, items } = decodeRecoveryRequest(message);
  const results = items.map(([payment, signature]): Recovered => {
    const digest = digester.payment(payment);
    return { id: toHex(digest), signer: recoverAddress(digest, hexToBytes(signature)) };
  });
  parentPort!.postMessage(encodeRecoveryResponse(seq, results));
});
