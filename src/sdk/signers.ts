/**
 * One minimal signer interface for everything the SDK signs, with adapters for ethers v6 signers
 * and viem accounts / wallet clients. The SDK never imports ethers: the adapter is structural, so
 * any object with ethers' `getAddress()` and `signTypedData(domain, types, value)` fits (Wallet,
 * HardhatEthersSigner, JsonRpcSigner, a hardware-wallet signer...).
 */
import type { LocalAccount, WalletClient } from "viem";
import { StablePayError } from "./errors";
import type { Address, Hex } from "../protocol/types";

export interface TypedDataField {
  readonly name: string;
  readonly type: string;
}

/** An EIP-712 domain. Either kind of chain id is accepted; adapters pass what their library wants. */
export interface TypedDataDomain {
  name?: string;
  version?: string;
  chainId?: bigint | number;
  verifyingContract?: Address;
  salt?: Hex;
}

/** An EIP-712 message to sign. `types` may or may not list EIP712Domain (adapters handle both). */
export interface TypedDataPayload {
  domain: TypedDataDomain;
  types: Record<string, readonly TypedDataField[]>;
  primaryType: string;
  message: Record<string, unknown>;
}

/** What the SDK needs from a wallet: its address and EIP-712 signing. */
export interface TypedDataSigner {
  getAddress(): Promise<Address>;
  /** The signature as the wallet returns it; the SDK's sign* functions normalise it. */
  signTypedData(payload: TypedDataPayload): Promise<Hex>;
}

/** The part of an ethers v6 `Signer` the adapter uses. */
export interface EthersTypedDataSigner {
  getAddress(): Promise<string>;
  signTypedData(
    domain: Record<string, unknown>,
    types: Record<string, { name: string; type: string }[]>,
    value: Record<string, unknown>,
  ): Promise<string>;
}

/** ethers refuses EIP712Domain in `types` and wants mutable field arrays. */
function ethersTypes(types: TypedDataPayload["types"]): Record<string, { name: string; type: string }[]> {
  return Object.fromEntries(
    Object.entries(types)
      .filter(([name]) => name !== "EIP712Domain")
      .map(([name, fields]) => [name, fields.map((f) => ({ name: f.name, type: f.type }))]),
  );
}

/** Adapts an ethers v6 signer (Wallet, JsonRpcSigner, HardhatEthersSigner, ...). */
export function fromEthersSigner(signer: EthersTypedDataSigner): TypedDataSigner {
  return {
    getAddress: async () => (await signer.getAddress()) as Address,
    signTypedData: async ({ domain, types, message }) =>
      (await signer.signTypedData({ ...domain }, ethersTypes(types), message)) as Hex,
  };
}

type ViemSource = LocalAccount | WalletClient;

const isWalletClient = (source: ViemSource): source is WalletClient =>
  typeof (source as WalletClient).request === "function";

/**
 * Adapts a viem LocalAccount (privateKeyToAccount, mnemonicToAccount, ...) or a WalletClient. A
 * wallet client signs with its hoisted account, or with `address` (a JSON-RPC account such as a
 * browser wallet), or else with the first address the wallet reports.
 */
export function fromViemAccount(source: ViemSource, options: { address?: Address } = {}): TypedDataSigner {
  if (!isWalletClient(source)) {
    if (typeof source.signTypedData !== "function") {
      throw new StablePayError("invalid_argument", "this viem account cannot sign typed data");
    }
    return {
      getAddress: async () => source.address,
      // viem types uint48 fields as numbers; at run time it encodes bigints exactly the same.
      signTypedData: (payload) =>
        source.signTypedData(payload as unknown as Parameters<LocalAccount["signTypedData"]>[0]),
    };
  }
  const client = source;
  const account = async (): Promise<Address | NonNullable<WalletClient["account"]>> => {
    if (options.address) return options.address;
    if (client.account) return client.account;
    const [first] = await client.getAddresses();
    if (!first) throw new StablePayError("invalid_argument", "the wallet client has no account");
    return first;
  };
  return {
    getAddress: async () => {
      const a = await account();
      return typeof a === "string" ? a : a.address;
    },
    signTypedData: async (payload) =>
      client.signTypedData({ account: await account(), ...payload } as unknown as Parameters<
        WalletClient["signTypedData"]
      >[0]),
  };
}
