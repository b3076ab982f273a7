// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPaymentEscrow} from "../interfaces/IPaymentEscrow.sol";

/**
 * @title EscrowTypeHashes
 * @notice EIP-712 type strings and struct hashes of everything the escrow accepts by signature.
 * The off-chain twin is src/sdk/typedData.ts; a test checks both agree.
 */
library EscrowTypeHashes {
    bytes32 internal constant PAYMENT_TYPEHASH = keccak256(
        "Payment(address payer,uint64 merchantId,uint256 amount,bytes32 orderRef,uint64 nonce,"
        "uint48 validAfter,uint48 deadline)"
    );
    bytes32 internal constant WITHDRAWAL_TYPEHASH = keccak256(
        "Withdrawal(address payer,address to,uint256 amount,uint64 nonce,uint48 deadline)"
    );
    bytes32 internal constant CONFIRMATION_TYPEHASH = keccak256("Confirmation(bytes32 paymentId,uint48 deadline)");
    bytes32 internal constant REFUND_TYPEHASH = keccak256(
        "Refund(bytes32 paymentId,uint256 totalRefund,uint48 deadline)"
    );
    bytes32 internal constant DISPUTE_TYPEHASH = keccak256("Dispute(bytes32 paymentId,uint48 deadline)");

    function payment(IPaymentEscrow.Payment calldata p) internal pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    PAYMENT_TYPEHASH,
                    p.payer,
                    p.merchantId,
                    p.amount,
                    p.orderRef,
                    p.nonce,
                    p.validAfter,
                    p.deadline
                )
            );
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
}
