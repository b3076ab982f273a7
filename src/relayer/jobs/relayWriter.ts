/**
 * The API's signed single-payment and balance operations (confirm, dispute, refund, gasless deposit,
 * signed withdrawal) sent through the submitter: the relayer's one key and nonce sequence, the
 * record-before-broadcast rule, re-broadcasts and fee bumps, like the batches.
 *
 * Each operation is simulated first (eth_estimateGas from the relayer's address): what the escrow
 * would reject becomes an ApiError at once, with the code the API uses for that revert. The call
 * resolves once the transaction is recorded and broadcast, not mined; the chain watcher applies its
 * events (confirmed, disputed, refunded) when it is.
 */
import type { Interface } from "ethers";
import { ApiError } from "../errors";
import type { Hex } from "../domain";
import type { Withdrawal } from "../../protocol";
import {
  REVERT_CODES,
  type ChainWriter,
  type DepositAuthorization,
  type SentTransaction,
  type SignedPaymentAction,
} from "../chain/chainWriter";
import { revertData } from "../chain/revert";
import { PaymentEscrow__factory, SettlementToken__factory } from "../../../typechain-types";
import { ChainUnavailableError, classifyRpcError } from "../chain/rpcErrors";
import { escrowInterface } from "../chain/calldata";
import type { RawReceipt } from "../chain/rawTypes";
import { NO_STORE_WRITES, type PurposeHandler } from "./batchOutcome";
import type { SubmitterPort } from "./submitter";
import { errorMessage, silentLogger, type Logger } from "../runtime/log";

/** Gas limit when the estimate fails for a reason other than a revert (the node, not the call). */
const RELAY_FALLBACK_GAS = 400_000n;

const ERROR_INTERFACES = [PaymentEscrow__factory.createInterface(), SettlementToken__factory.createInterface()];

type RelayOperation =
  | "confirmWithSignature"
  | "openDisputeWithSignature"
  | "refundWithSignature"
  | "depositWithAuthorization"
  | "withdrawWithSignature";

export const relayPurpose = (operation: string): string => `relay:${operation}`;

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
    return this.relay("confirmWithSignature", [a.payment, a.inclusion, a.deadline, a.signature]);
  }

  openDisputeWithSignature(a: SignedPaymentAction): Promise<SentTransaction> {
    return this.relay("openDisputeWithSignature", [a.payment, a.inclusion, a.deadline, a.signature]);
  }

  refundWithSignature(a: SignedPaymentAction & { totalRefund: bigint }): Promise<SentTransaction> {
    return this.relay("refundWithSignature", [a.payment, a.inclusion, a.totalRefund, a.deadline, a.signature]);
  }

  depositWithAuthorization(d: DepositAuthorization): Promise<SentTransaction> {
    return this.relay("depositWithAuthorization", [d.from, d.amount, d.validAfter, d.validBefore, d.salt, d.signature]);
  }

  withdrawWithSignature(withdrawal: Withdrawal, signature: Hex): Promise<SentTransaction> {
    return this.relay("withdrawWithSignature", [withdrawal, signature]);
  }

  private async relay(operation: RelayOperation, args: readonly unknown[]): Promise<SentTransaction> {
    const data = (escrowInterface as Interface).encodeFunctionData(operation, args);
    let gasLimit: bigint;
    try {
      gasLimit = await this.submitter.gasLimitFor(data, RELAY_FALLBACK_GAS, { strict: true });
    } catch (error) {
      throw toApiError(error);
    }
    try {
      const submission = await this.submitter.send(relayPurpose(operation), data, gasLimit);
      return { txHash: submission.txHash };
    } catch (error) {
      this.log.error({ operation, err: errorMessage(error) }, "relayed operation not sent");
      throw toApiError(error);
    }
  }
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

/** Relayed operations carry no store state: their effects arrive through the watcher. */
function relayHandler(log: Logger): PurposeHandler {
  return {
    onMined(keys: string, receipt: RawReceipt) {
      if (receipt.status !== 1)
        log.warn({ operation: keys, txHash: receipt.transactionHash }, "relayed operation reverted on chain");
      return NO_STORE_WRITES;
    },
    async onDropped(keys: string) {
      log.warn({ operation: keys }, "relayed operation dropped: its nonce was taken outside the relayer");
    },
  };
}
