/** A payment's id, as the SDK exports it (src/protocol/paymentId.ts). */
export { paymentId } from "../protocol/paymentId";
