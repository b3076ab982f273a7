// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title IMerchantRegistry
 * @notice Who the merchants are and on what terms they are paid. The escrow reads a
 * merchant's terms from here when it escrows a payment and when it settles.
 */
interface IMerchantRegistry {
    /// @notice Lifecycle of a merchant. Closed is final.
    enum MerchantStatus {
        None,
        Active,
        Suspended,
        Closed
    }

    /**
     * @notice A merchant's record, packed so that the terms the escrow reads on its batch
     * path (status, fee, hold bounds) sit in the first slot with the owner.
     * @param owner Key that signs merchant operations (refunds, rotations).
     * @param feeBps Protocol fee in basis points, at most `MAX_FEE_BPS`.
     * @param minHold Shortest hold (seconds) a payment to this merchant may ask: each payment names
     * its own hold, after which it is releasable without the buyer's confirmation.
     * @param status Active merchants can receive payments.
     * @param maxHold Longest hold a payment to this merchant may ask.
     * @param payout Address settlements are paid to.
     * @param metadata Reference to off-chain metadata (e.g. a content hash).
     */
    struct Merchant {
        address owner;
        uint16 feeBps;
        uint32 minHold;
        MerchantStatus status;
        uint32 maxHold;
        address payout;
        bytes32 metadata;
    }

    /**
     * @notice A registrar's pending replacement of a lost owner key.
     * @param newOwner Key that becomes the owner.
     * @param executableAt From when the registrar may execute it; until then the current owner key
     * (or a registrar) can cancel it.
     */
    struct OwnerRecovery {
        address newOwner;
        uint48 executableAt;
    }

    /// @notice Emitted when the registrar onboards a merchant.
    event MerchantRegistered(
        uint64 indexed merchantId,
        address indexed owner,
        address payout,
        uint16 feeBps,
        uint32 minHold,
        uint32 maxHold,
        bytes32 metadata
    );
    /// @notice Emitted when a merchant's owner key changes.
    event MerchantOwnerRotated(uint64 indexed merchantId, address indexed previousOwner, address indexed newOwner);
    /// @notice Emitted when the owner key proposes `newOwner`; it takes effect when `newOwner` accepts.
    event MerchantOwnerProposed(uint64 indexed merchantId, address indexed owner, address indexed newOwner);
    /// @notice Emitted when a registrar starts replacing a lost owner key with `newOwner`.
    event OwnerRecoveryProposed(uint64 indexed merchantId, address indexed newOwner, uint48 executableAt);
    /// @notice Emitted when a pending owner recovery is cancelled by `by` (the owner key or a registrar).
    event OwnerRecoveryCancelled(uint64 indexed merchantId, address indexed by);
    /// @notice Emitted when a merchant's payout address changes.
    event MerchantPayoutRotated(uint64 indexed merchantId, address previousPayout, address newPayout);
    /// @notice Emitted when the registrar changes a merchant's fee or hold bounds.
    event MerchantTermsUpdated(uint64 indexed merchantId, uint16 feeBps, uint32 minHold, uint32 maxHold);
    /// @notice Emitted when a merchant's metadata reference changes.
    event MerchantMetadataUpdated(uint64 indexed merchantId, bytes32 metadata);
    /// @notice Emitted on every status change (suspend, reactivate, close).
    event MerchantStatusChanged(uint64 indexed merchantId, MerchantStatus previousStatus, MerchantStatus newStatus);

    /// @notice No merchant has this id.
    error UnknownMerchant(uint64 merchantId);
    /// @notice The caller is not the merchant's owner key.
    error NotMerchantOwner(uint64 merchantId, address caller);
    /// @notice Fee above the protocol maximum.
    error FeeTooHigh(uint16 feeBps, uint16 maxFeeBps);
    /// @notice Hold bounds that are inverted (`minHold` > `maxHold`) or outside [MIN_HOLD_PERIOD, MAX_HOLD_PERIOD].
    error HoldBoundsOutOfRange(uint32 minHold, uint32 maxHold, uint32 minHoldPeriod, uint32 maxHoldPeriod);
    /// @notice Address zero where an address is required.
    error ZeroAddress();
    /// @notice The requested status change is not allowed from the current status.
    error InvalidStatusTransition(uint64 merchantId, MerchantStatus from, MerchantStatus to);
    /// @notice The merchant is Closed: its record is frozen except for the payout address.
    error MerchantClosed(uint64 merchantId);
    /// @notice The caller is not the owner key proposed for the merchant (`pendingOwner`).
    error NotPendingOwner(uint64 merchantId, address caller, address pendingOwner);
    /// @notice No owner recovery is pending for the merchant.
    error NoOwnerRecovery(uint64 merchantId);
    /// @notice The owner recovery can be executed only from `executableAt`.
    error OwnerRecoveryNotReady(uint64 merchantId, uint48 executableAt);

