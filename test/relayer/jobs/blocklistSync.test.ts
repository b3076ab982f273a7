/**
 * The blocklist sync job on a real in-process chain: the token's Blocklisted / UnBlocklisted events
 * become escrow.syncBlocklist calls through the submitter, so payBatch rejects a blocklisted payer's
 * payment (PayerBlocklisted) even when it reaches the chain; accounts in step cost no transaction.
 */
import { expect } from "chai";
import { PaymentState, SubmissionState, type Hex } from "../../../src/relayer/domain";
import { blocklistPurpose } from "../../../src/relayer/jobs/blocklistSync";
import { usePipelineFixture, statesOf, tickUntil } from "../helpers/chain";

describe("relayer pipeline: blocklist sync", function () {
  const setup = usePipelineFixture();

  it("syncs Blocklisted and UnBlocklisted into the escrow's mirror; a blocklisted payer's item is rejected on chain", async () => {
    const fx = await setup();
    const [c0, c1] = fx.customers;
    const account = c0.address.toLowerCase() as Hex;
    await fx.token.connect(fx.admin).grantRole(await fx.token.BLOCKLISTER_ROLE(), fx.admin.address);
    const pipeline = fx.pipeline();

    await fx.token.connect(fx.admin).blocklist(c0.address);
    await pipeline.blocklist.tick();
    expect(pipeline.blocklist.lastSynced).to.deep.equal([account]);
    await tickUntil(pipeline, "mirror set", async () => fx.escrow.blocklistMirrored(c0.address));
    const [sync] = await fx.store.submissions.listByPurpose(blocklistPurpose(account));
    await tickUntil(pipeline, "sync mined", async () => {
      const [s] = await fx.store.submissions.listByPurpose(blocklistPurpose(account));
      return s.state === SubmissionState.Mined;
    });
    expect((await fx.chain.receipt(sync.txHash))!.status).to.equal(1);

    // In step: the next ticks read the events again but send nothing.
    await pipeline.blocklist.tick();
    expect(pipeline.blocklist.lastSynced).to.deep.equal([]);

    // A payment of the blocklisted payer that reaches the chain (accepted before intake knew) is
    // rejected by the escrow; the other payer's payment in the same batch escrows.
    const [p0, p1] = await fx.accept([{ payer: c0 }, { payer: c1 }]);
    await tickUntil(pipeline, "batch applied", async () => {
      const states = await statesOf(fx.store, [p0, p1]);
      return states[0] === PaymentState.Rejected && states[1] === PaymentState.Escrowed;
    });
    expect((await fx.store.payments.get(p0.id))!.rejectReason).to.equal("payer_blocklisted");

    await fx.token.connect(fx.admin).unBlocklist(c0.address);
    await tickUntil(pipeline, "mirror cleared", async () => !(await fx.escrow.blocklistMirrored(c0.address)));
    expect(await fx.store.submissions.listByPurpose(blocklistPurpose(account))).to.have.length(2);
  });

  it("a restarted job reads the token's events from the deploy block and syncs what is out of step only", async () => {
    const fx = await setup();
    const [c0, c1] = fx.customers;
    await fx.token.connect(fx.admin).grantRole(await fx.token.BLOCKLISTER_ROLE(), fx.admin.address);
    // c1 was blocklisted and synced by someone else (the call is permissionless) before the relayer ran.
    await fx.token.connect(fx.admin).blocklist(c1.address);
    await fx.escrow.connect(fx.stranger).syncBlocklist(c1.address);
    await fx.token.connect(fx.admin).blocklist(c0.address);

    const pipeline = fx.pipeline();
    await pipeline.blocklist.tick();
    expect(pipeline.blocklist.lastSynced).to.deep.equal([c0.address.toLowerCase()]);
  });
});
