// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPaymentEscrow} from "../interfaces/IPaymentEscrow.sol";

/**
 * @title PackedBatch
 * @notice Reads {IPaymentEscrow-payBatch}'s packed encoding (layout in the interface; the encoder is
 * src/protocol/batch.ts). Fixed-width big-endian fields with no ABI offsets or padding: a payment
 * costs its 90 bytes plus its signature in calldata, and decoding is a few shifts.
 * Every read is bounds-checked first (calldataload past the end would read zeros, not fail).
 */
library PackedBatch {
    uint256 internal constant HEADER_BYTES = 2;
    uint256 internal constant RUN_HEADER_BYTES = 14;
    uint256 internal constant ITEM_FIXED_BYTES = 90;

    /// @dev One item's fields (a memory struct the batch loop reuses, so items allocate nothing).
    struct Item {
        address payer;
        uint128 amount;
        uint64 nonce;
        uint48 validAfter;
        uint48 deadline;
    }

    /// @notice The item count the batch declares.
    function count(bytes calldata batch) internal pure returns (uint256 n) {
        if (batch.length < HEADER_BYTES) revert IPaymentEscrow.MalformedBatch(0);
        assembly ("memory-safe") {
            n := shr(240, calldataload(batch.offset))
        }
    }

    /// @notice The run header at `at`: its merchant, its payments' hold, its item count (at least one)
    /// and where its items start.
    function run(
        bytes calldata batch,
        uint256 at
    ) internal pure returns (uint64 merchantId, uint32 hold, uint256 items, uint256 next) {
        if (batch.length < at + RUN_HEADER_BYTES) revert IPaymentEscrow.MalformedBatch(at);
        assembly ("memory-safe") {
            let word := calldataload(add(batch.offset, at))
            merchantId := shr(192, word)
            hold := and(shr(160, word), 0xffffffff)
            items := and(shr(144, word), 0xffff)
        }
        if (items == 0) revert IPaymentEscrow.MalformedBatch(at);
        next = at + RUN_HEADER_BYTES;
    }

    /// @notice Decodes the item at `at` into `item`; returns its signature and where the next item starts.
    function item(
        bytes calldata batch,
        uint256 at,
        Item memory into
    ) internal pure returns (bytes calldata signature, uint256 next) {
        uint256 sigStart = at + ITEM_FIXED_BYTES;
        if (batch.length < sigStart) revert IPaymentEscrow.MalformedBatch(at);
        uint256 sigLength;
        address payer;
        uint128 amount;
        uint64 nonce;
        uint48 validAfter;
        uint48 deadline;
        assembly ("memory-safe") {
            let o := add(batch.offset, at)
            payer := shr(96, calldataload(o))
            amount := shr(128, calldataload(add(o, 20)))
            nonce := shr(192, calldataload(add(o, 68)))
            validAfter := shr(208, calldataload(add(o, 76)))
            deadline := shr(208, calldataload(add(o, 82)))
            sigLength := shr(240, calldataload(add(o, 88)))
        }
        next = sigStart + sigLength;
        if (batch.length < next) revert IPaymentEscrow.MalformedBatch(at);
        into.payer = payer;
        into.amount = amount;
        into.nonce = nonce;
        into.validAfter = validAfter;
        into.deadline = deadline;
        signature = batch[sigStart:next];
    }

    /// @notice The item at `at`'s fixed fields, read onto the stack (the escrow's hot path: no memory),
    /// and where the next item starts. Reverts MalformedBatch if the item overruns the batch.
    function fields(
        bytes calldata batch,
        uint256 at
    )
        internal
        pure
        returns (address payer, uint256 amount, uint64 nonce, uint48 validAfter, uint48 deadline, uint256 next)
    {
        uint256 sigStart = at + ITEM_FIXED_BYTES;
        if (batch.length < sigStart) revert IPaymentEscrow.MalformedBatch(at);
        assembly ("memory-safe") {
            let o := add(batch.offset, at)
            payer := shr(96, calldataload(o))
            amount := shr(128, calldataload(add(o, 20)))
            // nonce, validAfter, deadline and the signature length share one word.
            let tail := calldataload(add(o, 68))
            nonce := shr(192, tail)
            validAfter := and(shr(144, tail), 0xffffffffffff)
            deadline := and(shr(96, tail), 0xffffffffffff)
            next := add(sigStart, and(shr(80, tail), 0xffff))
        }
        if (batch.length < next) revert IPaymentEscrow.MalformedBatch(at);
    }

    /// @notice The item at `at`'s signature; call after {fields} or {item} checked its bounds.
    function signatureOf(bytes calldata batch, uint256 at, uint256 next) internal pure returns (bytes calldata) {
        return batch[at + ITEM_FIXED_BYTES:next];
    }

    /// @notice The item at `at`'s EIP-712 struct hash as a {IPaymentEscrow-Payment} of `merchantId`
    /// with `hold`, read straight from calldata into scratch memory (equal to abi.encode's: every
    /// field is right-aligned by its shift). The caller has decoded the item, so its bytes are in bounds.
    function structHash(
        bytes calldata batch,
        uint256 at,
        uint64 merchantId,
        uint32 hold,
        bytes32 typeHash
    ) internal pure returns (bytes32 hash) {
        assembly ("memory-safe") {
            let o := add(batch.offset, at)
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            mstore(add(ptr, 0x20), shr(96, calldataload(o)))
            mstore(add(ptr, 0x40), merchantId)
            mstore(add(ptr, 0x60), shr(128, calldataload(add(o, 20))))
            mstore(add(ptr, 0x80), calldataload(add(o, 36)))
            mstore(add(ptr, 0xa0), shr(192, calldataload(add(o, 68))))
            mstore(add(ptr, 0xc0), shr(208, calldataload(add(o, 76))))
            mstore(add(ptr, 0xe0), shr(208, calldataload(add(o, 82))))
            mstore(add(ptr, 0x100), hold)
            hash := keccak256(ptr, 0x120)
        }
    }

    /// @notice The item's payment id: the EIP-712 digest of its struct hash under `domainSeparator`
    /// (what OpenZeppelin's `_hashTypedDataV4` returns), in scratch memory.
    function paymentId(
        bytes calldata batch,
        uint256 at,
        uint64 merchantId,
        uint32 hold,
        bytes32 typeHash,
        bytes32 domainSeparator
    ) internal pure returns (bytes32 id) {
        bytes32 hash = structHash(batch, at, merchantId, hold, typeHash);
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, hex"1901")
            mstore(add(ptr, 0x02), domainSeparator)
            mstore(add(ptr, 0x22), hash)
            id := keccak256(ptr, 0x42)
        }
    }
}
