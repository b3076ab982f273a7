// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {NonceWindow} from "../libraries/NonceWindow.sol";

/**
 * @dev A customer's escrow account packed in one word, so a payment reads and writes it once:
 * - [0, 128): free balance;
 * - [128, 191): the nonce window's base (it never reaches 2^63: that takes 2^63 signed nonces);
 * - bit 191: BLOCKLISTED, the token's blocklist status mirrored by the permissionless sync;
 * - [192, 256): the nonce window's bitmap (see {NonceWindow}).
 * Setters mask their inputs: inline assembly cannot rely on narrow types having clean upper bits.
 */
type PayerAccount is uint256;

using PayerAccountLibrary for PayerAccount global;

/// @notice Getters and setters of {PayerAccount}; setters return the updated word, the caller stores it.
library PayerAccountLibrary {
    // Literal constants: inline assembly takes no computed ones.
    uint256 private constant BALANCE_MASK = 0xffffffffffffffffffffffffffffffff;
    uint256 private constant BASE_OFFSET = 128;
    uint256 private constant BITMAP_OFFSET = 192;
    /// @dev Bit 191: the top bit of the base's 64-bit field.
    uint256 private constant BLOCKLISTED = 0x800000000000000000000000000000000000000000000000;
    /// @dev The window base without the BLOCKLISTED bit (63 bits).
    uint256 private constant BASE_MASK = 0x7fffffffffffffff;
    /// @dev What spending a nonce keeps: the balance and the BLOCKLISTED bit.
    uint256 private constant KEPT_MASK = 0x8000000000000000ffffffffffffffffffffffffffffffff;

    /// @dev A clean (not blocklisted) account of `balance_` with the window (`base`, `bitmap`).
    function pack(uint128 balance_, uint64 base, uint64 bitmap) internal pure returns (PayerAccount packed) {
        assembly ("memory-safe") {
            packed := or(
                and(balance_, BALANCE_MASK),
                or(shl(BASE_OFFSET, and(base, BASE_MASK)), shl(BITMAP_OFFSET, bitmap))
            )
        }
    }

    function balance(PayerAccount self) internal pure returns (uint128 value) {
        assembly ("memory-safe") {
            value := and(self, BALANCE_MASK)
        }
    }

    function isBlocklisted(PayerAccount self) internal pure returns (bool value) {
        assembly ("memory-safe") {
            value := iszero(iszero(and(self, BLOCKLISTED)))
        }
    }

    /// @dev The nonce window (base without the BLOCKLISTED bit, bitmap).
    function nonceWindow(PayerAccount self) internal pure returns (uint64 base, uint64 bitmap) {
        assembly ("memory-safe") {
            base := and(shr(BASE_OFFSET, self), BASE_MASK)
            bitmap := shr(BITMAP_OFFSET, self)
        }
    }

    function withBalance(PayerAccount self, uint128 newBalance) internal pure returns (PayerAccount updated) {
        assembly ("memory-safe") {
            updated := or(and(self, not(BALANCE_MASK)), and(newBalance, BALANCE_MASK))
        }
    }

    function withBlocklisted(PayerAccount self, bool listed) internal pure returns (PayerAccount updated) {
        assembly ("memory-safe") {
            updated := or(and(self, not(BLOCKLISTED)), mul(iszero(iszero(listed)), BLOCKLISTED))
        }
    }

    /**
     * @dev Spends `nonce` from the window (the BLOCKLISTED bit and the balance are kept).
     * @return ok False, with the account unchanged, if the nonce is not available.
     */
    function useNonce(PayerAccount self, uint64 nonce) internal pure returns (bool ok, PayerAccount updated) {
        (uint64 base, uint64 bitmap) = self.nonceWindow();
        (ok, base, bitmap) = NonceWindow.use(base, bitmap, nonce);
        assembly ("memory-safe") {
            updated := or(and(self, KEPT_MASK), or(shl(BASE_OFFSET, and(base, BASE_MASK)), shl(BITMAP_OFFSET, bitmap)))
        }
    }
}
