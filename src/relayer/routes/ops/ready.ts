import { ReadyView } from "../../../protocol/schemas";
import { ApiError } from "../../errors";
import { defineRoute } from "../../http/route";

/** A dependency slower than this counts as down: a probe must answer quickly either way. */
const PROBE_TIMEOUT_MS = 2_000;

async function probe(check: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("timed out")), PROBE_TIMEOUT_MS))),
    ]);
    return "ok";
  } catch (error) {
    return error instanceof Error ? error.message.slice(0, 120) : "failed";
  } finally {
    clearTimeout(timer);
  }
}

/**
 * GET /ready — readiness: the store answers a read, the chain node answers eth_blockNumber, and no
 * reported condition holds (`reasons`: signer_unfunded, storage_unavailable, jobs_unavailable; see src/relayer/readiness.ts).
 */
export default defineRoute(
  "GET /ready",
  "Readiness (store and chain reachable)",
  { tag: "operations", rateLimited: false, response: { 200: ReadyView } },
  async (_request, ctx) => {
    const [store, chain] = await Promise.all([
      probe(() => ctx.store.chainCursor.get("readiness-probe")),
      probe(() => ctx.chain.blockNumber()),
    ]);
    // A store that failed for want of space is tried with a real write: it ends the condition.
    if (ctx.readiness.has("storage_unavailable")) await ctx.store.storage?.probe();
    const reasons = [...new Set(ctx.readiness.conditions().map((c) => c.reason))];
    if (store !== "ok" || chain !== "ok")
      throw new ApiError("not_ready", "a dependency is unavailable", { store, chain, reasons });
    if (reasons.length > 0) {
      const messages = ctx.readiness.conditions().map((c) => c.message);
      throw new ApiError("not_ready", messages.join("; "), { store, chain, reasons });
    }
    return { status: "ready" as const, store, chain };
  },
);
