/** The signed operations the API relays to the escrow, and the escrow's reverts as API error codes. */
import { ApiError, type ErrorCode } from "../errors";
import type { Hex, RelayOperation } from "../domain";
import type { Payment, Withdrawal } from "../../protocol";

/** Where a payment sits on chain: its batch and the Merkle proof of its id in that batch's root. */
export interface Inclusion {
  batchId: bigint;
  proof: Hex[];
}

export interface SignedPaymentAction {
  payment: Payment;
  inclusion: Inclusion;
  deadline: bigint;
  signature: Hex;
}

export interface DepositAuthorization {
  from: Hex;
  amount: bigint;
  validAfter: bigint;
  validBefore: bigint;
  /** Deposit salt (bytes32): the authorization's EIP-3009 nonce is derived from it on chain. */
  salt: Hex;
  signature: Hex;
}

/** One relayed operation: its escrow calldata and what the relay queue keeps beside it (./relayCalls.ts). */
export interface RelayCall {
  operation: RelayOperation;
  data: Hex;
  /** The customer it acts for. */
  payer: Hex | null;
  /** Last unix second it can execute (the signed deadline; a deposit's validBefore − 1). */
  deadline: bigint;
}

export interface SentTransaction {
  txHash: Hex;
  /**
   * The relay queue's answer for a request an earlier request queued (the same signed operation
   * sent again, to this instance or another): nothing new was queued or sent.
   */
  replayed?: boolean;
}

/**
 * 503 relay_pending: the operation is durably queued for the workers' signer lanes, and none sent it
 * within the wait. It will still be sent; the same request again answers its outcome (202 with the
 * transaction, or the error the escrow's verdict maps to). `replayed`: an earlier request queued it.
 */
export class RelayPendingError extends ApiError {
  constructor(
    readonly requestId: Hex,
    readonly replayed: boolean,
    retryAfterSeconds: number,
  ) {
    super("relay_pending", "the request is queued for sending and not sent yet; retrying the same request is safe", {
      requestId,
      retryAfterSeconds,
    });
    this.name = "RelayPendingError";
  }
}

/**
 * The signed single-payment and balance operations the API relays to the escrow. Implementations
 * must reject, with an ApiError, whatever the escrow would reject (simulate before sending), so a
 * client learns of a bad signature or a closed dispute window at once; and resolve once the
 * transaction is sent, not mined. The relayer's (jobs/relayWriter.ts) send through the submitter
 * (roles worker and all) or through the relay queue a worker's lanes send from (role api), which
 * answers RelayPendingError when no lane sent the operation in time.
 */
export interface ChainWriter {
  confirmWithSignature(action: SignedPaymentAction): Promise<SentTransaction>;
  openDisputeWithSignature(action: SignedPaymentAction): Promise<SentTransaction>;
  refundWithSignature(action: SignedPaymentAction & { totalRefund: bigint }): Promise<SentTransaction>;
  depositWithAuthorization(authorization: DepositAuthorization): Promise<SentTransaction>;
  withdrawWithSignature(withdrawal: Withdrawal, signature: Hex): Promise<SentTransaction>;
  /** A signed order-timer action, its call built by relayCalls (extend hold, refund request, reject, escalate). */
  relayOrderTimer(call: RelayCall): Promise<SentTransaction>;
  /**
   * The outcome of this exact operation if it was relayed before (the relay queue: the same signed
   * request again, once its effect may already be applied and the route's own checks would refuse
   * it): the transaction (`replayed`), its failure, or RelayPendingError while it is still queued;
   * null if it was never relayed. Absent: the writer keeps no such record (role all's direct path).
   */
  replay?(call: RelayCall): Promise<SentTransaction | null>;
}

/** Escrow and token custom errors → API codes. Unlisted reverts are `conflict`. */
export const REVERT_CODES: Record<string, ErrorCode> = {
  InvalidAmount: "invalid_amount",
  InsufficientBalance: "insufficient_balance",
  ERC20InsufficientBalance: "insufficient_balance",
  SignatureNotYetValid: "not_yet_valid",
  AuthorizationNotYetValid: "not_yet_valid",
  SignatureExpired: "expired",
  AuthorizationExpired: "expired",
  InvalidSigner: "invalid_signature",
  InvalidSignature: "invalid_signature",
  NonceUnavailable: "nonce_unavailable",
  AuthorizationUsedOrCanceled: "nonce_unavailable",
  MerchantNotActive: "merchant_not_active",
  NotMerchantOwner: "invalid_signature",
  CustomerBlocklisted: "forbidden",
  StaleOrdinal: "stale_ordinal",
  AccountBlocklisted: "forbidden",
};
