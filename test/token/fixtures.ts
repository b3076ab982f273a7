import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { MockERC1271Wallet, SettlementToken } from "../../typechain-types";
import {
  randomNonce,
  signCancelAuthorization,
  signReceiveAuthorization,
  signTransferAuthorization,
  type AuthorizationParams,
  type SplitSignature,
} from "../helpers/eip3009";

export const TOKEN_NAME = "StablePay USD";
export const TOKEN_SYMBOL = "spUSD";
export const DECIMALS = 6;

export const ONE_DAY = 24 * 60 * 60;
/** Delay of the two-step DEFAULT_ADMIN_ROLE transfer in these fixtures. */
export const ADMIN_DELAY = 3 * ONE_DAY;

/** `amount` whole tokens in base units (6 decimals). */
export const usd = (amount: number | string): bigint => ethers.parseUnits(String(amount), DECIMALS);

export const MINTER_ALLOWANCE = usd(1_000_000);
export const INITIAL_BALANCE = usd(1_000);

export const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;
export const MASTER_MINTER_ROLE = ethers.id("MASTER_MINTER_ROLE");
export const PAUSER_ROLE = ethers.id("PAUSER_ROLE");
export const BLOCKLISTER_ROLE = ethers.id("BLOCKLISTER_ROLE");
export const RESCUER_ROLE = ethers.id("RESCUER_ROLE");

/** Full signatures of the overloaded functions, to pick one on a typechain contract. */
export const FN = {
  permitVrs: "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)",
  permitBytes: "permit(address,address,uint256,uint256,bytes)",
  transferVrs: "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)",
  transferBytes: "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)",
  receiveVrs: "receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)",
  receiveBytes: "receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)",
  cancelVrs: "cancelAuthorization(address,bytes32,uint8,bytes32,bytes32)",
  cancelBytes: "cancelAuthorization(address,bytes32,bytes)",
} as const;

/** Which overload of a signed function a test goes through. */
export type SigForm = "vrs" | "bytes";
export const SIG_FORMS: readonly SigForm[] = ["vrs", "bytes"];

export interface TokenFixture {
  token: SettlementToken;
  /** Holds DEFAULT_ADMIN_ROLE only. */
  admin: HardhatEthersSigner;
  masterMinter: HardhatEthersSigner;
  /** Configured minter with MINTER_ALLOWANCE - 2 * INITIAL_BALANCE left. */
  minter: HardhatEthersSigner;
  pauser: HardhatEthersSigner;
  blocklister: HardhatEthersSigner;
  rescuer: HardhatEthersSigner;
  /** Holds INITIAL_BALANCE. */
  alice: HardhatEthersSigner;
  /** Holds INITIAL_BALANCE. */
  bob: HardhatEthersSigner;
  /** No balance, no role. */
  carol: HardhatEthersSigner;
  /** Submits signed authorizations; no balance, no role. */
  relayer: HardhatEthersSigner;
  /** Spare accounts with no role. */
  others: HardhatEthersSigner[];
}

export interface TwoTokensFixture extends TokenFixture {
  /** A second deployment, same name and symbol, same roles: a different EIP-712 verifyingContract. */
  otherToken: SettlementToken;
}

export interface WalletFixture extends TokenFixture {
  /** ERC-1271 wallet owned by `walletOwner`, holding INITIAL_BALANCE. */
  wallet: MockERC1271Wallet;
  walletAddress: string;
  /** EOA that signs for the wallet; no balance of its own. */
  walletOwner: HardhatEthersSigner;
}

async function deployToken(admin: HardhatEthersSigner): Promise<SettlementToken> {
  const token = await ethers.deployContract("SettlementToken", [TOKEN_NAME, TOKEN_SYMBOL, ADMIN_DELAY, admin.address]);
  await token.waitForDeployment();
  return token;
}

async function setUpRoles(token: SettlementToken, f: Omit<TokenFixture, "token" | "others" | "carol" | "relayer">) {
  await token.connect(f.admin).grantRole(MASTER_MINTER_ROLE, f.masterMinter.address);
  await token.connect(f.admin).grantRole(PAUSER_ROLE, f.pauser.address);
  await token.connect(f.admin).grantRole(BLOCKLISTER_ROLE, f.blocklister.address);
  await token.connect(f.admin).grantRole(RESCUER_ROLE, f.rescuer.address);
  await token.connect(f.masterMinter).configureMinter(f.minter.address, MINTER_ALLOWANCE);
  await token.connect(f.minter).mint(f.alice.address, INITIAL_BALANCE);
  await token.connect(f.minter).mint(f.bob.address, INITIAL_BALANCE);
}

