// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";

/**
 * @title GasBurner1271Wallet
 * @notice Hostile ERC-1271 wallet for tests: {isValidSignature} loops until it has burnt every unit
 * of gas it was given, so a verifier that forwards all gas would lose the whole transaction. The
 * owner can make the wallet call any contract through {execute} (e.g. to approve and deposit).
 */
contract GasBurner1271Wallet is IERC1271 {
    /// @notice The EOA that may call {execute}.
    address public immutable owner;

    error NotOwner(address caller);

    constructor(address owner_) {
        owner = owner_;
    }

    /// @inheritdoc IERC1271
    /// @dev Never returns: spins until out of gas (the call then fails with no return data).
    function isValidSignature(bytes32, bytes memory) external pure returns (bytes4) {
        assembly ("memory-safe") {
            for {} 1 {} {}
        }
        return IERC1271.isValidSignature.selector;
    }

    /// @notice Calls `target` with `data` as the wallet; bubbles up reverts. Owner only.
    function execute(address target, bytes calldata data) external returns (bytes memory) {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        return Address.functionCall(target, data);
    }
}
