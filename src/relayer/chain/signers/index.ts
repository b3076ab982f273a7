/**
 * The relayer's signer backends: keys from the environment (development), encrypted JSON keystores,
 * or a remote signer over JSON-RPC eth_signTransaction (Clef, Web3Signer). One TxSigner per signer
 * lane. See docs/relayer.md, "Signer backends".
 */
import type { SignerSettings } from "../../config";
import { loadKeystoreSigner } from "./keystore";
import { LocalKeySigner } from "./local";
import { RemoteSigner } from "./remote";
import type { TxSigner } from "./types";

export { LocalKeySigner } from "./local";
export { loadKeystoreSigner } from "./keystore";
export { RemoteSigner } from "./remote";
export { SignerError, type SignerKind, type TxSigner } from "./types";

/** Opens every configured signer (decrypts keystores, checks the remote signer holds its addresses). */
export async function openSigners(settings: SignerSettings): Promise<TxSigner[]> {
  switch (settings.kind) {
    case "env":
      return settings.keys.map((key) => new LocalKeySigner(key.reveal(), "env"));
    case "keystore": {
      const signers: TxSigner[] = [];
      for (const file of settings.files) signers.push(await loadKeystoreSigner(file, settings.password.reveal()));
      return signers;
    }
    case "remote":
      return RemoteSigner.connect(settings.url.reveal(), settings.addresses);
  }
}

/** Local keys sign on threads of their own (the relayer process); remote ones need none. */
export function useSigningThreads(signers: readonly TxSigner[]): void {
  for (const signer of signers) if (signer instanceof LocalKeySigner) signer.useThread();
}
