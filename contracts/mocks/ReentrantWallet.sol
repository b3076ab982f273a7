// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ITokenReceiver} from "./CallbackToken.sol";

/**
 * @title ReentrantWallet
 * @notice A contract wallet that, when it receives tokens, calls back into a target (the escrow)
 * with preset calldata: used to prove the escrow's reentrancy guard holds during withdrawals,
 * settlements and claims. When `armed` is false it behaves like a plain wallet.
 */
contract ReentrantWallet is ITokenReceiver {
    address public reentryTarget;
    bytes public reentryCall;
    bool public armed;
    uint256 public received;

    function arm(address target_, bytes calldata reentryCall_) external {
        reentryTarget = target_;
        reentryCall = reentryCall_;
        armed = true;
    }

    function disarm() external {
        armed = false;
    }

    /// @notice Forwards any call (approve, deposit, withdraw ...) from this wallet.
    function execute(address to, bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory ret) = to.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
        return ret;
    }

    function wantsTokenHook() external pure returns (bool) {
        return true;
    }

    function onTokenReceived(address, uint256 amount) external {
        received += amount;
        if (!armed) return;
        (bool ok, bytes memory ret) = reentryTarget.call(reentryCall);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }

    function approveToken(IERC20 token, address spender, uint256 amount) external {
        token.approve(spender, amount);
    }
}
