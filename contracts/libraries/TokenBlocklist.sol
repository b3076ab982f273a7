// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title TokenBlocklist
 * @notice Asks the settlement token whether it blocklists an account, for the escrow's libraries
 * (customer funds and payment confirmation).
 */
library TokenBlocklist {
    /// @dev Asks the token `isBlocklisted(account)` (SettlementToken) or `isBlacklisted(account)` (USDC);
    /// a token with neither is taken to have no blocklist.
    function isBlocklisted(address token, address account) internal view returns (bool) {
        (bool ok, bytes memory data) = token.staticcall(abi.encodeWithSignature("isBlocklisted(address)", account));
        if (!ok || data.length < 32) {
            (ok, data) = token.staticcall(abi.encodeWithSignature("isBlacklisted(address)", account));
        }
        return ok && data.length >= 32 && abi.decode(data, (bool));
    }
}
