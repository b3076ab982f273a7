import { ApiError } from "../errors";
import type { Hex } from "../domain";

const DAY_MS = 86_400_000;
/** Payers tracked at most; past this the oldest are forgotten (a quota is a cost guard, not a ledger). */
const MAX_PAYERS = 100_000;

/**
 * Relayed withdrawals and gasless deposits per payer in a rolling 24 h window. The relayer pays the
 * gas of each, so a payer cannot make it send more than `perDay` of them. In memory, per process: a
 * restart forgets the window (at worst one more day's quota).
 *
 * `reserve` takes a slot before the transaction is sent; `release` gives it back when nothing was
 * sent (the escrow would have refused it), so a refused attempt costs the payer nothing.
 */
export class RelayQuota {
  private readonly sent = new Map<Hex, number[]>();

  constructor(
    private readonly perDay: number,
    private readonly clock: () => number,
  ) {}

  /** Takes a slot for `payer` or throws 429 relay_quota_exceeded with the seconds until one frees. */
  reserve(payer: Hex): number {
    const now = this.clock();
    const times = (this.sent.get(payer) ?? []).filter((t) => t > now - DAY_MS);
    if (times.length >= this.perDay) {
      const retryAfterSeconds = Math.max(1, Math.ceil((times[0] + DAY_MS - now) / 1000));
      throw new ApiError("relay_quota_exceeded", `at most ${this.perDay} relayed withdrawals and deposits per day`, {
        limit: this.perDay,
        retryAfterSeconds,
      });
    }
    times.push(now);
    this.sent.delete(payer);
    this.sent.set(payer, times);
    if (this.sent.size > MAX_PAYERS) this.sent.delete(this.sent.keys().next().value!);
    return now;
  }

  /** Gives back the slot `reserve` returned (the operation was not sent). */
  release(payer: Hex, slot: number): void {
    const times = this.sent.get(payer);
    const at = times?.indexOf(slot) ?? -1;
    if (times && at >= 0) times.splice(at, 1);
  }
}
