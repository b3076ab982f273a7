// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/**
 * @title FeeOnTransferToken
 * @notice Test token that burns `feeBps` of every transfer between two accounts, so the recipient
 * receives less than was sent (mint and burn are exempt). Used to prove the escrow refuses tokens
 * whose balance delta differs from the amount asked (`UnexpectedTokenDelta`).
 */
contract FeeOnTransferToken is ERC20 {
    uint256 public constant BPS = 10_000;
    uint256 public immutable feeBps;

    constructor(uint256 feeBps_) ERC20("Fee USD", "feeUSD") {
        feeBps = feeBps_;
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice The fee `feeBps` charges on a transfer of `amount` (rounded down).
    function feeOf(uint256 amount) public view returns (uint256) {
        return (amount * feeBps) / BPS;
    }

    function _update(address from, address to, uint256 value) internal override {
        uint256 fee = (from == address(0) || to == address(0)) ? 0 : feeOf(value);
        if (fee > 0) super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
