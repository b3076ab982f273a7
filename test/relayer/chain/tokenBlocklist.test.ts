/**
 * The token blocklist reader intake and the sync job share, against real contracts on the
 * in-process chain: SettlementToken answers isBlocklisted; a token with neither function reverts
 * both calls, and that reads as "no blocklist" while any other node failure is thrown.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { readTokenBlocklisted, type TokenCall } from "../../../src/relayer/chain/tokenBlocklist";
import { deployEscrowFixture } from "../../escrow/fixtures";

const callTo =
  (to: string): TokenCall =>
  (data) =>
    ethers.provider.call({ to, data });

describe("relayer chain: readTokenBlocklisted", function () {
  it("reads SettlementToken's isBlocklisted, before and after the blocklister acts", async function () {
    const f = await loadFixture(deployEscrowFixture);
    const [alice] = f.customers;
    const token = callTo(await f.token.getAddress());
    expect(await readTokenBlocklisted(token, alice.address)).to.equal(false);
    await f.token.connect(f.admin).grantRole(await f.token.BLOCKLISTER_ROLE(), f.admin.address);
    await f.token.connect(f.admin).blocklist(alice.address);
    expect(await readTokenBlocklisted(token, alice.address)).to.equal(true);
  });

  it("a token with no blocklist function reverts both names: not blocklisted", async function () {
    const plain = await (await ethers.getContractFactory("CallbackToken")).deploy();
    const calls: string[] = [];
    const call: TokenCall = (data) => {
      calls.push(data.slice(0, 10));
      return callTo(String(plain.target))(data);
    };
    const [someone] = await ethers.getSigners();
    expect(await readTokenBlocklisted(call, someone.address)).to.equal(false);
    expect(calls).to.have.length(2); // isBlocklisted, then USDC's isBlacklisted
  });

  it("a node failure is not taken for a missing function", async function () {
    const [someone] = await ethers.getSigners();
    const down: TokenCall = () =>
      Promise.reject(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
    const failure = await readTokenBlocklisted(down, someone.address).then(
      () => null,
      (error: Error) => error,
    );
    expect(failure?.message).to.equal("connect ECONNREFUSED");
  });
});
