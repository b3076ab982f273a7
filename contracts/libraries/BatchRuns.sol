// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPaymentEscrow} from "../interfaces/IPaymentEscrow.sol";
import {IMerchantRegistry} from "../interfaces/IMerchantRegistry.sol";
import {EscrowStorage} from "./EscrowStorage.sol";
import {BatchMerkle} from "./BatchMerkle.sol";

/**
 * @title BatchRuns
 * @notice What both batch paths ({IPaymentEscrow-payBatch} from balances, {IPaymentEscrow-payBatchWithAuthorization}
 * from wallets) share: a cursor over merchant runs that funds one (batch, merchant) tranche per run
 * with one registry read (made only once an item of the run passed its cheap checks), and the
 * batch's closing (Merkle root of the accepted ids, batch counter).
 */
library BatchRuns {
    /// @dev Per-batch state while a batch runs (in memory, to avoid stack depth).
    struct Cursor {
        uint64 batchId;
        uint64 merchantId;
        uint32 hold;
        bool termsLoaded;
        bool holdInRange;
        IMerchantRegistry.MerchantStatus status;
        uint16 feeBps;
        uint48 releaseAt;
        uint256 runTotal;
        uint256 batchTotal;
        uint256 accepted;
        uint256 finishGas;
    }

    /// @dev A cursor for the next batch id.
    function open(EscrowStorage.Layout storage s, uint256 finishGas) internal view returns (Cursor memory cursor) {
        cursor.batchId = s.batchCount + 1;
        cursor.finishGas = finishGas;
    }

    /// @dev Closes the current run and starts the next one, of `merchantId`'s payments held `hold` seconds.
    function beginRun(EscrowStorage.Layout storage s, Cursor memory cursor, uint64 merchantId, uint32 hold) internal {
        flushRun(s, cursor);
        cursor.merchantId = merchantId;
        cursor.hold = hold;
        cursor.termsLoaded = false;
    }

    /// @dev Reads the run's merchant terms (one registry call per run) and judges the run's hold.
    function loadTerms(IMerchantRegistry registry, Cursor memory cursor) internal view {
        (IMerchantRegistry.MerchantStatus status, uint16 feeBps, uint32 minHold, uint32 maxHold, ) = registry.terms(
            cursor.merchantId
        );
        uint32 hold = cursor.hold;
        cursor.status = status;
        cursor.feeBps = feeBps;
        cursor.releaseAt = uint48(block.timestamp) + hold;
        cursor.holdInRange = hold >= minHold && hold <= maxHold;
        cursor.termsLoaded = true;
    }

    /// @dev Adds an accepted payment to the current run and the batch.
    function add(Cursor memory cursor, uint256 amount) internal pure {
        // Safe: every amount is below 2^128 and a batch holds at most 2^16 of them.
        unchecked {
            cursor.runTotal += amount;
            cursor.batchTotal += amount;
        }
    }

    /// @dev Adds the run's total to its (batch, merchant) tranche.
    function flushRun(EscrowStorage.Layout storage s, Cursor memory cursor) internal {
        uint256 amount = cursor.runTotal;
        if (amount == 0) return;
        cursor.runTotal = 0;
        IPaymentEscrow.Tranche storage t = s.tranches[cursor.batchId][cursor.merchantId];
        // A merchant seen in two runs of one batch tops up the same tranche with the same terms, so
        // both runs must ask the same hold (same block, so the same release time).
        uint48 funded = t.releaseAt;
        if (funded != 0 && funded != cursor.releaseAt) {
            revert IPaymentEscrow.ConflictingHold(cursor.merchantId, cursor.hold);
        }
        t.amount += uint128(amount);
        t.releaseAt = cursor.releaseAt;
        t.feeBps = cursor.feeBps;
        emit IPaymentEscrow.TrancheFunded(cursor.batchId, cursor.merchantId, amount, cursor.releaseAt, cursor.feeBps);
    }

    /// @dev Funds the last run and stores the batch: its id becomes the batch count, its root the
    /// Merkle root of `acceptedIds[0:accepted]`. Call only when something was accepted.
    function close(
        EscrowStorage.Layout storage s,
        Cursor memory cursor,
        bytes32[] memory acceptedIds
    ) internal returns (bytes32 root) {
        flushRun(s, cursor);
        s.batchCount = cursor.batchId;
        root = BatchMerkle.root(acceptedIds, cursor.accepted);
        s.batchRoots[cursor.batchId] = root;
    }
}
