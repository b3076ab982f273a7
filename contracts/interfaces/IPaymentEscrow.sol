// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title IPaymentEscrow
 * @notice Escrow of customer payments in the Alipay model: a customer's money is held until the
 * buyer confirms delivery or the merchant's hold period ends, then released to the merchant in
 * batched settlements; while held it can be refunded (by the merchant) or disputed (by the payer).
 *
 * Accounting: every token the escrow holds belongs to exactly one bucket, and the buckets are
 * totalled on chain (see {liabilities}):
 * - customer free balances (per payer),
 * - held: escrowed payments not yet released, tracked per (batch, merchant) tranche,
 * - disputed: payments frozen by a dispute,
 * - released: confirmed or ruled-for-merchant amounts (net of fee) awaiting the next settlement,
 * - claimable: payouts that could not be delivered, for the merchant to claim,
 * - fees: protocol fees not yet collected.
 *
 * Batch path: payments escrowed by {payBatch} write no per-payment storage. Each batch stores one
 * Merkle root of the ids of its accepted payments; each (batch, merchant) pair stores one tranche
 * (amount, release time, fee rate). Operations on a single payment (confirm, refund, dispute) prove
 * its inclusion with the payment's fields, its batch id and a Merkle proof; only then is a
 * per-payment record written.
 *
 * Signatures (every path): a signature that ECDSA-recovers to the signer is valid whatever code the
 * signer has (an EIP-7702 delegated EOA keeps its key); otherwise the signer's code is asked via
 * ERC-1271. In {payBatch} that call gets at most 100,000 gas; on the single-operation paths it gets
 * the transaction's gas.
 *
 * Blocklisted customers: a customer the token blocklists cannot move its escrow balance. {withdraw}
 * asks the token; {payBatch} reads a mirror of the token's blocklist kept in the payer's slot
 * ({syncBlocklist}, permissionless: the relayer calls it when the token logs a blocklist change);
 * {payWithAuthorization} is refused by the token itself; {confirm} asks the token. A payment escrowed
 * before its payer was blocklisted was a transfer made while the payer was clean: it stays with the
 * merchant's tranche and settles when the hold ends, like a token transfer made before the
 * blocklisting; the payer can no longer release it early (confirm), while refunds and dispute rulings
 * in the payer's favour return it to the payer's frozen balance.
 */
interface IPaymentEscrow {
    // ---------------------------------------------------------------- types

    /**
     * @notice What a customer signs (EIP-712) to pay a merchant. Its id is the EIP-712 digest, so
     * it commits to every field, the chain id and this escrow's address.
     * @param payer Customer paying; signs the payment (EOA or ERC-1271 wallet).
     * @param merchantId Merchant in the registry.
     * @param amount Token units (6 decimals for USDC-like tokens); at most 2^128-1.
     * @param orderRef Merchant's order reference (e.g. hash of the order id).
     * @param nonce Payer nonce; any unused nonce in the payer's 64-wide window (see {nonceWindow}).
     * @param validAfter Payment is valid from this timestamp (inclusive).
     * @param deadline Payment is valid up to this timestamp (inclusive).
     * @param hold Seconds the payment is held once escrowed (its own auto-confirm timer: e.g. 3 days
     * for virtual goods, 30 for surface mail); then it releases to the merchant without the buyer's
     * confirmation. Within the merchant's registered bounds when escrowed ({HoldOutOfRange}).
     */
    struct Payment {
        address payer;
        uint64 merchantId;
        uint256 amount;
        bytes32 orderRef;
        uint64 nonce;
        uint48 validAfter;
        uint48 deadline;
        uint32 hold;
    }

    /// @notice Where a payment sits: its batch and the Merkle proof of its id in that batch's root.
    struct Inclusion {
        uint64 batchId;
        bytes32[] proof;
    }

    /// @notice A signed withdrawal of the payer's free balance, relayable by anyone.
    struct Withdrawal {
        address payer;
        address to;
        uint256 amount;
        uint64 nonce;
        uint48 deadline;
    }

    /// @notice One merchant's part of a {settle} call: the batches whose tranches to pay out.
    struct MerchantSettlement {
        uint64 merchantId;
        uint64[] batchIds;
    }

    /**
     * @notice A (batch, merchant) bucket of held funds.
     * @param amount Held amount still to settle (refunds and disputes reduce it).
     * @param releaseAt When the hold ends; zero once settled (or never funded).
     * @param feeBps Merchant's fee rate when the batch was escrowed.
     */
    struct Tranche {
        uint128 amount;
        uint48 releaseAt;
        uint16 feeBps;
    }

