/**
 * The API's signed single-payment and balance operations (confirm, dispute, refund, gasless deposit,
 * signed withdrawal), sent through a signer lane's submitter: the lane's key and nonce sequence, the
 * record-before-broadcast rule, re-broadcasts and fee bumps, like the batches. Two ChainWriters:
 *
 *  - SubmitterChainWriter (roles worker and all, on role all's jobs thread): sends at once on the
 *    process's own lanes;
 *  - QueuedChainWriter (role api, which holds no signer): stores the operation in the relay queue
 *    (store.relayRequests) and waits, bounded, for a worker's lane to send it (./relayQueue.ts).
 *
 * Both simulate each operation first (eth_estimateGas): what the escrow would reject becomes an
 * ApiError at once, with the code the API uses for that revert (REVERT_CODES). A call resolves once
 * the transaction is recorded and broadcast, not mined; the chain watcher applies its events
 * (confirmed, disputed, refunded, deposited, withdrawn) when it is.
 */
import { ApiError, ERROR_CODES, type ErrorCode } from "../errors";
import { RelayState, type Hex, type RelayRequestRecord } from "../domain";
import type { Withdrawal } from "../../protocol";
import {
  REVERT_CODES,
  RelayPendingError,
  type ChainWriter,
  type DepositAuthorization,
  type RelayCall,
  type SentTransaction,
  type SignedPaymentAction,
} from "../chain/chainWriter";
import { revertData } from "../chain/revert";
import { PaymentEscrow__factory, SettlementToken__factory } from "../../../typechain-types";
import { ChainUnavailableError, classifyRpcError } from "../chain/rpcErrors";
import { relayCalls, relayRequestId } from "../chain/relayCalls";
import type { RawReceipt } from "../chain/rawTypes";
import type { RelayerStore } from "../store/types";
import { NO_STORE_WRITES, type PurposeHandler } from "./batchOutcome";
import type { SubmitterPort } from "./submitter";
import { errorMessage, silentLogger, type Logger } from "../runtime/log";

/** Gas limit when the estimate fails for a reason other than a revert (the node, not the call). */
export const RELAY_FALLBACK_GAS = 400_000n;

export { relayCalls, relayRequestId, withdrawalIn } from "../chain/relayCalls";

const ERROR_INTERFACES = [PaymentEscrow__factory.createInterface(), SettlementToken__factory.createInterface()];

/**
 * A submission's purpose: `relay:<operation>` when sent at once, `relay:<operation>:<request id>`
 * when sent from the relay queue (the record names the request it carries, see ./relayQueue.ts).
 */
export const relayPurpose = (operation: string, requestId?: Hex): string =>
  requestId === undefined ? `relay:${operation}` : `relay:${operation}:${requestId}`;

/**
 * Simulates `data` (eth_estimateGas through `estimate`) and returns the gas limit it gave; what
 * would revert becomes the API's error for it, a node failure chain_unavailable.
 */
export async function simulateRelay(estimate: (data: Hex) => Promise<bigint>, data: Hex): Promise<bigint> {
  try {
    return await estimate(data);
  } catch (error) {
    throw toApiError(error);
  }
}

export class SubmitterChainWriter implements ChainWriter {
  private readonly log: Logger;

  constructor(
    private readonly submitter: SubmitterPort,
    logger?: Logger,
  ) {
    this.log = logger ?? silentLogger;
    submitter.registerPurpose("relay", relayHandler(this.log));
  }

  confirmWithSignature(a: SignedPaymentAction): Promise<SentTransaction> {
    return this.relay(relayCalls.confirmWithSignature(a));
  }

  openDisputeWithSignature(a: SignedPaymentAction): Promise<SentTransaction> {
    return this.relay(relayCalls.openDisputeWithSignature(a));
  }

  refundWithSignature(a: SignedPaymentAction & { totalRefund: bigint }): Promise<SentTransaction> {
    return this.relay(relayCalls.refundWithSignature(a));
  }

  depositWithAuthorization(d: DepositAuthorization): Promise<SentTransaction> {
    return this.relay(relayCalls.depositWithAuthorization(d));
  }

  withdrawWithSignature(withdrawal: Withdrawal, signature: Hex): Promise<SentTransaction> {
    return this.relay(relayCalls.withdrawWithSignature(withdrawal, signature));
  }

  relayOrderTimer(call: RelayCall): Promise<SentTransaction> {
    return this.relay(call);
  }

  private async relay(call: RelayCall): Promise<SentTransaction> {
    const gasLimit = await simulateRelay(
      (data) => this.submitter.gasLimitFor(data, RELAY_FALLBACK_GAS, { strict: true }),
      call.data,
    );
    try {
      const submission = await this.submitter.send(relayPurpose(call.operation), call.data, gasLimit);
      return { txHash: submission.txHash };
    } catch (error) {
      this.log.error({ operation: call.operation, err: errorMessage(error) }, "relayed operation not sent");
      throw toApiError(error);
    }
  }
}

export interface QueuedChainWriterOptions {
  store: RelayerStore;
  /** eth_estimateGas of a call to the escrow (a revert throws): the simulation before queueing. */
  estimateGas: (data: Hex) => Promise<bigint>;
  /** How long a request waits for a worker's lane to send it before 503 relay_pending (ms). */
  waitMs: number;
  /** How often the store is read meanwhile (ms). */
  pollMs: number;
  /** Milliseconds since the epoch (the request's timestamps). Default Date.now. */
  clock?: () => number;
}

