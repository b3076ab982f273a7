// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IMerchantRegistry} from "./interfaces/IMerchantRegistry.sol";

/**
 * @title MerchantRegistry
 * @notice Who the merchants are and on what terms they are paid.
 *
 * Roles:
 *
 * - `DEFAULT_ADMIN_ROLE`: one account, transferred in two steps with a delay
 *   (OpenZeppelin {AccessControlDefaultAdminRules}). Grants and revokes `REGISTRAR_ROLE` and
 *   `FX_QUOTER_ROLE`. It holds no registrar powers of its own.
 * - `REGISTRAR_ROLE`: onboards merchants, sets their terms, suspends, reactivates and closes them.
 * - `FX_QUOTER_ROLE`: no on-chain power. Its holders sign the cross-currency quotes (EIP-712,
 *   off chain) that the relayer's FX desk and the auditor accept; the role is kept here so that
 *   the set of trusted quoters is public and revocable by the admin (docs/CURRENCIES.md).
 * - The merchant's owner key (not a role, stored per merchant): rotates its own owner key (two
 *   steps: propose, then the new key accepts) and payout address and sets its metadata. A lost
 *   owner key is replaced by a registrar through a delayed recovery the current key can cancel.
 *
 * Lifecycle: `Active <-> Suspended`, and `Active | Suspended -> Closed`. Closed is final.
 * A Closed record is frozen except for its payout address, which the owner key can still
 * rotate so that a closed merchant can collect balances that are still owed to it.
 *
 * Every write goes through a function that emits, so the event log replays the registry.
 *
 * @dev The {Merchant} struct packs owner (20 bytes), feeBps (2), minHold (4), status (1) and maxHold (4)
 * into its first slot, so {terms}, which the escrow calls on its batch path, costs one SLOAD.
 */
