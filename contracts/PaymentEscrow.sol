// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {IPaymentEscrow} from "./interfaces/IPaymentEscrow.sol";
import {IMerchantRegistry} from "./interfaces/IMerchantRegistry.sol";
import {NonceWindow} from "./libraries/NonceWindow.sol";
import {BatchRuns} from "./libraries/BatchRuns.sol";
import {PackedBatch} from "./libraries/PackedBatch.sol";
import {BoundedSignature} from "./libraries/BoundedSignature.sol";
import {EscrowTypeHashes} from "./libraries/EscrowTypeHashes.sol";
import {EscrowStorage} from "./libraries/EscrowStorage.sol";
import {PayerAccount, PayerAccountLibrary} from "./types/PayerAccount.sol";
import {PaymentLifecycle} from "./libraries/PaymentLifecycle.sol";
import {Settlement} from "./libraries/Settlement.sol";
import {CustomerFunds} from "./libraries/CustomerFunds.sol";

/**
 * @title PaymentEscrow
 * @notice See {IPaymentEscrow}. Roles: the default admin (two-step transfer with delay) sets the
 * fee recipient and dispute timeout and sweeps surplus tokens; the arbiter rules on disputes. Everything else is permissionless
 * and authorised by signatures or by the caller being the payer / merchant owner.
 */
