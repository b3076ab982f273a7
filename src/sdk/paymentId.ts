/** A payment's id under its former SDK path, for importers not yet moved to src/protocol. */
export { paymentId } from "../protocol/paymentId";
