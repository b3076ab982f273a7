// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPaymentEscrow} from "../interfaces/IPaymentEscrow.sol";
import {PayerAccount} from "../types/PayerAccount.sol";

/**
 * @title EscrowStorage
 * @notice The escrow's state in one struct, so the escrow and its linked libraries
 * (PaymentLifecycle, Settlement) operate on the same storage through one pointer.
 */
library EscrowStorage {
    /// @dev One customer's slot. A struct around the packed word so that a path which reads and then
    /// writes it holds one storage pointer (the mapping key is hashed once).
    struct Customer {
        PayerAccount account;
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
        mapping(address account => Customer) customers;
        mapping(uint64 batchId => bytes32) batchRoots;
        mapping(uint64 batchId => mapping(uint64 merchantId => IPaymentEscrow.Tranche)) tranches;
        mapping(bytes32 paymentId => IPaymentEscrow.PaymentRecord) records;
        mapping(uint64 merchantId => MerchantBalance) merchantBalances;
        // The payout address a merchant's claimable balance was first deferred from (see Settlement.claim).
        mapping(uint64 merchantId => address) deferredPayout;
        // Signed confirmations, refunds and disputes their signer revoked, by EIP-712 digest.
        mapping(address signer => mapping(bytes32 digest => bool)) cancelledDigests;
    }

    /// @dev Spends `nonce` of `account` or reverts with NonceUnavailable (the blocklist bit is kept).
    function useNonce(Layout storage s, address account, uint64 nonce) internal {
        Customer storage c = s.customers[account];
        (bool ok, PayerAccount updated) = c.account.useNonce(nonce);
        if (!ok) revert IPaymentEscrow.NonceUnavailable(account, nonce);
        c.account = updated;
    }

    /// @dev Adds `amount` to `account`'s free balance (checked: reverts past 2^128-1).
    function credit(Layout storage s, address account, uint256 amount) internal {
        Customer storage c = s.customers[account];
        PayerAccount a = c.account;
        c.account = a.withBalance(a.balance() + uint128(amount));
    }

    /// @dev Zero or over 2^128-1 is never a valid amount: every balance and total is uint128.
    function checkAmount(uint256 amount) internal pure {
        if (amount == 0 || amount > type(uint128).max) revert IPaymentEscrow.InvalidAmount(amount);
    }
}
