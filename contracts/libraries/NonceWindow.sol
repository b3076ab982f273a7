// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title NonceWindow
 * @notice Replay protection that fits in 128 bits beside a balance: a sliding window of 64 nonces.
 * `base` is the lowest unused nonce; bit i of `bitmap` marks `base + i` as used. Nonces may be
 * used in any order inside the window, so one rejected payment does not strand the payer's later
 * ones (as strictly sequential nonces would). Whenever bit 0 becomes set the window slides up
 * past every used nonce, so bit 0 is always clear.
 */
library NonceWindow {
    uint256 internal constant WIDTH = 64;

    /// @notice True if `nonce` is inside the window and unused.
    function isAvailable(uint64 base, uint64 bitmap, uint64 nonce) internal pure returns (bool) {
        if (nonce < base) return false;
        uint256 offset = uint256(nonce) - base;
        return offset < WIDTH && (bitmap >> offset) & 1 == 0;
    }

    /**
     * @notice Marks `nonce` used and slides the window.
     * @return ok False (and the window unchanged) if the nonce is not available.
     */
    function use(
        uint64 base,
        uint64 bitmap,
        uint64 nonce
    ) internal pure returns (bool ok, uint64 newBase, uint64 newBitmap) {
        if (!isAvailable(base, bitmap, nonce)) return (false, base, bitmap);
        uint256 bits = uint256(bitmap) | (uint256(1) << (uint256(nonce) - base));
        uint256 slide = 0;
        // Bounded by WIDTH: at most 64 trailing ones.
        while (bits & 1 == 1) {
            bits >>= 1;
            ++slide;
        }
        // base + slide cannot overflow in practice: reaching 2^64 nonces takes 2^64 signatures.
        return (true, uint64(base + slide), uint64(bits));
    }
}
