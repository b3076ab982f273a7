/**
 * Typed ABIs of everything the auditor reads. Human-readable signatures through viem's `parseAbi`
 * keep the auditor independent of compiled artifacts (they are build output, not part of the
 * repository) while giving fully typed event decoding; test/auditor/abi.test.ts checks that these
 * signatures match the compiled contracts, so they cannot drift silently.
 *
 * The escrow's linked libraries (CustomerFunds, PaymentLifecycle, Settlement) run by delegatecall,
 * so their events are logged at the escrow's address: they belong to the escrow ABI here.
 */
import { parseAbi } from "viem";

/** Admin plumbing shared by the three contracts (OpenZeppelin AccessControlDefaultAdminRules). */
const ACCESS_CONTROL_EVENTS = [
  "event DefaultAdminDelayChangeCanceled()",
  "event DefaultAdminDelayChangeScheduled(uint48 newDelay, uint48 effectSchedule)",
  "event DefaultAdminTransferCanceled()",
  "event DefaultAdminTransferScheduled(address indexed newAdmin, uint48 acceptSchedule)",
  "event RoleAdminChanged(bytes32 indexed role, bytes32 indexed previousAdminRole, bytes32 indexed newAdminRole)",
  "event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender)",
  "event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender)",
] as const;

export const tokenAbi = parseAbi([
  ...ACCESS_CONTROL_EVENTS,
  "event Approval(address indexed owner, address indexed spender, uint256 value)",
  "event AuthorizationCanceled(address indexed authorizer, bytes32 indexed nonce)",
  "event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce)",
  "event Blocklisted(address indexed account)",
  "event Burn(address indexed burner, uint256 amount)",
  "event EIP712DomainChanged()",
  "event Mint(address indexed minter, address indexed to, uint256 amount)",
  "event MinterConfigured(address indexed minter, uint256 allowance)",
  "event MinterRemoved(address indexed minter)",
  "event Paused(address account)",
  "event TokensRescued(address indexed token, address indexed to, uint256 amount)",
  "event Transfer(address indexed from, address indexed to, uint256 value)",
  "event UnBlocklisted(address indexed account)",
  "event Unpaused(address account)",
  "function balanceOf(address account) view returns (uint256)",
  "function totalSupply() view returns (uint256)",
]);

export const registryAbi = parseAbi([
  ...ACCESS_CONTROL_EVENTS,
  "event MerchantMetadataUpdated(uint64 indexed merchantId, bytes32 metadata)",
  "event MerchantOwnerProposed(uint64 indexed merchantId, address indexed owner, address indexed newOwner)",
  "event MerchantOwnerRotated(uint64 indexed merchantId, address indexed previousOwner, address indexed newOwner)",
  "event OwnerRecoveryCancelled(uint64 indexed merchantId, address indexed by)",
  "event OwnerRecoveryProposed(uint64 indexed merchantId, address indexed newOwner, uint48 executableAt)",
  "event MerchantPayoutRotated(uint64 indexed merchantId, address previousPayout, address newPayout)",
  "event MerchantRegistered(uint64 indexed merchantId, address indexed owner, address payout, uint16 feeBps, uint32 minHold, uint32 maxHold, bytes32 metadata)",
  "event MerchantStatusChanged(uint64 indexed merchantId, uint8 previousStatus, uint8 newStatus)",
  "event MerchantTermsUpdated(uint64 indexed merchantId, uint16 feeBps, uint32 minHold, uint32 maxHold)",
  "struct Merchant { address owner; uint16 feeBps; uint32 minHold; uint8 status; uint32 maxHold; address payout; bytes32 metadata; }",
  "function getMerchant(uint64 merchantId) view returns (Merchant)",
  "function merchantCount() view returns (uint64)",
]);

