// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

import {IPaymentEscrow} from "../interfaces/IPaymentEscrow.sol";
import {IMerchantRegistry} from "../interfaces/IMerchantRegistry.sol";
import {EscrowStorage} from "./EscrowStorage.sol";
import {Fees} from "./Fees.sol";
import {BoundedSignature} from "./BoundedSignature.sol";
import {EscrowTypeHashes} from "./EscrowTypeHashes.sol";
import {TokenBlocklist} from "./TokenBlocklist.sol";

/**
 * @title PaymentLifecycle
 * @notice What happens to one escrowed payment after its batch: confirmation, refunds, disputes,
 * and the order timer (hold extensions, refund requests that pause the clock, release).
 * A linked (delegatecalled) library of the escrow, split out to keep the escrow under EIP-170's
 * size limit; it runs on the escrow's storage and emits the escrow's events. The escrow has
 * computed the payment id before calling in, and authorised the caller except for the order timer's
 * actions, which check it here (msg.sender is the escrow's caller in a delegatecall). The signed
 * (relayed) variants of the payer's and merchant owner's actions are verified here too, from the
 * escrow's EIP-712 domain separator: their code stays out of the escrow, which is at EIP-170's limit.
 *
 * Where a held payment's money sits: untouched (status None), in its (batch, merchant) tranche,
 * which {IPaymentEscrow-settle} pays out when the hold ends; once the buyer extends the hold or asks
 * for a refund, on the payment's own timer (Held, RefundRequested, RefundRejected): taken out of the
 * tranche into its record, with the tranche's fee rate and release time, and released by
 * {IPaymentEscrow-release}. Both count in the held total.
 */
