/**
 * The API's relayed operations through the submitter (one key, one nonce sequence): a signed
 * confirmation and a gasless deposit are sent and applied; what the escrow would reject fails at
 * once with the API's error code and consumes no nonce; a node outage is chain_unavailable.
 */
import { expect } from "chai";
import { ApiError } from "../../../src/relayer/errors";
import { PaymentState, SubmissionState, type Hex } from "../../../src/relayer/domain";
import { SubmitterChainWriter, relayPurpose } from "../../../src/relayer/jobs/relayWriter";
import { BatchTree } from "../../../src/protocol";
import { signConfirmation, usd } from "../../escrow/fixtures";
import { randomNonce, signReceiveAuthorization } from "../../helpers/eip3009";
import { depositNonce } from "../../../src/sdk/eip3009";
import { latestTimestamp, mine, usePipelineFixture, statesOf, tickUntil } from "../helpers/chain";

describe("relayer pipeline: relayed operations", function () {
  const setup = usePipelineFixture();

  it("sends signed confirmations and gasless deposits on the submitter's nonce sequence; rejects what would revert", async () => {
    const fx = await setup();
    const [c0, c1] = fx.customers;
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

    // Signed by someone else: invalid_signature, nothing recorded, no nonce used.
    const forged = await signConfirmation(fx, c1, stored.id, deadline);
    let error: unknown = null;
    await writer
      .confirmWithSignature({ payment: asPayment, inclusion, deadline, signature: forged })
      .catch((e) => (error = e));
    expect(error).to.be.instanceOf(ApiError);
    expect([(error as ApiError).code, (error as ApiError).status]).to.deep.equal(["invalid_signature", 400]);
    const expired = await signConfirmation(fx, c0, stored.id, 1n);
    error = null;
    await writer
      .confirmWithSignature({ payment: asPayment, inclusion, deadline: 1n, signature: expired })
      .catch((e) => (error = e));
    expect((error as ApiError).code).to.equal("expired");
    expect(await fx.store.submissions.listByPurpose(relayPurpose("confirmWithSignature"))).to.deep.equal([]);
    expect(pipeline.submitter.nonces.next).to.equal(1);

    const signature = await signConfirmation(fx, c0, stored.id, deadline);
    const sent = await writer.confirmWithSignature({ payment: asPayment, inclusion, deadline, signature });
    await tickUntil(
      pipeline,
      "released",
      async () => (await statesOf(fx.store, [payment]))[0] === PaymentState.Released && (await final()),
    );
    const [relayed] = await fx.store.submissions.listByPurpose(relayPurpose("confirmWithSignature"));
    expect([relayed.txHash, relayed.nonce, relayed.state]).to.deep.equal([sent.txHash, 1, SubmissionState.Mined]);

    // A gasless deposit (EIP-3009 ReceiveWithAuthorization to the escrow), relayed the same way.
    const salt = randomNonce() as Hex;
    const auth = {
      from: c1.address,
      to: fx.addresses.escrow,
      value: usd(5),
      validAfter: 0n,
      validBefore: deadline,
      nonce: depositNonce(c1.address as Hex, usd(5), salt),
    };
    await fx.token.connect(fx.admin).mint(c1.address, usd(5));
    const { signature: depositSig } = await signReceiveAuthorization(c1, fx.token, auth);
    const before = await fx.escrow.balanceOf(c1.address);
    const deposit = {
      from: c1.address as Hex,
      amount: usd(5),
      validAfter: 0n,
      validBefore: deadline,
      salt,
      signature: depositSig as Hex,
    };
    await writer.depositWithAuthorization(deposit);
    await mine();
    expect((await fx.escrow.balanceOf(c1.address)) - before).to.equal(usd(5));
    // Replayed: the token refuses the used authorization before anything is sent.
    error = null;
    await writer.depositWithAuthorization(deposit).catch((e) => (error = e));
    expect((error as ApiError).code).to.equal("nonce_unavailable");

    // The node is down longer than the retries: chain_unavailable (503).
    const pending = await fx.store.submissions.maxNonce();
    fx.bridge.failNext(100, 503);
    error = null;
    await writer.confirmWithSignature({ payment: asPayment, inclusion, deadline, signature }).catch((e) => (error = e));
    fx.bridge.heal();
    expect([(error as ApiError).code, (error as ApiError).status]).to.deep.equal(["chain_unavailable", 503]);
    expect(await fx.store.submissions.maxNonce(), "nothing sent without a simulation").to.equal(pending);
  });
});
