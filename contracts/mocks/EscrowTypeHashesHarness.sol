// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IPaymentEscrow} from "../interfaces/IPaymentEscrow.sol";
import {EscrowTypeHashes} from "../libraries/EscrowTypeHashes.sol";
import {BatchMerkle} from "../libraries/BatchMerkle.sol";

/**
 * @title EscrowTypeHashesHarness
 * @notice Exposes the escrow's internal EIP-712 type hashes, struct hashes and batch Merkle root so
 * the TypeScript protocol module (src/protocol/typedData.ts, src/protocol/merkle.ts) can be checked against them. It uses
 * the escrow's EIP-712 domain name and version, with its own address as verifying contract.
 */
contract EscrowTypeHashesHarness is EIP712 {
    constructor() EIP712("StablePay Escrow", "1") {}

    // ------------------------------------------------------------ type hashes

    function PAYMENT_TYPEHASH() external pure returns (bytes32) {
        return EscrowTypeHashes.PAYMENT_TYPEHASH;
    }

    function WITHDRAWAL_TYPEHASH() external pure returns (bytes32) {
        return EscrowTypeHashes.WITHDRAWAL_TYPEHASH;
    }

    function CONFIRMATION_TYPEHASH() external pure returns (bytes32) {
        return EscrowTypeHashes.CONFIRMATION_TYPEHASH;
    }

    function REFUND_TYPEHASH() external pure returns (bytes32) {
        return EscrowTypeHashes.REFUND_TYPEHASH;
    }

    function DISPUTE_TYPEHASH() external pure returns (bytes32) {
        return EscrowTypeHashes.DISPUTE_TYPEHASH;
    }

    // ------------------------------------------------------------ struct hashes

    function paymentHash(IPaymentEscrow.Payment calldata p) external pure returns (bytes32) {
        return EscrowTypeHashes.payment(p);
    }

    function withdrawalHash(IPaymentEscrow.Withdrawal calldata w) external pure returns (bytes32) {
        return EscrowTypeHashes.withdrawal(w);
    }

    function confirmationHash(bytes32 paymentId, uint48 deadline) external pure returns (bytes32) {
        return EscrowTypeHashes.confirmation(paymentId, deadline);
    }

    function refundHash(bytes32 paymentId, uint256 totalRefund, uint48 deadline) external pure returns (bytes32) {
        return EscrowTypeHashes.refund(paymentId, totalRefund, deadline);
    }

    function disputeHash(bytes32 paymentId, uint48 deadline) external pure returns (bytes32) {
        return EscrowTypeHashes.dispute(paymentId, deadline);
    }

    // ------------------------------------------------------------ EIP-712 digests (this contract's domain)

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice What the escrow's paymentId() computes, under this harness's domain.
    function paymentDigest(IPaymentEscrow.Payment calldata p) external view returns (bytes32) {
        return _hashTypedDataV4(EscrowTypeHashes.payment(p));
    }

    function withdrawalDigest(IPaymentEscrow.Withdrawal calldata w) external view returns (bytes32) {
        return _hashTypedDataV4(EscrowTypeHashes.withdrawal(w));
    }

    function confirmationDigest(bytes32 paymentId, uint48 deadline) external view returns (bytes32) {
        return _hashTypedDataV4(EscrowTypeHashes.confirmation(paymentId, deadline));
    }

    function refundDigest(bytes32 paymentId, uint256 totalRefund, uint48 deadline) external view returns (bytes32) {
        return _hashTypedDataV4(EscrowTypeHashes.refund(paymentId, totalRefund, deadline));
    }

    function disputeDigest(bytes32 paymentId, uint48 deadline) external view returns (bytes32) {
        return _hashTypedDataV4(EscrowTypeHashes.dispute(paymentId, deadline));
    }

    // ------------------------------------------------------------ batch Merkle tree

    /// @notice BatchMerkle.root over all of `leaves` (what payBatch stores for its accepted ids).
    function batchRoot(bytes32[] memory leaves) external pure returns (bytes32) {
        return BatchMerkle.root(leaves, leaves.length);
    }

    /// @notice BatchMerkle.root over the first `count` of `leaves`.
    function batchRootPrefix(bytes32[] memory leaves, uint256 count) external pure returns (bytes32) {
        return BatchMerkle.root(leaves, count);
    }

    /// @notice OpenZeppelin's MerkleProof, as the escrow verifies inclusions.
    function verify(bytes32[] calldata proof, bytes32 root, bytes32 leaf) external pure returns (bool) {
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }
}
