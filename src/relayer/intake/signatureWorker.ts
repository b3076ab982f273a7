/**
 * Worker thread of the signature pool (./signaturePool.ts): EIP-712 digest and ECDSA recovery of
 * payments, in batches, off the thread that serves HTTP. Each batch names its escrow's domain (one
 * pool serves every currency); the digester of each domain seen is kept. Imports only what it
 * computes with, so the worker starts in well under a second.
 */
import { parentPort } from "node:worker_threads";
import { bytesToHex as toHex, hexToBytes } from "../../protocol/hash";
import { EscrowDigester } from "../../protocol/digest";
import { recoverAddress } from "./signature";
import { decodeRecoveryRequest, encodeRecoveryResponse, type Recovered, type RecoveryDomain } from "./signaturePool";

/** A digester per domain: its domain separator is hashed once. A relayer serves a handful of escrows. */
const digesters = new Map<string, EscrowDigester>();

function digesterFor(domain: RecoveryDomain): EscrowDigester {
  const key = `${domain.chainId}:${domain.escrow}`;
  let digester = digesters.get(key);
  if (!digester) {
    digester = new EscrowDigester(BigInt(domain.chainId), domain.escrow);
    digesters.set(key, digester);
  }
  return digester;
}

parentPort!.on("message", (message: string) => {
  const { seq, domain, items } = decodeRecoveryRequest(message);
  const digester = domain && items.length > 0 ? digesterFor(domain) : null;
  const results = items.map(([payment, signature]): Recovered => {
    const digest = digester!.payment(payment);
    return { id: toHex(digest), signer: recoverAddress(digest, hexToBytes(signature)) };
  });
  parentPort!.postMessage(encodeRecoveryResponse(seq, results));
});
