// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IPaymentEscrow} from "../interfaces/IPaymentEscrow.sol";
import {IMerchantRegistry} from "../interfaces/IMerchantRegistry.sol";
import {EscrowStorage} from "./EscrowStorage.sol";
import {Fees} from "./Fees.sol";

/**
 * @title PaymentLifecycle
 * @notice What happens to one escrowed payment after its batch: confirmation, refunds, disputes.
 * A linked (delegatecalled) library of the escrow, split out to keep the escrow under EIP-170's
 * size limit; it runs on the escrow's storage and emits the escrow's events. The escrow has
 * already authorised the caller and computed the payment id before calling in.
 */
library PaymentLifecycle {
    /// @notice The payer confirmed delivery: the held amount goes to the merchant's released balance.
    function confirm(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        IPaymentEscrow.Inclusion calldata inclusion
    ) external {
        (IPaymentEscrow.PaymentRecord memory record, IPaymentEscrow.Tranche storage t) = _loadHeld(s, p, id, inclusion);
        uint256 held = p.amount - record.refunded;
        uint256 fee = Fees.fee(held, t.feeBps);
        record.status = IPaymentEscrow.PaymentStatus.Confirmed;
        s.records[id] = record;
        // The tranche holds at least this payment's unrefunded amount; every amount fits uint128.
        t.amount -= uint128(held);
        s.merchantBalances[p.merchantId].released += uint128(held - fee);
        s.totals.held -= uint128(held);
        s.totals.released += uint128(held - fee);
        s.totals.fees += uint128(fee);
        emit IPaymentEscrow.PaymentConfirmed(id, p.merchantId, inclusion.batchId, held - fee, fee);
    }

    /// @notice Refunds `amount` more to the payer's free balance.
    function refund(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        IPaymentEscrow.Inclusion calldata inclusion,
        uint256 amount
    ) external {
        (IPaymentEscrow.PaymentRecord memory record, IPaymentEscrow.Tranche storage t) = _loadHeld(s, p, id, inclusion);
        _refund(s, p, id, inclusion.batchId, record, t, amount);
    }

    /// @notice Refunds up to a new refund total `totalRefund` (so a replayed signed refund changes nothing).
    function refundTo(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        IPaymentEscrow.Inclusion calldata inclusion,
        uint256 totalRefund
    ) external {
        (IPaymentEscrow.PaymentRecord memory record, IPaymentEscrow.Tranche storage t) = _loadHeld(s, p, id, inclusion);
        if (totalRefund <= record.refunded) revert IPaymentEscrow.InvalidAmount(totalRefund);
        _refund(s, p, id, inclusion.batchId, record, t, totalRefund - record.refunded);
    }

    /// @notice The payer disputes before the hold ends, or later while the merchant is Suspended (its
    /// tranches cannot settle then): the held amount is frozen from settlement.
    function openDispute(
        EscrowStorage.Layout storage s,
        IMerchantRegistry registry,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        IPaymentEscrow.Inclusion calldata inclusion,
        uint32 disputeTimeout
    ) external {
        (IPaymentEscrow.PaymentRecord memory record, IPaymentEscrow.Tranche storage t) = _loadHeld(s, p, id, inclusion);
        uint48 releaseAt = t.releaseAt;
        if (block.timestamp >= releaseAt) {
            // The registry is read only past the hold, so in-hold disputes cost nothing more.
            (IMerchantRegistry.MerchantStatus status, , , , ) = registry.terms(p.merchantId);
            if (status != IMerchantRegistry.MerchantStatus.Suspended) {
                revert IPaymentEscrow.DisputeWindowClosed(id, releaseAt);
            }
        }
        uint256 held = p.amount - record.refunded;
        record.status = IPaymentEscrow.PaymentStatus.Disputed;
        record.disputedAt = uint48(block.timestamp);
        record.feeBps = t.feeBps;
        record.disputeExpiresAt = uint48(block.timestamp) + disputeTimeout;
        s.records[id] = record;
        t.amount -= uint128(held);
        s.totals.held -= uint128(held);
        s.totals.disputed += uint128(held);
        emit IPaymentEscrow.DisputeOpened(id, p.merchantId, p.payer, inclusion.batchId, held, record.disputeExpiresAt);
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

    /// @dev Refund path shared by refund and refundTo: `amount` is the increment.
    function _refund(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        uint64 batchId,
        IPaymentEscrow.PaymentRecord memory record,
        IPaymentEscrow.Tranche storage t,
        uint256 amount
    ) private {
        uint256 held = p.amount - record.refunded;
        if (amount == 0) revert IPaymentEscrow.InvalidAmount(amount);
        if (amount > held) revert IPaymentEscrow.RefundExceedsHeld(id, amount, held);
        record.refunded += uint128(amount);
        if (amount == held) record.status = IPaymentEscrow.PaymentStatus.Refunded;
        s.records[id] = record;
        t.amount -= uint128(amount);
        s.totals.held -= uint128(amount);
        s.totals.customerBalances += uint128(amount);
        EscrowStorage.credit(s, p.payer, amount);
        emit IPaymentEscrow.PaymentRefunded(id, p.merchantId, p.payer, batchId, amount, record.refunded);
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

    /// @dev Proves the payment is in its batch and still held; returns its record and tranche.
    function _loadHeld(
        EscrowStorage.Layout storage s,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        IPaymentEscrow.Inclusion calldata inclusion
    ) private view returns (IPaymentEscrow.PaymentRecord memory record, IPaymentEscrow.Tranche storage t) {
        bytes32 root = s.batchRoots[inclusion.batchId];
        if (root == bytes32(0)) revert IPaymentEscrow.UnknownBatch(inclusion.batchId);
        if (!MerkleProof.verifyCalldata(inclusion.proof, root, id)) {
            revert IPaymentEscrow.InvalidInclusionProof(id, inclusion.batchId);
        }
        record = s.records[id];
        t = s.tranches[inclusion.batchId][p.merchantId];
        // A settled tranche is deleted (releaseAt zero): its payments were paid out.
        if (record.status != IPaymentEscrow.PaymentStatus.None || t.releaseAt == 0) {
            revert IPaymentEscrow.PaymentNotHeld(id, record.status);
        }
    }
}
