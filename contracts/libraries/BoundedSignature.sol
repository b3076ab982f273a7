// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/**
 * @title BoundedSignature
 * @notice The escrow's one signature rule, for every path (payBatch and the signed single operations):
 * a signature that ECDSA-recovers to the signer is valid whatever code the signer has (an EIP-7702
 * delegated EOA still holds its key); otherwise the signer's code is asked via ERC-1271. ECDSA first
 * also spares the 2,600-gas cold code-size look-up on the common EOA path. (OpenZeppelin 5's
 * SignatureChecker asks ERC-1271 only whenever the signer has code, so it is not used as is.)
 *
 * In a batch, the wallet's `isValidSignature` gets a fixed gas budget and at most 32 bytes of return
 * data are read, so one hostile wallet can only fail its own item. The budget holds only if the
 * transaction still carries it: an item whose check the gas left cannot cover in full (63/64 rule)
 * plus the caller's reserve for finishing the batch is skipped without calling the wallet.
 */
library BoundedSignature {
    /// @notice Gas a contract wallet gets to validate one signature inside a batch.
    uint256 internal constant ERC1271_GAS = 100_000;
    /// @notice Gas left needed before the call so that the wallet really gets ERC1271_GAS: the EVM
    /// forwards at most 63/64 of what is left, after the call's own cost.
    uint256 internal constant ERC1271_GAS_NEEDED = (ERC1271_GAS * 64) / 63 + 500;

    enum Result {
        Valid,
        Invalid,
        OutOfGas
    }

    /// @notice Batch check: ERC-1271 with a budget of ERC1271_GAS, refused (OutOfGas) unless
    /// `reserve` gas would still be left after a wallet burnt all of it.
    function check(
        address signer,
        bytes32 hash,
        bytes calldata signature,
        uint256 reserve
    ) internal view returns (Result) {
        if (_recovers(signer, hash, signature)) return Result.Valid;
        if (signer.code.length == 0) return Result.Invalid;
        bytes memory callData = abi.encodeCall(IERC1271.isValidSignature, (hash, signature));
        bytes4 magic = IERC1271.isValidSignature.selector;
        uint256 needed = ERC1271_GAS_NEEDED + reserve;
        bool ok;
        bool starved;
        assembly ("memory-safe") {
            starved := lt(gas(), needed)
            if iszero(starved) {
                let success := staticcall(ERC1271_GAS, signer, add(callData, 0x20), mload(callData), 0x00, 0x20)
                ok := and(success, and(gt(returndatasize(), 0x1f), eq(mload(0x00), magic)))
            }
        }
        if (starved) return Result.OutOfGas;
        return ok ? Result.Valid : Result.Invalid;
    }

    /// @notice Single-operation check: same rule, the ERC-1271 call gets all the gas (the caller
    /// pays for its own transaction only).
    function isValidNow(address signer, bytes32 hash, bytes calldata signature) internal view returns (bool) {
        return
            _recovers(signer, hash, signature) ||
            SignatureChecker.isValidERC1271SignatureNowCalldata(signer, hash, signature);
    }

    /// @dev OpenZeppelin's ECDSA rule (65 bytes, s in the lower half order, v 27 or 28, a nonzero
    /// signer) with the precompile called straight from calldata: this runs once per batch item.
    function _recovers(address signer, bytes32 hash, bytes calldata signature) private view returns (bool ok) {
        if (signature.length != 65) return false;
        assembly ("memory-safe") {
            let s := calldataload(add(signature.offset, 0x20))
            // HALF_ORDER: secp256k1n / 2; a higher s is the malleable twin of a valid signature.
            if iszero(gt(s, 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0)) {
                let ptr := mload(0x40)
                mstore(ptr, hash)
                mstore(add(ptr, 0x20), byte(0, calldataload(add(signature.offset, 0x40))))
                mstore(add(ptr, 0x40), calldataload(signature.offset))
                mstore(add(ptr, 0x60), s)
                // A failed recovery (a v other than 27 or 28) returns no data: scratch stays zero.
                mstore(0x00, 0)
                pop(staticcall(gas(), 0x01, ptr, 0x80, 0x00, 0x20))
                let recovered := mload(0x00)
                ok := and(
                    iszero(iszero(recovered)),
                    eq(recovered, and(signer, 0xffffffffffffffffffffffffffffffffffffffff))
                )
            }
        }
    }
}
