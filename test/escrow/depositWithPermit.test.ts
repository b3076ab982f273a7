import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { signPermit, type SplitSignature } from "../helpers/eip3009";
import { CUSTOMER_DEPOSIT, ONE_DAY, usd } from "./fixtures";
import { deployFundsFixture, expectLedger, fundsState, TOKEN_FN, type FundsFixture } from "./funds.helpers";

const INITIAL_TOTAL = 4n * CUSTOMER_DEPOSIT;

interface SignedPermit {
  value: bigint;
  deadline: bigint;
  sig: SplitSignature;
}

/** `signer`'s permit letting `spender` (default: the escrow) spend `value` of `owner` (default: the newcomer). */
async function permitOf(
  f: FundsFixture,
  value: bigint,
  opts: { signer?: HardhatEthersSigner; owner?: string; spender?: string; deadline?: bigint } = {},
): Promise<SignedPermit> {
  const signer = opts.signer ?? f.newcomer;
  const deadline = opts.deadline ?? BigInt(await time.latest()) + ONE_DAY;
  const sig = await signPermit(signer, f.token, {
    owner: opts.owner ?? f.newcomer.address,
    spender: opts.spender ?? f.escrowAddress,
    value,
    deadline,
  });
  return { value, deadline, sig };
}

function depositWithPermit(f: FundsFixture, caller: HardhatEthersSigner, amount: bigint, p: SignedPermit) {
  return f.escrow.connect(caller).depositWithPermit(amount, p.deadline, p.sig.v, p.sig.r, p.sig.s);
}

/**
 * The newcomer's `amount` went in by its (one) permit: Deposited, tokens moved, permit nonce 1, the
 * allowance spent, the escrow balance credited and the ledger grown by `amount`.
 */
async function expectDepositedByPermit(f: FundsFixture, tx: ReturnType<typeof depositWithPermit>, amount: bigint) {
  await expect(tx).to.emit(f.escrow, "Deposited").withArgs(f.newcomer.address, f.newcomer.address, amount);
  await expect(tx).to.changeTokenBalances(f.token, [f.newcomer, f.escrow], [-amount, amount]);
  expect(await f.token.nonces(f.newcomer.address)).to.equal(1n);
  expect(await f.token.allowance(f.newcomer.address, f.escrowAddress)).to.equal(0n);
  expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(amount);
  await expectLedger(f, INITIAL_TOTAL + amount);
}

/** `caller`'s depositWithPermit finds no allowance in transferFrom; the newcomer's permit nonce stays unused. */
async function expectNoAllowance(f: FundsFixture, caller: HardhatEthersSigner, amount: bigint, p: SignedPermit) {
  await expect(depositWithPermit(f, caller, amount, p))
    .to.be.revertedWithCustomError(f.token, "ERC20InsufficientAllowance")
    .withArgs(f.escrowAddress, 0n, amount);
  expect(await f.token.nonces(f.newcomer.address)).to.equal(0n);
}

