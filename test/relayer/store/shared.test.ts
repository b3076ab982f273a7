import { describeEachStore } from "./stores";
import { endpointClaimSuite, guardedInsertSuite, rateLimitSuite } from "./sharedSuites";

describeEachStore("store: what holds across instances", ({ open }) => {
  const fresh = async () => {
    const fixture = await open();
    return { store: fixture.store, cleanup: () => fixture.cleanup() };
  };
  guardedInsertSuite(fresh);
  rateLimitSuite(fresh);
  endpointClaimSuite(fresh);
});