contract PaymentEscrow is IPaymentEscrow, AccessControlDefaultAdminRules, ReentrancyGuardTransient, EIP712 {
    bytes32 public constant ARBITER_ROLE = keccak256("ARBITER_ROLE");
    uint32 public constant MIN_DISPUTE_TIMEOUT = 1 days;
    uint32 public constant MAX_DISPUTE_TIMEOUT = 180 days;
    /// @dev Gas a batch keeps for finishing after an item's ERC-1271 check (the item's own write and
    /// log, the last tranche, root, counter, totals and BatchEscrowed) plus the Merkle root per item.
    uint256 private constant BATCH_FINISH_GAS = 100_000;
    uint256 private constant BATCH_FINISH_GAS_PER_ITEM = 200;

    IERC20 public immutable token;
    IMerchantRegistry public immutable registry;

    address public feeRecipient;
    uint32 public disputeTimeout;
    EscrowStorage.Layout private _s;

    constructor(
        IERC20 token_,
        IMerchantRegistry registry_,
        address feeRecipient_,
        uint32 disputeTimeout_,
        uint48 initialAdminDelay,
        address initialAdmin
    ) AccessControlDefaultAdminRules(initialAdminDelay, initialAdmin) EIP712("StablePay Escrow", "1") {
        if (address(token_) == address(0) || address(registry_) == address(0)) revert ZeroAddress();
        token = token_;
        registry = registry_;
        _setFeeRecipient(feeRecipient_);
        _setDisputeTimeout(disputeTimeout_);
    }

    // ================================================================ customer balance

    /// @inheritdoc IPaymentEscrow
    function deposit(uint256 amount) external nonReentrant {
        CustomerFunds.deposit(_s, token, msg.sender, amount);
    }

    /// @inheritdoc IPaymentEscrow
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external nonReentrant {
        CustomerFunds.depositWithPermit(_s, token, msg.sender, amount, deadline, v, r, s);
    }

    /// @inheritdoc IPaymentEscrow
    function depositWithAuthorization(
        address from,
        uint256 amount,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 salt,
        bytes calldata signature
    ) external nonReentrant {
        CustomerFunds.depositWithAuthorization(_s, token, from, amount, validAfter, validBefore, salt, signature);
    }

    /// @inheritdoc IPaymentEscrow
    function withdraw(uint256 amount, address to) external nonReentrant {
        CustomerFunds.withdraw(_s, token, msg.sender, to, amount);
    }

    /// @inheritdoc IPaymentEscrow
    function withdrawWithSignature(Withdrawal calldata w, bytes calldata signature) external nonReentrant {
        PaymentLifecycle.useSignedWithdrawal(_s, w, signature, _domainSeparatorV4());
        CustomerFunds.withdraw(_s, token, w.payer, w.to, w.amount);
    }

    /// @inheritdoc IPaymentEscrow
    function cancelNonce(uint64 nonce) external {
        EscrowStorage.useNonce(_s, msg.sender, nonce);
        emit NonceCancelled(msg.sender, nonce);
    }

    // ================================================================ payments

    /// @inheritdoc IPaymentEscrow
    function payBatch(bytes calldata batch) external nonReentrant returns (uint64 batchId) {
        uint256 count = PackedBatch.count(batch);
        bytes32[] memory acceptedIds = new bytes32[](count);
        BatchRuns.Cursor memory cursor = BatchRuns.open(_s, BATCH_FINISH_GAS + count * BATCH_FINISH_GAS_PER_ITEM);
        bytes32 domainSeparator = _domainSeparatorV4();
        uint256 at = PackedBatch.HEADER_BYTES;
        uint256 seen;

        while (at < batch.length) {
            uint64 merchantId;
            uint32 hold;
            uint256 items;
            (merchantId, hold, items, at) = PackedBatch.run(batch, at);
            seen += items;
            if (seen > count) revert MalformedBatch(at - PackedBatch.RUN_HEADER_BYTES);
            BatchRuns.beginRun(_s, cursor, merchantId, hold);
            for (uint256 k = 0; k < items; ++k) {
                at = _escrowItem(cursor, acceptedIds, batch, at, domainSeparator);
            }
        }
        if (seen != count) revert MalformedBatch(batch.length);
        if (cursor.accepted == 0) return 0;
        batchId = cursor.batchId;
        bytes32 root = BatchRuns.close(_s, cursor, acceptedIds);
        // Cannot overflow: the batch total is bounded by balances that already fit the uint128 totals.
        _s.totals.customerBalances -= uint128(cursor.batchTotal);
        _s.totals.held += uint128(cursor.batchTotal);
        emit BatchEscrowed(batchId, root, cursor.accepted, cursor.batchTotal, msg.sender);
    }

    /// @inheritdoc IPaymentEscrow
    function payBatchWithAuthorization(bytes calldata batch) external nonReentrant returns (uint64 batchId) {
        return CustomerFunds.payBatchWithAuthorization(_s, token, registry, _domainSeparatorV4(), batch);
    }

    /// @inheritdoc IPaymentEscrow
    function payWithAuthorization(
        Payment calldata p,
        uint256 validAfter,
        uint256 validBefore,
        bytes calldata signature
    ) external nonReentrant returns (uint64 batchId) {
        return
            CustomerFunds.payWithAuthorization(
                _s,
                token,
                registry,
                p,
                _paymentId(p),
                validAfter,
                validBefore,
                signature
            );
    }

    /// @inheritdoc IPaymentEscrow
    function confirm(Payment calldata p, Inclusion calldata inclusion) external {
        PaymentLifecycle.confirm(_s, address(token), p, _paymentId(p), inclusion);
    }

    /// @inheritdoc IPaymentEscrow
    function confirmWithSignature(
        Payment calldata p,
        Inclusion calldata inclusion,
        uint48 deadline,
        bytes calldata signature
    ) external {
        PaymentLifecycle.confirmWithSignature(
            _s,
            address(token),
            p,
            inclusion,
            deadline,
            signature,
            _domainSeparatorV4()
        );
    }

    /// @inheritdoc IPaymentEscrow
    function refund(Payment calldata p, Inclusion calldata inclusion, uint256 amount) external {
        PaymentLifecycle.refund(_s, registry, p, _paymentId(p), inclusion, amount);
    }

    /// @inheritdoc IPaymentEscrow
    function refundWithSignature(
        Payment calldata p,
        Inclusion calldata inclusion,
        uint256 totalRefund,
        uint48 deadline,
        bytes calldata signature
    ) external {
        PaymentLifecycle.refundWithSignature(
            _s,
            registry,
            p,
            inclusion,
            totalRefund,
            deadline,
            signature,
            _domainSeparatorV4()
        );
    }

    /// @inheritdoc IPaymentEscrow
    function openDispute(Payment calldata p, Inclusion calldata inclusion) external {
        PaymentLifecycle.openDispute(_s, registry, p, _paymentId(p), inclusion, disputeTimeout);
    }

    /// @inheritdoc IPaymentEscrow
    function openDisputeWithSignature(
        Payment calldata p,
        Inclusion calldata inclusion,
        uint48 deadline,
        bytes calldata signature
    ) external {
        PaymentLifecycle.openDisputeWithSignature(
            _s,
            registry,
            p,
            inclusion,
            disputeTimeout,
            deadline,
            signature,
            _domainSeparatorV4()
        );
    }

    /// @inheritdoc IPaymentEscrow
    function resolveDispute(Payment calldata p, uint256 toPayer) external onlyRole(ARBITER_ROLE) {
        PaymentLifecycle.resolveDispute(_s, p, _paymentId(p), toPayer);
    }

    /// @inheritdoc IPaymentEscrow
    function resolveExpiredDispute(Payment calldata p) external {
        PaymentLifecycle.resolveExpiredDispute(_s, p, _paymentId(p));
    }

    // ================================================================ order timers

    /// @inheritdoc IPaymentEscrow
    function extendHold(Payment calldata p, Inclusion calldata inclusion, uint32 extension) external {
        PaymentLifecycle.extendHold(_s, p, _paymentId(p), inclusion, extension);
    }

    /// @inheritdoc IPaymentEscrow
    function requestRefund(Payment calldata p, Inclusion calldata inclusion, uint256 amount, uint8 reason) external {
        PaymentLifecycle.requestRefund(_s, p, _paymentId(p), inclusion, amount, reason);
    }

    /// @inheritdoc IPaymentEscrow
    function rejectRefundRequest(Payment calldata p) external {
        PaymentLifecycle.rejectRefundRequest(_s, registry, p, _paymentId(p));
    }

    /// @inheritdoc IPaymentEscrow
    function escalateRefundRequest(Payment calldata p) external {
        PaymentLifecycle.escalateRefundRequest(_s, p, _paymentId(p), disputeTimeout);
    }

    /// @inheritdoc IPaymentEscrow
    function extendHoldWithSignature(
        Payment calldata p,
        Inclusion calldata inclusion,
        uint32 extension,
        uint8 ordinal,
        uint48 deadline,
        bytes calldata signature
    ) external {
        PaymentLifecycle.extendHoldWithSignature(
            _s,
            p,
            inclusion,
            extension,
            ordinal,
            deadline,
            signature,
            _domainSeparatorV4()
        );
    }

    /// @inheritdoc IPaymentEscrow
    function requestRefundWithSignature(
        Payment calldata p,
        Inclusion calldata inclusion,
        uint256 amount,
        uint8 reason,
        uint8 ordinal,
        uint48 deadline,
        bytes calldata signature
    ) external {
        PaymentLifecycle.requestRefundWithSignature(
            _s,
            p,
            inclusion,
            amount,
            reason,
            ordinal,
            deadline,
            signature,
            _domainSeparatorV4()
        );
    }

    /// @inheritdoc IPaymentEscrow
    function rejectRefundRequestWithSignature(
        Payment calldata p,
        uint8 ordinal,
        uint48 deadline,
        bytes calldata signature
    ) external {
        PaymentLifecycle.rejectRefundRequestWithSignature(
            _s,
            registry,
            p,
            ordinal,
            deadline,
            signature,
            _domainSeparatorV4()
        );
    }

    /// @inheritdoc IPaymentEscrow
    function escalateRefundRequestWithSignature(
        Payment calldata p,
        uint8 ordinal,
        uint48 deadline,
        bytes calldata signature
    ) external {
        PaymentLifecycle.escalateRefundRequestWithSignature(
            _s,
            p,
            disputeTimeout,
            ordinal,
            deadline,
            signature,
            _domainSeparatorV4()
        );
    }

    /// @inheritdoc IPaymentEscrow
    function escalateUnansweredRefundRequest(Payment calldata p) external {
        PaymentLifecycle.escalateUnansweredRefundRequest(_s, p, _paymentId(p), disputeTimeout);
    }

    /// @inheritdoc IPaymentEscrow
    function release(Payment calldata p) external {
        PaymentLifecycle.release(_s, registry, p, _paymentId(p));
    }

    // ================================================================ settlement

    /// @inheritdoc IPaymentEscrow
    function settle(MerchantSettlement[] calldata settlements) external nonReentrant {
        Settlement.settle(_s, token, registry, settlements);
    }

    /// @inheritdoc IPaymentEscrow
    function claim(uint64 merchantId) external nonReentrant {
        Settlement.claim(_s, token, registry, merchantId);
    }

    /// @inheritdoc IPaymentEscrow
    function collectFees() external nonReentrant {
        Settlement.collectFees(_s, token, feeRecipient);
    }

    /// @inheritdoc IPaymentEscrow
    function syncBlocklist(address account) external {
        CustomerFunds.syncBlocklist(_s, token, account);
    }

    // ================================================================ admin

    function setFeeRecipient(address newRecipient) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFeeRecipient(newRecipient);
    }

    function setDisputeTimeout(uint32 newTimeout) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setDisputeTimeout(newTimeout);
    }

    /// @inheritdoc IPaymentEscrow
    function sweepSurplus(address to) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        Settlement.sweepSurplus(_s, token, to);
    }

    /// @inheritdoc IPaymentEscrow
    function cancelSignedAction(bytes32 digest) external {
        _s.cancelledDigests[msg.sender][digest] = true;
        emit SignedActionCancelled(msg.sender, digest);
    }

    // ================================================================ views

    /// @inheritdoc IPaymentEscrow
    function paymentId(Payment calldata p) external view returns (bytes32) {
        return _paymentId(p);
    }

    /// @inheritdoc IPaymentEscrow
    function balanceOf(address account) external view returns (uint256) {
        return _s.customers[account].account.balance();
    }

    /// @inheritdoc IPaymentEscrow
    function nonceWindow(address account) external view returns (uint64 base, uint64 bitmap) {
        return _s.customers[account].account.nonceWindow();
    }

    /// @inheritdoc IPaymentEscrow
    function isNonceAvailable(address account, uint64 nonce) external view returns (bool) {
        (uint64 base, uint64 bitmap) = _s.customers[account].account.nonceWindow();
        return NonceWindow.isAvailable(base, bitmap, nonce);
    }

    /// @inheritdoc IPaymentEscrow
    function blocklistMirrored(address account) external view returns (bool) {
        return _s.customers[account].account.isBlocklisted();
    }

    /// @inheritdoc IPaymentEscrow
    function batchRoot(uint64 batchId) external view returns (bytes32) {
        return _s.batchRoots[batchId];
    }

    /// @inheritdoc IPaymentEscrow
    function batchCount() external view returns (uint64) {
        return _s.batchCount;
    }

    /// @inheritdoc IPaymentEscrow
    function tranche(uint64 batchId, uint64 merchantId) external view returns (Tranche memory) {
        return _s.tranches[batchId][merchantId];
    }

    /// @inheritdoc IPaymentEscrow
    function paymentRecord(bytes32 id) external view returns (PaymentRecord memory) {
        return _s.records[id];
    }

    /// @inheritdoc IPaymentEscrow
    function merchantBalances(uint64 merchantId) external view returns (uint256 released, uint256 claimable) {
        EscrowStorage.MerchantBalance memory b = _s.merchantBalances[merchantId];
        return (b.released, b.claimable);
    }

    /// @inheritdoc IPaymentEscrow
    function liabilities() external view returns (Liabilities memory) {
        EscrowStorage.Totals memory t = _s.totals;
        return Liabilities(t.customerBalances, t.held, t.disputed, t.released, t.claimable, t.fees);
    }

    /// @inheritdoc IPaymentEscrow
    function isSignedActionCancelled(address signer, bytes32 digest) external view returns (bool) {
        return _s.cancelledDigests[signer][digest];
    }

    /// @notice EIP-712 domain separator (chain id read at call time).
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ================================================================ internals: batch path

    /// @dev Checks the item at `at` and escrows it into the cursor's current merchant run, or rejects
    /// it; returns where the next item starts. Fields stay on the stack: this runs once per payment.
    function _escrowItem(
        BatchRuns.Cursor memory cursor,
        bytes32[] memory acceptedIds,
        bytes calldata batch,
        uint256 at,
        bytes32 domainSeparator
    ) private returns (uint256 next) {
        uint64 merchantId = cursor.merchantId;
        address payer;
        uint256 amount;
        uint64 nonce;
        uint48 validAfter;
        uint48 deadline;
        (payer, amount, nonce, validAfter, deadline, next) = PackedBatch.fields(batch, at);
        bytes32 id = PackedBatch.paymentId(
            batch,
            at,
            merchantId,
            cursor.hold,
            EscrowTypeHashes.PAYMENT_TYPEHASH,
            domainSeparator
        );
        (bool ok, RejectReason reason) = _tryEscrow(
            cursor,
            payer,
            amount,
            nonce,
            validAfter,
            deadline,
            id,
            PackedBatch.signatureOf(batch, at, next)
        );
        if (ok) {
            uint256 accepted = cursor.accepted;
            // Safe: at most `count` items are accepted, and acceptedIds holds `count`.
            unchecked {
                cursor.accepted = accepted + 1;
            }
            acceptedIds[accepted] = id;
            emit PaymentEscrowed(id, payer, merchantId, cursor.batchId, amount);
        } else {
            emit PaymentRejected(id, payer, reason);
        }
    }

    /// @dev Checks one payment and, if it passes, escrows it into the cursor's current merchant run.
    function _tryEscrow(
        BatchRuns.Cursor memory cursor,
        address payer,
        uint256 amount,
        uint64 nonce,
        uint48 validAfter,
        uint48 deadline,
        bytes32 id,
        bytes calldata signature
    ) private returns (bool, RejectReason) {
        if (amount == 0) return (false, RejectReason.InvalidAmount);
        if (block.timestamp < validAfter) return (false, RejectReason.NotYetValid);
        if (block.timestamp > deadline) return (false, RejectReason.Expired);
        if (!cursor.termsLoaded) BatchRuns.loadTerms(registry, cursor);
        if (cursor.status != IMerchantRegistry.MerchantStatus.Active) return (false, RejectReason.MerchantNotActive);
        if (!cursor.holdInRange) return (false, RejectReason.HoldOutOfRange);
        BoundedSignature.Result sig = BoundedSignature.check(payer, id, signature, cursor.finishGas);
        if (sig != BoundedSignature.Result.Valid) {
            return (
                false,
                sig == BoundedSignature.Result.OutOfGas ? RejectReason.InsufficientGas : RejectReason.InvalidSignature
            );
        }

        // The account is one packed slot; read and write it once (this is the batch's hot write).
        EscrowStorage.Customer storage customer = _s.customers[payer];
        PayerAccount account = customer.account;
        // A listed payer is refused before any change.
        if (account.isBlocklisted()) return (false, RejectReason.PayerBlocklisted);
        (uint64 base, uint64 bitmap) = account.nonceWindow();
        bool nonceOk;
        (nonceOk, base, bitmap) = NonceWindow.use(base, bitmap, nonce);
        if (!nonceOk) return (false, RejectReason.NonceUnavailable);
        uint128 balance = account.balance();
        if (balance < amount) return (false, RejectReason.InsufficientBalance);
        // Safe: amount was checked against the balance just above. The account is clean (checked above).
        unchecked {
            customer.account = PayerAccountLibrary.pack(balance - uint128(amount), base, bitmap);
        }
        BatchRuns.add(cursor, amount);
        return (true, RejectReason.InvalidAmount);
    }

    // ================================================================ internals

    function _paymentId(Payment calldata p) private view returns (bytes32) {
        return _hashTypedDataV4(EscrowTypeHashes.payment(p));
    }

    function _setFeeRecipient(address newRecipient) private {
        if (newRecipient == address(0)) revert ZeroAddress();
        emit FeeRecipientUpdated(feeRecipient, newRecipient);
        feeRecipient = newRecipient;
    }

    function _setDisputeTimeout(uint32 newTimeout) private {
        if (newTimeout < MIN_DISPUTE_TIMEOUT || newTimeout > MAX_DISPUTE_TIMEOUT) {
            revert DisputeTimeoutOutOfRange(newTimeout);
        }
        emit DisputeTimeoutUpdated(disputeTimeout, newTimeout);
        disputeTimeout = newTimeout;
    }
}
