/**
 * Follows payments through the relayer (GET /v1/payments/:id) and prints every state change it
 * sees, until each payment is in one of the target states. States after "submitted" come from the
 * escrow's events, so this is the chain's story as the relayer read it.
 */
import type { Hex, PaymentInfo, PaymentState } from "../../../src/sdk";
import { checkAborted, type DemoContext } from "./context";

/** How often the demo asks the relayer; its chain watcher polls the node every 500 ms. */
export const FOLLOW_POLL_MS = 400;
/** Batching (2 s), mining and the watcher take seconds; settlement waits for the settler's tick. */
export const FOLLOW_TIMEOUT_MS = 90_000;

export interface Followed {
  id: Hex;
  label: string;
}

/** Unix seconds of the chain as a date (the chain's clock runs ahead once the demo has moved it). */
function chainDate(seconds: bigint | null): string {
  return seconds === null ? "?" : new Date(Number(seconds) * 1000).toISOString().replace(".000Z", "Z");
}

function describe(p: PaymentInfo): string {
  switch (p.state) {
    case "submitted":
      return `submitted${p.txHash ? ` in tx ${p.txHash}` : ""}`;
    case "escrowed":
      // Batch ids count per escrow: each currency has its batch #1.
      return `escrowed in ${p.currency} batch #${p.batchId} (leaf ${p.leafIndex}, tx ${p.txHash}, hold ends ${chainDate(p.releaseAt)})`;
    case "rejected":
      return `rejected: ${p.rejectReason}`;
    default:
      return p.state;
  }
}

/** Resolves with the latest view of every payment once all are in `targets`; throws on timeout or a dead end. */
export async function follow(
  ctx: DemoContext,
  payments: Followed[],
  targets: PaymentState[],
  seen = new Map<Hex, PaymentState>(),
): Promise<Map<Hex, PaymentInfo>> {
  const latest = new Map<Hex, PaymentInfo>();
  const deadline = Date.now() + FOLLOW_TIMEOUT_MS;
  for (;;) {
    checkAborted(ctx);
    for (const { id, label } of payments) {
      const p = await ctx.customerApi.getPayment(id);
      latest.set(id, p);
      if (seen.get(id) !== p.state) {
        seen.set(id, p.state);
        ctx.log(`  ${label} ${id}: ${describe(p)}`);
      }
      if (p.state === "rejected" || p.state === "expired") {
        throw new Error(`payment ${id} (${label}) was ${p.state}${p.rejectReason ? `: ${p.rejectReason}` : ""}`);
      }
    }
    if (payments.every(({ id }) => targets.includes(latest.get(id)!.state))) return latest;
    if (Date.now() > deadline) {
      const stuck = payments.filter(({ id }) => !targets.includes(latest.get(id)!.state));
      throw new Error(
        `payments not ${targets.join("/")} after ${FOLLOW_TIMEOUT_MS / 1000} s: ` +
          stuck.map(({ id, label }) => `${label} ${latest.get(id)!.state}`).join(", "),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
  }
}
