/**
 * Keys from encrypted JSON keystores (Web3 Secret Storage, as geth, Clef and ethers write them),
 * decrypted once at start-up with ethers' Wallet.fromEncryptedJson into in-process signers.
 */
import fs from "node:fs";
import { Wallet, getAddress } from "ethers";
import { LocalKeySigner } from "./local";
import { SignerError } from "./types";

/** Decrypts the keystore at `file`; a wrong password or damaged file is a SignerError naming the file only. */
export async function loadKeystoreSigner(file: string, password: string): Promise<LocalKeySigner> {
  let json: string;
  try {
    json = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new SignerError(
      "signer_config",
      `keystore ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
  let claimed: string | null = null;
  try {
    const parsed = JSON.parse(json) as { address?: unknown };
    if (typeof parsed.address === "string") claimed = getAddress(parsed.address.replace(/^(0x)?/, "0x"));
  } catch {
    throw new SignerError("signer_config", `keystore ${file}: not a JSON keystore`);
  }
  let wallet: Awaited<ReturnType<typeof Wallet.fromEncryptedJson>>;
  try {
    wallet = await Wallet.fromEncryptedJson(json, password);
  } catch {
    // ethers' own message may quote the input; ours names the file, never the password.
    throw new SignerError("keystore_decrypt", `keystore ${file}: cannot decrypt it (wrong password or damaged file)`);
  }
  const signer = new LocalKeySigner(wallet.privateKey, "keystore");
  if (claimed !== null && claimed !== signer.address) {
    throw new SignerError("signer_config", `keystore ${file}: its address field does not match its key`);
  }
  return signer;
}