    /**
     * @notice State of a payment that was touched after escrow. `None` means untouched: its money sits
     * in its (batch, merchant) tranche. `Held`, `RefundRequested` and `RefundRejected` are held on the
     * payment's own timer, outside the tranche (its hold was extended, or the buyer asked for a refund).
     */
    enum PaymentStatus {
        None,
        Confirmed,
        Refunded,
        Disputed,
        Resolved,
        /// Held on its own timer ({PaymentRecord-releaseAt}); releasable from then ({release}).
        Held,
        /// The buyer asked for a refund: the clock is paused and the payment cannot be released until
        /// the merchant answers (refund or reject) or the answer is overdue (then it becomes a dispute).
        RefundRequested,
        /// The merchant rejected the buyer's request: the buyer may escalate it to a dispute until
        /// {PaymentRecord-deadline}; the payment is releasable from {PaymentRecord-releaseAt}.
        RefundRejected,
        /// Released to the merchant when its own timer ended.
        Released
    }

    /**
     * @notice Per-payment record, written only when a payment leaves the batch path.
     * @param status Current status.
     * @param disputedAt When a dispute was opened (zero otherwise).
     * @param feeBps Fee rate frozen when the payment left its tranche (dispute, own timer), applied to
     * the merchant's share.
     * @param refunded Total refunded to the payer so far.
     * @param disputeExpiresAt From when anyone may return a disputed payment to the payer, fixed when
     * the dispute opens (a later change of the dispute timeout does not shorten open disputes).
     * @param releaseAt On its own timer: when the payment becomes releasable.
     * @param holdLeft While a refund request is open: the seconds of hold that were left when it paused the clock.
     * @param deadline RefundRequested: when the merchant's answer is overdue; RefundRejected: the last
     * moment the buyer may escalate.
     * @param extensions How many times the buyer extended the hold.
     * @param refundRequests How many refund requests the buyer opened.
     * @param batchId On its own timer: the batch the payment was escrowed in.
     */
    struct PaymentRecord {
        PaymentStatus status;
        uint48 disputedAt;
        uint16 feeBps;
        uint128 refunded;
        uint48 disputeExpiresAt;
        uint48 releaseAt;
        uint32 holdLeft;
        uint48 deadline;
        uint8 extensions;
        uint8 refundRequests;
        uint64 batchId;
    }

    /// @notice Why {payBatch} skipped a payment.
    enum RejectReason {
        InvalidAmount,
        NotYetValid,
        Expired,
        MerchantNotActive,
        InvalidSignature,
        NonceUnavailable,
        InsufficientBalance,
        /// The token blocklists the payer (as mirrored by {syncBlocklist}).
        PayerBlocklisted,
        /// The gas left could not cover the payer wallet's full ERC-1271 check and the end of the batch.
        InsufficientGas,
        /// {payBatchWithAuthorization}: the token refused the payer's EIP-3009 authorization (bad or
        /// used signature, cancelled authorization, balance, blocklist, pause).
        AuthorizationFailed,
        /// The payment's hold is outside the merchant's registered bounds (see {IMerchantRegistry-terms}).
        HoldOutOfRange
    }

    /// @notice Totals of every bucket of the escrow's token balance.
    struct Liabilities {
        uint256 customerBalances;
        uint256 held;
        uint256 disputed;
        uint256 released;
        uint256 claimable;
        uint256 fees;
    }

    // ---------------------------------------------------------------- events