library PaymentLifecycle {
    /// @notice Longest single hold extension.
    uint32 internal constant MAX_HOLD_EXTENSION = 30 days;
    /// @notice Most hold extensions per payment.
    uint8 internal constant MAX_HOLD_EXTENSIONS = 2;
    /// @notice Most refund requests per payment (each pauses the clock until answered).
    uint8 internal constant MAX_REFUND_REQUESTS = 3;
    /// @notice How long the merchant has to answer a refund request before it becomes a dispute.
    uint32 internal constant REFUND_RESPONSE_WINDOW = 3 days;
    /// @notice How long the buyer may escalate a rejected refund request to a dispute.
    uint32 internal constant ESCALATION_WINDOW = 7 days;

    /// @dev A held payment as loaded: its record, its tranche, and whether its money is in the tranche.
    struct Held {
        IPaymentEscrow.PaymentRecord record;
        uint256 amount;
        uint64 batchId;
        bool inTranche;
    }

    // ================================================================ buyer and merchant actions

    /// @notice The payer confirmed delivery: the held amount goes to the merchant's released balance.
    /// Refused while the token blocklists the payer.
    function confirm(
        EscrowStorage.Layout storage s,
        address token,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        IPaymentEscrow.Inclusion calldata inclusion
    ) external {
        _requirePayer(p, id);
        _requireNotBlocklisted(token, p.payer);
        _confirm(s, p, id, inclusion);
    }

    /// @notice {confirm} authorised by the payer's signed Confirmation.
    function confirmWithSignature(
        EscrowStorage.Layout storage s,
        address token,
        IPaymentEscrow.Payment calldata p,
        IPaymentEscrow.Inclusion calldata inclusion,
        uint48 deadline,
        bytes calldata signature,
        bytes32 domainSeparator
    ) external {
        bytes32 id = _paymentId(p, domainSeparator);
        bytes32 structHash = EscrowTypeHashes.confirmation(id, deadline);
        _checkRevocable(s, p.payer, structHash, deadline, signature, domainSeparator);
        _requireNotBlocklisted(token, p.payer);
        _confirm(s, p, id, inclusion);
    }

    function _confirm(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        IPaymentEscrow.Inclusion calldata inclusion
    ) private {
        (Held memory h, IPaymentEscrow.Tranche storage t) = _loadHeld(s, p, id, inclusion);
        uint16 feeBps = h.record.feeBps;
        if (h.inTranche) {
            feeBps = t.feeBps;
            // The tranche holds at least this payment's unrefunded amount.
            t.amount -= uint128(h.amount);
        }
        h.record.status = IPaymentEscrow.PaymentStatus.Confirmed;
        (uint256 released, uint256 fee) = _payMerchant(s, p, id, h, feeBps);
        emit IPaymentEscrow.PaymentConfirmed(id, p.merchantId, h.batchId, released, fee);
    }

    /// @notice The merchant owner refunds `amount` more to the payer's free balance.
    function refund(
        EscrowStorage.Layout storage s,
        IMerchantRegistry registry,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        IPaymentEscrow.Inclusion calldata inclusion,
        uint256 amount
    ) external {
        _requireMerchantOwner(registry, p.merchantId);
        (Held memory h, IPaymentEscrow.Tranche storage t) = _loadHeld(s, p, id, inclusion);
        _refund(s, p, id, h, t, amount);
    }

    /// @notice The merchant owner's signed Refund: refunds up to a new refund total `totalRefund`
    /// (so a replayed signed refund changes nothing).
    function refundWithSignature(
        EscrowStorage.Layout storage s,
        IMerchantRegistry registry,
        IPaymentEscrow.Payment calldata p,
        IPaymentEscrow.Inclusion calldata inclusion,
        uint256 totalRefund,
        uint48 deadline,
        bytes calldata signature,
        bytes32 domainSeparator
    ) external {
        bytes32 id = _paymentId(p, domainSeparator);
        bytes32 structHash = EscrowTypeHashes.refund(id, totalRefund, deadline);
        _checkRevocable(s, _merchantOwner(registry, p.merchantId), structHash, deadline, signature, domainSeparator);
        _refundTo(s, p, id, inclusion, totalRefund);
    }

    function _refundTo(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        IPaymentEscrow.Inclusion calldata inclusion,
        uint256 totalRefund
    ) private {
        (Held memory h, IPaymentEscrow.Tranche storage t) = _loadHeld(s, p, id, inclusion);
        if (totalRefund <= h.record.refunded) revert IPaymentEscrow.InvalidAmount(totalRefund);
        _refund(s, p, id, h, t, totalRefund - h.record.refunded);
    }

    /// @notice The payer disputes before the hold ends, or later while the merchant is Suspended (its
    /// tranches cannot settle then): the held amount is frozen from settlement. A payment whose refund
    /// request is open or was rejected is disputed by escalation instead.
    function openDispute(
        EscrowStorage.Layout storage s,
        IMerchantRegistry registry,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        IPaymentEscrow.Inclusion calldata inclusion,
        uint32 disputeTimeout
    ) external {
        _requirePayer(p, id);
        _openDispute(s, registry, p, id, inclusion, disputeTimeout);
    }

    /// @notice {openDispute} authorised by the payer's signed Dispute.
    function openDisputeWithSignature(
        EscrowStorage.Layout storage s,
        IMerchantRegistry registry,
        IPaymentEscrow.Payment calldata p,
        IPaymentEscrow.Inclusion calldata inclusion,
        uint32 disputeTimeout,
        uint48 deadline,
        bytes calldata signature,
        bytes32 domainSeparator
    ) external {
        bytes32 id = _paymentId(p, domainSeparator);
        bytes32 structHash = EscrowTypeHashes.dispute(id, deadline);
        _checkRevocable(s, p.payer, structHash, deadline, signature, domainSeparator);
        _openDispute(s, registry, p, id, inclusion, disputeTimeout);
    }

    function _openDispute(
        EscrowStorage.Layout storage s,
        IMerchantRegistry registry,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        IPaymentEscrow.Inclusion calldata inclusion,
        uint32 disputeTimeout
    ) private {
        (Held memory h, IPaymentEscrow.Tranche storage t) = _loadHeld(s, p, id, inclusion);
        _requireNoRequest(id, h.record.status);
        uint48 releaseAt = h.inTranche ? t.releaseAt : h.record.releaseAt;
        if (block.timestamp >= releaseAt) {
            // The registry is read only past the hold, so in-hold disputes cost nothing more.
            (IMerchantRegistry.MerchantStatus status, , , , ) = registry.terms(p.merchantId);
            if (status != IMerchantRegistry.MerchantStatus.Suspended) {
                revert IPaymentEscrow.DisputeWindowClosed(id, releaseAt);
            }
        }
        _leaveTranche(h, t);
        _dispute(s, p, id, h, disputeTimeout);
    }

    /**
     * @notice The arbiter's ruling, before the expiry fixed when the dispute opened: `toPayer` back to
     * the payer's balance, the rest (net of the fee frozen at dispute time) to the merchant's released balance.
     */
    function resolveDispute(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        uint256 toPayer
    ) external {
        IPaymentEscrow.PaymentRecord memory record = _loadDisputed(s, id);
        // Only before expiry, so a late ruling cannot race the payer's reclaim.
        if (block.timestamp >= record.disputeExpiresAt) {
            revert IPaymentEscrow.DisputeExpired(id, record.disputeExpiresAt);
        }
        (uint256 toMerchant, uint256 fee) = _resolve(s, p, id, record, toPayer);
        emit IPaymentEscrow.DisputeResolved(id, p.merchantId, p.payer, toPayer, toMerchant, fee, false);
    }

    /// @notice From the dispute's expiry anyone may end it: the whole disputed amount goes back to the payer.
    function resolveExpiredDispute(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id
    ) external {
        IPaymentEscrow.PaymentRecord memory record = _loadDisputed(s, id);
        if (block.timestamp < record.disputeExpiresAt) {
            revert IPaymentEscrow.DisputeNotExpired(id, record.disputeExpiresAt);
        }
        uint256 toPayer = p.amount - record.refunded;
        (uint256 toMerchant, uint256 fee) = _resolve(s, p, id, record, toPayer);
        emit IPaymentEscrow.DisputeResolved(id, p.merchantId, p.payer, toPayer, toMerchant, fee, true);
    }

    // ================================================================ order timer

    /// @notice The payer extends the hold by `extension` seconds before it ends; the payment then runs
    /// on its own timer.
    function extendHold(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        IPaymentEscrow.Inclusion calldata inclusion,
        uint32 extension
    ) external {
        _requirePayer(p, id);
        _extendHold(s, p, id, inclusion, extension);
    }

    /// @notice {extendHold} authorised by the payer's signed HoldExtension, which names the extension
    /// it makes (`ordinal`: 1 for the first), so it extends once and never again later.
    function extendHoldWithSignature(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        IPaymentEscrow.Inclusion calldata inclusion,
        uint32 extension,
        uint8 ordinal,
        uint48 deadline,
        bytes calldata signature,
        bytes32 domainSeparator
    ) external {
        bytes32 id = _paymentId(p, domainSeparator);
        _requireOrdinal(id, s.records[id].extensions + 1, ordinal);
        bytes32 structHash = EscrowTypeHashes.holdExtension(id, extension, ordinal, deadline);
        _checkRevocable(s, p.payer, structHash, deadline, signature, domainSeparator);
        _extendHold(s, p, id, inclusion, extension);
    }

    function _extendHold(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        IPaymentEscrow.Inclusion calldata inclusion,
        uint32 extension
    ) private {
        if (extension == 0 || extension > MAX_HOLD_EXTENSION) {
            revert IPaymentEscrow.ExtensionOutOfRange(extension, MAX_HOLD_EXTENSION);
        }
        (Held memory h, IPaymentEscrow.Tranche storage t) = _loadHeld(s, p, id, inclusion);
        _requireNoRequest(id, h.record.status);
        _detach(h, t);
        IPaymentEscrow.PaymentRecord memory record = h.record;
        _requireBeforeRelease(id, record.releaseAt);
        if (record.extensions >= MAX_HOLD_EXTENSIONS) {
            revert IPaymentEscrow.ExtensionLimitReached(id, record.extensions);
        }
        record.extensions += 1;
        record.releaseAt += extension;
        record.status = IPaymentEscrow.PaymentStatus.Held;
        s.records[id] = record;
        emit IPaymentEscrow.HoldExtended(id, p.merchantId, p.payer, h.batchId, record.releaseAt, record.extensions);
    }

    /// @notice The payer asks for a refund of `amount` before the hold ends: the clock pauses until the
    /// merchant answers.
    function requestRefund(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        IPaymentEscrow.Inclusion calldata inclusion,
        uint256 amount,
        uint8 reason
    ) external {
        _requirePayer(p, id);
        _requestRefund(s, p, id, inclusion, amount, reason);
    }

    /// @notice {requestRefund} authorised by the payer's signed RefundRequest, which names the request
    /// it opens (`ordinal`: 1 for the first), so it opens one request once.
    function requestRefundWithSignature(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        IPaymentEscrow.Inclusion calldata inclusion,
        uint256 amount,
        uint8 reason,
        uint8 ordinal,
        uint48 deadline,
        bytes calldata signature,
        bytes32 domainSeparator
    ) external {
        bytes32 id = _paymentId(p, domainSeparator);
        _requireOrdinal(id, s.records[id].refundRequests + 1, ordinal);
        bytes32 structHash = EscrowTypeHashes.refundRequest(id, amount, reason, ordinal, deadline);
        _checkRevocable(s, p.payer, structHash, deadline, signature, domainSeparator);
        _requestRefund(s, p, id, inclusion, amount, reason);
    }

    function _requestRefund(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        IPaymentEscrow.Inclusion calldata inclusion,
        uint256 amount,
        uint8 reason
    ) private {
        (Held memory h, IPaymentEscrow.Tranche storage t) = _loadHeld(s, p, id, inclusion);
        _requireNoRequest(id, h.record.status);
        if (amount == 0) revert IPaymentEscrow.InvalidAmount(amount);
        if (amount > h.amount) revert IPaymentEscrow.RefundExceedsHeld(id, amount, h.amount);
        _detach(h, t);
        IPaymentEscrow.PaymentRecord memory record = h.record;
        _requireBeforeRelease(id, record.releaseAt);
        if (record.refundRequests >= MAX_REFUND_REQUESTS) {
            revert IPaymentEscrow.RefundRequestLimitReached(id, record.refundRequests);
        }
        record.refundRequests += 1;
        // Cannot underflow: checked before release. Fits: a hold and its extensions are far below 2^32 s.
        record.holdLeft = uint32(record.releaseAt - block.timestamp);
        record.releaseAt = 0;
        record.deadline = uint48(block.timestamp) + REFUND_RESPONSE_WINDOW;
        record.status = IPaymentEscrow.PaymentStatus.RefundRequested;
        s.records[id] = record;
        emit IPaymentEscrow.RefundRequested(
            id,
            p.merchantId,
            p.payer,
            h.batchId,
            amount,
            reason,
            record.holdLeft,
            record.deadline
        );
    }

    /// @notice The merchant rejects the open request: the clock resumes, and the payment is not
    /// releasable before the buyer's escalation window ends.
    function rejectRefundRequest(
        EscrowStorage.Layout storage s,
        IMerchantRegistry registry,
        IPaymentEscrow.Payment calldata p,
        bytes32 id
    ) external {
        _requireMerchantOwner(registry, p.merchantId);
        _rejectRefundRequest(s, p, id, s.records[id]);
    }

    /// @notice {rejectRefundRequest} authorised by the merchant owner's signed RefundRejection, which
    /// names the request it rejects (`ordinal`), so it never rejects a later one.
    function rejectRefundRequestWithSignature(
        EscrowStorage.Layout storage s,
        IMerchantRegistry registry,
        IPaymentEscrow.Payment calldata p,
        uint8 ordinal,
        uint48 deadline,
        bytes calldata signature,
        bytes32 domainSeparator
    ) external {
        address owner = _merchantOwner(registry, p.merchantId);
        bytes32 id = _paymentId(p, domainSeparator);
        IPaymentEscrow.PaymentRecord memory record = s.records[id];
        _requireOrdinal(id, record.refundRequests, ordinal);
        bytes32 structHash = EscrowTypeHashes.refundRejection(id, ordinal, deadline);
        _checkRevocable(s, owner, structHash, deadline, signature, domainSeparator);
        _rejectRefundRequest(s, p, id, record);
    }

    function _rejectRefundRequest(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        IPaymentEscrow.PaymentRecord memory record
    ) private {
        if (record.status != IPaymentEscrow.PaymentStatus.RefundRequested) {
            revert IPaymentEscrow.NoOpenRefundRequest(id, record.status);
        }
        // Past its deadline the request is a dispute in waiting: the arbiter decides, not the merchant.
        if (block.timestamp >= record.deadline) revert IPaymentEscrow.RefundResponseOverdue(id, record.deadline);
        uint48 escalateBy = uint48(block.timestamp) + ESCALATION_WINDOW;
        uint48 resumed = uint48(block.timestamp) + record.holdLeft;
        record.releaseAt = resumed > escalateBy ? resumed : escalateBy;
        record.holdLeft = 0;
        record.deadline = escalateBy;
        record.status = IPaymentEscrow.PaymentStatus.RefundRejected;
        s.records[id] = record;
        emit IPaymentEscrow.RefundRequestRejected(id, p.merchantId, p.payer, escalateBy, record.releaseAt);
    }

    /// @notice The payer escalates a rejected request to a dispute within the escalation window.
    function escalateRefundRequest(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        uint32 disputeTimeout
    ) external {
        _requirePayer(p, id);
        _escalateRefundRequest(s, p, id, disputeTimeout);
    }

    /// @notice {escalateRefundRequest} authorised by the payer's signed Escalation, which names the
    /// rejected request it escalates (`ordinal`).
    function escalateRefundRequestWithSignature(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        uint32 disputeTimeout,
        uint8 ordinal,
        uint48 deadline,
        bytes calldata signature,
        bytes32 domainSeparator
    ) external {
        bytes32 id = _paymentId(p, domainSeparator);
        _requireOrdinal(id, s.records[id].refundRequests, ordinal);
        bytes32 structHash = EscrowTypeHashes.escalation(id, ordinal, deadline);
        _checkRevocable(s, p.payer, structHash, deadline, signature, domainSeparator);
        _escalateRefundRequest(s, p, id, disputeTimeout);
    }

    function _escalateRefundRequest(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        uint32 disputeTimeout
    ) private {
        Held memory h = _loadOnOwnTimer(s, p, id);
        if (h.record.status != IPaymentEscrow.PaymentStatus.RefundRejected) {
            revert IPaymentEscrow.RefundRequestNotRejected(id, h.record.status);
        }
        if (block.timestamp >= h.record.deadline) revert IPaymentEscrow.EscalationWindowClosed(id, h.record.deadline);
        _dispute(s, p, id, h, disputeTimeout);
    }

    /// @notice A request the merchant left unanswered past its deadline becomes a dispute (anyone calls).
    function escalateUnansweredRefundRequest(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        uint32 disputeTimeout
    ) external {
        Held memory h = _loadOnOwnTimer(s, p, id);
        if (h.record.status != IPaymentEscrow.PaymentStatus.RefundRequested) {
            revert IPaymentEscrow.NoOpenRefundRequest(id, h.record.status);
        }
        if (block.timestamp < h.record.deadline) revert IPaymentEscrow.RefundResponseNotDue(id, h.record.deadline);
        _dispute(s, p, id, h, disputeTimeout);
    }

    /// @notice Releases a payment on its own timer to the merchant once the timer ended (anyone calls).
    function release(
        EscrowStorage.Layout storage s,
        IMerchantRegistry registry,
        IPaymentEscrow.Payment calldata p,
        bytes32 id
    ) external {
        Held memory h = _loadOnOwnTimer(s, p, id);
        IPaymentEscrow.PaymentStatus status = h.record.status;
        if (status == IPaymentEscrow.PaymentStatus.RefundRequested)
            revert IPaymentEscrow.RefundRequestPending(id, status);
        if (block.timestamp < h.record.releaseAt) revert IPaymentEscrow.HoldNotEnded(id, h.record.releaseAt);
        // Like settlement, which skips a Suspended merchant's tranches: its buyers can still dispute.
        (IMerchantRegistry.MerchantStatus merchantStatus, , , , ) = registry.terms(p.merchantId);
        if (merchantStatus == IMerchantRegistry.MerchantStatus.Suspended) {
            revert IPaymentEscrow.MerchantSuspended(p.merchantId);
        }
        h.record.status = IPaymentEscrow.PaymentStatus.Released;
        (uint256 released, uint256 fee) = _payMerchant(s, p, id, h, h.record.feeBps);
        emit IPaymentEscrow.PaymentReleased(id, p.merchantId, released, fee);
    }

    // ================================================================ signed withdrawal

    /// @notice Checks the payer's signed Withdrawal (deadline, signer) and spends its nonce; the escrow
    /// then withdraws. Here rather than in CustomerFunds, whose one-off batch loop gets dearer with
    /// any new function there (the optimizer's inlining changes).
    function useSignedWithdrawal(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Withdrawal calldata w,
        bytes calldata signature,
        bytes32 domainSeparator
    ) external {
        if (block.timestamp > w.deadline) revert IPaymentEscrow.SignatureExpired(w.deadline);
        bytes32 digest = MessageHashUtils.toTypedDataHash(domainSeparator, EscrowTypeHashes.withdrawal(w));
        if (!BoundedSignature.isValidNow(w.payer, digest, signature)) revert IPaymentEscrow.InvalidSigner(w.payer);
        EscrowStorage.useNonce(s, w.payer, w.nonce);
    }

    // ================================================================ internals

    /// @dev Refund path shared by refund and refundWithSignature: `amount` is the increment. Answering an open
    /// request with a partial refund resumes the clock.
    function _refund(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        Held memory h,
        IPaymentEscrow.Tranche storage t,
        uint256 amount
    ) private {
        IPaymentEscrow.PaymentRecord memory record = h.record;
        if (amount == 0) revert IPaymentEscrow.InvalidAmount(amount);
        if (amount > h.amount) revert IPaymentEscrow.RefundExceedsHeld(id, amount, h.amount);
        record.refunded += uint128(amount);
        if (amount == h.amount) {
            record.status = IPaymentEscrow.PaymentStatus.Refunded;
        } else if (record.status == IPaymentEscrow.PaymentStatus.RefundRequested) {
            record.status = IPaymentEscrow.PaymentStatus.Held;
            record.releaseAt = uint48(block.timestamp) + record.holdLeft;
            record.holdLeft = 0;
            record.deadline = 0;
            emit IPaymentEscrow.HoldResumed(id, p.merchantId, record.releaseAt);
        }
        s.records[id] = record;
        // A partial refund of an untouched payment leaves the rest in its tranche.
        if (h.inTranche) t.amount -= uint128(amount);
        s.totals.held -= uint128(amount);
        s.totals.customerBalances += uint128(amount);
        EscrowStorage.credit(s, p.payer, amount);
        emit IPaymentEscrow.PaymentRefunded(id, p.merchantId, p.payer, h.batchId, amount, record.refunded);
    }

    /// @dev Moves the held amount of a payment on its own timer from held to disputed.
    function _dispute(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        Held memory h,
        uint32 disputeTimeout
    ) private {
        IPaymentEscrow.PaymentRecord memory record = h.record;
        record.status = IPaymentEscrow.PaymentStatus.Disputed;
        record.disputedAt = uint48(block.timestamp);
        record.disputeExpiresAt = uint48(block.timestamp) + disputeTimeout;
        s.records[id] = record;
        s.totals.held -= uint128(h.amount);
        s.totals.disputed += uint128(h.amount);
        emit IPaymentEscrow.DisputeOpened(id, p.merchantId, p.payer, h.batchId, h.amount, record.disputeExpiresAt);
    }

    /// @dev Pays a payment's held amount (already out of its tranche) to the merchant's released
    /// balance, net of its fee at `feeBps`, and stores the record with the status the caller set.
    function _payMerchant(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        Held memory h,
        uint16 feeBps
    ) private returns (uint256 released, uint256 fee) {
        uint256 held = h.amount;
        fee = Fees.fee(held, feeBps);
        released = held - fee;
        s.records[id] = h.record;
        // Every amount fits uint128 (payments are at most 2^128-1).
        s.merchantBalances[p.merchantId].released += uint128(released);
        s.totals.held -= uint128(held);
        s.totals.released += uint128(released);
        s.totals.fees += uint128(fee);
    }

    /// @dev Ruling path shared by resolveDispute and resolveExpiredDispute; returns what the merchant
    /// gets net of the fee, and the fee.
    function _resolve(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        IPaymentEscrow.PaymentRecord memory record,
        uint256 toPayer
    ) private returns (uint256 toMerchantNet, uint256 fee) {
        uint256 disputed = p.amount - record.refunded;
        if (toPayer > disputed) revert IPaymentEscrow.RulingExceedsDisputed(id, toPayer, disputed);
        uint256 toMerchant = disputed - toPayer;
        fee = Fees.fee(toMerchant, record.feeBps);
        toMerchantNet = toMerchant - fee;

        record.status = IPaymentEscrow.PaymentStatus.Resolved;
        record.refunded += uint128(toPayer);
        s.records[id] = record;
        EscrowStorage.credit(s, p.payer, toPayer);
        s.merchantBalances[p.merchantId].released += uint128(toMerchantNet);
        EscrowStorage.Totals memory totals = s.totals;
        totals.disputed -= uint128(disputed);
        totals.customerBalances += uint128(toPayer);
        totals.released += uint128(toMerchantNet);
        totals.fees += uint128(fee);
        s.totals = totals;
    }

    /// @dev The record of a payment under dispute, or NotDisputed.
    function _loadDisputed(
        EscrowStorage.Layout storage s,
        bytes32 id
    ) private view returns (IPaymentEscrow.PaymentRecord memory record) {
        record = s.records[id];
        if (record.status != IPaymentEscrow.PaymentStatus.Disputed) {
            revert IPaymentEscrow.NotDisputed(id, record.status);
        }
    }

    /**
     * @dev A held payment: untouched in its tranche (the proof places it in its batch and the tranche
     * is unsettled) or on its own timer (its record, written when it left a proven tranche, is enough).
     */
    function _loadHeld(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        IPaymentEscrow.Inclusion calldata inclusion
    ) private view returns (Held memory h, IPaymentEscrow.Tranche storage t) {
        h.record = s.records[id];
        t = s.tranches[inclusion.batchId][p.merchantId];
        IPaymentEscrow.PaymentStatus status = h.record.status;
        if (status == IPaymentEscrow.PaymentStatus.None) {
            bytes32 root = s.batchRoots[inclusion.batchId];
            if (root == bytes32(0)) revert IPaymentEscrow.UnknownBatch(inclusion.batchId);
            if (!MerkleProof.verifyCalldata(inclusion.proof, root, id)) {
                revert IPaymentEscrow.InvalidInclusionProof(id, inclusion.batchId);
            }
            // A settled tranche is deleted (releaseAt zero): its payments were paid out.
            if (t.releaseAt == 0) revert IPaymentEscrow.PaymentNotHeld(id, status);
            h.inTranche = true;
            h.batchId = inclusion.batchId;
        } else if (!_onOwnTimer(status)) {
            revert IPaymentEscrow.PaymentNotHeld(id, status);
        } else {
            h.batchId = h.record.batchId;
        }
        h.amount = p.amount - h.record.refunded;
    }

    /// @dev A payment on its own timer, or NotOnOwnTimer.
    function _loadOnOwnTimer(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id
    ) private view returns (Held memory h) {
        h.record = s.records[id];
        if (!_onOwnTimer(h.record.status)) revert IPaymentEscrow.NotOnOwnTimer(id, h.record.status);
        h.batchId = h.record.batchId;
        h.amount = p.amount - h.record.refunded;
    }

    /// @dev Takes an untouched payment's held amount out of its tranche onto its own timer, with the
    /// tranche's fee rate and release time. A payment already on its own timer is left as it is.
    function _detach(Held memory h, IPaymentEscrow.Tranche storage t) private {
        if (!h.inTranche) return;
        h.record.releaseAt = t.releaseAt;
        h.record.batchId = h.batchId;
        h.record.status = IPaymentEscrow.PaymentStatus.Held;
        _leaveTranche(h, t);
    }

    /// @dev Takes an untouched payment's held amount out of its tranche with the tranche's fee rate
    /// (a dispute freezes it): only the record's first slot is written, as before order timers existed.
    function _leaveTranche(Held memory h, IPaymentEscrow.Tranche storage t) private {
        if (!h.inTranche) return;
        h.inTranche = false;
        h.record.feeBps = t.feeBps;
        // The tranche holds at least this payment's unrefunded amount.
        t.amount -= uint128(h.amount);
    }

    function _onOwnTimer(IPaymentEscrow.PaymentStatus status) private pure returns (bool) {
        return
            status == IPaymentEscrow.PaymentStatus.Held ||
            status == IPaymentEscrow.PaymentStatus.RefundRequested ||
            status == IPaymentEscrow.PaymentStatus.RefundRejected;
    }

    /// @dev An open or rejected refund request blocks extensions, new requests and direct disputes.
    function _requireNoRequest(bytes32 id, IPaymentEscrow.PaymentStatus status) private pure {
        if (
            status == IPaymentEscrow.PaymentStatus.RefundRequested ||
            status == IPaymentEscrow.PaymentStatus.RefundRejected
        ) revert IPaymentEscrow.RefundRequestPending(id, status);
    }

    /// @dev A signed action: refused past its deadline, once its signer revoked it, and before any
    /// ERC-1271 call (the digest is computed once for both checks).
    function _checkRevocable(
        EscrowStorage.Layout storage s,
        address signer,
        bytes32 structHash,
        uint48 deadline,
        bytes calldata signature,
        bytes32 domainSeparator
    ) private view {
        if (block.timestamp > deadline) revert IPaymentEscrow.SignatureExpired(deadline);
        bytes32 digest = MessageHashUtils.toTypedDataHash(domainSeparator, structHash);
        if (s.cancelledDigests[signer][digest]) revert IPaymentEscrow.SignatureCancelled(signer, digest);
        if (!BoundedSignature.isValidNow(signer, digest, signature)) revert IPaymentEscrow.InvalidSigner(signer);
    }

    /// @dev The payment id (its EIP-712 digest), as the escrow computes it.
    function _paymentId(IPaymentEscrow.Payment calldata p, bytes32 domainSeparator) private pure returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(domainSeparator, EscrowTypeHashes.payment(p));
    }

    /// @dev A signed order-timer action acts as or on the extension or request numbered `expected` only.
    function _requireOrdinal(bytes32 id, uint8 expected, uint8 given) private pure {
        if (given != expected) revert IPaymentEscrow.StaleOrdinal(id, expected, given);
    }

    /// @dev The merchant's owner key, which signs its refunds and rejections.
    function _merchantOwner(IMerchantRegistry registry, uint64 merchantId) private view returns (address owner) {
        (, , , , owner) = registry.terms(merchantId);
        if (owner == address(0)) revert IPaymentEscrow.NotMerchantOwner(merchantId, address(0));
    }

    function _requireMerchantOwner(IMerchantRegistry registry, uint64 merchantId) private view {
        (, , , , address owner) = registry.terms(merchantId);
        if (msg.sender != owner || owner == address(0)) revert IPaymentEscrow.NotMerchantOwner(merchantId, msg.sender);
    }

    function _requireNotBlocklisted(address token, address account) private view {
        if (TokenBlocklist.isBlocklisted(token, account)) revert IPaymentEscrow.CustomerBlocklisted(account);
    }

    function _requirePayer(IPaymentEscrow.Payment calldata p, bytes32 id) private view {
        if (msg.sender != p.payer) revert IPaymentEscrow.NotPayer(id, msg.sender);
    }

    function _requireBeforeRelease(bytes32 id, uint48 releaseAt) private view {
        if (block.timestamp >= releaseAt) revert IPaymentEscrow.HoldEnded(id, releaseAt);
    }
}
