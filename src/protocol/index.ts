/**
 * The protocol's facts in one place: states, contract enums, typed data, hashing, fees, Merkle
 * proofs and the API's schemas. The SDK, relayer, auditor, scripts, benches and tests import it;
 * it imports none of them.
 */
export * from "./types";
export * from "./hash";
export * from "./states";
export * from "./enums";
export * from "./typedData";
export * from "./eip3009";
export * from "./secp256k1";
export * from "./fees";
export * from "./merkle";
export * from "./digest";
export * from "./paymentId";
export * from "./orderTimerDigests";
export * from "./nonces";
export * from "./batch";
export * from "./fx";
