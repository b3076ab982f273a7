// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPaymentEscrow} from "../interfaces/IPaymentEscrow.sol";
import {NonceWindow} from "./NonceWindow.sol";

/**
 * @title EscrowStorage
 * @notice The escrow's state in one struct, so the escrow and its linked libraries
 * (PaymentLifecycle, Settlement) operate on the same storage through one pointer.
 */
library EscrowStorage {
    /// @dev A customer's free balance and nonce window share one slot: one write per payment.
    /// The top bit of `nonceBase` (BLOCKLISTED) mirrors the token's blocklist for the customer (set by
    /// the permissionless sync), so payBatch sees it in the slot it reads anyway; the window's base
    /// itself never reaches 2^63 (that takes 2^63 signed nonces).
    struct Account {
        uint128 balance;
        uint64 nonceBase;
        uint64 nonceBitmap;
    }

    /// @dev Merchant funds outside tranches: released (awaiting settlement) and claimable (deferred).
    struct MerchantBalance {
        uint128 released;
        uint128 claimable;
    }

    /// @dev Running totals of every bucket, packed two per slot by what changes together.
    struct Totals {
        uint128 customerBalances;
        uint128 held;
        uint128 disputed;
        uint128 released;
        uint128 claimable;
        uint128 fees;
    }

    struct Layout {
        Totals totals;
        uint64 batchCount;
        mapping(address account => Account) accounts;
        mapping(uint64 batchId => bytes32) batchRoots;
        mapping(uint64 batchId => mapping(uint64 merchantId => IPaymentEscrow.Tranche)) tranches;
        mapping(bytes32 paymentId => IPaymentEscrow.PaymentRecord) records;
        mapping(uint64 merchantId => MerchantBalance) merchantBalances;
        // The payout address a merchant's claimable balance was first deferred from (see Settlement.claim).
        mapping(uint64 merchantId => address) deferredPayout;
        // Signed confirmations, refunds and disputes their signer revoked, by EIP-712 digest.
        mapping(address signer => mapping(bytes32 digest => bool)) cancelledDigests;
    }

    uint256 internal constant BPS = 10_000;

    /// @dev Blocklist mirror bit inside Account.nonceBase (see Account).
    uint64 internal constant BLOCKLISTED = uint64(1) << 63;

    /// @dev Fee rounded up on each aggregate it is charged on (tranche, confirmed payment, ruling):
    /// splitting an amount never pays less fee than the combined amount would; dust goes to the protocol.
    function fee(uint256 amount, uint16 feeBps) internal pure returns (uint256) {
        return (amount * feeBps + BPS - 1) / BPS;
    }

    /// @dev Spends `nonce` of `account` or reverts with NonceUnavailable (the blocklist bit is kept).
    function useNonce(Layout storage s, address account, uint64 nonce) internal {
        Account memory a = s.accounts[account];
        uint64 flag = a.nonceBase & BLOCKLISTED;
        bool ok;
        (ok, a.nonceBase, a.nonceBitmap) = NonceWindow.use(a.nonceBase & ~BLOCKLISTED, a.nonceBitmap, nonce);
        if (!ok) revert IPaymentEscrow.NonceUnavailable(account, nonce);
        a.nonceBase |= flag;
        s.accounts[account] = a;
    }

    /// @dev The account's nonce window without the blocklist bit.
    function nonceWindow(Layout storage s, address account) internal view returns (uint64 base, uint64 bitmap) {
        Account memory a = s.accounts[account];
        return (a.nonceBase & ~BLOCKLISTED, a.nonceBitmap);
    }

    /// @dev Zero or over 2^128-1 is never a valid amount: every balance and total is uint128.
    function checkAmount(uint256 amount) internal pure {
        if (amount == 0 || amount > type(uint128).max) revert IPaymentEscrow.InvalidAmount(amount);
    }

    /// @dev One SLOAD of an account's packed slot: balance [0,128), nonceBase [128,192) (its top bit
    /// the blocklist mirror), bitmap [192,256).
    function loadAccount(
        Account storage account
    ) internal view returns (uint128 balance, uint64 nonceBase, uint64 nonceBitmap) {
        uint256 word;
        assembly ("memory-safe") {
            word := sload(account.slot)
        }
        return (uint128(word), uint64(word >> 128), uint64(word >> 192));
    }

    /// @dev One SSTORE of an account's packed slot (same layout as the Account struct).
    function storeAccount(Account storage account, uint128 balance, uint64 nonceBase, uint64 nonceBitmap) internal {
        uint256 word = uint256(balance) | (uint256(nonceBase) << 128) | (uint256(nonceBitmap) << 192);
        assembly ("memory-safe") {
            sstore(account.slot, word)
        }
    }
}
