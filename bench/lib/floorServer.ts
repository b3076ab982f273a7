/**
 * The floor of bench/floor.ts: what any relayer on this stack must do per payment before it stores
 * anything. A fastify server with the relayer's own `POST /v1/payments` schemas (TypeBox body,
 * serialised response), its intake parse and checks, and its signature pool (digest and recovery
 * on a worker thread); no store, no chain, no hooks. It answers 201 with the payment's view when
 * the signature is the payer's, 401 otherwise. Prints its port on stdout once listening.
 */
import Fastify from "fastify";
import { ERROR_RESPONSES, PaymentSubmission, PaymentView } from "../../src/protocol/schemas";
import { acceptedPayment, SignatureKind, type Hex } from "../../src/relayer/domain";
import { checkDomain, checkValidity, parsePayment } from "../../src/relayer/intake/parse";
import { SignaturePool } from "../../src/relayer/intake/signaturePool";
import { paymentView } from "../../src/relayer/views";
import type { PaymentSubmission as Submission } from "../../src/protocol/schemas";

const { chainId, escrow, workers } = JSON.parse(process.argv[2]) as { chainId: string; escrow: Hex; workers: number };

async function main(): Promise<void> {
  const pool = new SignaturePool(workers);
  await pool.ready();
  const recovery = pool.forDomain({ chainId, escrow });
  const app = Fastify({
    logger: false,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } },
  });
  app.post<{ Body: Submission }>(
    "/v1/payments",
    { schema: { body: PaymentSubmission, response: { 201: PaymentView, ...ERROR_RESPONSES } } },
    async (request, reply) => {
      const body = request.body;
      checkDomain(body, BigInt(chainId), escrow);
      const payment = parsePayment(body);
      checkValidity(payment.validAfter, payment.deadline, BigInt(Math.floor(Date.now() / 1000)));
      const signature = body.signature.toLowerCase() as Hex;
      const { id, signer } = await recovery.recover(payment, signature);
      if (signer !== payment.payer) {
        return reply.status(401).send({ error: { code: "invalid_signature", message: "not the payer's" } });
      }
      const record = acceptedPayment({
        id,
        currency: "USD",
        ...payment,
        signature,
        requestId: null,
        signatureKind: SignatureKind.Ecdsa,
        createdAt: Date.now(),
      });
      return reply.status(201).header("location", `/v1/payments/${id}`).send(paymentView(record));
    },
  );
  const address = await app.listen({ host: "127.0.0.1", port: 0 });
  process.stdout.write(`${new URL(address).port}\n`);
  const stop = () =>
    void app
      .close()
      .then(() => pool.close())
      .then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

void main();
