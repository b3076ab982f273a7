// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/**
 * @title BoundedSignature
 * @notice Signature check for batch paths: ECDSA for EOAs, ERC-1271 for contract wallets, with the
 * wallet's `isValidSignature` given a fixed gas budget and at most 32 bytes of return data read.
 * OpenZeppelin's SignatureChecker forwards all gas, which would let one hostile wallet in a batch
 * burn the whole transaction; here it can only fail its own item.
 *
 * ECDSA is tried first: a signature that recovers to the signer is valid whatever code the signer
 * has (an EIP-7702 delegated EOA still holds its key), and it spares the 2,600-gas cold code-size
 * look-up on the common EOA path. Only when recovery fails is the signer asked via ERC-1271.
 */
library BoundedSignature {
    /// @notice Gas a contract wallet gets to validate one signature inside a batch.
    uint256 internal constant ERC1271_GAS = 100_000;

    function isValid(address signer, bytes32 hash, bytes calldata signature) internal view returns (bool) {
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(hash, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == signer) return true;
        if (signer.code.length == 0) return false;
        bytes memory callData = abi.encodeCall(IERC1271.isValidSignature, (hash, signature));
        bytes4 magic = IERC1271.isValidSignature.selector;
        bool ok;
        assembly ("memory-safe") {
            let success := staticcall(ERC1271_GAS, signer, add(callData, 0x20), mload(callData), 0x00, 0x20)
            ok := and(success, and(gt(returndatasize(), 0x1f), eq(mload(0x00), magic)))
        }
        return ok;
    }
}
