/**
 * payBatch and contract-signed payments: a wallet's ERC-1271 check gets 100,000 gas only if the
 * transaction still carries it. A "flipping" wallet, cheap when the submitter estimates and burning
 * its whole budget when mined, must fail alone: the escrow skips (InsufficientGas) an item whose full
 * check plus the end of the batch the gas left cannot cover, and a submitter that adds each such
 * item's budget to the gas limit (as the relayer does) gets every honest item escrowed.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { MockERC1271Wallet__factory, type Flipping1271Wallet, type MockERC1271Wallet } from "../../typechain-types";
import { contractSignatureGas } from "../../src/relayer/jobs/batcher";
import { deployEscrowFixture, idOf, usd, RejectReason, type EscrowFixture, type SignedPaymentInput } from "./fixtures";
import { batchEvents, depositFromWallet, deployFlippingWallet, expectInvariant, signed } from "./batch.helpers";
import { encodeBatch } from "../../src/protocol";

interface WalletGasFixture extends EscrowFixture {
  walletOwner: HardhatEthersSigner;
  flippers: Flipping1271Wallet[];
  honestWallet: MockERC1271Wallet;
}

async function walletGasFixture(): Promise<WalletGasFixture> {
  const f = await deployEscrowFixture();
  const walletOwner = (await ethers.getSigners())[16];
  const flippers: Flipping1271Wallet[] = [];
  for (let i = 0; i < 3; i++) flippers.push(await deployFlippingWallet(f, walletOwner, usd(100)));
  const honestWallet = await new MockERC1271Wallet__factory(f.admin).deploy(walletOwner.address);
  await depositFromWallet(f, honestWallet, walletOwner, usd(100));
  return { ...f, walletOwner, flippers, honestWallet };
}

/** `count` honest ECDSA payments of 1.00 from the fixture's customers (distinct nonces). */
async function honestItems(f: EscrowFixture, count: number): Promise<SignedPaymentInput[]> {
  const items: SignedPaymentInput[] = [];
  for (let i = 0; i < count; i++) {
    const payer = f.customers[i % f.customers.length];
    items.push(await signed(f, payer, { amount: usd(1), nonce: BigInt(Math.floor(i / f.customers.length)) }));
  }
  return items;
}

async function walletItem(f: WalletGasFixture, wallet: { getAddress(): Promise<string> }): Promise<SignedPaymentInput> {
  return signed(f, { address: await wallet.getAddress() }, { amount: usd(5) }, f.walletOwner);
}

describe("PaymentEscrow.payBatch: gas of contract-signed payments", function () {
  // Tagged for the coverage run only: instrumented bytecode costs several times the gas, so the
  // batch's finishing reserve (calibrated on the real bytecode, which `npm test` runs) no longer fits.
  it("attack: a wallet that flips to burning after the estimate, last in the batch, is rejected InsufficientGas; the rest escrows @skip-on-coverage", async function () {
    const f = await loadFixture(walletGasFixture);
    const flipper = f.flippers[0];
    const items = [...(await honestItems(f, 10)), await walletItem(f, flipper)];
    const gasLimit = await f.escrow.connect(f.relayer).payBatch.estimateGas(encodeBatch(items));
    await flipper.connect(f.walletOwner).setBurning(true);

    const tx = await f.escrow.connect(f.relayer).payBatch(encodeBatch(items), { gasLimit });
    await expect(tx)
      .to.emit(f.escrow, "PaymentRejected")
      .withArgs(await idOf(f, items[10].payment), await flipper.getAddress(), RejectReason.InsufficientGas);
    const events = await batchEvents(f, tx);
    expect(events.escrowed.map((e) => e.id)).to.deep.equal(
      await Promise.all(items.slice(0, 10).map((i) => idOf(f, i.payment))),
    );
    expect(events.rejected).to.have.length(1);
    expect(await f.escrow.balanceOf(await flipper.getAddress())).to.equal(usd(100));
    await expectInvariant(f);
  });

  it("attack: 3 flipping wallets among 30 honest payments, sent with the relayer's budget, fail alone; the 30 escrow", async function () {
    const f = await loadFixture(walletGasFixture);
    const honest = await honestItems(f, 30);
    const items = [
      ...honest.slice(0, 5),
      await walletItem(f, f.flippers[0]),
      ...honest.slice(5, 15),
      await walletItem(f, f.flippers[1]),
      ...honest.slice(15, 25),
      await walletItem(f, f.flippers[2]),
      ...honest.slice(25),
    ];
    const estimate = await f.escrow.connect(f.relayer).payBatch.estimateGas(encodeBatch(items));
    for (const w of f.flippers) await w.connect(f.walletOwner).setBurning(true);

    // The estimate alone does not carry the wallets' budgets: burning them mid-batch sinks it.
    await expect(f.escrow.connect(f.relayer).payBatch(encodeBatch(items), { gasLimit: estimate })).to.be.reverted;

    const gasLimit = estimate + contractSignatureGas(3, items.length);
    const tx = await f.escrow.connect(f.relayer).payBatch(encodeBatch(items), { gasLimit });
    const events = await batchEvents(f, tx);
    expect(events.escrowed.map((e) => e.id)).to.deep.equal(await Promise.all(honest.map((i) => idOf(f, i.payment))));
    const wallets = await Promise.all(f.flippers.map((w) => w.getAddress()));
    expect(events.rejected.map((r) => r.payer)).to.deep.equal(wallets);
    // Each wallet got its whole budget and burnt it: an invalid signature, not a starved check.
    expect(events.rejected.map((r) => Number(r.reason))).to.deep.equal([
      RejectReason.InvalidSignature,
      RejectReason.InvalidSignature,
      RejectReason.InvalidSignature,
    ]);
    await expectInvariant(f);
  });

  it("an honest wallet last in a batch sent with the estimate plus the relayer's budget is accepted", async function () {
    const f = await loadFixture(walletGasFixture);
    const items = [...(await honestItems(f, 10)), await walletItem(f, f.honestWallet)];
    const estimate = await f.escrow.connect(f.relayer).payBatch.estimateGas(encodeBatch(items));
    const tx = await f.escrow
      .connect(f.relayer)
      .payBatch(encodeBatch(items), { gasLimit: estimate + contractSignatureGas(1, items.length) });
    await expect(tx)
      .to.emit(f.escrow, "PaymentEscrowed")
      .withArgs(await idOf(f, items[10].payment), await f.honestWallet.getAddress(), 1n, 1n, usd(5));
    expect((await batchEvents(f, tx)).escrowed).to.have.length(11);
  });

  it("an ECDSA payment never pays the check: a batch of EOAs is unaffected by a tight gas limit", async function () {
    const f = await loadFixture(walletGasFixture);
    const items = await honestItems(f, 8);
    const gasLimit = await f.escrow.connect(f.relayer).payBatch.estimateGas(encodeBatch(items));
    const events = await batchEvents(f, await f.escrow.connect(f.relayer).payBatch(encodeBatch(items), { gasLimit }));
    expect(events.escrowed).to.have.length(8);
    expect(events.rejected).to.have.length(0);
  });
});
