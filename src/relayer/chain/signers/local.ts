/**
 * A key held in this process (from the environment or a decrypted keystore). Signs inline, or on
 * the signing thread (../signingThread.ts), the relayer process's path: a batch's serialisation and
 * hashing then run beside the HTTP thread.
 */
import { computeAddress } from "ethers";
import type { Hex } from "../../domain";
import { SigningThread, privateKeyBytes, signEip1559 } from "../signingThread";
import { SignerError, type SignedTx, type SignerKind, type TxSigner, type UnsignedTx } from "./types";

export class LocalKeySigner implements TxSigner {
  readonly address: Hex;
  // Private fields: absent from JSON, util.inspect and object spreads.
  readonly #key: Hex;
  readonly #bytes: Uint8Array;
  #thread: SigningThread | null = null;

  constructor(
    key: string,
    readonly kind: Extract<SignerKind, "env" | "keystore"> = "env",
  ) {
    const normalised = (key.startsWith("0x") ? key : `0x${key}`) as Hex;
    try {
      this.#bytes = privateKeyBytes(normalised);
    } catch {
      // Not the key's text: it may be a typo of a real key.
      throw new SignerError("signer_config", `a ${kind} signer key is not a valid secp256k1 private key`);
    }
    this.#key = normalised;
    this.address = computeAddress(normalised) as Hex;
  }

  /** Signs on a thread of its own from now on. */
  useThread(): void {
    this.#thread ??= new SigningThread(this.#key);
  }

  signTransaction(tx: UnsignedTx): Promise<SignedTx> {
    if (this.#thread) return this.#thread.sign(tx);
    try {
      return Promise.resolve(signEip1559(this.#bytes, tx));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async close(): Promise<void> {
    const thread = this.#thread;
    this.#thread = null;
    await thread?.close();
  }

  toJSON(): object {
    return { kind: this.kind, address: this.address };
  }
}
