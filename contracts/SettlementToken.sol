// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IEIP3009} from "./interfaces/IEIP3009.sol";
import {ISettlementToken} from "./interfaces/ISettlementToken.sol";

/**
 * @title SettlementToken
 * @notice Fiat-backed stablecoin (6 decimals) that StablePay payments settle in. Its signed-transfer
 * surface is that of Circle's FiatToken v2.2 (USDC): EIP-2612 `permit`, EIP-3009
 * `transferWithAuthorization` / `receiveWithAuthorization` / `cancelAuthorization`, each with a
 * `(v, r, s)` and a `bytes signature` overload, all under one EIP-712 domain
 * `(name, "2", chainid, this)`. Signatures are checked with OpenZeppelin's {SignatureChecker}:
 * ECDSA for accounts without code (low-`s` only, so malleable signatures are rejected) and
 * ERC-1271 for contract accounts, whichever overload is called.
 *
 * @dev Pause and blocklist are enforced in {_update}, the single path of every balance change
 * (transfer, transferFrom, mint, burn, authorizations, rescue of this token), so no movement path can
 * miss them. The entry points add what `_update` cannot see: the `msg.sender` of `transferFrom` and
 * `mint`. Allowances follow FiatToken v2.2: `approve`, `permit`, `increaseAllowance` and
 * `decreaseAllowance` are refused while paused but not for blocklisted parties (v2.2 dropped v2.1's
 * `notBlacklisted` checks there); an allowance to or from a blocklisted account cannot move tokens,
 * since `transferFrom` refuses a blocklisted spender, owner or recipient. Administration of every role is
 * the default admin, held by a single account under {AccessControlDefaultAdminRules} (two-step
 * transfer behind a delay).
 */
