import { getAddress, type Signer } from "ethers";
import { PaymentEscrow__factory, SettlementToken__factory, type PaymentEscrow } from "../../../typechain-types";
import { ApiError, type ErrorCode } from "../errors";
import type { Hex } from "../domain";
import type { Payment, Withdrawal } from "../../protocol";
import { revertData } from "./revert";

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

export interface SentTransaction {
  txHash: Hex;
}

/**
 * The signed single-payment and balance operations the API relays to the escrow. Implementations
 * must reject, with an ApiError, whatever the escrow would reject (simulate before sending), so a
 * client learns of a bad signature or a closed dispute window at once; and resolve once the
 * transaction is sent (or durably queued), not mined. The chain engineer's submitter-backed
 * implementation replaces DirectChainWriter below in production.
 */
export interface ChainWriter {
  confirmWithSignature(action: SignedPaymentAction): Promise<SentTransaction>;
  openDisputeWithSignature(action: SignedPaymentAction): Promise<SentTransaction>;
  refundWithSignature(action: SignedPaymentAction & { totalRefund: bigint }): Promise<SentTransaction>;
  depositWithAuthorization(authorization: DepositAuthorization): Promise<SentTransaction>;
  withdrawWithSignature(withdrawal: Withdrawal, signature: Hex): Promise<SentTransaction>;
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
  AccountBlocklisted: "forbidden",
};

/**
 * Sends each operation straight from one signer, after a static call that surfaces the revert.
 * Sends are serialised so its nonces never collide with each other; give it a key of its own (not
 * the batch submitter's) until the submitter-backed writer exists.
 */
export class DirectChainWriter implements ChainWriter {
  private readonly escrow: PaymentEscrow;
  private readonly errorInterfaces = [
    PaymentEscrow__factory.createInterface(),
    SettlementToken__factory.createInterface(),
  ];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(signer: Signer, escrowAddress: string) {
    this.escrow = PaymentEscrow__factory.connect(getAddress(escrowAddress), signer);
  }

  confirmWithSignature(a: SignedPaymentAction): Promise<SentTransaction> {
    return this.send(this.escrow.confirmWithSignature, [a.payment, a.inclusion, a.deadline, a.signature]);
  }

  openDisputeWithSignature(a: SignedPaymentAction): Promise<SentTransaction> {
    return this.send(this.escrow.openDisputeWithSignature, [a.payment, a.inclusion, a.deadline, a.signature]);
  }

  refundWithSignature(a: SignedPaymentAction & { totalRefund: bigint }): Promise<SentTransaction> {
    return this.send(this.escrow.refundWithSignature, [a.payment, a.inclusion, a.totalRefund, a.deadline, a.signature]);
  }

  depositWithAuthorization(d: DepositAuthorization): Promise<SentTransaction> {
    return this.send(this.escrow.depositWithAuthorization, [
      d.from,
      d.amount,
      d.validAfter,
      d.validBefore,
      d.salt,
      d.signature,
    ]);
  }

  withdrawWithSignature(withdrawal: Withdrawal, signature: Hex): Promise<SentTransaction> {
    return this.send(this.escrow.withdrawWithSignature, [withdrawal, signature]);
  }

  private send<A extends unknown[]>(
    method: { staticCall(...args: A): Promise<unknown>; send(...args: A): Promise<{ hash: string }> },
    args: A,
  ): Promise<SentTransaction> {
    const run = async (): Promise<SentTransaction> => {
      try {
        await method.staticCall(...args);
        const tx = await method.send(...args);
        return { txHash: tx.hash as Hex };
      } catch (error) {
        throw this.toApiError(error);
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private toApiError(error: unknown): ApiError {
    if (error instanceof ApiError) return error;
    const data = revertData(error);
    if (data !== null) {
      for (const iface of this.errorInterfaces) {
        const parsed = data.length >= 10 ? iface.parseError(data) : null;
        if (parsed) {
          const code = REVERT_CODES[parsed.name] ?? "conflict";
          return new ApiError(code, `the escrow rejected it: ${parsed.name}`, { revert: parsed.name });
        }
      }
      return new ApiError("conflict", "the escrow rejected it", { revert: data });
    }
    return new ApiError("chain_unavailable", "could not send the transaction", undefined, { cause: error });
  }
}