/**
 * Role api's ChainWriter: an api instance opens no signer, so it queues each operation for the
 * workers' lanes and waits for the outcome. A request whose calldata is already queued (the same
 * signed operation again, to this instance or another) is not simulated or queued again: it answers
 * that request's outcome. Otherwise the call is simulated first, exactly as the lanes do, then
 * queued (idempotent on its id). The wait polls the store every `pollMs` for up to `waitMs`: sent →
 * the transaction; failed → the ApiError the worker recorded; still queued → RelayPendingError
 * (503 relay_pending, with Retry-After): it stays queued and is sent when a lane is free.
 */
export class QueuedChainWriter implements ChainWriter {
  private readonly clock: () => number;

  constructor(private readonly options: QueuedChainWriterOptions) {
    this.clock = options.clock ?? Date.now;
  }

  confirmWithSignature(a: SignedPaymentAction): Promise<SentTransaction> {
    return this.relay(relayCalls.confirmWithSignature(a));
  }

  openDisputeWithSignature(a: SignedPaymentAction): Promise<SentTransaction> {
    return this.relay(relayCalls.openDisputeWithSignature(a));
  }

  refundWithSignature(a: SignedPaymentAction & { totalRefund: bigint }): Promise<SentTransaction> {
    return this.relay(relayCalls.refundWithSignature(a));
  }

  depositWithAuthorization(d: DepositAuthorization): Promise<SentTransaction> {
    return this.relay(relayCalls.depositWithAuthorization(d));
  }

  withdrawWithSignature(withdrawal: Withdrawal, signature: Hex): Promise<SentTransaction> {
    return this.relay(relayCalls.withdrawWithSignature(withdrawal, signature));
  }

  relayOrderTimer(call: RelayCall): Promise<SentTransaction> {
    return this.relay(call);
  }

  async replay(call: RelayCall): Promise<SentTransaction | null> {
    const known = await this.options.store.relayRequests.get(relayRequestId(call.data));
    return known && this.outcome(known, true);
  }

  private async relay(call: RelayCall): Promise<SentTransaction> {
    const { store, estimateGas } = this.options;
    const id = relayRequestId(call.data);
    const known = await store.relayRequests.get(id);
    if (known) return this.outcome(known, true);
    await simulateRelay(estimateGas, call.data);
    const { record, inserted } = await store.relayRequests.enqueue({
      id,
      operation: call.operation,
      calldata: call.data,
      payer: call.payer,
      deadline: call.deadline,
      now: this.clock(),
    });
    return this.outcome(record, !inserted);
  }

  private async outcome(first: RelayRequestRecord, replayed: boolean): Promise<SentTransaction> {
    const { store, waitMs, pollMs } = this.options;
    const until = Date.now() + waitMs;
    let record: RelayRequestRecord | null = first;
    for (;;) {
      if (!record) throw new ApiError("conflict", "the relay request is no longer stored; send it again");
      if (record.state === RelayState.Sent) return { txHash: record.txHash!, ...(replayed ? { replayed } : {}) };
      if (record.state === RelayState.Failed) throw failedError(record);
      if (Date.now() >= until) {
        throw new RelayPendingError(record.id, replayed, Math.max(1, Math.ceil(pollMs / 1000)));
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(0, until - Date.now()))));
      record = await store.relayRequests.get(first.id);
    }
  }
}

/** The ApiError a failed relay request answers: the code and message the worker recorded. */
function failedError(record: RelayRequestRecord): ApiError {
  const code = record.errorCode !== null && record.errorCode in ERROR_CODES ? (record.errorCode as ErrorCode) : null;
  return new ApiError(code ?? "conflict", record.errorMessage ?? "the escrow rejected it");
}

/** A revert → the API's code for it; anything else → chain_unavailable. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (!(error instanceof ChainUnavailableError) && classifyRpcError(error) === "revert") {
    const data = revertData(error);
    if (data !== null && data.length >= 10) {
      for (const iface of ERROR_INTERFACES) {
        const parsed = iface.parseError(data);
        if (parsed) {
          return new ApiError(REVERT_CODES[parsed.name] ?? "conflict", `the escrow rejected it: ${parsed.name}`, {
            revert: parsed.name,
          });
        }
      }
    }
    return new ApiError("conflict", "the escrow rejected it", data ? { revert: data } : undefined);
  }
  return new ApiError("chain_unavailable", "could not send the transaction");
}

/**
 * Relayed operations carry no store state: their effects arrive through the watcher. `keys` is the
 * operation, and for a queued request `<operation>:<request id>`.
 */
export function relayHandler(log: Logger): PurposeHandler {
  const fields = (keys: string) => {
    const at = keys.indexOf(":");
    return at < 0 ? { operation: keys } : { operation: keys.slice(0, at), request: keys.slice(at + 1) };
  };
  return {
    onMined(keys: string, receipt: RawReceipt) {
      if (receipt.status !== 1)
        log.warn({ ...fields(keys), txHash: receipt.transactionHash }, "relayed operation reverted on chain");
      return NO_STORE_WRITES;
    },
    async onDropped(keys: string) {
      log.warn(fields(keys), "relayed operation dropped: its nonce was taken outside the relayer");
    },
  };
}
