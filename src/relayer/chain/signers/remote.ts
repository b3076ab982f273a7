/**
 * A remote signer over JSON-RPC `eth_signTransaction` (Clef, Web3Signer, or an HSM front end that
 * speaks it): the key never enters this process. Every signed transaction is decoded and checked
 * against what was asked (sender, recipient, calldata, value, nonce, gas, fees, chain, type): a
 * compromised or buggy signer cannot make the relayer broadcast anything else.
 *
 * Clef answers `{ raw, tx }`, Web3Signer the raw hex; both are accepted. The signer's URL may carry
 * credentials, so no error message here names it.
 */
import { Transaction, getAddress, toQuantity } from "ethers";
import type { Hex } from "../../domain";
import { SignerError, type SignedTx, type TxSigner, type UnsignedTx } from "./types";

/** A signer that does not answer within this long fails the send (nothing was recorded yet). */
export const REMOTE_SIGNER_TIMEOUT_MS = 10_000;

/** One JSON-RPC call to the signer at `url`. */
async function call(url: string, method: string, params: unknown[], timeoutMs: number): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const reason = (error as Error).name === "TimeoutError" ? "timed out" : "unreachable";
    throw new SignerError("remote_signer_unavailable", `remote signer ${method}: ${reason}`);
  }
  let body: { result?: unknown; error?: { code?: unknown; message?: unknown } };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new SignerError(
      "remote_signer_unavailable",
      `remote signer ${method}: HTTP ${response.status}, not JSON-RPC`,
    );
  }
  if (body.error) {
    const message = typeof body.error.message === "string" ? body.error.message.slice(0, 200) : "error";
    throw new SignerError("remote_signer_unavailable", `remote signer ${method} refused: ${message}`);
  }
  return body.result;
}

export class RemoteSigner implements TxSigner {
  readonly kind = "remote" as const;
  readonly address: Hex;

  constructor(
    private readonly url: string,
    address: string,
    private readonly timeoutMs: number = REMOTE_SIGNER_TIMEOUT_MS,
  ) {
    this.address = getAddress(address) as Hex;
  }

  /** Checks that the signer at `url` holds every one of `addresses`; one RemoteSigner each. */
  static async connect(url: string, addresses: readonly string[], timeoutMs?: number): Promise<RemoteSigner[]> {
    const served = await call(url, "eth_accounts", [], timeoutMs ?? REMOTE_SIGNER_TIMEOUT_MS);
    if (!Array.isArray(served))
      throw new SignerError("remote_signer_unavailable", "remote signer eth_accounts: not a list");
    const held = new Set(served.map((a) => String(a).toLowerCase()));
    for (const address of addresses) {
      if (!held.has(address.toLowerCase())) {
        throw new SignerError("signer_config", `remote signer does not hold ${getAddress(address)}`);
      }
    }
    return addresses.map((address) => new RemoteSigner(url, address, timeoutMs));
  }

  async signTransaction(tx: UnsignedTx): Promise<SignedTx> {
    const request = {
      from: this.address,
      to: tx.to,
      data: tx.data,
      input: tx.data,
      value: toQuantity(tx.value),
      nonce: toQuantity(tx.nonce),
      gas: toQuantity(tx.gas),
      maxFeePerGas: toQuantity(tx.maxFeePerGas),
      maxPriorityFeePerGas: toQuantity(tx.maxPriorityFeePerGas),
      chainId: toQuantity(tx.chainId),
      type: "0x2",
    };
    const result = await call(this.url, "eth_signTransaction", [request], this.timeoutMs);
    const raw = typeof result === "string" ? result : (result as { raw?: unknown } | null)?.raw;
    if (typeof raw !== "string" || !/^0x[0-9a-fA-F]+$/.test(raw)) {
      throw new SignerError("remote_signer_unavailable", "remote signer eth_signTransaction: no raw transaction");
    }
    let signed: Transaction;
    try {
      signed = Transaction.from(raw);
    } catch {
      throw new SignerError("remote_signer_mismatch", "remote signer returned bytes that are not a signed transaction");
    }
    const mismatch = differences(signed, this.address, tx);
    if (mismatch.length > 0) {
      throw new SignerError(
        "remote_signer_mismatch",
        `remote signer returned a transaction that differs from the request in ${mismatch.join(", ")}`,
      );
    }
    return { rawTx: raw.toLowerCase() as Hex, txHash: signed.hash!.toLowerCase() as Hex };
  }

  async close(): Promise<void> {}

  toJSON(): object {
    return { kind: this.kind, address: this.address };
  }
}

/** The fields in which `signed` is not the transaction asked for (empty: it is). */
function differences(signed: Transaction, from: Hex, asked: UnsignedTx): string[] {
  const out: string[] = [];
  const same = (a: string | null | undefined, b: string) => (a ?? "").toLowerCase() === b.toLowerCase();
  if (signed.type !== 2) out.push("type");
  if (!signed.isSigned() || !same(signed.from, from)) out.push("sender");
  if (!same(signed.to, asked.to)) out.push("to");
  if (!same(signed.data, asked.data)) out.push("data");
  if (signed.value !== asked.value) out.push("value");
  if (signed.nonce !== asked.nonce) out.push("nonce");
  if (signed.gasLimit !== asked.gas) out.push("gas");
  if (signed.maxFeePerGas !== asked.maxFeePerGas) out.push("maxFeePerGas");
  if (signed.maxPriorityFeePerGas !== asked.maxPriorityFeePerGas) out.push("maxPriorityFeePerGas");
  if (signed.chainId !== BigInt(asked.chainId)) out.push("chainId");
  if (signed.accessList && signed.accessList.length > 0) out.push("accessList");
  return out;
}
