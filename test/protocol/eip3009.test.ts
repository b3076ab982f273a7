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
  encodeType,
  keccakUtf8,
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
});
