import { describeEachStore, openStoreAtVersion } from "./stores";
import {
  currencyMigrationSuite,
  currencySuite,
  endpointClaimSuite,
  guardedInsertSuite,
  oneOffPaymentsSuite,
  rateLimitSuite,
  relayQueueSuite,
  reportIndexSuite,
} from "./sharedSuites";

describeEachStore("store: what holds across instances", ({ kind, open }) => {
  const fresh = async () => {
    const fixture = await open();
    return { store: fixture.store, cleanup: () => fixture.cleanup() };
  };
  guardedInsertSuite(fresh);
  currencySuite(fresh);
  // The migration before the currency one (SQLite 15, PostgreSQL 8).
  currencyMigrationSuite(() => openStoreAtVersion(kind, -1));
  oneOffPaymentsSuite(fresh);
  rateLimitSuite(fresh);
  endpointClaimSuite(fresh);
  reportIndexSuite(async () => {
    const fixture = await open();
    return { store: fixture.store, reopen: () => fixture.reopen(), cleanup: () => fixture.cleanup() };
  });
  relayQueueSuite(kind, async () => {
    const fixture = await open();
    return { store: fixture.store, reopen: () => fixture.reopen(), cleanup: () => fixture.cleanup() };
  });
});
