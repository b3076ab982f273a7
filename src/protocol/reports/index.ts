/**
 * Merchant reports from the escrow's events: reconciliation files (CSV) and the credit record. One
 * pure module the relayer and the auditor both import, so the two produce the same output from the
 * same events. Not re-exported by src/protocol/index.ts: the SDK does not need the CSV writer.
 */
export * from "./events";
export * from "./day";
export * from "./csv";
export * from "./ledger";
export * from "./files";
export * from "./credit";
export * from "./orderRefs";