contract SettlementToken is ERC20, EIP712, Nonces, Pausable, AccessControlDefaultAdminRules, ISettlementToken {
    using SafeERC20 for IERC20;

    /// @inheritdoc ISettlementToken
    bytes32 public constant MASTER_MINTER_ROLE = keccak256("MASTER_MINTER_ROLE");
    /// @inheritdoc ISettlementToken
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @inheritdoc ISettlementToken
    bytes32 public constant BLOCKLISTER_ROLE = keccak256("BLOCKLISTER_ROLE");
    /// @inheritdoc ISettlementToken
    bytes32 public constant RESCUER_ROLE = keccak256("RESCUER_ROLE");

    /// @inheritdoc ISettlementToken
    bytes32 public constant PERMIT_TYPEHASH = keccak256(
        "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
    );
    /// @inheritdoc ISettlementToken
    bytes32 public constant TRANSFER_WITH_AUTHORIZATION_TYPEHASH = keccak256(
        "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,"
        "bytes32 nonce)"
    );
    /// @inheritdoc ISettlementToken
    bytes32 public constant RECEIVE_WITH_AUTHORIZATION_TYPEHASH = keccak256(
        "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,"
        "bytes32 nonce)"
    );
    /// @inheritdoc ISettlementToken
    bytes32 public constant CANCEL_AUTHORIZATION_TYPEHASH = keccak256(
        "CancelAuthorization(address authorizer,bytes32 nonce)"
    );

    mapping(address account => bool) private _blocklisted;
    mapping(address account => bool) private _minters;
    mapping(address minter => uint256) private _minterAllowances;
    mapping(address authorizer => mapping(bytes32 nonce => bool)) private _authorizationStates;

    /**
     * @param name_ ERC-20 name, also the EIP-712 domain name.
     * @param symbol_ ERC-20 symbol.
     * @param initialAdminDelay Delay a default admin transfer must wait before it can be accepted.
     * @param initialAdmin Holder of `DEFAULT_ADMIN_ROLE`, which grants and revokes every other role.
     */
    constructor(
        string memory name_,
        string memory symbol_,
        uint48 initialAdminDelay,
        address initialAdmin
    ) ERC20(name_, symbol_) EIP712(name_, "2") AccessControlDefaultAdminRules(initialAdminDelay, initialAdmin) {}

    // ---------------------------------------------------------------------------------------------
    // ERC-20
    // ---------------------------------------------------------------------------------------------

    /// @notice Six decimals, as USDC.
    function decimals() public pure override(ERC20, IERC20Metadata) returns (uint8) {
        return 6;
    }

    /// @notice ERC-20 approve; not while paused. Blocklisted parties may approve and be approved
    /// (as FiatToken v2.2); the allowance cannot be spent while either is blocklisted.
    function approve(address spender, uint256 value) public override(ERC20, IERC20) returns (bool) {
        _requireNotPaused();
        _approve(_msgSender(), spender, value);
        return true;
    }

    /// @inheritdoc ISettlementToken
    function increaseAllowance(address spender, uint256 increment) external returns (bool) {
        _requireNotPaused();
        address owner = _msgSender();
        _approve(owner, spender, allowance(owner, spender) + increment);
        return true;
    }

    /// @inheritdoc ISettlementToken
    function decreaseAllowance(address spender, uint256 decrement) external returns (bool) {
        _requireNotPaused();
        address owner = _msgSender();
        uint256 current = allowance(owner, spender);
        if (decrement > current) revert AllowanceBelowZero(spender, current, decrement);
        unchecked {
            _approve(owner, spender, current - decrement);
        }
        return true;
    }

    /// @notice ERC-20 transferFrom; the spender (`msg.sender`) must not be blocklisted either.
    function transferFrom(address from, address to, uint256 value) public override(ERC20, IERC20) returns (bool) {
        _requireNotBlocklisted(_msgSender());
        return super.transferFrom(from, to, value);
    }

    // ---------------------------------------------------------------------------------------------
    // EIP-2612
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IERC20Permit
    function permit(
        address owner,
        address spender,
        uint256 value,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        _permit(owner, spender, value, deadline, abi.encodePacked(r, s, v));
    }

    /// @inheritdoc ISettlementToken
    function permit(
        address owner,
        address spender,
        uint256 value,
        uint256 deadline,
        bytes calldata signature
    ) external {
        _permit(owner, spender, value, deadline, signature);
    }

    /// @inheritdoc IERC20Permit
    function nonces(address owner) public view override(IERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    /// @inheritdoc IERC20Permit
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc ISettlementToken
    function version() external pure returns (string memory) {
        return "2";
    }

    // ---------------------------------------------------------------------------------------------
    // EIP-3009
    // ---------------------------------------------------------------------------------------------

    /// @notice Moves `value` from `from` to `to` with `from`'s signed authorization; anyone may submit it.
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
    ) external {
        _transferWithAuthorization(
            TRANSFER_WITH_AUTHORIZATION_TYPEHASH,
            from,
            to,
            value,
            validAfter,
            validBefore,
            nonce,
            abi.encodePacked(r, s, v)
        );
    }

    /// @notice Same as the `(v, r, s)` overload, with a packed ECDSA or an ERC-1271 signature.
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external {
        _transferWithAuthorization(
            TRANSFER_WITH_AUTHORIZATION_TYPEHASH,
            from,
            to,
            value,
            validAfter,
            validBefore,
            nonce,
            signature
        );
    }

    /// @notice Like {transferWithAuthorization}, but only the payee `to` may submit it.
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
    ) external {
        _requireCallerIsPayee(to);
        _transferWithAuthorization(
            RECEIVE_WITH_AUTHORIZATION_TYPEHASH,
            from,
            to,
            value,
            validAfter,
            validBefore,
            nonce,
            abi.encodePacked(r, s, v)
        );
    }

    /// @notice Same as the `(v, r, s)` overload, with a packed ECDSA or an ERC-1271 signature.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external {
        _requireCallerIsPayee(to);
        _transferWithAuthorization(
            RECEIVE_WITH_AUTHORIZATION_TYPEHASH,
            from,
            to,
            value,
            validAfter,
            validBefore,
            nonce,
            signature
        );
    }

    /// @notice Cancels `authorizer`'s unused authorization `nonce` with its signature; not while paused.
    function cancelAuthorization(address authorizer, bytes32 nonce, uint8 v, bytes32 r, bytes32 s) external {
        _cancelAuthorization(authorizer, nonce, abi.encodePacked(r, s, v));
    }

    /// @notice Same as the `(v, r, s)` overload, with a packed ECDSA or an ERC-1271 signature.
    function cancelAuthorization(address authorizer, bytes32 nonce, bytes calldata signature) external {
        _cancelAuthorization(authorizer, nonce, signature);
    }

    /// @inheritdoc IEIP3009
    function authorizationState(address authorizer, bytes32 nonce) external view returns (bool) {
        return _authorizationStates[authorizer][nonce];
    }

    // ---------------------------------------------------------------------------------------------
    // Minting
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc ISettlementToken
    function configureMinter(
        address minter,
        uint256 minterAllowedAmount
    ) external whenNotPaused onlyRole(MASTER_MINTER_ROLE) {
        if (minter == address(0)) revert InvalidMinter(minter);
        _minters[minter] = true;
        _minterAllowances[minter] = minterAllowedAmount;
        emit MinterConfigured(minter, minterAllowedAmount);
    }

    /// @inheritdoc ISettlementToken
    function removeMinter(address minter) external onlyRole(MASTER_MINTER_ROLE) {
        _minters[minter] = false;
        _minterAllowances[minter] = 0;
        emit MinterRemoved(minter);
    }

    /// @inheritdoc ISettlementToken
    function mint(address to, uint256 amount) external {
        address minter = _msgSender();
        _requireMinter(minter);
        _requireNotBlocklisted(minter);
        if (amount == 0) revert ZeroAmount();
        uint256 allowance_ = _minterAllowances[minter];
        if (amount > allowance_) revert MinterAllowanceExceeded(minter, allowance_, amount);
        unchecked {
            _minterAllowances[minter] = allowance_ - amount;
        }
        emit Mint(minter, to, amount);
        _mint(to, amount);
    }

    /// @inheritdoc ISettlementToken
    function burn(uint256 amount) external {
        address burner = _msgSender();
        _requireMinter(burner);
        if (amount == 0) revert ZeroAmount();
        emit Burn(burner, amount);
        _burn(burner, amount);
    }

    /// @inheritdoc ISettlementToken
    function isMinter(address account) external view returns (bool) {
        return _minters[account];
    }

    /// @inheritdoc ISettlementToken
    function minterAllowance(address minter) external view returns (uint256) {
        return _minterAllowances[minter];
    }

    // ---------------------------------------------------------------------------------------------
    // Pause, blocklist, rescue
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc ISettlementToken
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc ISettlementToken
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /// @inheritdoc ISettlementToken
    function paused() public view override(Pausable, ISettlementToken) returns (bool) {
        return super.paused();
    }

    /// @inheritdoc ISettlementToken
    function blocklist(address account) external onlyRole(BLOCKLISTER_ROLE) {
        _blocklisted[account] = true;
        emit Blocklisted(account);
    }

    /// @inheritdoc ISettlementToken
    function unBlocklist(address account) external onlyRole(BLOCKLISTER_ROLE) {
        _blocklisted[account] = false;
        emit UnBlocklisted(account);
    }

    /// @inheritdoc ISettlementToken
    function isBlocklisted(address account) external view returns (bool) {
        return _blocklisted[account];
    }

    /// @inheritdoc ISettlementToken
    function rescueERC20(IERC20 token, address to, uint256 amount) external onlyRole(RESCUER_ROLE) {
        emit TokensRescued(token, to, amount);
        token.safeTransfer(to, amount);
    }

    // ---------------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------------

    /// @dev Every balance change passes here: refuse it while paused or when either party is blocklisted.
    function _update(address from, address to, uint256 value) internal override {
        _requireNotPaused();
        _requireNotBlocklisted(from);
        _requireNotBlocklisted(to);
        super._update(from, to, value);
    }

    function _permit(address owner, address spender, uint256 value, uint256 deadline, bytes memory signature) private {
        _requireNotPaused();
        if (block.timestamp > deadline) revert ERC2612ExpiredSignature(deadline);
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, owner, spender, value, _useNonce(owner), deadline));
        _requireValidSignature(owner, _hashTypedDataV4(structHash), signature);
        _approve(owner, spender, value);
    }

    function _transferWithAuthorization(
        bytes32 typeHash,
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes memory signature
    ) private {
        if (block.timestamp <= validAfter) revert AuthorizationNotYetValid(validAfter);
        if (block.timestamp >= validBefore) revert AuthorizationExpired(validBefore);
        _requireUnusedAuthorization(from, nonce);
        bytes32 structHash = keccak256(abi.encode(typeHash, from, to, value, validAfter, validBefore, nonce));
        _requireValidSignature(from, _hashTypedDataV4(structHash), signature);
        _authorizationStates[from][nonce] = true;
        emit AuthorizationUsed(from, nonce);
        _transfer(from, to, value);
    }

    function _cancelAuthorization(address authorizer, bytes32 nonce, bytes memory signature) private {
        _requireNotPaused();
        _requireUnusedAuthorization(authorizer, nonce);
        bytes32 structHash = keccak256(abi.encode(CANCEL_AUTHORIZATION_TYPEHASH, authorizer, nonce));
        _requireValidSignature(authorizer, _hashTypedDataV4(structHash), signature);
        _authorizationStates[authorizer][nonce] = true;
        emit AuthorizationCanceled(authorizer, nonce);
    }

    function _requireCallerIsPayee(address payee) private view {
        if (_msgSender() != payee) revert CallerMustBePayee(_msgSender(), payee);
    }

    function _requireUnusedAuthorization(address authorizer, bytes32 nonce) private view {
        if (_authorizationStates[authorizer][nonce]) revert AuthorizationUsedOrCanceled(authorizer, nonce);
    }

    function _requireValidSignature(address signer, bytes32 digest, bytes memory signature) private view {
        if (!SignatureChecker.isValidSignatureNow(signer, digest, signature)) revert InvalidSignature();
    }

    function _requireMinter(address account) private view {
        if (!_minters[account]) revert CallerNotMinter(account);
    }

    function _requireNotBlocklisted(address account) private view {
        if (_blocklisted[account]) revert AccountBlocklisted(account);
    }
}
