// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/**
 * @title Flipping1271Wallet
 * @notice Hostile ERC-1271 wallet for tests: while `burning` is off it is an honest, cheap wallet
 * (accepts its owner's ECDSA signature of the hash), so a submitter's eth_estimateGas prices it low;
 * once the owner flips it on (e.g. between the estimate and the send) {isValidSignature} spins until
 * it has burnt every unit of gas it was given.
 */
contract Flipping1271Wallet is IERC1271 {
    /// @notice The EOA whose signatures the wallet accepts and who may call {execute} and {setBurning}.
    address public immutable owner;
    /// @notice When true, {isValidSignature} never returns.
    bool public burning;

    error NotOwner(address caller);

    constructor(address owner_) {
        owner = owner_;
    }

    /// @notice Turns gas burning on or off. Owner only.
    function setBurning(bool on) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        burning = on;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes memory signature) external view returns (bytes4) {
        if (burning) {
            assembly ("memory-safe") {
                for {} 1 {} {}
            }
        }
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecover(hash, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == owner) return IERC1271.isValidSignature.selector;
        return 0xffffffff;
    }

    /// @notice Calls `target` with `data` as the wallet; bubbles up reverts. Owner only.
    function execute(address target, bytes calldata data) external returns (bytes memory) {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        return Address.functionCall(target, data);
    }
}