/** A token with one holder per role, a configured minter and two funded holders (alice, bob). */
export async function deployTokenFixture(): Promise<TokenFixture> {
  const [admin, masterMinter, minter, pauser, blocklister, rescuer, alice, bob, carol, relayer, ...others] =
    await ethers.getSigners();
  const token = await deployToken(admin);
  const f = { admin, masterMinter, minter, pauser, blocklister, rescuer, alice, bob };
  await setUpRoles(token, f);
  return { token, ...f, carol, relayer, others };
}

/** {@link deployTokenFixture} plus a second, identically configured token. */
export async function deployTwoTokensFixture(): Promise<TwoTokensFixture> {
  const base = await deployTokenFixture();
  const otherToken = await deployToken(base.admin);
  await setUpRoles(otherToken, base);
  return { ...base, otherToken };
}

/** {@link deployTokenFixture} plus a funded ERC-1271 wallet. */
export async function deployWalletFixture(): Promise<WalletFixture> {
  const base = await deployTokenFixture();
  const walletOwner = base.others[0];
  const wallet = await ethers.deployContract("MockERC1271Wallet", [walletOwner.address]);
  await wallet.waitForDeployment();
  const walletAddress = await wallet.getAddress();
  await base.token.connect(base.minter).mint(walletAddress, INITIAL_BALANCE);
  return { ...base, others: base.others.slice(1), wallet, walletAddress, walletOwner };
}

/** Authorization fields valid from now for an hour, with a fresh nonce. */
export async function authorization(
  from: string,
  to: string,
  value: bigint,
  overrides: Partial<AuthorizationParams> = {},
): Promise<AuthorizationParams> {
  const now = await time.latest();
  return {
    from,
    to,
    value,
    validAfter: 0,
    validBefore: now + 3600,
    nonce: randomNonce(),
    ...overrides,
  };
}

/** The parts of a signature an overload takes. */
type Sig = Pick<SplitSignature, "signature" | "v" | "r" | "s">;

/** Transfer and receive authorizations share their arguments; only the function differs. */
function submitAuthorization(
  token: SettlementToken,
  kind: "transfer" | "receive",
  form: SigForm,
  a: AuthorizationParams,
  sig: Sig,
) {
  const fields = [a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce] as const;
  return form === "vrs"
    ? token[kind === "transfer" ? FN.transferVrs : FN.receiveVrs](...fields, sig.v, sig.r, sig.s)
    : token[kind === "transfer" ? FN.transferBytes : FN.receiveBytes](...fields, sig.signature);
}

/** Submits a CancelAuthorization through the chosen overload. */
function submitCancel(token: SettlementToken, form: SigForm, authorizer: string, nonce: string, sig: Sig) {
  return form === "vrs"
    ? token[FN.cancelVrs](authorizer, nonce, sig.v, sig.r, sig.s)
    : token[FN.cancelBytes](authorizer, nonce, sig.signature);
}

/** Submits a permit through the chosen overload. */
function submitPermit(
  token: SettlementToken,
  form: SigForm,
  p: { owner: string; spender: string; value: bigint; deadline: bigint | number },
  sig: Sig,
) {
  return form === "vrs"
    ? token[FN.permitVrs](p.owner, p.spender, p.value, p.deadline, sig.v, sig.r, sig.s)
    : token[FN.permitBytes](p.owner, p.spender, p.value, p.deadline, sig.signature);
}

/** Signs authorization fields valid for an hour (see {@link authorization}) with `sign`, as `from`. */
function signedWith(sign: typeof signTransferAuthorization) {
  return async (
    token: SettlementToken,
    from: HardhatEthersSigner,
    to: string,
    value: bigint,
    overrides: Partial<AuthorizationParams> = {},
  ) => {
    const auth = await authorization(from.address, to, value, overrides);
    return { auth, sig: await sign(from, token, auth) };
  };
}

/** A signed cancellation of `nonce` by `authorizer`. */
async function signedCancel(token: SettlementToken, authorizer: HardhatEthersSigner, nonce = randomNonce()) {
  return { nonce, sig: await signCancelAuthorization(authorizer, token, { authorizer: authorizer.address, nonce }) };
}

/** Each signed action sent through the chosen overload (`vrs` or `bytes`). */
export const submit = {
  transfer: (token: SettlementToken, form: SigForm, a: AuthorizationParams, sig: Sig) =>
    submitAuthorization(token, "transfer", form, a, sig),
  receive: (token: SettlementToken, form: SigForm, a: AuthorizationParams, sig: Sig) =>
    submitAuthorization(token, "receive", form, a, sig),
  cancel: submitCancel,
  permit: submitPermit,
};

/** Signed actions: a transfer or receive authorization from `from` (signer) to `to`, or a cancellation. */
export const signed = {
  transfer: signedWith(signTransferAuthorization),
  receive: signedWith(signReceiveAuthorization),
  cancel: signedCancel,
};