    /// @notice `funder` paid `amount` tokens into `account`'s free balance.
    event Deposited(address indexed account, address indexed funder, uint256 amount);
    /// @notice `amount` of `account`'s free balance was paid out to `to`.
    event Withdrawn(address indexed account, address indexed to, uint256 amount);
    /// @notice `account` cancelled an unused nonce, voiding any payment or withdrawal signed with it.
    event NonceCancelled(address indexed account, uint64 nonce);
    /// @notice A payment left the payer's free balance (or wallet) and is held in `batchId`.
    event PaymentEscrowed(
        bytes32 indexed paymentId,
        address indexed payer,
        uint64 indexed merchantId,
        uint64 batchId,
        uint256 amount
    );
    /// @notice {payBatch} skipped a payment; nothing changed for it.
    event PaymentRejected(bytes32 indexed paymentId, address indexed payer, RejectReason reason);
    /// @notice A (batch, merchant) tranche received `amount`. Emitted once per merchant run in a batch.
    event TrancheFunded(
        uint64 indexed batchId,
        uint64 indexed merchantId,
        uint256 amount,
        uint48 releaseAt,
        uint16 feeBps
    );
    /// @notice A batch was committed: `root` is the Merkle root of its accepted payment ids, in order.
    event BatchEscrowed(
        uint64 indexed batchId,
        bytes32 root,
        uint256 paymentCount,
        uint256 total,
        address indexed submitter
    );
    /// @notice The payer confirmed delivery: the payment's held amount was released to the merchant.
    event PaymentConfirmed(
        bytes32 indexed paymentId,
        uint64 indexed merchantId,
        uint64 batchId,
        uint256 released,
        uint256 fee
    );
    /// @notice The merchant refunded `amount` to the payer's free balance.
    event PaymentRefunded(
        bytes32 indexed paymentId,
        uint64 indexed merchantId,
        address indexed payer,
        uint64 batchId,
        uint256 amount,
        uint256 totalRefunded
    );
    /// @notice The payer disputed the payment: `amount` moved from held to disputed. If the arbiter has
    /// not ruled by `expiresAt`, anyone may return the amount to the payer.
    event DisputeOpened(
        bytes32 indexed paymentId,
        uint64 indexed merchantId,
        address indexed payer,
        uint64 batchId,
        uint256 amount,
        uint48 expiresAt
    );
    /// @notice A dispute ended: `toPayer` went to the payer's balance, `toMerchant` (net of `fee`) to released.
    event DisputeResolved(
        bytes32 indexed paymentId,
        uint64 indexed merchantId,
        address indexed payer,
        uint256 toPayer,
        uint256 toMerchant,
        uint256 fee,
        bool byTimeout
    );
    /// @notice A tranche was settled: `amount` left held, `fee` accrued to the protocol.
    event TrancheSettled(uint64 indexed batchId, uint64 indexed merchantId, uint256 amount, uint256 fee);
    /// @notice A merchant was paid `amount` (tranches net of fees plus released funds) in one transfer.
    event MerchantPaid(uint64 indexed merchantId, address indexed payout, uint256 amount);
    /// @notice A payout transfer failed (e.g. blocklisted payout address); `amount` became claimable.
    event PayoutDeferred(uint64 indexed merchantId, address indexed payout, uint256 amount);
    /// @notice A merchant's claimable balance was paid out.
    event Claimed(uint64 indexed merchantId, address indexed payout, uint256 amount);
    /// @notice Accrued protocol fees were sent to the fee recipient.
    event FeesCollected(address indexed recipient, uint256 amount);
    /// @notice The fee recipient changed.
    event FeeRecipientUpdated(address indexed previousRecipient, address indexed newRecipient);
    /// @notice The dispute timeout changed.
    event DisputeTimeoutUpdated(uint32 previousTimeout, uint32 newTimeout);
    /// @notice The escrow's mirror of the token's blocklist for `account` changed (no balance moves).
    event BlocklistSynced(address indexed account, bool blocklisted);
    /// @notice The admin sent `amount` of tokens the escrow holds beyond its liabilities to `to`.
    event SurplusSwept(address indexed to, uint256 amount);
    /// @notice `signer` revoked the signed confirmation, refund or dispute whose EIP-712 digest is `digest`.
    event SignedActionCancelled(address indexed signer, bytes32 indexed digest);
    /// @notice The buyer extended the payment's hold: it is now held on its own timer until `releaseAt`
    /// (`extensions` so far). The first extension takes its held amount out of its batch's tranche.
    event HoldExtended(
        bytes32 indexed paymentId,
        uint64 indexed merchantId,
        address indexed payer,
        uint64 batchId,
        uint48 releaseAt,
        uint8 extensions
    );
    /// @notice The buyer asked for a refund of `amount` for reason `reason` (an off-chain code list,
    /// src/protocol): the payment's clock is paused with `holdLeft` seconds left; the merchant must
    /// answer by `respondBy`, else the request becomes a dispute ({escalateUnansweredRefundRequest}).
    event RefundRequested(
        bytes32 indexed paymentId,
        uint64 indexed merchantId,
        address indexed payer,
        uint64 batchId,
        uint256 amount,
        uint8 reason,
        uint32 holdLeft,
        uint48 respondBy
    );
    /// @notice The merchant rejected the open refund request. The buyer may escalate it to a dispute
    /// until `escalateBy`; the payment is releasable from `releaseAt`.
    event RefundRequestRejected(
        bytes32 indexed paymentId,
        uint64 indexed merchantId,
        address indexed payer,
        uint48 escalateBy,
        uint48 releaseAt
    );
    /// @notice The payment's clock runs again (the merchant refunded part of an open request): it is
    /// releasable from `releaseAt`.
    event HoldResumed(bytes32 indexed paymentId, uint64 indexed merchantId, uint48 releaseAt);
    /// @notice A payment on its own timer was released to the merchant: `released` (net of `fee`)
    /// went to the merchant's released balance.
    event PaymentReleased(bytes32 indexed paymentId, uint64 indexed merchantId, uint256 released, uint256 fee);

