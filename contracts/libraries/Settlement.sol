// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IPaymentEscrow} from "../interfaces/IPaymentEscrow.sol";
import {IMerchantRegistry} from "../interfaces/IMerchantRegistry.sol";
import {EscrowStorage} from "./EscrowStorage.sol";
import {Fees} from "./Fees.sol";

/**
 * @title Settlement
 * @notice Pays merchants their releasable funds, netted to one transfer per merchant entry.
 * A linked (delegatecalled) library of the escrow, split out for EIP-170's size limit; it runs on
 * the escrow's storage, holds its reentrancy lock, and emits the escrow's events.
 */
library Settlement {
    using SafeERC20 for IERC20;

    /// @dev The registry's registrar role (MerchantRegistry.REGISTRAR_ROLE).
    bytes32 private constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    struct Sums {
        uint256 held;
        uint256 released;
        uint256 fees;
        uint256 deferred;
    }

    /// @notice Settles every entry; see {IPaymentEscrow-settle}. Effects first (tranches deleted,
    /// released balances zeroed, totals updated), then one transfer per merchant.
    function settle(
        EscrowStorage.Layout storage s,
        IERC20 token,
        IMerchantRegistry registry,
        IPaymentEscrow.MerchantSettlement[] calldata settlements
    ) external {
        _revertIfTokenPaused(token);
        Sums memory sums;
        address[] memory payees = new address[](settlements.length);
        uint256[] memory payouts = new uint256[](settlements.length);
        for (uint256 i = 0; i < settlements.length; ++i) {
            (payees[i], payouts[i]) = _settleMerchant(s, registry, settlements[i], sums);
        }
        // Each sum was taken out of (or is bounded by) the uint128 total it updates.
        EscrowStorage.Totals memory totals = s.totals;
        totals.held -= uint128(sums.held);
        totals.released -= uint128(sums.released);
        totals.fees += uint128(sums.fees);
        s.totals = totals;

        for (uint256 i = 0; i < settlements.length; ++i) {
            uint256 payout = payouts[i];
            if (payout == 0) continue;
            uint64 merchantId = settlements[i].merchantId;
            // A payout the token refuses (blocklisted address, ...) must not block the other merchants:
            // it becomes claimable. This write after the call only parks what the call did not move.
            if (token.trySafeTransfer(payees[i], payout)) {
                emit IPaymentEscrow.MerchantPaid(merchantId, payees[i], payout);
            } else {
                // The first refused address of a claimable balance is the one it may be claimed to freely.
                if (s.merchantBalances[merchantId].claimable == 0) s.deferredPayout[merchantId] = payees[i];
                s.merchantBalances[merchantId].claimable += uint128(payout);
                s.totals.claimable += uint128(payout);
                emit IPaymentEscrow.PayoutDeferred(merchantId, payees[i], payout);
            }
        }
    }

    /// @notice Pays `merchantId`'s claimable balance to its current payout address; see
    /// {IPaymentEscrow-claim} for who may claim to a payout rotated since the deferral.
    function claim(
        EscrowStorage.Layout storage s,
        IERC20 token,
        IMerchantRegistry registry,
        uint64 merchantId
    ) external {
        (IMerchantRegistry.MerchantStatus status, , , , ) = registry.terms(merchantId);
        if (status == IMerchantRegistry.MerchantStatus.Suspended) revert IPaymentEscrow.MerchantSuspended(merchantId);
        uint128 amount = s.merchantBalances[merchantId].claimable;
        if (amount == 0) revert IPaymentEscrow.NothingToClaim(merchantId);
        address payout = registry.payoutOf(merchantId);
        address deferredFrom = s.deferredPayout[merchantId];
        if (payout != deferredFrom && !IAccessControl(address(registry)).hasRole(REGISTRAR_ROLE, msg.sender)) {
            revert IPaymentEscrow.PayoutRotatedSinceDeferral(merchantId, deferredFrom, payout);
        }
        delete s.deferredPayout[merchantId];
        s.merchantBalances[merchantId].claimable = 0;
        s.totals.claimable -= amount;
        emit IPaymentEscrow.Claimed(merchantId, payout, amount);
        token.safeTransfer(payout, amount);
    }

    /// @notice Sends the accrued protocol fees to the fee recipient; see {IPaymentEscrow-collectFees}.
    function collectFees(EscrowStorage.Layout storage s, IERC20 token, address feeRecipient) external {
        uint128 amount = s.totals.fees;
        if (amount == 0) revert IPaymentEscrow.NothingToClaim(0);
        s.totals.fees = 0;
        emit IPaymentEscrow.FeesCollected(feeRecipient, amount);
        token.safeTransfer(feeRecipient, amount);
    }

    /// @notice Sends the token balance beyond the liabilities to `to`; see {IPaymentEscrow-sweepSurplus}.
    function sweepSurplus(EscrowStorage.Layout storage s, IERC20 token, address to) external {
        if (to == address(0)) revert IPaymentEscrow.ZeroAddress();
        if (to == address(this)) revert IPaymentEscrow.InvalidRecipient(to);
        EscrowStorage.Totals memory t = s.totals;
        uint256 owed = uint256(t.customerBalances) + t.held + t.disputed + t.released + t.claimable + t.fees;
        uint256 balance = token.balanceOf(address(this));
        if (balance <= owed) revert IPaymentEscrow.NoSurplus(balance, owed);
        uint256 amount = balance - owed;
        emit IPaymentEscrow.SurplusSwept(to, amount);
        token.safeTransfer(to, amount);
    }

    /// @dev Settles one entry's releasable tranches and released balance; returns what to pay whom.
    function _settleMerchant(
        EscrowStorage.Layout storage s,
        IMerchantRegistry registry,
        IPaymentEscrow.MerchantSettlement calldata entry,
        Sums memory sums
    ) private returns (address payee, uint256 payout) {
        uint64 merchantId = entry.merchantId;
        (IMerchantRegistry.MerchantStatus status, , , , ) = registry.terms(merchantId);
        // Suspended merchants are frozen (refunds still work); closed ones are still paid for past sales.
        if (status == IMerchantRegistry.MerchantStatus.Suspended || status == IMerchantRegistry.MerchantStatus.None) {
            return (address(0), 0);
        }
        uint256 gross;
        uint256 fees;
        for (uint256 j = 0; j < entry.batchIds.length; ++j) {
            uint64 batchId = entry.batchIds[j];
            IPaymentEscrow.Tranche memory t = s.tranches[batchId][merchantId];
            if (t.releaseAt == 0) continue; // settled already (perhaps by someone else) or never funded
            if (block.timestamp < t.releaseAt) revert IPaymentEscrow.HoldNotExpired(batchId, merchantId, t.releaseAt);
            uint256 fee = Fees.fee(t.amount, t.feeBps);
            delete s.tranches[batchId][merchantId];
            gross += t.amount;
            fees += fee;
            emit IPaymentEscrow.TrancheSettled(batchId, merchantId, t.amount, fee);
        }
        uint256 released = s.merchantBalances[merchantId].released;
        if (released != 0) s.merchantBalances[merchantId].released = 0;
        sums.held += gross;
        sums.fees += fees;
        sums.released += released;
        payout = gross - fees + released;
        if (payout != 0) payee = registry.payoutOf(merchantId);
    }

    /// @dev A paused token would refuse every payout; fail the whole call instead of deferring all.
    function _revertIfTokenPaused(IERC20 token) private view {
        (bool ok, bytes memory data) = address(token).staticcall(abi.encodeWithSignature("paused()"));
        if (ok && data.length >= 32 && abi.decode(data, (bool))) revert IPaymentEscrow.TokenPaused();
    }
}
