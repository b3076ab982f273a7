/** The protocol's EIP-3009 types (src/protocol/eip3009.ts) against the settlement token's typehashes. */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  CANCEL_AUTHORIZATION_TYPES,
  DEPOSIT_TAG,
  RECEIVE_WITH_AUTHORIZATION_TYPES,
  TOKEN_DOMAIN_VERSION,
  TRANSFER_WITH_AUTHORIZATION_TYPES,
  ONE_OFF_NONCE,
  encodeType,
  ethersTypes,
  isOneOff,
  keccakUtf8,
  receiveAuthorizationDigest,
  tokenDomain,
  type Hex,
} from "../../src/protocol";
import { deployEscrowFixture } from "../escrow/fixtures";

const typeHashOf = (types: Record<string, readonly { name: string; type: string }[]>): string => {
  const [[name, fields]] = Object.entries(types);
  return keccakUtf8(encodeType(name, fields));
};

describe("protocol: EIP-3009 types (src/protocol/eip3009.ts) against SettlementToken", function () {
  it("ReceiveWithAuthorization, TransferWithAuthorization and CancelAuthorization hash as the token's", async function () {
    const { token } = await loadFixture(deployEscrowFixture);
    expect(await token.RECEIVE_WITH_AUTHORIZATION_TYPEHASH()).to.equal(typeHashOf(RECEIVE_WITH_AUTHORIZATION_TYPES));
    expect(await token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH()).to.equal(typeHashOf(TRANSFER_WITH_AUTHORIZATION_TYPES));
    expect(await token.CANCEL_AUTHORIZATION_TYPEHASH()).to.equal(typeHashOf(CANCEL_AUTHORIZATION_TYPES));
  });

  it("the token's EIP-712 domain version and the escrow's deposit tag", async function () {
    const { token } = await loadFixture(deployEscrowFixture);
    const [, , version] = await token.eip712Domain();
    expect(version).to.equal(TOKEN_DOMAIN_VERSION);
    // CustomerFunds.DEPOSIT_TAG is internal: its definition, keccak256("StablePay.Deposit").
    expect(DEPOSIT_TAG).to.equal(ethers.id("StablePay.Deposit"));
  });

  it("receiveAuthorizationDigest is what a one-off payer signs under the token's domain; isOneOff is the nonce rule", async function () {
    const { token, chainId, customers } = await loadFixture(deployEscrowFixture);
    const domain = tokenDomain({ name: await token.name(), chainId, token: (await token.getAddress()) as Hex });
    const message = {
      from: customers[0].address as Hex,
      to: customers[1].address as Hex,
      value: 5n,
      validAfter: 1n,
      validBefore: 2n ** 40n,
      nonce: ethers.id("a payment id") as Hex,
    };
    const digest = receiveAuthorizationDigest(domain, message);
    expect(digest).to.equal(
      ethers.TypedDataEncoder.hash({ ...domain }, ethersTypes(RECEIVE_WITH_AUTHORIZATION_TYPES), message),
    );
    const signature = await customers[0].signTypedData(
      { ...domain },
      ethersTypes(RECEIVE_WITH_AUTHORIZATION_TYPES),
      message,
    );
    expect(ethers.recoverAddress(digest, signature)).to.equal(customers[0].address);
    expect(isOneOff({ nonce: ONE_OFF_NONCE })).to.equal(true);
    expect(isOneOff({ nonce: ONE_OFF_NONCE - 1n })).to.equal(false);
  });
});