    // ---------------------------------------------------------------- errors

    /// @notice Amount is zero or larger than 2^128-1.
    error InvalidAmount(uint256 amount);
    /// @notice The account's free balance is below what was asked.
    error InsufficientBalance(address account, uint256 balance, uint256 needed);
    /// @notice The signed message is not valid until `validAfter`.
    error SignatureNotYetValid(uint256 validAfter);
    /// @notice The signed message expired at `deadline`.
    error SignatureExpired(uint256 deadline);
    /// @notice The signature does not come from `signer`.
    error InvalidSigner(address signer);
    /// @notice The nonce is used, cancelled, below the window or too far above it.
    error NonceUnavailable(address account, uint64 nonce);
    /// @notice The token moved a different amount than asked (fee-on-transfer tokens are unsupported).
    error UnexpectedTokenDelta(uint256 expected, uint256 received);
    /// @notice The merchant cannot receive new payments.
    error MerchantNotActive(uint64 merchantId);
    /// @notice `batchId` has no committed root.
    error UnknownBatch(uint64 batchId);
    /// @notice The Merkle proof does not place the payment in the batch.
    error InvalidInclusionProof(bytes32 paymentId, uint64 batchId);
    /// @notice The payment is no longer held (settled, confirmed, fully refunded or resolved).
    error PaymentNotHeld(bytes32 paymentId, PaymentStatus status);
    /// @notice The hold period ended, so the payment can no longer be disputed.
    error DisputeWindowClosed(bytes32 paymentId, uint48 releaseAt);
    /// @notice The tranche is still in its hold period.
    error HoldNotExpired(uint64 batchId, uint64 merchantId, uint48 releaseAt);
    /// @notice The payment is not under dispute.
    error NotDisputed(bytes32 paymentId, PaymentStatus status);
    /// @notice The dispute may be closed by timeout only from `expiresAt`.
    error DisputeNotExpired(bytes32 paymentId, uint256 expiresAt);
    /// @notice A refund larger than what is still held.
    error RefundExceedsHeld(bytes32 paymentId, uint256 requested, uint256 held);
    /// @notice A ruling that gives the payer more than was disputed.
    error RulingExceedsDisputed(bytes32 paymentId, uint256 toPayer, uint256 disputed);
    /// @notice Only the payment's payer may do this.
    error NotPayer(bytes32 paymentId, address caller);
    /// @notice Only the merchant's owner key may do this.
    error NotMerchantOwner(uint64 merchantId, address caller);
    /// @notice The token is paused; settlement would only defer every payout.
    error TokenPaused();
    /// @notice Nothing to pay out.
    error NothingToClaim(uint64 merchantId);
    /// @notice The token blocklists this customer; its escrow balance is frozen with it.
    error CustomerBlocklisted(address account);
    /// @notice Address zero where an address is required.
    error ZeroAddress();
    /// @notice Dispute timeout outside [MIN_DISPUTE_TIMEOUT, MAX_DISPUTE_TIMEOUT].
    error DisputeTimeoutOutOfRange(uint32 timeout);
    /// @notice The dispute expired at `expiresAt`: the arbiter can no longer rule; it returns to the payer by timeout.
    error DisputeExpired(bytes32 paymentId, uint256 expiresAt);
    /// @notice The escrow itself cannot receive its own tokens (they would be owed to no one).
    error InvalidRecipient(address to);
    /// @notice The escrow's token balance does not exceed what it owes.
    error NoSurplus(uint256 balance, uint256 liabilities);
    /// @notice The merchant is suspended: its claimable balance stays until the registrar reactivates it.
    error MerchantSuspended(uint64 merchantId);
    /// @notice The payout address changed since the claimable balance was deferred from `deferredFrom`;
    /// only a registrar of the merchant registry may claim it to the new address `payout`.
    error PayoutRotatedSinceDeferral(uint64 merchantId, address deferredFrom, address payout);
    /// @notice `signer` cancelled the signed action with EIP-712 digest `digest`.
    error SignatureCancelled(address signer, bytes32 digest);
    /// @notice {payBatch}'s encoding is broken at byte `offset` of `batch`.
    error MalformedBatch(uint256 offset);
    /// @notice The payment's hold already ended at `releaseAt`: it can no longer be extended or paused.
    error HoldEnded(bytes32 paymentId, uint48 releaseAt);
    /// @notice A hold extension of zero seconds or more than `maxExtension`.
    error ExtensionOutOfRange(uint32 extension, uint32 maxExtension);
    /// @notice The buyer already extended this payment's hold `extensions` times, the most allowed.
    error ExtensionLimitReached(bytes32 paymentId, uint8 extensions);
    /// @notice The buyer already opened `requests` refund requests for this payment, the most allowed.
    error RefundRequestLimitReached(bytes32 paymentId, uint8 requests);
    /// @notice The payment's refund request is open or was rejected (`status`): the hold cannot be
    /// extended, no other request opened and no dispute opened except by escalation.
    error RefundRequestPending(bytes32 paymentId, PaymentStatus status);
    /// @notice The payment has no open refund request (`status`).
    error NoOpenRefundRequest(bytes32 paymentId, PaymentStatus status);
    /// @notice The payment's refund request was not rejected (`status`): nothing to escalate.
    error RefundRequestNotRejected(bytes32 paymentId, PaymentStatus status);
    /// @notice The buyer could escalate the rejected request only until `escalateBy`.
    error EscalationWindowClosed(bytes32 paymentId, uint48 escalateBy);
    /// @notice The merchant may still answer the refund request until `respondBy`.
    error RefundResponseNotDue(bytes32 paymentId, uint48 respondBy);
    /// @notice The merchant's answer was due by `respondBy`: the request can only be escalated (or refunded) now.
    error RefundResponseOverdue(bytes32 paymentId, uint48 respondBy);
    /// @notice The payment is not held on its own timer (`status`): tranches release by {settle}.
    error NotOnOwnTimer(bytes32 paymentId, PaymentStatus status);
    /// @notice The payment's own timer ends at `releaseAt`.
    error HoldNotEnded(bytes32 paymentId, uint48 releaseAt);
    /// @notice The payment's hold is outside the merchant's bounds [minHold, maxHold].
    error HoldOutOfRange(uint32 hold, uint32 minHold, uint32 maxHold);
    /// @notice A signed order-timer action names the extension or refund request it acts as or on
    /// (`given`), but the payment's next extension or request (extend, request) or its current request
    /// (reject, escalate) is `expected`: the signature was used already, or is for another one.
    error StaleOrdinal(bytes32 paymentId, uint8 expected, uint8 given);
    /// @notice A batch escrows each merchant's payments under one hold (one tranche per batch and
    /// merchant): a second run of `merchantId` asked hold `hold`, another than its first run's.
    error ConflictingHold(uint64 merchantId, uint32 hold);

