/**
 * EIP-712 signing helpers for the SettlementToken (USDC FiatToken v2.2 compatible):
 * EIP-2612 `permit` and EIP-3009 `TransferWithAuthorization` / `ReceiveWithAuthorization` /
 * `CancelAuthorization`, signed with any ethers v6 signer.
 *
 * Every `sign*` function returns both forms the token accepts: the packed 65-byte `signature`
 * (`r ‖ s ‖ v`, for the `bytes signature` overloads) and its split `v`, `r`, `s`.
 *
 * The domain is read from the token (`name()`, chain id of its provider, its address) with
 * version "2"; pass `domain` overrides to build deliberately wrong signatures in tests
 * (another chain id, another verifying contract, ...).
 */
import { AbiCoder, Signature, TypedDataEncoder, getAddress, getBytes, hexlify, randomBytes, toBeHex } from "ethers";
import type { AddressLike, BigNumberish, BytesLike, Provider, Signer, TypedDataDomain, TypedDataField } from "ethers";
import {
  CANCEL_AUTHORIZATION_TYPES,
  RECEIVE_WITH_AUTHORIZATION_TYPES,
  SECP256K1_N,
  TOKEN_DOMAIN_VERSION,
  TRANSFER_WITH_AUTHORIZATION_TYPES,
  ethersTypes,
} from "../../src/protocol";

/** EIP-712 domain version of the token (as USDC). */
export const EIP712_VERSION = TOKEN_DOMAIN_VERSION;

export const PERMIT_TYPES: Record<string, TypedDataField[]> = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

// The protocol's EIP-3009 types, as the mutable copies ethers wants.
const TRANSFER_TYPES = ethersTypes(TRANSFER_WITH_AUTHORIZATION_TYPES);
const RECEIVE_TYPES = ethersTypes(RECEIVE_WITH_AUTHORIZATION_TYPES);
const CANCEL_TYPES = ethersTypes(CANCEL_AUTHORIZATION_TYPES);

/** What the helpers need from a token contract (a typechain `SettlementToken` fits). */
export interface Eip712Token {
  getAddress(): Promise<string>;
  name(): Promise<string>;
}

/** A token with EIP-2612 nonces, for `signPermit` without an explicit nonce. */
export interface PermitToken extends Eip712Token {
  nonces(owner: AddressLike): Promise<bigint>;
}

/** Fields of an EIP-3009 transfer or receive authorization. */
export interface AuthorizationParams {
  from: string;
  to: string;
  value: BigNumberish;
  validAfter: BigNumberish;
  validBefore: BigNumberish;
  /** 32-byte hex nonce; see {@link randomNonce}. */
  nonce: string;
}

export interface CancelAuthorizationParams {
  authorizer: string;
  nonce: string;
}

export interface PermitParams {
  owner: string;
  spender: string;
  value: BigNumberish;
  deadline: BigNumberish;
  /** Defaults to `token.nonces(owner)`. */
  nonce?: BigNumberish;
}

/** A signature in both forms the token accepts. */
export interface SplitSignature {
  /** 65 bytes, `r ‖ s ‖ v`, for the `bytes signature` overloads. */
  signature: string;
  v: number;
  r: string;
  s: string;
}

/** Field overrides of the EIP-712 domain, for building signatures the token must reject. */
export type DomainOverrides = Partial<Pick<TypedDataDomain, "name" | "version" | "chainId" | "verifyingContract">>;

/** A fresh random 32-byte authorization nonce. */
export function randomNonce(): string {
  return hexlify(randomBytes(32));
}

/** The token's EIP-712 domain: name(), version "2", the signer's/provider's chain id, its address. */
export async function getTokenDomain(
  token: Eip712Token,
  chainId: BigNumberish,
  overrides: DomainOverrides = {},
): Promise<TypedDataDomain> {
  return {
    name: await token.name(),
    version: EIP712_VERSION,
    chainId,
    verifyingContract: await token.getAddress(),
    ...overrides,
  };
}

/** Splits a 65-byte signature into `{ signature, v, r, s }`, keeping it exactly as given (no normalisation). */
export function splitSignature(signature: BytesLike): SplitSignature {
  const bytes = getBytes(signature);
  if (bytes.length !== 65) throw new Error(`expected a 65-byte signature, got ${bytes.length} bytes`);
  return {
    signature: hexlify(bytes),
    r: hexlify(bytes.slice(0, 32)),
    s: hexlify(bytes.slice(32, 64)),
    v: bytes[64],
  };
}

/** Packs `(v, r, s)` as the 65-byte `r ‖ s ‖ v` the `bytes` overloads take. */
export function packSignature(v: number, r: string, s: string): string {
  return splitSignature(Signature.from({ v, r, s }).serialized).signature;
}

/**
 * The malleable twin of a valid signature: `s' = n - s`, `v` flipped (27 ↔ 28). It recovers the same
 * signer through raw `ecrecover`, so a token must reject it (high-`s`) to prevent malleability.
 */