export const escrowAbi = parseAbi([
  ...ACCESS_CONTROL_EVENTS,
  "event BatchEscrowed(uint64 indexed batchId, bytes32 root, uint256 paymentCount, uint256 total, address indexed submitter)",
  "event BlocklistSynced(address indexed account, bool blocklisted)",
  "event Claimed(uint64 indexed merchantId, address indexed payout, uint256 amount)",
  "event Deposited(address indexed account, address indexed funder, uint256 amount)",
  "event DisputeOpened(bytes32 indexed paymentId, uint64 indexed merchantId, address indexed payer, uint64 batchId, uint256 amount, uint48 expiresAt)",
  "event DisputeResolved(bytes32 indexed paymentId, uint64 indexed merchantId, address indexed payer, uint256 toPayer, uint256 toMerchant, uint256 fee, bool byTimeout)",
  "event DisputeTimeoutUpdated(uint32 previousTimeout, uint32 newTimeout)",
  "event EIP712DomainChanged()",
  "event FeeRecipientUpdated(address indexed previousRecipient, address indexed newRecipient)",
  "event FeesCollected(address indexed recipient, uint256 amount)",
  "event MerchantPaid(uint64 indexed merchantId, address indexed payout, uint256 amount)",
  "event NonceCancelled(address indexed account, uint64 nonce)",
  "event PaymentConfirmed(bytes32 indexed paymentId, uint64 indexed merchantId, uint64 batchId, uint256 released, uint256 fee)",
  "event PaymentEscrowed(bytes32 indexed paymentId, address indexed payer, uint64 indexed merchantId, uint64 batchId, uint256 amount)",
  "event PaymentRefunded(bytes32 indexed paymentId, uint64 indexed merchantId, address indexed payer, uint64 batchId, uint256 amount, uint256 totalRefunded)",
  "event PaymentRejected(bytes32 indexed paymentId, address indexed payer, uint8 reason)",
  "event SignedActionCancelled(address indexed signer, bytes32 indexed digest)",
  "event HoldExtended(bytes32 indexed paymentId, uint64 indexed merchantId, address indexed payer, uint64 batchId, uint48 releaseAt, uint8 extensions)",
  "event RefundRequested(bytes32 indexed paymentId, uint64 indexed merchantId, address indexed payer, uint64 batchId, uint256 amount, uint8 reason, uint32 holdLeft, uint48 respondBy)",
  "event RefundRequestRejected(bytes32 indexed paymentId, uint64 indexed merchantId, address indexed payer, uint48 escalateBy, uint48 releaseAt)",
  "event HoldResumed(bytes32 indexed paymentId, uint64 indexed merchantId, uint48 releaseAt)",
  "event PaymentReleased(bytes32 indexed paymentId, uint64 indexed merchantId, uint256 released, uint256 fee)",
  "event SurplusSwept(address indexed to, uint256 amount)",
  "event PayoutDeferred(uint64 indexed merchantId, address indexed payout, uint256 amount)",
  "event TrancheFunded(uint64 indexed batchId, uint64 indexed merchantId, uint256 amount, uint48 releaseAt, uint16 feeBps)",
  "event TrancheSettled(uint64 indexed batchId, uint64 indexed merchantId, uint256 amount, uint256 fee)",
  "event Withdrawn(address indexed account, address indexed to, uint256 amount)",
  "struct Tranche { uint128 amount; uint48 releaseAt; uint16 feeBps; }",
  "struct PaymentRecord { uint8 status; uint48 disputedAt; uint16 feeBps; uint128 refunded; uint48 disputeExpiresAt; uint48 releaseAt; uint32 holdLeft; uint48 deadline; uint8 extensions; uint8 refundRequests; uint64 batchId; }",
  "struct Liabilities { uint256 customerBalances; uint256 held; uint256 disputed; uint256 released; uint256 claimable; uint256 fees; }",
  "function balanceOf(address account) view returns (uint256)",
  "function batchRoot(uint64 batchId) view returns (bytes32)",
  "function batchCount() view returns (uint64)",
  "function tranche(uint64 batchId, uint64 merchantId) view returns (Tranche)",
  "function paymentRecord(bytes32 paymentId) view returns (PaymentRecord)",
  "function merchantBalances(uint64 merchantId) view returns (uint256 released, uint256 claimable)",
  "function liabilities() view returns (Liabilities)",
  "function token() view returns (address)",
  "function registry() view returns (address)",
  "function feeRecipient() view returns (address)",
]);

/** The three audited contracts, by the role they play. */
export type ContractKey = "token" | "registry" | "escrow";

export const ABIS = { token: tokenAbi, registry: registryAbi, escrow: escrowAbi } as const;