    // ---------------------------------------------------------------- customer balance

    /// @notice Pull `amount` from the caller (allowance) into the caller's free balance.
    function deposit(uint256 amount) external;

    /// @notice Like {deposit} but sets the allowance with an EIP-2612 permit first. A permit that
    /// was front-run (already used) is ignored as long as the allowance suffices.
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /**
     * @notice Gasless deposit: anyone submits the payer's EIP-3009 ReceiveWithAuthorization
     * (to = this escrow) whose nonce is keccak256(abi.encode(keccak256("StablePay.Deposit"), from,
     * amount, salt)); `from` is credited. Only an authorization signed for a deposit has such a nonce:
     * a payment's authorization (nonce = payment id, see {payWithAuthorization}) cannot be turned into
     * a deposit, and the token refuses it (its signature does not match the derived nonce).
     */
    function depositWithAuthorization(
        address from,
        uint256 amount,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 salt,
        bytes calldata signature
    ) external;

    /// @notice Withdraw from the caller's free balance to `to`. Never depends on the relayer.
    /// `to` may be neither zero nor this escrow ({InvalidRecipient}: the tokens would be owed to no one).
    function withdraw(uint256 amount, address to) external;

    /// @notice Withdraw by the payer's EIP-712 signed {Withdrawal}, relayable by anyone. Same rules
    /// for `to` as {withdraw}.
    function withdrawWithSignature(Withdrawal calldata withdrawal, bytes calldata signature) external;

    /// @notice Cancel an unused nonce of the caller, voiding what was signed with it.
    function cancelNonce(uint64 nonce) external;

    // ---------------------------------------------------------------- payments

