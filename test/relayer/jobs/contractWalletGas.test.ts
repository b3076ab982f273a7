/**
 * payBatch gas limits for contract-signed (ERC-1271) payments: the relayer adds each such item's
 * full check budget (and the escrow's finishing reserve) to the estimate, so an honest wallet gets its
 * check and a wallet that was cheap when estimated and burns its budget when mined fails alone.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import type { Signer } from "ethers";
import { MockERC1271Wallet__factory } from "../../../typechain-types";
import { PaymentState, SignatureKind } from "../../../src/relayer/domain";
import { gasLimitFromEstimate } from "../../../src/relayer/chain/fees";
import { batchPurpose } from "../../../src/relayer/jobs/batchOutcome";
import { contractSignatureGas } from "../../../src/relayer/jobs/batcher";
import { usd } from "../../escrow/fixtures";
import { deployFlippingWallet, depositFromWallet } from "../../escrow/batch.helpers";
import { usePipelineFixture, statesOf, tickUntil } from "../helpers/chain";

/** A PaySpec payer for a contract wallet: its address, signatures by its owner key. */
function walletPayer(address: string, owner: Signer): Signer & { address: string } {
  return {
    address,
    signTypedData: (...args: Parameters<Signer["signTypedData"]>) => owner.signTypedData(...args),
  } as unknown as Signer & { address: string };
}

describe("relayer pipeline: gas of contract-signed payments", function () {
  const setup = usePipelineFixture();

  it("an honest wallet between two EOAs is escrowed: the limit carries its check budget", async () => {
    const fx = await setup();
    const owner = (await ethers.getSigners())[16];
    const wallet = await new MockERC1271Wallet__factory(fx.admin).deploy(owner.address);
    await depositFromWallet(fx, wallet, owner, usd(100));
    const [c0, c1] = fx.customers;
    const payments = await fx.accept([
      { payer: c0 },
      { payer: walletPayer(await wallet.getAddress(), owner), signatureKind: SignatureKind.Contract },
      { payer: c1 },
    ]);
    const pipeline = fx.pipeline();
    await tickUntil(pipeline, "escrowed", async () =>
      (await statesOf(fx.store, payments)).every((s) => s === PaymentState.Escrowed),
    );
    const batch = (await fx.store.batches.get(1))!;
    const [sent] = await fx.store.submissions.listByPurpose(batchPurpose(batch.key));
    const tx = await fx.chain.provider.getTransaction(sent.txHash);
    expect(tx!.gasLimit).to.equal(gasLimitFromEstimate(batch.gasEstimate!) + contractSignatureGas(1, 3));
  });

  it("attack: a wallet that flips to burning its budget after the estimate is rejected alone; the EOAs escrow", async () => {
    const fx = await setup();
    const owner = (await ethers.getSigners())[16];
    const flipper = await deployFlippingWallet(fx, owner, usd(100));
    const [c0, c1] = fx.customers;
    const payments = await fx.accept([
      { payer: c0 },
      { payer: walletPayer(await flipper.getAddress(), owner), signatureKind: SignatureKind.Contract },
      { payer: c1 },
    ]);
    const pipeline = fx.pipeline();
    // Built and estimated while the wallet is cheap; it flips before the batch is sent.
    await pipeline.batcher.tick();
    expect(pipeline.batcher.lastBuilt[0].paymentIds).to.have.length(3);
    await flipper.connect(owner).setBurning(true);
    await tickUntil(pipeline, "applied", async () => {
      const states = await statesOf(fx.store, payments);
      return states[1] === PaymentState.Rejected && states[0] === PaymentState.Escrowed;
    });
    expect(await statesOf(fx.store, payments)).to.deep.equal([
      PaymentState.Escrowed,
      PaymentState.Rejected,
      PaymentState.Escrowed,
    ]);
    // It got its whole budget and burnt it: an invalid signature, the batch itself succeeded.
    expect((await fx.store.payments.get(payments[1].id))!.rejectReason).to.equal("invalid_signature");
  });
});
