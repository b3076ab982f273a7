// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Receives the CallbackToken's transfer hook.
interface ITokenReceiver {
    function onTokenReceived(address from, uint256 amount) external;
}

/**
 * @title CallbackToken
 * @notice Test token that calls `onTokenReceived` on contract recipients after every transfer
 * (like ERC-777 / ERC-1363 hooks), so tests can re-enter the escrow from inside a payout.
 * The hook's revert bubbles up, failing the transfer.
 */
contract CallbackToken is ERC20 {
    constructor() ERC20("Callback USD", "cbUSD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from != address(0) && to.code.length > 0) ITokenReceiver(to).onTokenReceived(from, value);
    }
}