    /// @notice Escrow many signed payments; bad items are skipped with {PaymentRejected}.
    /// @dev `batch` is packed, big-endian, with no padding and no offsets (src/protocol/batch.ts
    /// encodes it):
    ///
    ///     batch := count:uint16 run+                                 count = items in all runs
    ///     run   := merchantId:uint64 hold:uint32 items:uint16 item{items}  items >= 1
    ///     item  := payer:address amount:uint128 orderRef:bytes32 nonce:uint64
    ///              validAfter:uint48 deadline:uint48 signatureLength:uint16 signature
    ///
    /// Each item is the signed {Payment} of its run's merchant and hold (90 bytes + its signature: 155
    /// for a 65-byte ECDSA signature). A merchant's runs in one batch share one hold: its payments
    /// fund one tranche with one release time ({ConflictingHold} otherwise). Anything else (a truncated item, a run of no items, a count that does
    /// not match, trailing bytes) reverts {MalformedBatch}: only the submitter can make that mistake.
    /// Payments should be grouped by merchant: each merchant run funds its tranche once.
    /// A payment signed by a contract (ERC-1271) is skipped as InsufficientGas unless the gas left
    /// covers its wallet's full 100,000-gas check (63/64 rule) plus a reserve for finishing the batch
    /// (100,000 + 200 per item): submitters add that to the gas limit for each such item.
    /// @return batchId The new batch (0 if every item was rejected).
    function payBatch(bytes calldata batch) external returns (uint64 batchId);

    /// @notice Escrow many payments straight from their payers' wallets, without prior deposits: the
    /// one-off payer's path. Same packed `batch` as {payBatch}, but each item's signature is the payer's
    /// EIP-3009 ReceiveWithAuthorization of the token: from = payer, to = this escrow, value = amount,
    /// validAfter = the payment's validAfter, validBefore = its deadline + 1, nonce = the payment id.
    /// The nonce binds the authorization to this payment: it cannot be redirected (to = escrow and
    /// only the escrow may receive it), front-run into a plain transfer (receive- not transfer-
    /// WithAuthorization) or into a deposit (a deposit's nonce is derived differently), and the token
    /// spends it once. The payer's escrow balance and nonce window are not touched (the authorization
    /// is the replay protection; {IEIP3009-cancelAuthorization} revokes it). A one-off payment's
    /// nonce is 2^64-1, which no payer's nonce window reaches (else it is skipped as
    /// NonceUnavailable): its id can never be escrowed by another path too. It is valid strictly
    /// after validAfter (EIP-3009's rule) up to its deadline.
    /// A refused authorization is skipped as AuthorizationFailed; an item is skipped as
    /// InsufficientGas unless the gas left covers its token call's whole budget (the token may ask
    /// a payer's ERC-1271 wallet) plus the reserve for finishing the batch. The batch reverts with
    /// {UnexpectedTokenDelta} if the escrow did not receive exactly the accepted amounts.
    /// Emits, per accepted payment, {Deposited} (payer as its own funder) and {PaymentEscrowed}.
    /// @return batchId The new batch (0 if every item was rejected).
    function payBatchWithAuthorization(bytes calldata batch) external returns (uint64 batchId);

    /// @notice Escrow one payment straight from the payer's wallet, without a prior deposit, by an
    /// EIP-3009 ReceiveWithAuthorization whose nonce is the payment id (binding it to this payment).
    /// @return batchId The single-payment batch.
    function payWithAuthorization(
        Payment calldata payment,
        uint256 validAfter,
        uint256 validBefore,
        bytes calldata signature
    ) external returns (uint64 batchId);

    /// @notice The payer confirms delivery: the held amount is released to the merchant now.
    /// Refused (CustomerBlocklisted) while the token blocklists the payer, here and in {confirmWithSignature}.
    function confirm(Payment calldata payment, Inclusion calldata inclusion) external;

    /// @notice {confirm} by the payer's EIP-712 signature over (paymentId, deadline), relayable.
    /// Refused with {SignatureCancelled} once the payer revoked it ({cancelSignedAction}).
    function confirmWithSignature(
        Payment calldata payment,
        Inclusion calldata inclusion,
        uint48 deadline,
        bytes calldata signature
    ) external;

    /// @notice The merchant owner refunds `amount` of a held payment to the payer's free balance.
    function refund(Payment calldata payment, Inclusion calldata inclusion, uint256 amount) external;

    /// @notice {refund} by the merchant owner's EIP-712 signature. The signature names the
    /// cumulative refund total, so replaying it refunds nothing more. Refused with
    /// {SignatureCancelled} once the owner key revoked it ({cancelSignedAction}).
    function refundWithSignature(
        Payment calldata payment,
        Inclusion calldata inclusion,
        uint256 totalRefund,
        uint48 deadline,
        bytes calldata signature
    ) external;

