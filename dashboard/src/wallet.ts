/**
 * The merchant owner's browser wallet (EIP-1193 `window.ethereum`): asks for its accounts and has
 * it sign the refund's typed data with `eth_signTypedData_v4`. The key never touches the page.
 */
interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

declare global {
  interface Window {
    ethereum?: Eip1193Provider;
  }
}

export const hasWallet = (): boolean => typeof window.ethereum?.request === "function";

/** Signs `typedData` with the wallet account `signer` (the merchant's owner key), if the wallet holds it. */
export async function signTypedData(signer: string, typedData: unknown): Promise<string> {
  const wallet = window.ethereum;
  if (!wallet) throw new Error("no browser wallet (window.ethereum) on this page");
  const accounts = (await wallet.request({ method: "eth_requestAccounts" })) as string[];
  const account = accounts.find((a) => a.toLowerCase() === signer.toLowerCase());
  if (!account) throw new Error(`the wallet does not hold the merchant's owner key ${signer}`);
  const signature = await wallet.request({
    method: "eth_signTypedData_v4",
    params: [account, JSON.stringify(typedData)],
  });
  if (typeof signature !== "string") throw new Error("the wallet returned no signature");
  return signature;
}
