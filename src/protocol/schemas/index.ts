/**
 * The API's request and response schemas (TypeBox), by resource, and the wire types derived from
 * them: the relayer validates, serialises and documents with them; the SDK reads their types.
 */
export * from "./common";
export * from "./errors";
export * from "./payments";
export * from "./accounts";
export * from "./merchants";
export * from "./apiKeys";
export * from "./webhooks";
export * from "./ops";
export * from "./reports";
export * from "./orderTimers";
export * from "./currencies";
export * from "./fx";