    /**
     * @notice Onboards a merchant as Active and returns its id. Ids are sequential from 1.
     * @dev Registrar only. Reverts with ZeroAddress for a zero owner or payout, FeeTooHigh,
     * or HoldBoundsOutOfRange. Emits MerchantRegistered.
     */
    function registerMerchant(
        address owner,
        address payout,
        uint16 feeBps,
        uint32 minHold,
        uint32 maxHold,
        bytes32 metadata
    ) external returns (uint64 merchantId);

    /**
     * @notice First step of replacing the merchant's owner key: proposes `newOwner`, which takes
     * over only when it calls {acceptOwner} (so a mistyped key cannot lock the merchant out). A new
     * proposal replaces a pending one.
     * @dev Current owner key only; not while Closed (MerchantClosed). Reverts with ZeroAddress
     * for a zero key. Emits MerchantOwnerProposed.
     */
    function rotateOwner(uint64 merchantId, address newOwner) external;

    /**
     * @notice Second step: the proposed key becomes the owner. Clears any pending owner recovery.
     * @dev Proposed key only (NotPendingOwner); not while Closed. Emits MerchantOwnerRotated.
     */
    function acceptOwner(uint64 merchantId) external;

    /**
     * @notice For a lost owner key: a registrar proposes `newOwner`, executable after
     * `OWNER_RECOVERY_DELAY`. During the delay the current owner key can cancel it, so a
     * registrar cannot take over a merchant whose key is still in use.
     * @dev Registrar only; not while Closed; ZeroAddress for a zero key. Replaces a pending
     * recovery (restarting the delay). Emits OwnerRecoveryProposed.
     */
    function proposeOwnerRecovery(uint64 merchantId, address newOwner) external;

    /**
     * @notice Cancels the pending owner recovery.
     * @dev The owner key or a registrar (NotMerchantOwner otherwise); NoOwnerRecovery if none.
     * Emits OwnerRecoveryCancelled.
     */
    function cancelOwnerRecovery(uint64 merchantId) external;

    /**
     * @notice Executes the pending owner recovery once its delay has passed: the proposed key
     * becomes the owner, and any pending {rotateOwner} proposal is dropped.
     * @dev Registrar only; NoOwnerRecovery, OwnerRecoveryNotReady, MerchantClosed. Emits
     * MerchantOwnerRotated.
     */
    function executeOwnerRecovery(uint64 merchantId) external;

    /**
     * @notice Replaces the address settlements are paid to.
     * @dev Owner key only; allowed in every status, Closed included, so that a closed merchant
     * can still collect what it is owed. Reverts with ZeroAddress for a zero address.
     * Emits MerchantPayoutRotated. Funds the escrow already deferred (claimable) are not moved
     * by a rotation alone: the escrow's `claim` pays a rotated payout only when a registrar
     * calls it, so a payout address the token refuses cannot be swapped out by the owner key.
     */
    function rotatePayout(uint64 merchantId, address newPayout) external;

    /**
     * @notice Changes the fee and hold bounds. Applies to payments escrowed afterwards (a signed
     * payment whose hold falls outside the new bounds is refused when it is escrowed).
     * @dev Registrar only; not while Closed. Emits MerchantTermsUpdated.
     */
    function setTerms(uint64 merchantId, uint16 feeBps, uint32 minHold, uint32 maxHold) external;

    /**
     * @notice Changes the metadata reference.
     * @dev Owner key or registrar (anyone else: NotMerchantOwner); not while Closed.
     * Emits MerchantMetadataUpdated.
     */
    function setMetadata(uint64 merchantId, bytes32 metadata) external;

    /// @notice Active to Suspended: the merchant stops receiving payments. Registrar only.
    function suspend(uint64 merchantId) external;

    /// @notice Suspended to Active. Registrar only.
    function reactivate(uint64 merchantId) external;

    /// @notice Active or Suspended to Closed, which is final. Registrar only.
    function close(uint64 merchantId) external;

    /// @notice The full record; reverts with UnknownMerchant for an unused id.
    function getMerchant(uint64 merchantId) external view returns (Merchant memory);

    /// @notice What the escrow needs on its batch path, from one storage slot.
    /// Returns status None for an unknown id instead of reverting.
    function terms(
        uint64 merchantId
    ) external view returns (MerchantStatus status, uint16 feeBps, uint32 minHold, uint32 maxHold, address owner);

    /// @notice The owner key proposed by {rotateOwner} and not yet accepted (zero if none).
    function pendingOwner(uint64 merchantId) external view returns (address);

    /// @notice The pending owner recovery (zero fields if none).
    function ownerRecovery(uint64 merchantId) external view returns (OwnerRecovery memory);

    /// @notice Current payout address (zero for an unknown id).
    function payoutOf(uint64 merchantId) external view returns (address);

    /// @notice Number of merchants registered so far; ids run from 1 to this.
    function merchantCount() external view returns (uint64);

    /// @notice Role whose holders sign cross-currency quotes (off chain, EIP-712). It gates no
    /// call here: the FX desk and the auditor check a quote's signer with `hasRole`.
    // solhint-disable-next-line func-name-mixedcase
    function FX_QUOTER_ROLE() external view returns (bytes32);
}
