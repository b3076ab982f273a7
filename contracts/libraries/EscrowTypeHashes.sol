// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPaymentEscrow} from "../interfaces/IPaymentEscrow.sol";

/**
 * @title EscrowTypeHashes
 * @notice EIP-712 type strings and struct hashes of everything the escrow accepts by signature.
 * The off-chain twin is src/protocol/typedData.ts; a test checks both agree.
 */
library EscrowTypeHashes {
    bytes32 internal constant PAYMENT_TYPEHASH = keccak256(
        "Payment(address payer,uint64 merchantId,uint256 amount,bytes32 orderRef,uint64 nonce,"
        "uint48 validAfter,uint48 deadline,uint32 hold)"
    );
    bytes32 internal constant WITHDRAWAL_TYPEHASH = keccak256(
        "Withdrawal(address payer,address to,uint256 amount,uint64 nonce,uint48 deadline)"
    );
    bytes32 internal constant CONFIRMATION_TYPEHASH = keccak256("Confirmation(bytes32 paymentId,uint48 deadline)");
    bytes32 internal constant REFUND_TYPEHASH = keccak256(
        "Refund(bytes32 paymentId,uint256 totalRefund,uint48 deadline)"
    );
    bytes32 internal constant DISPUTE_TYPEHASH = keccak256("Dispute(bytes32 paymentId,uint48 deadline)");
    /// @dev Order-timer actions bind an ordinal (the extension or refund request they act as or on),
    /// so one signature acts once and never on a later extension or request.
    bytes32 internal constant HOLD_EXTENSION_TYPEHASH = keccak256(
        "HoldExtension(bytes32 paymentId,uint32 extension,uint8 ordinal,uint48 deadline)"
    );
    bytes32 internal constant REFUND_REQUEST_TYPEHASH = keccak256(
        "RefundRequest(bytes32 paymentId,uint256 amount,uint8 reason,uint8 ordinal,uint48 deadline)"
    );
    bytes32 internal constant REFUND_REJECTION_TYPEHASH = keccak256(
        "RefundRejection(bytes32 paymentId,uint8 ordinal,uint48 deadline)"
    );
    bytes32 internal constant ESCALATION_TYPEHASH = keccak256(
        "Escalation(bytes32 paymentId,uint8 ordinal,uint48 deadline)"
    );

    /// @dev Hashes the payment straight from calldata into scratch memory (no allocation: this runs
    /// once per payment in a batch). Each word is masked to its type's width, so the hash equals
    /// abi.encode's even for calldata with dirty high bits.
    function payment(IPaymentEscrow.Payment calldata p) internal pure returns (bytes32 structHash) {
        bytes32 typeHash = PAYMENT_TYPEHASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            mstore(add(ptr, 0x20), and(calldataload(p), 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(ptr, 0x40), and(calldataload(add(p, 0x20)), 0xffffffffffffffff))
            mstore(add(ptr, 0x60), calldataload(add(p, 0x40)))
            mstore(add(ptr, 0x80), calldataload(add(p, 0x60)))
            mstore(add(ptr, 0xa0), and(calldataload(add(p, 0x80)), 0xffffffffffffffff))
            mstore(add(ptr, 0xc0), and(calldataload(add(p, 0xa0)), 0xffffffffffff))
            mstore(add(ptr, 0xe0), and(calldataload(add(p, 0xc0)), 0xffffffffffff))
            mstore(add(ptr, 0x100), and(calldataload(add(p, 0xe0)), 0xffffffff))
            structHash := keccak256(ptr, 0x120)
        }
    }

    function withdrawal(IPaymentEscrow.Withdrawal calldata w) internal pure returns (bytes32) {
        return keccak256(abi.encode(WITHDRAWAL_TYPEHASH, w.payer, w.to, w.amount, w.nonce, w.deadline));
    }

    function confirmation(bytes32 paymentId, uint48 deadline) internal pure returns (bytes32) {
        return keccak256(abi.encode(CONFIRMATION_TYPEHASH, paymentId, deadline));
    }

    function refund(bytes32 paymentId, uint256 totalRefund, uint48 deadline) internal pure returns (bytes32) {
        return keccak256(abi.encode(REFUND_TYPEHASH, paymentId, totalRefund, deadline));
    }

    function dispute(bytes32 paymentId, uint48 deadline) internal pure returns (bytes32) {
        return keccak256(abi.encode(DISPUTE_TYPEHASH, paymentId, deadline));
    }

    function holdExtension(
        bytes32 paymentId,
        uint32 extension,
        uint8 ordinal,
        uint48 deadline
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(HOLD_EXTENSION_TYPEHASH, paymentId, extension, ordinal, deadline));
    }

    function refundRequest(
        bytes32 paymentId,
        uint256 amount,
        uint8 reason,
        uint8 ordinal,
        uint48 deadline
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(REFUND_REQUEST_TYPEHASH, paymentId, amount, reason, ordinal, deadline));
    }

    function refundRejection(bytes32 paymentId, uint8 ordinal, uint48 deadline) internal pure returns (bytes32) {
        return keccak256(abi.encode(REFUND_REJECTION_TYPEHASH, paymentId, ordinal, deadline));
    }

    function escalation(bytes32 paymentId, uint8 ordinal, uint48 deadline) internal pure returns (bytes32) {
        return keccak256(abi.encode(ESCALATION_TYPEHASH, paymentId, ordinal, deadline));
    }
}
