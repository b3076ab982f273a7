// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title IEIP3009
 * @notice Transfer with authorization, exactly as Circle's FiatToken v2.2 (USDC) exposes it:
 * same function signatures, typehashes, EIP-712 domain (name, version "2", chainId at call
 * time, verifyingContract) and events. Both the `(v, r, s)` and the `bytes signature`
 * overloads exist; the bytes form accepts ERC-1271 smart-contract wallet signatures.
 */
interface IEIP3009 {
    /// @notice Emitted when an authorization is consumed by a transfer.
    event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce);
    /// @notice Emitted when an authorizer cancels an unused authorization.
    event AuthorizationCanceled(address indexed authorizer, bytes32 indexed nonce);

    /// @notice True when `nonce` of `authorizer` was used or canceled.
    function authorizationState(address authorizer, bytes32 nonce) external view returns (bool);

    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;

    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes memory signature
    ) external;

    /// @notice Like transferWithAuthorization, but the caller must be the payee `to`
    /// (prevents front-running a deposit into a contract that must account for it).
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;

    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes memory signature
    ) external;

    function cancelAuthorization(address authorizer, bytes32 nonce, uint8 v, bytes32 r, bytes32 s) external;

    function cancelAuthorization(address authorizer, bytes32 nonce, bytes memory signature) external;
}
