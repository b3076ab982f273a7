// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {IEIP3009} from "./IEIP3009.sol";

/**
 * @title ISettlementToken
 * @notice The StablePay settlement token: a fiat-backed, 6-decimal stablecoin that follows the
 * interface of Circle's FiatToken v2.2 (USDC) for everything a payer, payee or relayer touches:
 * EIP-2612 `permit` (plus the `bytes signature` overload that accepts ERC-1271 wallets), EIP-3009
 * transfer / receive / cancel authorizations, and one EIP-712 domain (name = token name,
 * version "2", the chain id at call time, this contract) shared by all of them.
 *
 * Supply is controlled by separated roles:
 *
 * - `MASTER_MINTER_ROLE` configures minters and their allowances;
 * - minters mint up to their allowance (minting consumes it) and burn their own balance;
 * - `PAUSER_ROLE` pauses every token movement, approvals and authorizations;
 * - `BLOCKLISTER_ROLE` blocklists accounts, which then can neither send, receive, spend an
 *   allowance (as `transferFrom`'s caller) nor mint. As in FiatToken v2.2, approvals are not
 *   blocklist-checked: `approve`, `permit`, `increaseAllowance` and `decreaseAllowance` succeed
 *   for a blocklisted owner or spender (not while paused), but such an allowance moves nothing;
 * - `RESCUER_ROLE` recovers ERC-20 tokens sent to the token contract by mistake.
 */
interface ISettlementToken is IERC20Metadata, IERC20Permit, IEIP3009 {
    // ---------------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------------

    /// @notice `minter` created `amount` tokens for `to` (followed by a `Transfer` from the zero address).
    event Mint(address indexed minter, address indexed to, uint256 amount);

    /// @notice `burner` (a minter) destroyed `amount` of its own tokens.
    event Burn(address indexed burner, uint256 amount);

    /// @notice `minter` was enabled (or re-configured) with a remaining mint allowance of `allowance`.
    event MinterConfigured(address indexed minter, uint256 allowance);

    /// @notice `minter` was disabled and its remaining mint allowance cleared.
    event MinterRemoved(address indexed minter);

    /// @notice `account` was added to the blocklist.
    event Blocklisted(address indexed account);

    /// @notice `account` was removed from the blocklist.
    event UnBlocklisted(address indexed account);

    /// @notice `amount` of `token` held by this contract was sent to `to` by a rescuer.
    event TokensRescued(IERC20 indexed token, address indexed to, uint256 amount);

    // ---------------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------------

    /// @notice The authorization cannot be used yet: it is valid only while `block.timestamp > validAfter`.
    error AuthorizationNotYetValid(uint256 validAfter);

    /// @notice The authorization has expired: it is valid only while `block.timestamp < validBefore`.
    error AuthorizationExpired(uint256 validBefore);

    /// @notice `nonce` of `authorizer` was already used or canceled.
    error AuthorizationUsedOrCanceled(address authorizer, bytes32 nonce);

    /// @notice `receiveWithAuthorization` was called by `caller`, who is not the payee `payee`.
    error CallerMustBePayee(address caller, address payee);

    /// @notice The signature is not a valid EIP-712 signature of the expected signer (ECDSA or ERC-1271).
    error InvalidSignature();

    /// @notice The permit's `deadline` has passed (same selector as OpenZeppelin's ERC20Permit error).
    error ERC2612ExpiredSignature(uint256 deadline);

    /// @notice `account` is blocklisted and cannot take part in the operation.
    error AccountBlocklisted(address account);

    /// @notice `caller` is not a configured minter.
    error CallerNotMinter(address caller);

    /// @notice `minter` tried to mint `amount` but only `allowance` remains.
    error MinterAllowanceExceeded(address minter, uint256 allowance, uint256 amount);

    /// @notice `minter` cannot be configured as a minter (the zero address).
    error InvalidMinter(address minter);

    /// @notice Mint and burn amounts must be greater than zero.
    error ZeroAmount();

