/** What the escrow's events say about a run of payments: each escrowed, rejected or settled how many times. */
import type { Hex } from "../protocol";
import type { LocalChain } from "./network";

export interface EscrowEvents {
  /** Payment id → number of PaymentEscrowed events, with the batch of the last. */
  escrowed: Map<Hex, { count: number; batchId: bigint; merchantId: bigint }>;
  rejected: Map<Hex, number>;
  /** "<batchId>:<merchantId>" → number of TrancheSettled events. */
  settled: Map<string, number>;
}

/** PaymentEscrowed / PaymentRejected / TrancheSettled seen since the deployment. */
export async function escrowEvents(chain: LocalChain): Promise<EscrowEvents> {
  const { provider, escrow, escrowAddress, rpc } = chain;
  // Raw eth_getLogs decoded by hand: ethers' parseLog is too slow for the tens of thousands a bench makes.
  const head = await provider.getBlockNumber();
  const events: EscrowEvents = { escrowed: new Map(), rejected: new Map(), settled: new Map() };
  const topic = (name: string) => escrow.interface.getEvent(name as "PaymentEscrowed")!.topicHash;
  const [escrowedTopic, rejectedTopic, settledTopic] = ["PaymentEscrowed", "PaymentRejected", "TrancheSettled"].map(
    topic,
  );
  const STEP = 500;
  for (let from = chain.deployBlock; from <= head; from += STEP) {
    const to = Math.min(head, from + STEP - 1);
    const logs = await rpc<{ topics: string[]; data: string; removed?: boolean }[]>("eth_getLogs", [
      {
        address: escrowAddress,
        fromBlock: `0x${from.toString(16)}`,
        toBlock: `0x${to.toString(16)}`,
        topics: [[escrowedTopic, rejectedTopic, settledTopic]],
      },
    ]);
    for (const log of logs) {
      if (log.removed) continue;
      const [topic0, a, b, c] = log.topics;
      if (topic0 === escrowedTopic) {
        const id = a.toLowerCase() as Hex;
        const seen = events.escrowed.get(id);
        events.escrowed.set(id, {
          count: (seen?.count ?? 0) + 1,
          batchId: BigInt(log.data.slice(0, 66)),
          merchantId: BigInt(c),
        });
      } else if (topic0 === rejectedTopic) {
        const id = a.toLowerCase() as Hex;
        events.rejected.set(id, (events.rejected.get(id) ?? 0) + 1);
      } else if (topic0 === settledTopic) {
        const key = `${BigInt(a)}:${BigInt(b)}`;
        events.settled.set(key, (events.settled.get(key) ?? 0) + 1);
      }
    }
  }
  return events;
}
