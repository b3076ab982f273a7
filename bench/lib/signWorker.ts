/**
 * Worker thread of bench/lib/signing.ts: signs one slice of a phase's payments with libsecp256k1,
 * exactly as `LocalChain.signPayment` does, off the bench's event loop.
 */
import { parentPort, workerData } from "node:worker_threads";
import secp256k1 from "secp256k1";
import { bytesToHex, keccakUtf8 } from "../../src/protocol/hash";
import type { Address, Hex, Payment } from "../../src/protocol";
import { EscrowDigester } from "../../src/protocol/digest";
import { paymentBody } from "../../src/sdk/wire";
import type { SignJob, SignedSlice } from "./signing";

const { chainId, escrow } = workerData as { chainId: bigint; escrow: Hex };
const digester = new EscrowDigester(chainId, escrow.toLowerCase() as Hex);

parentPort!.on("message", (job: SignJob) => {
  const keys = job.payers.map((p) => Buffer.from(p.privateKey.slice(2), "hex"));
  const slice: SignedSlice = { seq: job.seq, payments: [] };
  for (const item of job.items) {
    const payer = job.payers[item.payer];
    const payment: Payment = {
      payer: payer.address.toLowerCase() as Address,
      merchantId: item.merchantId,
      amount: job.amount,
      orderRef: keccakUtf8(item.orderLabel),
      nonce: item.nonce,
      validAfter: 0n,
      deadline: job.deadline,
      hold: item.hold,
    };
    const digest = digester.payment(payment);
    const { signature, recid } = secp256k1.ecdsaSign(digest, keys[item.payer]);
    const sig = `${bytesToHex(signature)}${(27 + recid).toString(16)}` as Hex;
    slice.payments.push({
      id: bytesToHex(digest),
      payment,
      signature: sig,
      body: paymentBody({ payment, signature: sig }),
    });
  }
  parentPort!.postMessage(slice);
});