    /// @notice The payer disputes a held payment before its hold ends; its amount stops settling.
    /// While the merchant is Suspended, its unsettled tranches cannot settle, so disputes stay open
    /// past the hold as well: the payer's way back to the money (arbiter ruling, or the timeout).
    function openDispute(Payment calldata payment, Inclusion calldata inclusion) external;

    /// @notice {openDispute} by the payer's EIP-712 signature, relayable. Refused with
    /// {SignatureCancelled} once the payer revoked it ({cancelSignedAction}).
    function openDisputeWithSignature(
        Payment calldata payment,
        Inclusion calldata inclusion,
        uint48 deadline,
        bytes calldata signature
    ) external;

    /// @notice The arbiter splits a disputed payment: `toPayer` back to the payer, the rest to the merchant.
    /// Only before the dispute's expiry ({DisputeExpired} from then on): an expired dispute belongs to
    /// the payer's timeout reclaim, which a late ruling must not race.
    function resolveDispute(Payment calldata payment, uint256 toPayer) external;

    /// @notice If the arbiter has not ruled by the dispute's expiry (opening time + the dispute timeout
    /// in force when it opened), anyone returns the whole disputed amount to the payer.
    function resolveExpiredDispute(Payment calldata payment) external;

    // ---------------------------------------------------------------- order timers

    /// @notice The payer extends the payment's hold by `extension` seconds (at most
    /// MAX_HOLD_EXTENSION, at most MAX_HOLD_EXTENSIONS times), before it ends: for example when a parcel
    /// is late. The payment then runs on its own timer and is released by {release}.
    function extendHold(Payment calldata payment, Inclusion calldata inclusion, uint32 extension) external;

    /// @notice The payer asks the merchant to refund `amount` (at most what is held) for `reason`,
    /// before the hold ends (at most MAX_REFUND_REQUESTS times per payment). The clock pauses: the
    /// payment cannot be released while the request is open. The merchant answers with {refund} /
    /// {refundWithSignature} (in part: the clock resumes; in full: refunded) or
    /// {rejectRefundRequest}; unanswered for REFUND_RESPONSE_WINDOW, it becomes a dispute
    /// ({escalateUnansweredRefundRequest}).
    function requestRefund(
        Payment calldata payment,
        Inclusion calldata inclusion,
        uint256 amount,
        uint8 reason
    ) external;

    /// @notice The merchant owner rejects the open refund request. The clock resumes; the buyer may
    /// escalate to a dispute for ESCALATION_WINDOW, and the payment is not releasable before that ends.
    function rejectRefundRequest(Payment calldata payment) external;

    /// @notice The payer escalates a rejected refund request to a dispute, within the escalation window.
    function escalateRefundRequest(Payment calldata payment) external;

    /// @notice {extendHold} by the payer's EIP-712 signed
    /// `HoldExtension(bytes32 paymentId,uint32 extension,uint8 ordinal,uint48 deadline)`, relayable.
    /// `ordinal` is the extension it makes (1 for the payment's first): the signature extends once, and a
    /// replay or a signature for another extension reverts {StaleOrdinal}. Refused past `deadline`
    /// ({SignatureExpired}), once the payer revoked it ({cancelSignedAction}: {SignatureCancelled}) and
    /// unless the payer signed it ({InvalidSigner}).
    function extendHoldWithSignature(
        Payment calldata payment,
        Inclusion calldata inclusion,
        uint32 extension,
        uint8 ordinal,
        uint48 deadline,
        bytes calldata signature
    ) external;

    /// @notice {requestRefund} by the payer's EIP-712 signed
    /// `RefundRequest(bytes32 paymentId,uint256 amount,uint8 reason,uint8 ordinal,uint48 deadline)`,
    /// relayable. `ordinal` is the request it opens (1 for the payment's first): the signature opens
    /// one request once ({StaleOrdinal} otherwise). Same deadline, revocation and signer rules as
    /// {extendHoldWithSignature}.
    function requestRefundWithSignature(
        Payment calldata payment,
        Inclusion calldata inclusion,
        uint256 amount,
        uint8 reason,
        uint8 ordinal,
        uint48 deadline,
        bytes calldata signature
    ) external;

    /// @notice {rejectRefundRequest} by the merchant owner's EIP-712 signed
    /// `RefundRejection(bytes32 paymentId,uint8 ordinal,uint48 deadline)`, relayable. `ordinal` is the
    /// open request it rejects: it can never reject a later request ({StaleOrdinal}). Same deadline,
    /// revocation and signer rules as {refundWithSignature}.
    function rejectRefundRequestWithSignature(
        Payment calldata payment,
        uint8 ordinal,
        uint48 deadline,
        bytes calldata signature
    ) external;

