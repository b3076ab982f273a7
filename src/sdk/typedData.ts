/**
 * The escrow's EIP-712 types and domain, as the SDK exports them. They are the protocol's
 * (src/protocol/typedData.ts); this module keeps the SDK's import paths.
 */
export {
  ESCROW_DOMAIN_NAME,
  ESCROW_DOMAIN_VERSION,
  confirmationTypes,
  disputeTypes,
  escrowDomain,
  ethersTypes,
  paymentMessage,
  paymentTypes,
  refundTypes,
  withdrawalMessage,
  withdrawalTypes,
  type Confirmation,
  type Dispute,
  type EscrowDomain,
  type Payment,
  type Refund,
  type Withdrawal,
} from "../protocol/typedData";
export type { Address, Hex } from "../protocol/types";
