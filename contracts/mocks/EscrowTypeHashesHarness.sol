// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IPaymentEscrow} from "../interfaces/IPaymentEscrow.sol";
import {EscrowTypeHashes} from "../libraries/EscrowTypeHashes.sol";
import {BatchMerkle} from "../libraries/BatchMerkle.sol";
import {PackedBatch} from "../libraries/PackedBatch.sol";

/**
 * @title EscrowTypeHashesHarness
 * @notice Exposes the escrow's internal EIP-712 type hashes, struct hashes, batch Merkle root and packed
 * batch decoding so
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

    function HOLD_EXTENSION_TYPEHASH() external pure returns (bytes32) {
        return EscrowTypeHashes.HOLD_EXTENSION_TYPEHASH;
    }

    function REFUND_REQUEST_TYPEHASH() external pure returns (bytes32) {
        return EscrowTypeHashes.REFUND_REQUEST_TYPEHASH;
    }

    function REFUND_REJECTION_TYPEHASH() external pure returns (bytes32) {
        return EscrowTypeHashes.REFUND_REJECTION_TYPEHASH;
    }

    function ESCALATION_TYPEHASH() external pure returns (bytes32) {
        return EscrowTypeHashes.ESCALATION_TYPEHASH;
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

    function holdExtensionHash(
        bytes32 paymentId,
        uint32 extension,
        uint8 ordinal,
        uint48 deadline
    ) external pure returns (bytes32) {
        return EscrowTypeHashes.holdExtension(paymentId, extension, ordinal, deadline);
    }

    function refundRequestHash(
        bytes32 paymentId,
        uint256 amount,
        uint8 reason,
        uint8 ordinal,
        uint48 deadline
    ) external pure returns (bytes32) {
        return EscrowTypeHashes.refundRequest(paymentId, amount, reason, ordinal, deadline);
    }

    function refundRejectionHash(bytes32 paymentId, uint8 ordinal, uint48 deadline) external pure returns (bytes32) {
        return EscrowTypeHashes.refundRejection(paymentId, ordinal, deadline);
    }

    function escalationHash(bytes32 paymentId, uint8 ordinal, uint48 deadline) external pure returns (bytes32) {
        return EscrowTypeHashes.escalation(paymentId, ordinal, deadline);
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

    function holdExtensionDigest(
        bytes32 paymentId,
        uint32 extension,
        uint8 ordinal,
        uint48 deadline
    ) external view returns (bytes32) {
        return _hashTypedDataV4(EscrowTypeHashes.holdExtension(paymentId, extension, ordinal, deadline));
    }

    function refundRequestDigest(
        bytes32 paymentId,
        uint256 amount,
        uint8 reason,
        uint8 ordinal,
        uint48 deadline
    ) external view returns (bytes32) {
        return _hashTypedDataV4(EscrowTypeHashes.refundRequest(paymentId, amount, reason, ordinal, deadline));
    }

    function refundRejectionDigest(bytes32 paymentId, uint8 ordinal, uint48 deadline) external view returns (bytes32) {
        return _hashTypedDataV4(EscrowTypeHashes.refundRejection(paymentId, ordinal, deadline));
    }

    function escalationDigest(bytes32 paymentId, uint8 ordinal, uint48 deadline) external view returns (bytes32) {
        return _hashTypedDataV4(EscrowTypeHashes.escalation(paymentId, ordinal, deadline));
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

    // ------------------------------------------------------------ packed batch

    /// @notice The first run of `batch` decoded as payBatch decodes it: the declared count, the run's
    /// merchant, its payments and signatures, and each payment's struct hash.
    function decodeFirstRun(
        bytes calldata batch
    )
        external
        pure
        returns (
            uint256 count,
            uint64 merchantId,
            uint32 hold,
            PackedBatch.Item[] memory items,
            bytes[] memory signatures,
            bytes32[] memory structHashes
        )
    {
        count = PackedBatch.count(batch);
        uint256 runItems;
        uint256 at;
        (merchantId, hold, runItems, at) = PackedBatch.run(batch, PackedBatch.HEADER_BYTES);
        items = new PackedBatch.Item[](runItems);
        signatures = new bytes[](runItems);
        structHashes = new bytes32[](runItems);
        for (uint256 k = 0; k < runItems; ++k) {
            structHashes[k] = PackedBatch.structHash(batch, at, merchantId, hold, EscrowTypeHashes.PAYMENT_TYPEHASH);
            (signatures[k], at) = PackedBatch.item(batch, at, items[k]);
        }
    }
}