    /// @notice {escalateRefundRequest} by the payer's EIP-712 signed
    /// `Escalation(bytes32 paymentId,uint8 ordinal,uint48 deadline)`, relayable. `ordinal` is the
    /// rejected request it escalates ({StaleOrdinal} for another). Same deadline, revocation and
    /// signer rules as {extendHoldWithSignature}.
    function escalateRefundRequestWithSignature(
        Payment calldata payment,
        uint8 ordinal,
        uint48 deadline,
        bytes calldata signature
    ) external;

    /// @notice Anyone turns a refund request the merchant left unanswered past its `respondBy` into a dispute.
    function escalateUnansweredRefundRequest(Payment calldata payment) external;

    /// @notice Anyone releases a payment on its own timer to the merchant once its timer ended (and,
    /// after a rejected request, the escalation window closed). Refused while the merchant is Suspended.
    function release(Payment calldata payment) external;

    // ---------------------------------------------------------------- settlement

    /// @notice Pay merchants their releasable funds: one transfer per merchant entry, fees accrued.
    /// Callable by anyone. Already-settled tranches are skipped; suspended merchants are skipped.
    function settle(MerchantSettlement[] calldata settlements) external;

    /// @notice Pay a merchant's claimable balance (deferred payouts) to its current payout address.
    /// Refused while the merchant is Suspended ({MerchantSuspended}). Anyone may claim to the payout
    /// address the balance was first deferred from (it succeeds once the token accepts that address);
    /// if the merchant rotated its payout since, only a registrar of the registry may claim, which is
    /// its approval of the new address ({PayoutRotatedSinceDeferral} for anyone else): a merchant
    /// whose payout the token refuses cannot move the deferred funds elsewhere on its own.
    function claim(uint64 merchantId) external;

    /// @notice Send accrued fees to the fee recipient.
    function collectFees() external;

    /// @notice Copy the token's blocklist status of `account` (`isBlocklisted`, or USDC's
    /// `isBlacklisted`) into the mirror {payBatch} reads. Anyone may call it; emits {BlocklistSynced}
    /// when the mirror changes.
    function syncBlocklist(address account) external;
    // ---------------------------------------------------------------- admin

    /// @notice Default admin only: sends the escrow's token balance beyond {liabilities} (tokens sent
    /// to it outside the protocol, owed to no one) to `to`, restoring balance == liabilities.
    /// Reverts {NoSurplus} when there is none, {ZeroAddress} / {InvalidRecipient} for zero or this escrow.
    function sweepSurplus(address to) external;

    /// @notice Revokes a signed confirmation, refund, dispute or order-timer action (hold extension,
    /// refund request, rejection, escalation) of the caller before its deadline:
    /// `digest` is the EIP-712 digest the caller signed. The signed entry points then revert with
    /// {SignatureCancelled}. Withdrawals are revoked by their nonce ({cancelNonce}) instead.
    function cancelSignedAction(bytes32 digest) external;

    // ---------------------------------------------------------------- views

    /// @notice The EIP-712 digest of a payment, which is its id.
    function paymentId(Payment calldata payment) external view returns (bytes32);

    /// @notice A customer's free balance.
    function balanceOf(address account) external view returns (uint256);

    /// @notice The account's nonce window: `base` is the lowest unused nonce; bit i of `bitmap`
    /// marks `base + i` as used. Nonces in [base, base + 64) not marked are available.
    function nonceWindow(address account) external view returns (uint64 base, uint64 bitmap);

    /// @notice The escrow's mirror of the token's blocklist for `account` (see {syncBlocklist}).
    function blocklistMirrored(address account) external view returns (bool);

    /// @notice True if `nonce` of `account` can still be used.
    function isNonceAvailable(address account, uint64 nonce) external view returns (bool);

    function batchRoot(uint64 batchId) external view returns (bytes32);

    function batchCount() external view returns (uint64);

    function tranche(uint64 batchId, uint64 merchantId) external view returns (Tranche memory);

    function paymentRecord(bytes32 paymentId) external view returns (PaymentRecord memory);

    function merchantBalances(uint64 merchantId) external view returns (uint256 released, uint256 claimable);

    function liabilities() external view returns (Liabilities memory);

    /// @notice True if `signer` revoked the signed action with EIP-712 digest `digest`.
    function isSignedActionCancelled(address signer, bytes32 digest) external view returns (bool);
}
