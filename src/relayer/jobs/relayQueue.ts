/**
 * The relay queue's sender: the operations api instances queued (store.relayRequests; see
 * QueuedChainWriter in ./relayWriter.ts), sent by the signer lanes this worker holds.
 *
 * Every tick each held lane claims up to RELAY_CLAIM_LIMIT queued requests (oldest first; a claim
 * by a live lane is left to it, one whose lease was released or expired is free again) and handles
 * them in order:
 *
 *  1. the submission record is the source of truth: a request whose transaction is recorded
 *     (`relay:<operation>:<id>`, in any state but failed) was sent, by this lane before a crash or
 *     by the previous holder of the lane: it is marked sent from that record, never sent again;
 *  2. past its signed deadline it is failed with `expired`;
 *  3. it is simulated again on the lane (eth_estimateGas): one that would now revert is failed with
 *     the code the API uses for that revert;
 *  4. it is sent through the lane's submitter (record before broadcast, fee bumps, re-broadcasts,
 *     all under the lane's fence) and marked sent with its transaction.
 *
 * A send that fails for now (the node, an unfunded signer) gives the request back to the queue for
 * any lane, and the lane stops for this tick. A lane that lost its lease stops at once: its claims
 * go to the next holder of the lane (the same lease name) or, once its lease lapses, to any lane.
 * A kill -9 between the record and the mark leaves a request claimed with a recorded transaction:
 * step 1 marks it sent. One killed before the record is simply sent by whoever claims it next.
 */
import { SubmissionState, type Hex, type RelayRequestRecord } from "../domain";
import type { RelayerConfig } from "../config";
import { FencedError } from "../store/errors";
import type { RelayerStore } from "../store/types";
import type { Outflow } from "../ledger/payerAccounts";
import { systemClock, type Clock } from "../runtime/clock";
import { errorMessage, silentLogger, type Logger } from "../runtime/log";
import { LogThrottle } from "../webhooks/logThrottle";
import { Job, type JobMetrics } from "./job";
import { RELAY_FALLBACK_GAS, relayPurpose, toApiError, withdrawalIn } from "./relayWriter";
import type { SubmitterPort } from "./submitter";

/** Requests a lane claims per tick at most (the rest is left to the other lanes). */
export const RELAY_CLAIM_LIMIT = 4;
/** The queue is polled at the jobs' interval, but at least this often: a client is waiting. */
export const RELAY_QUEUE_MAX_INTERVAL_MS = 250;
/** Repeated "not sent for now" lines: at most one per lane per this interval. */
const RETRY_LOG_INTERVAL_MS = 60_000;

/** A signer lane this process holds now. */
export interface RelayLane {
  /** Its lease name, "lane:<address>": what its claims are recorded under. */
  lease: string;
  submitter: SubmitterPort;
}

export interface RelayQueueOptions {
  store: RelayerStore;
  /** The lanes held now (none: nothing is claimed). */
  lanes: () => readonly RelayLane[];
  config: Pick<RelayerConfig, "pollIntervalMs">;
  clock?: Clock;
  logger?: Logger;
  metrics?: JobMetrics;
  /**
   * A withdrawal was sent: what it takes is on its way out (the jobs' payer ledger, whose batch
   * simulation must not count it as there to pay with), as on role all's direct path.
   */
  onWithdrawalSent?: (payer: Hex, outflow: Outflow) => void;
}

type Outcome = "next" | "stop";

export class RelayQueue extends Job {
  private readonly store: RelayerStore;
  private readonly clock: Clock;
  private readonly throttle = new LogThrottle(RETRY_LOG_INTERVAL_MS);

  constructor(private readonly options: RelayQueueOptions) {
    super("relay-queue", options.logger ?? silentLogger, options.metrics);
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
  }

  protected intervalMs(): number {
    return Math.min(this.options.config.pollIntervalMs, RELAY_QUEUE_MAX_INTERVAL_MS);
  }

  protected async run(): Promise<void> {
    const lanes = this.options.lanes();
    if (lanes.length === 0) return;
    await Promise.all(lanes.map((lane) => this.runLane(lane)));
  }

  private async runLane(lane: RelayLane): Promise<void> {
    const claimed = await this.store.relayRequests.claim(lane.lease, this.clock.now(), RELAY_CLAIM_LIMIT);
    for (const request of claimed) {
      if ((await this.handle(lane, request)) === "stop") return;
    }
  }

  private async handle(lane: RelayLane, request: RelayRequestRecord): Promise<Outcome> {
    const purpose = relayPurpose(request.operation, request.id);
    // 1. Recorded already (a crash after the record, or the lane's previous holder): sent.
    const recorded = (await this.store.submissions.listByPurpose(purpose)).find(
      (s) => s.state !== SubmissionState.Failed,
    );
    if (recorded) {
      await this.sent(request, recorded.txHash, "recovered");
      return "next";
    }
    // 2. Too late to execute.
    const nowSeconds = BigInt(Math.floor(this.clock.now() / 1000));
    if (request.deadline !== null && nowSeconds > request.deadline) {
      await this.failed(request, "expired", "its deadline passed before a signer lane could send it");
      return "next";
    }
    // 3. What the escrow would refuse now is refused, with the API's code; 4. sent on the lane.
    let txHash: Hex;
    try {
      const gasLimit = await lane.submitter.gasLimitFor(request.calldata, RELAY_FALLBACK_GAS, { strict: true });
      txHash = (await lane.submitter.send(purpose, request.calldata, gasLimit)).txHash;
    } catch (error) {
      return this.notSent(lane, request, error);
    }
    await this.sent(request, txHash, "sent");
    return "next";
  }

  private async notSent(lane: RelayLane, request: RelayRequestRecord, error: unknown): Promise<Outcome> {
    // The lane is gone (its submitter reported it): the lane's next holder finds the claim.
    if (error instanceof FencedError) return "stop";
    const apiError = toApiError(error);
    if (apiError.code !== "chain_unavailable") {
      await this.failed(request, apiError.code, apiError.message);
      return "next";
    }
    // Not sent for now (node unreachable, signer unfunded, ...): back to the queue for any lane.
    await this.store.relayRequests.release(request.id, lane.lease, this.clock.now());
    this.metrics?.failures.inc({ component: "relay-queue", reason: "not_sent" });
    const suppressed = this.throttle.take(lane.lease);
    if (suppressed !== null && (error as { reported?: boolean } | null)?.reported !== true) {
      this.log.warn(
        { lane: lane.lease, request: request.id, operation: request.operation, err: errorMessage(error), suppressed },
        "relay request not sent for now; it stays queued",
      );
    }
    return "stop";
  }

  private async sent(request: RelayRequestRecord, txHash: Hex, how: "sent" | "recovered"): Promise<void> {
    if (!(await this.store.relayRequests.markSent(request.id, txHash, this.clock.now()))) return;
    this.metrics?.relayResults.inc({ outcome: how });
    this.log.info(
      { request: request.id, operation: request.operation, txHash, recovered: how === "recovered" },
      "relay request sent",
    );
    if (request.operation === "withdrawWithSignature") {
      const w = withdrawalIn(request.calldata);
      this.options.onWithdrawalSent?.(w.payer as Hex, { nonce: w.nonce, amount: w.amount, deadline: w.deadline });
    }
  }

  private async failed(request: RelayRequestRecord, code: string, message: string): Promise<void> {
    if (!(await this.store.relayRequests.markFailed(request.id, code, message, this.clock.now()))) return;
    this.metrics?.relayResults.inc({ outcome: "failed" });
    this.log.info({ request: request.id, operation: request.operation, code }, "relay request failed");
  }
}
