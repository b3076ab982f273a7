// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Receives the CallbackToken's transfer hook.
interface ITokenReceiver {
    /// @notice True for contracts that want the hook (others, like the escrow, receive plainly).
    function wantsTokenHook() external view returns (bool);

    function onTokenReceived(address from, uint256 amount) external;
}

/**
 * @title CallbackToken
 * @notice Test token that calls `onTokenReceived` on contract recipients after every transfer
 * that opt in via `wantsTokenHook()` (like ERC-777 / ERC-1363 hooks), so tests can re-enter the
 * escrow from inside a payout. The hook's revert bubbles up, failing the transfer.
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
        if (from != address(0) && to.code.length > 0 && _wantsHook(to)) ITokenReceiver(to).onTokenReceived(from, value);
    }

    function _wantsHook(address to) private view returns (bool) {
        (bool ok, bytes memory data) = to.staticcall(abi.encodeCall(ITokenReceiver.wantsTokenHook, ()));
        return ok && data.length >= 32 && abi.decode(data, (bool));
    }
}