contract MerchantRegistry is IMerchantRegistry, AccessControlDefaultAdminRules {
    /// @notice Role that onboards and manages merchants.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    /// @notice Role whose holders sign cross-currency quotes off chain; checked with `hasRole`.
    bytes32 public constant FX_QUOTER_ROLE = keccak256("FX_QUOTER_ROLE");

    /// @notice Highest protocol fee: 10%.
    uint16 public constant MAX_FEE_BPS = 1000;
    /// @notice Shortest hold a merchant's bounds may allow.
    uint32 public constant MIN_HOLD_PERIOD = 1 minutes;
    /// @notice Longest hold a merchant's bounds may allow.
    uint32 public constant MAX_HOLD_PERIOD = 180 days;
    /// @notice How long a registrar's owner recovery waits, cancellable by the current owner key.
    uint48 public constant OWNER_RECOVERY_DELAY = 7 days;

    mapping(uint64 merchantId => Merchant) private _merchants;
    uint64 private _merchantCount;
    mapping(uint64 merchantId => address) private _pendingOwners;
    mapping(uint64 merchantId => OwnerRecovery) private _recoveries;

    /**
     * @param initialAdminDelay Delay the two-step `DEFAULT_ADMIN_ROLE` transfer waits out.
     * @param initialAdmin First holder of `DEFAULT_ADMIN_ROLE` (not zero).
     */
    constructor(
        uint48 initialAdminDelay,
        address initialAdmin
    ) AccessControlDefaultAdminRules(initialAdminDelay, initialAdmin) {}

    /**
     * @dev Reverts with {UnknownMerchant} unless `merchantId` has been registered.
     */
    modifier onlyKnown(uint64 merchantId) {
        _requireKnown(merchantId);
        _;
    }

    /**
     * @dev Reverts with {NotMerchantOwner} unless the caller is the merchant's owner key,
     * and with {UnknownMerchant} first if there is no such merchant.
     */
    modifier onlyMerchantOwner(uint64 merchantId) {
        _requireKnown(merchantId);
        if (_merchants[merchantId].owner != _msgSender()) revert NotMerchantOwner(merchantId, _msgSender());
        _;
    }

    // ----------------------------------------------------------------------------------------
    // Registrar
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IMerchantRegistry
    function registerMerchant(
        address merchantOwner,
        address payout,
        uint16 feeBps,
        uint32 minHold,
        uint32 maxHold,
        bytes32 metadata
    ) external onlyRole(REGISTRAR_ROLE) returns (uint64 merchantId) {
        if (merchantOwner == address(0) || payout == address(0)) revert ZeroAddress();
        _validateTerms(feeBps, minHold, maxHold);

        merchantId = ++_merchantCount;
        _merchants[merchantId] = Merchant({
            owner: merchantOwner,
            feeBps: feeBps,
            minHold: minHold,
            status: MerchantStatus.Active,
            maxHold: maxHold,
            payout: payout,
            metadata: metadata
        });
        emit MerchantRegistered(merchantId, merchantOwner, payout, feeBps, minHold, maxHold, metadata);
    }

    /// @inheritdoc IMerchantRegistry
    function setTerms(
        uint64 merchantId,
        uint16 feeBps,
        uint32 minHold,
        uint32 maxHold
    ) external onlyRole(REGISTRAR_ROLE) onlyKnown(merchantId) {
        _requireNotClosed(merchantId);
        _validateTerms(feeBps, minHold, maxHold);

        Merchant storage merchant = _merchants[merchantId];
        merchant.feeBps = feeBps;
        merchant.minHold = minHold;
        merchant.maxHold = maxHold;
        emit MerchantTermsUpdated(merchantId, feeBps, minHold, maxHold);
    }

    /// @inheritdoc IMerchantRegistry
    function suspend(uint64 merchantId) external onlyRole(REGISTRAR_ROLE) onlyKnown(merchantId) {
        MerchantStatus from = _merchants[merchantId].status;
        if (from != MerchantStatus.Active) {
            revert InvalidStatusTransition(merchantId, from, MerchantStatus.Suspended);
        }
        _setStatus(merchantId, from, MerchantStatus.Suspended);
    }

    /// @inheritdoc IMerchantRegistry
    function reactivate(uint64 merchantId) external onlyRole(REGISTRAR_ROLE) onlyKnown(merchantId) {
        MerchantStatus from = _merchants[merchantId].status;
        if (from != MerchantStatus.Suspended) {
            revert InvalidStatusTransition(merchantId, from, MerchantStatus.Active);
        }
        _setStatus(merchantId, from, MerchantStatus.Active);
    }

    /// @inheritdoc IMerchantRegistry
    function proposeOwnerRecovery(
        uint64 merchantId,
        address newOwner
    ) external onlyRole(REGISTRAR_ROLE) onlyKnown(merchantId) {
        _requireNotClosed(merchantId);
        if (newOwner == address(0)) revert ZeroAddress();
        uint48 executableAt = uint48(block.timestamp) + OWNER_RECOVERY_DELAY;
        _recoveries[merchantId] = OwnerRecovery(newOwner, executableAt);
        emit OwnerRecoveryProposed(merchantId, newOwner, executableAt);
    }

    /// @inheritdoc IMerchantRegistry
    function cancelOwnerRecovery(uint64 merchantId) external onlyKnown(merchantId) {
        address caller = _msgSender();
        if (caller != _merchants[merchantId].owner && !hasRole(REGISTRAR_ROLE, caller)) {
            revert NotMerchantOwner(merchantId, caller);
        }
        if (_recoveries[merchantId].newOwner == address(0)) revert NoOwnerRecovery(merchantId);
        delete _recoveries[merchantId];
        emit OwnerRecoveryCancelled(merchantId, caller);
    }

    /// @inheritdoc IMerchantRegistry
    function executeOwnerRecovery(uint64 merchantId) external onlyRole(REGISTRAR_ROLE) onlyKnown(merchantId) {
        _requireNotClosed(merchantId);
        OwnerRecovery memory recovery = _recoveries[merchantId];
        if (recovery.newOwner == address(0)) revert NoOwnerRecovery(merchantId);
        if (block.timestamp < recovery.executableAt) {
            revert OwnerRecoveryNotReady(merchantId, recovery.executableAt);
        }
        _setOwner(merchantId, recovery.newOwner);
    }

    /// @inheritdoc IMerchantRegistry
    function close(uint64 merchantId) external onlyRole(REGISTRAR_ROLE) onlyKnown(merchantId) {
        MerchantStatus from = _merchants[merchantId].status;
        if (from != MerchantStatus.Active && from != MerchantStatus.Suspended) {
            revert InvalidStatusTransition(merchantId, from, MerchantStatus.Closed);
        }
        _setStatus(merchantId, from, MerchantStatus.Closed);
    }

    // ----------------------------------------------------------------------------------------
    // Merchant owner key
    // ----------------------------------------------------------------------------------------

    /**
     * @inheritdoc IMerchantRegistry
     * @dev Proposing the current key is allowed and emits. Closed merchants cannot rotate their
     * owner key: once closed, the key's only remaining power is {rotatePayout}, and a frozen key
     * keeps the record auditable.
     */
    function rotateOwner(uint64 merchantId, address newOwner) external onlyMerchantOwner(merchantId) {
        _requireNotClosed(merchantId);
        if (newOwner == address(0)) revert ZeroAddress();

        _pendingOwners[merchantId] = newOwner;
        emit MerchantOwnerProposed(merchantId, _msgSender(), newOwner);
    }

    /// @inheritdoc IMerchantRegistry
    function acceptOwner(uint64 merchantId) external onlyKnown(merchantId) {
        _requireNotClosed(merchantId);
        address pending = _pendingOwners[merchantId];
        if (_msgSender() != pending || pending == address(0)) {
            revert NotPendingOwner(merchantId, _msgSender(), pending);
        }
        _setOwner(merchantId, pending);
    }

    /**
     * @inheritdoc IMerchantRegistry
     * @dev Allowed in every status, Closed included: a closed merchant may still have
     * claimable balances in the escrow to collect.
     */
    function rotatePayout(uint64 merchantId, address newPayout) external onlyMerchantOwner(merchantId) {
        if (newPayout == address(0)) revert ZeroAddress();

        Merchant storage merchant = _merchants[merchantId];
        address previousPayout = merchant.payout;
        merchant.payout = newPayout;
        emit MerchantPayoutRotated(merchantId, previousPayout, newPayout);
    }

    /**
     * @inheritdoc IMerchantRegistry
     * @dev The owner key or any `REGISTRAR_ROLE` holder. Anyone else reverts with
     * {NotMerchantOwner}.
     */
    function setMetadata(uint64 merchantId, bytes32 metadata) external onlyKnown(merchantId) {
        Merchant storage merchant = _merchants[merchantId];
        address caller = _msgSender();
        if (caller != merchant.owner && !hasRole(REGISTRAR_ROLE, caller)) {
            revert NotMerchantOwner(merchantId, caller);
        }
        _requireNotClosed(merchantId);

        merchant.metadata = metadata;
        emit MerchantMetadataUpdated(merchantId, metadata);
    }

    // ----------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IMerchantRegistry
    function getMerchant(uint64 merchantId) external view onlyKnown(merchantId) returns (Merchant memory) {
        return _merchants[merchantId];
    }

    /// @inheritdoc IMerchantRegistry
    function terms(
        uint64 merchantId
    )
        external
        view
        returns (MerchantStatus status, uint16 feeBps, uint32 minHold, uint32 maxHold, address merchantOwner)
    {
        // One SLOAD of the record's first slot, unpacked by hand so that the single read does not
        // depend on the optimizer (coverage builds run without it). Layout, low bits first:
        // owner [0, 160), feeBps [160, 176), minHold [176, 208), status [208, 216), maxHold [216, 248).
        Merchant storage merchant = _merchants[merchantId];
        uint256 word;
        assembly ("memory-safe") {
            word := sload(merchant.slot)
        }
        merchantOwner = address(uint160(word));
        feeBps = uint16(word >> 160);
        minHold = uint32(word >> 176);
        status = MerchantStatus(uint8(word >> 208));
        maxHold = uint32(word >> 216);
    }

    /// @inheritdoc IMerchantRegistry
    function pendingOwner(uint64 merchantId) external view returns (address) {
        return _pendingOwners[merchantId];
    }

    /// @inheritdoc IMerchantRegistry
    function ownerRecovery(uint64 merchantId) external view returns (OwnerRecovery memory) {
        return _recoveries[merchantId];
    }

    /// @inheritdoc IMerchantRegistry
    function payoutOf(uint64 merchantId) external view returns (address) {
        return _merchants[merchantId].payout;
    }

    /// @inheritdoc IMerchantRegistry
    function merchantCount() external view returns (uint64) {
        return _merchantCount;
    }

    /**
     * @notice ERC-165: also reports {IMerchantRegistry}.
     * @param interfaceId Interface identifier to check.
     */
    function supportsInterface(bytes4 interfaceId) public view virtual override returns (bool) {
        return interfaceId == type(IMerchantRegistry).interfaceId || super.supportsInterface(interfaceId);
    }

    // ----------------------------------------------------------------------------------------
    // Internal
    // ----------------------------------------------------------------------------------------

    /// @dev Installs a new owner key; a pending proposal or recovery is spent or void with it.
    function _setOwner(uint64 merchantId, address newOwner) private {
        Merchant storage merchant = _merchants[merchantId];
        address previousOwner = merchant.owner;
        merchant.owner = newOwner;
        delete _pendingOwners[merchantId];
        delete _recoveries[merchantId];
        emit MerchantOwnerRotated(merchantId, previousOwner, newOwner);
    }

    /// @dev Records a status change and emits {MerchantStatusChanged}.
    function _setStatus(uint64 merchantId, MerchantStatus from, MerchantStatus to) private {
        _merchants[merchantId].status = to;
        emit MerchantStatusChanged(merchantId, from, to);
    }

    /// @dev Reverts with {FeeTooHigh} or {HoldBoundsOutOfRange} for terms outside the bounds.
    function _validateTerms(uint16 feeBps, uint32 minHold, uint32 maxHold) private pure {
        if (feeBps > MAX_FEE_BPS) revert FeeTooHigh(feeBps, MAX_FEE_BPS);
        if (minHold < MIN_HOLD_PERIOD || maxHold > MAX_HOLD_PERIOD || minHold > maxHold) {
            revert HoldBoundsOutOfRange(minHold, maxHold, MIN_HOLD_PERIOD, MAX_HOLD_PERIOD);
        }
    }

    /// @dev Reverts with {UnknownMerchant} for an id that was never registered.
    function _requireKnown(uint64 merchantId) private view {
        if (_merchants[merchantId].status == MerchantStatus.None) revert UnknownMerchant(merchantId);
    }

    /// @dev Reverts with {MerchantClosed} for a Closed merchant.
    function _requireNotClosed(uint64 merchantId) private view {
        if (_merchants[merchantId].status == MerchantStatus.Closed) revert MerchantClosed(merchantId);
    }
}