export function toHighS(sig: SplitSignature): SplitSignature {
  const highS = toBeHex(SECP256K1_N - BigInt(sig.s), 32);
  const v = sig.v === 27 ? 28 : 27;
  const signature = hexlify(new Uint8Array([...getBytes(sig.r), ...getBytes(highS), v]));
  return { signature, v, r: sig.r, s: highS };
}

async function signTyped(
  signer: Signer,
  token: Eip712Token,
  types: Record<string, TypedDataField[]>,
  message: Record<string, unknown>,
  overrides: DomainOverrides,
): Promise<SplitSignature> {
  const chainId = overrides.chainId ?? (await signer.provider!.getNetwork()).chainId;
  const domain = await getTokenDomain(token, chainId, overrides);
  return splitSignature(await signer.signTypedData(domain, types, message));
}

/** Signs an EIP-3009 `TransferWithAuthorization`. */
export function signTransferAuthorization(
  signer: Signer,
  token: Eip712Token,
  auth: AuthorizationParams,
  domain: DomainOverrides = {},
): Promise<SplitSignature> {
  return signTyped(signer, token, TRANSFER_TYPES, { ...auth }, domain);
}

/** Signs an EIP-3009 `ReceiveWithAuthorization` (only `auth.to` may submit it). */
export function signReceiveAuthorization(
  signer: Signer,
  token: Eip712Token,
  auth: AuthorizationParams,
  domain: DomainOverrides = {},
): Promise<SplitSignature> {
  return signTyped(signer, token, RECEIVE_TYPES, { ...auth }, domain);
}

/** Signs an EIP-3009 `CancelAuthorization`. */
export function signCancelAuthorization(
  signer: Signer,
  token: Eip712Token,
  params: CancelAuthorizationParams,
  domain: DomainOverrides = {},
): Promise<SplitSignature> {
  return signTyped(signer, token, CANCEL_TYPES, { ...params }, domain);
}

/** Signs an EIP-2612 `Permit`; the nonce defaults to the token's current `nonces(owner)`. */
export async function signPermit(
  signer: Signer,
  token: PermitToken,
  params: PermitParams,
  domain: DomainOverrides = {},
): Promise<SplitSignature> {
  const nonce = params.nonce ?? (await token.nonces(params.owner));
  const message = {
    owner: params.owner,
    spender: params.spender,
    value: params.value,
    nonce,
    deadline: params.deadline,
  };
  return signTyped(signer, token, PERMIT_TYPES, message, domain);
}

/** The EIP-712 digest a token computes for a transfer authorization (for ERC-1271 and raw-signing tests). */
export async function transferAuthorizationDigest(
  token: Eip712Token,
  chainId: BigNumberish,
  auth: AuthorizationParams,
  domain: DomainOverrides = {},
): Promise<string> {
  return TypedDataEncoder.hash(await getTokenDomain(token, chainId, domain), TRANSFER_TYPES, {
    ...auth,
  });
}

/** The EIP-712 digest a token computes for a receive authorization. */
export async function receiveAuthorizationDigest(
  token: Eip712Token,
  chainId: BigNumberish,
  auth: AuthorizationParams,
  domain: DomainOverrides = {},
): Promise<string> {
  return TypedDataEncoder.hash(await getTokenDomain(token, chainId, domain), RECEIVE_TYPES, {
    ...auth,
  });
}

/** The EIP-712 digest a token computes for a cancellation. */
export async function cancelAuthorizationDigest(
  token: Eip712Token,
  chainId: BigNumberish,
  params: CancelAuthorizationParams,
  domain: DomainOverrides = {},
): Promise<string> {
  return TypedDataEncoder.hash(await getTokenDomain(token, chainId, domain), CANCEL_TYPES, {
    ...params,
  });
}

/**
 * What the raw `ecrecover` precompile returns for `(digest, v, r, s)`, with no malleability check
 * (ethers refuses high-`s` signatures, the chain does not). The zero address when recovery fails.
 */
export async function rawEcrecover(
  provider: Provider,
  digest: string,
  sig: Pick<SplitSignature, "v" | "r" | "s">,
): Promise<string> {
  const data = AbiCoder.defaultAbiCoder().encode(
    ["bytes32", "uint8", "bytes32", "bytes32"],
    [digest, sig.v, sig.r, sig.s],
  );
  const out = await provider.call({ to: "0x0000000000000000000000000000000000000001", data });
  return out === "0x" ? "0x0000000000000000000000000000000000000000" : getAddress("0x" + out.slice(-40));
}

/** The EIP-712 digest a token computes for a permit (`nonce` required here). */
export async function permitDigest(
  token: Eip712Token,
  chainId: BigNumberish,
  params: PermitParams & { nonce: BigNumberish },
  domain: DomainOverrides = {},
): Promise<string> {
  const { owner, spender, value, nonce, deadline } = params;
  return TypedDataEncoder.hash(await getTokenDomain(token, chainId, domain), PERMIT_TYPES, {
    owner,
    spender,
    value,
    nonce,
    deadline,
  });
}
