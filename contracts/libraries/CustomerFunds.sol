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
import {PackedBatch} from "./PackedBatch.sol";
import {BatchRuns} from "./BatchRuns.sol";
import {EscrowTypeHashes} from "./EscrowTypeHashes.sol";

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

    /// @notice The nonce of every one-off payment. The escrow's other paths spend nonces from the
    /// payer's window, which can never reach it, so a one-off payment's id is never another path's.
    uint64 internal constant ONE_OFF_NONCE = type(uint64).max;
    /// @notice Gas cap of one item's token call in {payBatchWithAuthorization}: the token's own work
    /// plus an ERC-1271 wallet's check, which the token may make for a contract payer.
    uint256 internal constant ONE_OFF_ITEM_GAS = 160_000;
    /// @notice Gas left needed before that call (63/64 rule, plus the call's own cost).
    uint256 internal constant ONE_OFF_ITEM_GAS_NEEDED = (ONE_OFF_ITEM_GAS * 64) / 63 + 2_000;
    /// @dev Gas kept for finishing the batch after an item (its events, the last tranche, root,
    /// counter, totals, the balance check and BatchEscrowed), plus the Merkle root per item.
    uint256 private constant ONE_OFF_FINISH_GAS = 110_000;
    uint256 private constant ONE_OFF_FINISH_GAS_PER_ITEM = 200;
    bytes4 private constant RECEIVE_WITH_AUTHORIZATION = bytes4(
        keccak256("receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)")
    );

    /// @dev What every item of a one-off batch needs (in memory, to avoid stack depth).
    struct OneOffBatch {
        IERC20 token;
        IMerchantRegistry registry;
        bytes32 domainSeparator;
        PackedBatch.Item item;
        bytes32[] acceptedIds;
    }

    /// @notice One-off payers' batch; see {IPaymentEscrow-payBatchWithAuthorization}.
    function payBatchWithAuthorization(
        EscrowStorage.Layout storage s,
        IERC20 token,
        IMerchantRegistry registry,
        bytes32 domainSeparator,
        bytes calldata batch
    ) external returns (uint64 batchId) {
        uint256 count = PackedBatch.count(batch);
        OneOffBatch memory b;
        b.token = token;
        b.registry = registry;
        b.domainSeparator = domainSeparator;
        b.acceptedIds = new bytes32[](count);
        BatchRuns.Cursor memory cursor = BatchRuns.open(s, ONE_OFF_FINISH_GAS + count * ONE_OFF_FINISH_GAS_PER_ITEM);
        uint256 before = token.balanceOf(address(this));
        _escrowRuns(s, b, cursor, batch, count);
        _checkReceived(token, before, cursor.batchTotal);
        if (cursor.accepted == 0) return 0;
        batchId = cursor.batchId;
        bytes32 root = BatchRuns.close(s, cursor, b.acceptedIds);
        // Cannot overflow: the tokens were received, and the token's supply fits the uint128 totals' range.
        s.totals.held += uint128(cursor.batchTotal);
        emit IPaymentEscrow.BatchEscrowed(batchId, root, cursor.accepted, cursor.batchTotal, msg.sender);
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
        (uint16 feeBps, uint48 releaseAt) = _admit(registry, p);
        EscrowStorage.useNonce(s, p.payer, p.nonce);
        batchId = ++s.batchCount;
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

    /// @dev The merchant's fee and the payment's release time, once the merchant is Active and the
    /// payment's hold within its bounds.
    function _admit(
        IMerchantRegistry registry,
        IPaymentEscrow.Payment calldata p
    ) private view returns (uint16 feeBps, uint48 releaseAt) {
        IMerchantRegistry.MerchantStatus status;
        uint32 minHold;
        uint32 maxHold;
        (status, feeBps, minHold, maxHold, ) = registry.terms(p.merchantId);
        if (status != IMerchantRegistry.MerchantStatus.Active) revert IPaymentEscrow.MerchantNotActive(p.merchantId);
        if (p.hold < minHold || p.hold > maxHold) revert IPaymentEscrow.HoldOutOfRange(p.hold, minHold, maxHold);
        releaseAt = uint48(block.timestamp) + p.hold;
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

    /// @dev Walks the batch's runs, escrowing or rejecting each item. The same walk as payBatch's,
    /// written out in both: a shared reader kept in memory adds gas to every payment (docs/gas.md).
    function _escrowRuns(
        EscrowStorage.Layout storage s,
        OneOffBatch memory b,
        BatchRuns.Cursor memory cursor,
        bytes calldata batch,
        uint256 count
    ) private {
        uint256 at = PackedBatch.HEADER_BYTES;
        uint256 seen;
        while (at < batch.length) {
            uint64 merchantId;
            uint32 hold;
            uint256 items;
            (merchantId, hold, items, at) = PackedBatch.run(batch, at);
            seen += items;
            if (seen > count) revert IPaymentEscrow.MalformedBatch(at - PackedBatch.RUN_HEADER_BYTES);
            BatchRuns.beginRun(s, cursor, merchantId, hold);
            for (uint256 k = 0; k < items; ++k) {
                at = _oneOffItem(b, cursor, batch, at);
            }
        }
        if (seen != count) revert IPaymentEscrow.MalformedBatch(batch.length);
    }

    /// @dev Decodes, checks and escrows the one-off item at `at`; returns where the next one starts.
    function _oneOffItem(
        OneOffBatch memory b,
        BatchRuns.Cursor memory cursor,
        bytes calldata batch,
        uint256 at
    ) private returns (uint256 next) {
        PackedBatch.Item memory p = b.item;
        bytes calldata signature;
        (signature, next) = PackedBatch.item(batch, at, p);
        bytes32 id = _typedDataHash(
            b.domainSeparator,
            PackedBatch.structHash(batch, at, cursor.merchantId, cursor.hold, EscrowTypeHashes.PAYMENT_TYPEHASH)
        );
        (bool ok, IPaymentEscrow.RejectReason reason) = _tryReceive(b, cursor, id, signature);
        if (ok) {
            b.acceptedIds[cursor.accepted] = id;
            ++cursor.accepted;
            emit IPaymentEscrow.Deposited(p.payer, p.payer, p.amount);
            emit IPaymentEscrow.PaymentEscrowed(id, p.payer, cursor.merchantId, cursor.batchId, p.amount);
        } else {
            emit IPaymentEscrow.PaymentRejected(id, p.payer, reason);
        }
    }

    /// @dev Checks one one-off item and asks the token to move its amount here.
    function _tryReceive(
        OneOffBatch memory b,
        BatchRuns.Cursor memory cursor,
        bytes32 id,
        bytes calldata signature
    ) private returns (bool, IPaymentEscrow.RejectReason) {
        PackedBatch.Item memory p = b.item;
        if (p.amount == 0) return (false, IPaymentEscrow.RejectReason.InvalidAmount);
        if (p.nonce != ONE_OFF_NONCE) return (false, IPaymentEscrow.RejectReason.NonceUnavailable);
        if (block.timestamp <= p.validAfter) return (false, IPaymentEscrow.RejectReason.NotYetValid);
        if (block.timestamp > p.deadline) return (false, IPaymentEscrow.RejectReason.Expired);
        if (!cursor.termsLoaded) BatchRuns.loadTerms(b.registry, cursor);
        if (cursor.status != IMerchantRegistry.MerchantStatus.Active) {
            return (false, IPaymentEscrow.RejectReason.MerchantNotActive);
        }
        if (!cursor.holdInRange) return (false, IPaymentEscrow.RejectReason.HoldOutOfRange);
        if (gasleft() < ONE_OFF_ITEM_GAS_NEEDED + cursor.finishGas) {
            return (false, IPaymentEscrow.RejectReason.InsufficientGas);
        }
        if (!_callReceive(address(b.token), p, id, signature)) {
            return (false, IPaymentEscrow.RejectReason.AuthorizationFailed);
        }
        BatchRuns.add(cursor, p.amount);
        return (true, IPaymentEscrow.RejectReason.InvalidAmount);
    }

    /// @dev token.receiveWithAuthorization(payer, this, amount, validAfter, deadline + 1, id, signature)
    /// with at most ONE_OFF_ITEM_GAS, encoded in scratch memory so that items allocate nothing;
    /// a revert is a refusal (returns false), whatever its data.
    function _callReceive(
        address token,
        PackedBatch.Item memory p,
        bytes32 id,
        bytes calldata signature
    ) private returns (bool ok) {
        bytes4 selector = RECEIVE_WITH_AUTHORIZATION;
        // Item's memory layout: payer, amount, nonce, validAfter, deadline (one word each).
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), mload(p))
            mstore(add(ptr, 0x24), address())
            mstore(add(ptr, 0x44), mload(add(p, 0x20)))
            mstore(add(ptr, 0x64), mload(add(p, 0x60)))
            mstore(add(ptr, 0x84), add(mload(add(p, 0x80)), 1))
            mstore(add(ptr, 0xa4), id)
            mstore(add(ptr, 0xc4), 0xe0)
            mstore(add(ptr, 0xe4), signature.length)
            calldatacopy(add(ptr, 0x104), signature.offset, signature.length)
            // Zero the padding of the last word of the signature.
            mstore(add(add(ptr, 0x104), signature.length), 0)
            let size := add(0x104, and(add(signature.length, 31), not(31)))
            ok := call(ONE_OFF_ITEM_GAS, token, 0, ptr, size, 0, 0)
        }
    }

    /// @dev The EIP-712 digest of `structHash` under the escrow's domain (the escrow passes its separator).
    function _typedDataHash(bytes32 domainSeparator, bytes32 structHash) private pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, hex"1901")
            mstore(add(ptr, 0x02), domainSeparator)
            mstore(add(ptr, 0x22), structHash)
            digest := keccak256(ptr, 0x42)
        }
    }
}
