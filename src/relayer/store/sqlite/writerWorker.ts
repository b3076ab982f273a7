/**
 * The intake writer's thread (./writerThread.ts): its own connection to the store's file, used
 * for one thing, inserting accepted payments in group commits. better-sqlite3 is synchronous, so
 * on the HTTP thread every commit (B-tree updates, WAL write, fsync) stopped the relayer from
 * reading requests; here it runs beside it.
 */
import { parentPort, workerData } from "node:worker_threads";
import { errorText } from "../../runtime/workerThreads";
import { CurrencyScope } from "../currencyScope";
import { Connection } from "./connection";
import { SqlitePayments } from "./payments";
import { decodeInsert, encodeInserted, encodeInsertFailed, encodeOutcomes } from "./writerThread";

const CHECKPOINT_INTERVAL_MS = 250;

const { file, maxPageCount, defaultCurrency } = workerData as {
  file: string;
  maxPageCount?: number;
  defaultCurrency: string;
};
const connection = new Connection(file, { defaultCurrency });
if (maxPageCount !== undefined) connection.db.pragma(`max_page_count = ${Math.floor(maxPageCount)}`);
// Unscoped: each payment is inserted (and guarded) in its own currency.
const payments = new SqlitePayments(connection, CurrencyScope.unscoped(defaultCurrency));

// This thread checkpoints the WAL for every connection of the process (they have automatic
// checkpoints off): small PASSIVE checkpoints often, never waiting for a reader or writer, so
// neither the HTTP thread nor a commit ever copies a large WAL back at once.
connection.disableAutoCheckpoint();
setInterval(() => {
  try {
    connection.db.pragma("wal_checkpoint(PASSIVE)");
  } catch {
    // A full disk or an I/O error: the next interval tries again (an exception here would end the thread).
  }
}, CHECKPOINT_INTERVAL_MS).unref();

parentPort!.on("message", (message: string | string[]) => {
  const { seq, payments: records, ceilings } = decodeInsert(message);
  if (ceilings) {
    payments.insertAcceptedGuarded(records.map((record, i) => ({ record, ceiling: ceilings[i] }))).then(
      (outcomes) => parentPort!.postMessage(encodeOutcomes(seq, records, outcomes)),
      (error: unknown) => parentPort!.postMessage(encodeInsertFailed(seq, errorText(error))),
    );
    return;
  }
  payments.insertAccepted(records).then(
    (inserted) => parentPort!.postMessage(encodeInserted(seq, records, inserted)),
    (error: unknown) => parentPort!.postMessage(encodeInsertFailed(seq, errorText(error))),
  );
});
