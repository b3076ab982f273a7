// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Fees
/// @notice The protocol fee rule, shared by confirmation, dispute rulings and settlement.
library Fees {
    /// @notice Basis points in one whole.
    uint256 internal constant BPS = 10_000;

    /// @notice Fee on `amount` at `feeBps`, rounded up on each aggregate it is charged on (tranche,
    /// confirmed payment, ruling): splitting an amount never pays less fee than the combined amount
    /// would; dust goes to the protocol.
    function fee(uint256 amount, uint16 feeBps) internal pure returns (uint256) {
        return (amount * feeBps + BPS - 1) / BPS;
    }
}
