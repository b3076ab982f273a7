// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IPaymentEscrow} from "../interfaces/IPaymentEscrow.sol";
import {IMerchantRegistry} from "../interfaces/IMerchantRegistry.sol";
import {IEIP3009} from "../interfaces/IEIP3009.sol";
import {EscrowStorage} from "./EscrowStorage.sol";
import {PayerAccount} from "../types/PayerAccount.sol";

/**
 * @title CustomerFunds
 * @notice Token movements in and out of customers' network balances, and the single-payment path
 * from a wallet. A linked (delegatecalled) library of the escrow, split out for EIP-170's size
 * limit; it runs on the escrow's storage, under its reentrancy lock, and emits its events.
 * Every inflow is credited by the escrow's balance delta, and must equal what was asked.
 */
library CustomerFunds {
    using SafeERC20 for IERC20;

    /// @notice Tag of deposit authorizations: a deposit's EIP-3009 nonce is
    /// keccak256(abi.encode(DEPOSIT_TAG, from, amount, salt)), never a payment id.
    bytes32 internal constant DEPOSIT_TAG = keccak256("StablePay.Deposit");

    /// @notice Pulls `amount` from `account` by allowance.
    function deposit(EscrowStorage.Layout storage s, IERC20 token, address account, uint256 amount) external {
        EscrowStorage.checkAmount(amount);
        _pull(s, token, account, amount);
    }

    /// @notice Pulls `amount` from `account` by allowance, after setting it with an EIP-2612 permit.
    function depositWithPermit(
        EscrowStorage.Layout storage s,
        IERC20 token,
        address account,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 sig
    ) external {
        EscrowStorage.checkAmount(amount);
        // A front-runner may have submitted this permit already; the allowance is then in place
        // and transferFrom decides. Any other permit failure surfaces there as well.
        try IERC20Permit(address(token)).permit(account, address(this), amount, deadline, v, r, sig) {} catch {}
        _pull(s, token, account, amount);
    }

    /**
     * @notice Gasless deposit by the payer's EIP-3009 ReceiveWithAuthorization (payee: the escrow)
     * whose nonce is derived from DEPOSIT_TAG, `from`, `amount` and `salt`. A payment's authorization
     * (nonce = payment id) or any other authorization to the escrow cannot match such a nonce without
     * a keccak preimage, so it can never be taken as a deposit.
     */
    function depositWithAuthorization(
        EscrowStorage.Layout storage s,
        IERC20 token,
        address from,
        uint256 amount,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 salt,
        bytes calldata signature
    ) external {
        EscrowStorage.checkAmount(amount);
        bytes32 nonce = keccak256(abi.encode(DEPOSIT_TAG, from, amount, salt));
        _receive(token, from, amount, validAfter, validBefore, nonce, signature);
        _credit(s, from, msg.sender, amount);
    }

    /**
     * @notice Copies the token's blocklist status of `account` into its slot's BLOCKLISTED bit, which
     * payBatch reads. Anyone may call it; it only mirrors the token. Emits BlocklistSynced on a change.
     */
    function syncBlocklist(EscrowStorage.Layout storage s, IERC20 token, address account) external {
        bool listed = _isBlocklisted(token, account);
        EscrowStorage.Customer storage c = s.customers[account];
        PayerAccount a = c.account;
        if (a.isBlocklisted() == listed) return;
        c.account = a.withBlocklisted(listed);
        emit IPaymentEscrow.BlocklistSynced(account, listed);
    }

    /// @notice Reverts with CustomerBlocklisted if the token blocklists `account` now. (`token` as an
    /// address: a view library function is in the ABI, where a contract type is no valid type.)
    function requireNotBlocklisted(address token, address account) external view {
        if (_isBlocklisted(IERC20(token), account)) revert IPaymentEscrow.CustomerBlocklisted(account);
    }

    /// @notice Pays `amount` of `account`'s free balance to `to`. A customer the token blocklists cannot
    /// move its escrow balance out to another address (the token itself only checks `to` and the escrow).
    function withdraw(
        EscrowStorage.Layout storage s,
        IERC20 token,
        address account,
        address to,
        uint256 amount
    ) external {
        if (to == address(0)) revert IPaymentEscrow.ZeroAddress();
        // Tokens sent to the escrow itself would be owed to no one (surplus).
        if (to == address(this)) revert IPaymentEscrow.InvalidRecipient(to);
        if (_isBlocklisted(token, account)) revert IPaymentEscrow.CustomerBlocklisted(account);
        EscrowStorage.checkAmount(amount);
        EscrowStorage.Customer storage c = s.customers[account];
        PayerAccount a = c.account;
        uint128 balance = a.balance();
        if (balance < amount) revert IPaymentEscrow.InsufficientBalance(account, balance, amount);
        // Safe: checked just above.
        unchecked {
            c.account = a.withBalance(balance - uint128(amount));
        }
        s.totals.customerBalances -= uint128(amount);
        emit IPaymentEscrow.Withdrawn(account, to, amount);
        token.safeTransfer(to, amount);
    }

    /**
     * @notice Escrows one payment straight from the payer's wallet as a batch of one. The EIP-3009
     * authorization's nonce is the payment id, so the payer's signature covers every payment field;
     * the payer's escrow nonce is spent as well, so the payment cannot also go through payBatch.
     */
    function payWithAuthorization(
        EscrowStorage.Layout storage s,
        IERC20 token,
        IMerchantRegistry registry,
        IPaymentEscrow.Payment calldata p,
        bytes32 id,
        uint256 validAfter,
        uint256 validBefore,
        bytes calldata signature
    ) external returns (uint64 batchId) {
        EscrowStorage.checkAmount(p.amount);
        if (block.timestamp < p.validAfter) revert IPaymentEscrow.SignatureNotYetValid(p.validAfter);
        if (block.timestamp > p.deadline) revert IPaymentEscrow.SignatureExpired(p.deadline);
        (IMerchantRegistry.MerchantStatus status, uint16 feeBps, uint32 holdPeriod, ) = registry.terms(p.merchantId);
        if (status != IMerchantRegistry.MerchantStatus.Active) revert IPaymentEscrow.MerchantNotActive(p.merchantId);
        EscrowStorage.useNonce(s, p.payer, p.nonce);
        batchId = ++s.batchCount;
        uint48 releaseAt = uint48(block.timestamp) + holdPeriod;
        s.batchRoots[batchId] = id;
        s.tranches[batchId][p.merchantId] = IPaymentEscrow.Tranche(uint128(p.amount), releaseAt, feeBps);
        s.totals.held += uint128(p.amount);

        // The pass-through deposit is logged so that every PaymentEscrowed debits a credited balance.
        emit IPaymentEscrow.Deposited(p.payer, p.payer, p.amount);
        emit IPaymentEscrow.PaymentEscrowed(id, p.payer, p.merchantId, batchId, p.amount);
        emit IPaymentEscrow.TrancheFunded(batchId, p.merchantId, p.amount, releaseAt, feeBps);
        emit IPaymentEscrow.BatchEscrowed(batchId, id, 1, p.amount, msg.sender);
        _receive(token, p.payer, p.amount, validAfter, validBefore, id, signature);
    }

    function _receive(
        IERC20 token,
        address from,
        uint256 amount,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) private {
        uint256 before = token.balanceOf(address(this));
        IEIP3009(address(token)).receiveWithAuthorization(
            from,
            address(this),
            amount,
            validAfter,
            validBefore,
            nonce,
            signature
        );
        _checkReceived(token, before, amount);
    }

    /// @dev Asks the token `isBlocklisted(account)` (SettlementToken) or `isBlacklisted(account)` (USDC);
    /// a token with neither is taken to have no blocklist.
    function _isBlocklisted(IERC20 token, address account) private view returns (bool) {
        (bool ok, bytes memory data) = address(token).staticcall(
            abi.encodeWithSignature("isBlocklisted(address)", account)
        );
        if (!ok || data.length < 32) {
            (ok, data) = address(token).staticcall(abi.encodeWithSignature("isBlacklisted(address)", account));
        }
        return ok && data.length >= 32 && abi.decode(data, (bool));
    }

    /// @dev The allowance path shared by deposit and depositWithPermit, once `amount` is checked.
    function _pull(EscrowStorage.Layout storage s, IERC20 token, address account, uint256 amount) private {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(account, address(this), amount);
        _checkReceived(token, before, amount);
        _credit(s, account, account, amount);
    }

    function _checkReceived(IERC20 token, uint256 before, uint256 expected) private view {
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != expected) revert IPaymentEscrow.UnexpectedTokenDelta(expected, received);
    }

    function _credit(EscrowStorage.Layout storage s, address account, address funder, uint256 amount) private {
        EscrowStorage.credit(s, account, amount);
        s.totals.customerBalances += uint128(amount);
        emit IPaymentEscrow.Deposited(account, funder, amount);
    }
}