describe("PaymentEscrow.depositWithPermit", function () {
  it("applies the permit and deposits in one call without a prior allowance", async function () {
    const f = await loadFixture(deployFundsFixture);
    const amount = usd(250);
    const p = await permitOf(f, amount);
    expect(await f.token.allowance(f.newcomer.address, f.escrowAddress)).to.equal(0n);

    const tx = depositWithPermit(f, f.newcomer, amount, p);
    await expect(tx).to.emit(f.token, "Approval").withArgs(f.newcomer.address, f.escrowAddress, amount);
    await expectDepositedByPermit(f, tx, amount);
  });

  it("still deposits when the permit was front-run (submitted to the token by someone else first)", async function () {
    const f = await loadFixture(deployFundsFixture);
    const amount = usd(75);
    const p = await permitOf(f, amount);
    await f.token
      .connect(f.stranger)
      [TOKEN_FN.permitVrs](f.newcomer.address, f.escrowAddress, amount, p.deadline, p.sig.v, p.sig.r, p.sig.s);
    expect(await f.token.nonces(f.newcomer.address)).to.equal(1n);
    expect(await f.token.allowance(f.newcomer.address, f.escrowAddress)).to.equal(amount);

    // The used permit was not applied a second time (its nonce stays 1).
    await expectDepositedByPermit(f, depositWithPermit(f, f.newcomer, amount, p), amount);
  });

  it("ignores an expired permit when an allowance is already in place", async function () {
    const f = await loadFixture(deployFundsFixture);
    const amount = usd(20);
    const p = await permitOf(f, amount, { deadline: BigInt(await time.latest()) - 1n });
    await f.token.connect(f.newcomer).approve(f.escrowAddress, amount);

    await expect(depositWithPermit(f, f.newcomer, amount, p))
      .to.emit(f.escrow, "Deposited")
      .withArgs(f.newcomer.address, f.newcomer.address, amount);
    expect(await f.token.nonces(f.newcomer.address)).to.equal(0n);
    expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(amount);
    await expectLedger(f, INITIAL_TOTAL + amount);
  });

  describe("a permit that cannot be applied, without an allowance, fails in transferFrom", function () {
    const amount = usd(60);
    const cases: { name: string; build: (f: FundsFixture) => Promise<SignedPermit> }[] = [
      { name: "signed by another key", build: (f) => permitOf(f, amount, { signer: f.stranger }) },
      { name: "for another spender", build: (f) => permitOf(f, amount, { spender: f.relayer.address }) },
      {
        name: "expired",
        build: async (f) => permitOf(f, amount, { deadline: BigInt(await time.latest()) - 1n }),
      },
      { name: "for a larger value than the amount", build: (f) => permitOf(f, amount + 1n) },
      { name: "for a smaller value than the amount", build: (f) => permitOf(f, amount - 1n) },
    ];
    for (const c of cases) {
      it(`${c.name}: ERC20InsufficientAllowance(escrow, 0, amount), permit nonce unused`, async function () {
        const f = await loadFixture(deployFundsFixture);
        const p = await c.build(f);
        const before = await fundsState(f, [f.newcomer.address]);
        await expectNoAllowance(f, f.newcomer, amount, p);
        expect(await fundsState(f, [f.newcomer.address])).to.deep.equal(before);
        await expectLedger(f, INITIAL_TOTAL);
      });
    }
  });

  it("cannot be used by another caller to pull the permit signer's funds", async function () {
    const f = await loadFixture(deployFundsFixture);
    const amount = usd(60);
    const p = await permitOf(f, amount);
    // The escrow applies the permit for msg.sender: the stranger's own (absent) allowance decides.
    await expectNoAllowance(f, f.stranger, amount, p);
    expect(await f.escrow.balanceOf(f.stranger.address)).to.equal(0n);

    // The permit is still good for its signer.
    await depositWithPermit(f, f.newcomer, amount, p);
    expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(amount);
    await expectLedger(f, INITIAL_TOTAL + amount);
  });

  it("reverts InvalidAmount(0) before touching the permit", async function () {
    const f = await loadFixture(deployFundsFixture);
    const p = await permitOf(f, 0n);
    await expect(depositWithPermit(f, f.newcomer, 0n, p))
      .to.be.revertedWithCustomError(f.escrow, "InvalidAmount")
      .withArgs(0n);
    expect(await f.token.nonces(f.newcomer.address)).to.equal(0n);
    await expectLedger(f, INITIAL_TOTAL);
  });

  it("while the token is paused the permit cannot apply (transferFrom reverts); it works after unpause", async function () {
    const f = await loadFixture(deployFundsFixture);
    const amount = usd(30);
    const p = await permitOf(f, amount);
    await f.token.connect(f.operator).pause();
    const before = await fundsState(f, [f.newcomer.address]);
    // The paused token refuses the permit (swallowed), so transferFrom finds no allowance.
    await expectNoAllowance(f, f.newcomer, amount, p);
    expect(await fundsState(f, [f.newcomer.address])).to.deep.equal(before);
    await expectLedger(f, INITIAL_TOTAL);

    await f.token.connect(f.operator).unpause();
    await expect(depositWithPermit(f, f.newcomer, amount, p))
      .to.emit(f.escrow, "Deposited")
      .withArgs(f.newcomer.address, f.newcomer.address, amount);
    await expectLedger(f, INITIAL_TOTAL + amount);
  });

  it("with an allowance in place, reverts with the token's EnforcedPause while paused", async function () {
    const f = await loadFixture(deployFundsFixture);
    const amount = usd(30);
    const p = await permitOf(f, amount);
    await f.token.connect(f.newcomer).approve(f.escrowAddress, amount);
    await f.token.connect(f.operator).pause();
    await expect(depositWithPermit(f, f.newcomer, amount, p)).to.be.revertedWithCustomError(f.token, "EnforcedPause");
    expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(0n);
    expect(await f.token.allowance(f.newcomer.address, f.escrowAddress)).to.equal(amount);
    await expectLedger(f, INITIAL_TOTAL);
  });

  it("a blocklisted customer's permit is accepted (as FiatToken v2.2) but the deposit reverts in transferFrom", async function () {
    const f = await loadFixture(deployFundsFixture);
    const amount = usd(30);
    const p = await permitOf(f, amount);
    await f.token.connect(f.operator).blocklist(f.newcomer.address);
    await expect(depositWithPermit(f, f.newcomer, amount, p))
      .to.be.revertedWithCustomError(f.token, "AccountBlocklisted")
      .withArgs(f.newcomer.address);
    expect(await f.escrow.balanceOf(f.newcomer.address)).to.equal(0n);
    await expectLedger(f, INITIAL_TOTAL);
  });
});
