import { describeEachStore } from "./stores";
import {
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
