/**
 * A ChainWriter for API tests that run without the chain jobs: each operation is sent straight
 * from one signer after a static call that surfaces the revert.
 */
import { getAddress, type Signer } from "ethers";
import { PaymentEscrow__factory, SettlementToken__factory, type PaymentEscrow } from "../../../typechain-types";
import { ApiError } from "../../../src/relayer/errors";
import type { Hex } from "../../../src/relayer/domain";
import type { Withdrawal } from "../../../src/protocol";
import { revertData } from "../../../src/relayer/chain/revert";
import {
  REVERT_CODES,
  type ChainWriter,
  type DepositAuthorization,
  type RelayCall,
  type SentTransaction,
  type SignedPaymentAction,
} from "../../../src/relayer/chain/chainWriter";

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

  relayOrderTimer(call: RelayCall): Promise<SentTransaction> {
    // The call is already encoded: sent as raw calldata, after an eth_call that surfaces the revert.
    const signer = this.escrow.runner as Signer;
    const tx = { to: this.escrow.target as string, data: call.data };
    return this.send({ staticCall: () => signer.call(tx), send: () => signer.sendTransaction(tx) }, []);
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
