import type { Hex } from "../../domain";
import type { SignedTx, UnsignedTx } from "../signingThread";

export type { SignedTx, UnsignedTx };

/** Where a signer's key lives. */
export type SignerKind = "env" | "keystore" | "remote";

/**
 * A key the relayer sends transactions with (one signer lane each). Implementations never expose
 * the key: not in a property, an error message, or a log line.
 */
export interface TxSigner {
  /** Checksummed address. */
  readonly address: Hex;
  readonly kind: SignerKind;
  /** Signs an EIP-1559 transaction exactly as given: its raw bytes and hash. */
  signTransaction(tx: UnsignedTx): Promise<SignedTx>;
  /** Frees what the signer holds (a signing thread); idempotent. */
  close(): Promise<void>;
}

/** A signer that cannot be set up or refused to sign; the message never holds a key or password. */
export class SignerError extends Error {
  constructor(
    readonly code: "signer_config" | "keystore_decrypt" | "remote_signer_unavailable" | "remote_signer_mismatch",
    message: string,
  ) {
    super(message);
    this.name = "SignerError";
  }
}
