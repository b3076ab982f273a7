import { endpointClaimSuite, guardedInsertSuite, rateLimitSuite } from "./sharedSuites";
import { tempStore } from "./helpers";
import type { RelayerStore } from "../../../src/relayer/store/types";

describe("SQLite store: what holds across instances", () => {
  const open = async () => {
    const { store, cleanup } = await tempStore();
    return { store: store as unknown as RelayerStore, cleanup };
  };
  guardedInsertSuite(open);
  rateLimitSuite(open);
  endpointClaimSuite(open);
});
