/**
 * Builders of one-off payments for the relayer and SDK tests: a fresh payer holding tokens in its
 * wallet and nothing in the escrow, its payment signed through the SDK (signOneOffPayment), and the
 * body POST /v1/payments/one-off takes.
 */
import { ethers } from "hardhat";
import { Wallet, type HDNodeWallet } from "ethers";
import {
  fromEthersSigner,
  signOneOffPayment,
  tokenDomain,
  type Address,
  type Hex,
  type Payment,
  type SignedOneOffPayment,
  type TokenDomain,
} from "../../../src/sdk";
import { oneOffPaymentBody } from "../../../src/sdk/wire";
import { mint, usd, type EscrowFixture } from "../../escrow/fixtures";
import type { SdkHarness } from "../../sdk/helpers";
import { minHoldOf } from "./chain";

/** What a one-off payer's wallet holds by default. */
export const ONE_OFF_WALLET_FUNDS = usd(100);

/** A fresh EOA with `funds` tokens in its wallet (minted), no escrow balance and no ETH. */
export async function oneOffPayer(
  f: Pick<EscrowFixture, "token" | "admin">,
  funds: bigint = ONE_OFF_WALLET_FUNDS,
): Promise<HDNodeWallet> {
  const wallet = Wallet.createRandom().connect(ethers.provider);
  if (funds > 0n) await mint(f, wallet.address, funds);
  return wallet;
}

export async function tokenDomainOf(f: Pick<EscrowFixture, "token" | "chainId">): Promise<TokenDomain> {
  return tokenDomain({
    name: await f.token.name(),
    chainId: f.chainId,
    token: (await f.token.getAddress()) as Address,
  });
}

let orderCounter = 0;

/** `payer`'s one-off payment (default 10.00 to merchant 1, valid an hour), signed with the SDK. */
export async function signedOneOff(
  s: Pick<SdkHarness, "f" | "domain" | "nowSec">,
  payer: HDNodeWallet,
  overrides: Partial<Omit<Payment, "nonce">> = {},
): Promise<SignedOneOffPayment> {
  orderCounter++;
  return signOneOffPayment(fromEthersSigner(payer), {
    domain: s.domain,
    tokenDomain: await tokenDomainOf(s.f),
    payment: {
      payer: payer.address as Address,
      merchantId: s.f.merchants[0].id,
      amount: usd(10),
      orderRef: ethers.zeroPadValue(ethers.toBeHex(0x0f0f_0000n + BigInt(orderCounter)), 32) as Hex,
      validAfter: 0n,
      deadline: s.nowSec() + 3_600n,
      hold: await minHoldOf(s.f, overrides.merchantId ?? s.f.merchants[0].id),
      ...overrides,
    },
  });
}

/** The wire body of a signed one-off payment, with `authorization` fields overridden. */
export function oneOffBody(signed: SignedOneOffPayment, authorization: Record<string, unknown> = {}) {
  const body = oneOffPaymentBody(signed);
  return { ...body, authorization: { ...body.authorization, ...authorization } };
}