    /// @notice `decreaseAllowance` by `decrement` exceeds the current `allowance` of `spender`.
    error AllowanceBelowZero(address spender, uint256 allowance, uint256 decrement);

    // ---------------------------------------------------------------------------------------------
    // EIP-712 / EIP-2612
    // ---------------------------------------------------------------------------------------------

    /// @notice keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)")
    function PERMIT_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256("TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,
    /// uint256 validBefore,bytes32 nonce)")
    function TRANSFER_WITH_AUTHORIZATION_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256("ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,
    /// uint256 validBefore,bytes32 nonce)")
    function RECEIVE_WITH_AUTHORIZATION_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256("CancelAuthorization(address authorizer,bytes32 nonce)")
    function CANCEL_AUTHORIZATION_TYPEHASH() external view returns (bytes32);

    /// @notice The EIP-712 domain version, "2" (as USDC).
    function version() external view returns (string memory);

    /// @notice Raises the caller's allowance to `spender` by `increment` (FiatToken v2.2); not while paused.
    function increaseAllowance(address spender, uint256 increment) external returns (bool);

    /// @notice Lowers the caller's allowance to `spender` by `decrement` (FiatToken v2.2); not while
    /// paused; {AllowanceBelowZero} if `decrement` exceeds the allowance.
    function decreaseAllowance(address spender, uint256 decrement) external returns (bool);

    /**
     * @notice EIP-2612 permit taking a packed signature: a 65-byte `(r, s, v)` ECDSA signature of an
     * EOA `owner`, or any signature that the contract `owner` accepts through ERC-1271.
     */
    function permit(address owner, address spender, uint256 value, uint256 deadline, bytes memory signature) external;

    // ---------------------------------------------------------------------------------------------
    // Roles
    // ---------------------------------------------------------------------------------------------

    /// @notice Role that configures and removes minters.
    function MASTER_MINTER_ROLE() external view returns (bytes32);

    /// @notice Role that pauses and unpauses the token.
    function PAUSER_ROLE() external view returns (bytes32);

    /// @notice Role that adds accounts to and removes them from the blocklist.
    function BLOCKLISTER_ROLE() external view returns (bytes32);

    /// @notice Role that recovers ERC-20 tokens held by the token contract.
    function RESCUER_ROLE() external view returns (bytes32);

    // ---------------------------------------------------------------------------------------------
    // Minting
    // ---------------------------------------------------------------------------------------------

    /// @notice Enables `minter` and sets its remaining mint allowance to `minterAllowedAmount`.
    /// Master minter only; not while paused.
    function configureMinter(address minter, uint256 minterAllowedAmount) external;

    /// @notice Disables `minter` and clears its allowance. Master minter only; allowed while paused.
    function removeMinter(address minter) external;

    /// @notice Mints `amount` to `to`, consuming the caller's mint allowance. Minters only.
    function mint(address to, uint256 amount) external;

    /// @notice Burns `amount` of the caller's own balance. Minters only.
    function burn(uint256 amount) external;

    /// @notice True when `account` is a configured minter.
    function isMinter(address account) external view returns (bool);

    /// @notice The amount `minter` may still mint.
    function minterAllowance(address minter) external view returns (uint256);

    // ---------------------------------------------------------------------------------------------
    // Pause, blocklist, rescue
    // ---------------------------------------------------------------------------------------------

    /// @notice Stops every token movement, approval, permit and authorization. Pauser only.
    function pause() external;

    /// @notice Resumes normal operation. Pauser only.
    function unpause() external;

    /// @notice True while the token is paused.
    function paused() external view returns (bool);

    /// @notice Adds `account` to the blocklist. Blocklister only.
    function blocklist(address account) external;

    /// @notice Removes `account` from the blocklist. Blocklister only.
    function unBlocklist(address account) external;

    /// @notice True when `account` is blocklisted.
    function isBlocklisted(address account) external view returns (bool);

    /// @notice Sends `amount` of `token` held by this contract to `to`. Rescuer only.
    function rescueERC20(IERC20 token, address to, uint256 amount) external;
}
