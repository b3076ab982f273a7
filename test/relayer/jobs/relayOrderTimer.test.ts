/**
 * A signed order-timer action through the submitter's relay path (relayCalls → relayOrderTimer): a
 * stale ordinal fails at once with the API's code and sends nothing; a good one is sent on the
 * submitter's nonce sequence and applied on chain.
 */
import { expect } from "chai";
import { ApiError } from "../../../src/relayer/errors";
import { PaymentState, SubmissionState, type Hex } from "../../../src/relayer/domain";
import { SubmitterChainWriter, relayPurpose } from "../../../src/relayer/jobs/relayWriter";
import { relayCalls } from "../../../src/relayer/chain/relayCalls";
import { BatchTree } from "../../../src/protocol";
import { PaymentStatus } from "../../escrow/fixtures";
import { signExtension } from "../../escrow/orderTimers.helpers";
import { latestTimestamp, mine, usePipelineFixture, statesOf, tickUntil } from "../helpers/chain";

describe("relayer pipeline: relayed order-timer actions", function () {
  const setup = usePipelineFixture();

  it("relays a signed hold extension; refuses a stale ordinal before sending (409 stale_ordinal)", async () => {
    const fx = await setup();
    const [c0] = fx.customers;
    const [payment] = await fx.accept([{ payer: c0 }]);
    const pipeline = fx.pipeline();
    const writer = new SubmitterChainWriter(pipeline.submitter, fx.logger);
    const final = async () => (await fx.store.submissions.listPending()).length === 0;
    await tickUntil(
      pipeline,
      "escrowed",
      async () => (await statesOf(fx.store, [payment]))[0] === PaymentState.Escrowed && (await final()),
    );
    const stored = (await fx.store.payments.get(payment.id))!;
    const inclusion = { batchId: stored.batchId!, proof: new BatchTree([stored.id]).proof(0) };
    const asPayment = { ...payment, payer: payment.payer as Hex };
    const deadline = (await latestTimestamp()) + 3_600n;
    const extension = 3_600n;
    const nonceBefore = pipeline.submitter.nonces.next;

    const second = await signExtension(fx, c0, stored.id, extension, 2n, deadline);
    const stale = relayCalls.extendHoldWithSignature({
      payment: asPayment,
      inclusion,
      extension,
      ordinal: 2n,
      deadline,
      signature: second.signature,
    });
    let error: unknown = null;
    await writer.relayOrderTimer(stale).catch((e) => (error = e));
    expect(error).to.be.instanceOf(ApiError);
    expect([(error as ApiError).code, (error as ApiError).status]).to.deep.equal(["stale_ordinal", 409]);
    expect(await fx.store.submissions.listByPurpose(relayPurpose("extendHoldWithSignature"))).to.deep.equal([]);
    expect(pipeline.submitter.nonces.next).to.equal(nonceBefore);

    const first = await signExtension(fx, c0, stored.id, extension, 1n, deadline);
    const call = relayCalls.extendHoldWithSignature({
      payment: asPayment,
      inclusion,
      extension,
      ordinal: 1n,
      deadline,
      signature: first.signature,
    });
    const sent = await writer.relayOrderTimer(call);
    await mine();
    await tickUntil(pipeline, "mined", final);
    const [relayed] = await fx.store.submissions.listByPurpose(relayPurpose("extendHoldWithSignature"));
    expect([relayed.txHash, relayed.nonce, relayed.state]).to.deep.equal([
      sent.txHash,
      nonceBefore,
      SubmissionState.Mined,
    ]);
    const record = await fx.escrow.paymentRecord(stored.id);
    expect([Number(record.status), Number(record.extensions)]).to.deep.equal([PaymentStatus.Held, 1]);
  });
});
