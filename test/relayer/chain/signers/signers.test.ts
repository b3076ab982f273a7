/**
 * Signer backends end to end on the in-process Hardhat chain: a worker whose one lane signs with an
 * environment key, a decrypted keystore, or a remote signer process (JSON-RPC eth_signTransaction)
 * escrows a batch. A remote signer that signs something other than what was asked is refused before
 * anything is recorded or sent; a wrong keystore password fails with the file named and no secret.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import { Wallet, encryptKeystoreJsonSync } from "ethers";
import { Secret } from "../../../../src/relayer/config";
import { BatchState, PaymentState } from "../../../../src/relayer/domain";
import { openSigners, RemoteSigner, SignerError, type TxSigner } from "../../../../src/relayer/chain/signers";
import { batchPurpose } from "../../../../src/relayer/jobs/batchOutcome";
import { WorkerRole } from "../../../../src/relayer/roles/worker";
import { usd } from "../../../escrow/fixtures";
import {
  HUNDRED_ETH,
  fundedPayers,
  rpc,
  statesOf,
  usePipelineFixture,
  type PipelineFixture,
} from "../../helpers/chain";
import { startRemoteSigner, type Tamper } from "./remoteSignerProcess";

const PASSWORD = "correct horse battery staple 1f9c";

/** A fresh funded key. */
async function freshKey(): Promise<Wallet> {
  const wallet = new Wallet(Wallet.createRandom().privateKey);
  await rpc("hardhat_setBalance", [wallet.address, HUNDRED_ETH]);
  return wallet;
}

function keystoreFile(wallet: Wallet, password: string): { file: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-keystore-"));
  const file = path.join(dir, "key.json");
  // A low scrypt cost keeps the test fast; the format is the one geth and Clef write.
  const json = encryptKeystoreJsonSync({ address: wallet.address, privateKey: wallet.privateKey }, password, {
    scrypt: { N: 1 << 10 },
  });
  fs.writeFileSync(file, json);
  return { file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A worker with one lane on `signer` escrows two payments; its submission is the signer's. */
async function escrowWith(fx: PipelineFixture, signer: TxSigner): Promise<void> {
  const worker = new WorkerRole({
    store: fx.store,
    chain: fx.chain,
    signers: [signer],
    config: { ...fx.config, leaseTtlMs: 10_000 },
    holder: "signer-test",
    role: "worker",
    clock: fx.clock,
    logger: fx.logger,
    autoStart: false,
  });
  await worker.standbyTick();
  const [payer] = await fundedPayers(fx, 1, usd(100));
  const accepted = await fx.accept([{ payer }, { payer }]);
  for (let i = 0; i < 10; i++) {
    await worker.tick();
    if ((await fx.store.batches.listByState([BatchState.Confirmed])).length === 1) break;
  }
  expect(await statesOf(fx.store, accepted)).to.deep.equal([PaymentState.Escrowed, PaymentState.Escrowed]);
  const [batch] = await fx.store.batches.listByState([BatchState.Confirmed]);
  const [submission] = await fx.store.submissions.listByPurpose(batchPurpose(batch.key));
  expect(submission.signer).to.equal(signer.address.toLowerCase());
  const tx = await fx.chain.provider.getTransaction(submission.txHash);
  expect(tx!.from).to.equal(signer.address);
  await worker.stop();
}

function spawnSignerProcess(key: string): Promise<{ child: ChildProcess; url: string; address: string }> {
  const child = spawn(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", path.join(__dirname, "remoteSignerProcess.ts")],
    { env: { PATH: process.env.PATH, REMOTE_SIGNER_KEY: key }, stdio: ["ignore", "pipe", "pipe"] },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n")) resolve({ child, ...(JSON.parse(line) as { url: string; address: string }) });
    });
    child.on("exit", (code) => reject(new Error(`remote signer exited (${code})`)));
  });
}

describe("relayer signer backends", function () {
  this.timeout(120_000);
  const setup = usePipelineFixture();

  it("an environment key: a lane escrows a batch; the key appears in no dump of the signer or the settings", async () => {
    const fx = await setup({ batchMaxSize: 2 });
    const wallet = await freshKey();
    const settings = { kind: "env" as const, keys: [new Secret(wallet.privateKey as `0x${string}`)] };
    const [signer] = await openSigners(settings);
    expect(signer.kind).to.equal("env");
    const hex = wallet.privateKey.slice(2);
    for (const dump of [
      JSON.stringify(signer),
      inspect(signer, { showHidden: true, depth: 5 }),
      JSON.stringify(settings),
      inspect(settings, { depth: 5 }),
      `${settings.keys[0]}`,
    ]) {
      expect(dump).to.not.include(hex);
    }
    await escrowWith(fx, signer);
  });

  it("an encrypted keystore: decrypted with its password, a lane escrows a batch; a wrong password names the file and no secret", async () => {
    const fx = await setup({ batchMaxSize: 2 });
    const wallet = await freshKey();
    const keystore = keystoreFile(wallet, PASSWORD);
    try {
      const [signer] = await openSigners({ kind: "keystore", files: [keystore.file], password: new Secret(PASSWORD) });
      expect(signer.kind).to.equal("keystore");
      expect(signer.address).to.equal(wallet.address);
      await escrowWith(fx, signer);

      const wrong = "not the password 7d2e";
      const error = await openSigners({ kind: "keystore", files: [keystore.file], password: new Secret(wrong) }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(SignerError);
      expect((error as SignerError).code).to.equal("keystore_decrypt");
      const text = `${(error as Error).message} ${(error as Error).stack} ${inspect(error)}`;
      expect(text).to.include(keystore.file);
      expect(text).to.not.include(wrong);
      expect(text).to.not.include(wallet.privateKey.slice(2));
    } finally {
      keystore.remove();
    }
  });

  it("a remote signer process (eth_signTransaction): a lane escrows a batch with a key this process never holds", async () => {
    const fx = await setup({ batchMaxSize: 2 });
    const wallet = await freshKey();
    const remote = await spawnSignerProcess(wallet.privateKey);
    try {
      expect(remote.address).to.equal(wallet.address);
      const [signer] = await openSigners({
        kind: "remote",
        url: new Secret(remote.url),
        addresses: [wallet.address as `0x${string}`],
      });
      expect(signer.kind).to.equal("remote");
      await escrowWith(fx, signer);

      // A signer that does not hold the configured address is refused at start-up.
      const stranger = Wallet.createRandom().address as `0x${string}`;
      const refused = await openSigners({ kind: "remote", url: new Secret(remote.url), addresses: [stranger] }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(refused).to.be.instanceOf(SignerError);
      expect((refused as SignerError).code).to.equal("signer_config");
    } finally {
      remote.child.kill("SIGKILL");
    }
  });

  for (const tamper of ["to", "nonce", "value", "other-key"] as Tamper[]) {
    it(`a remote signer that tampers (${tamper}) is refused: remote_signer_mismatch, nothing recorded or sent`, async () => {
      const fx = await setup({ batchMaxSize: 2 });
      const wallet = await freshKey();
      const remote = await startRemoteSigner(wallet.privateKey, { tamper, clef: tamper === "to" });
      try {
        const [signer] = await RemoteSigner.connect(remote.url, [wallet.address]);
        const worker = new WorkerRole({
          store: fx.store,
          chain: fx.chain,
          signers: [signer],
          config: { ...fx.config, leaseTtlMs: 10_000 },
          holder: "tamper-test",
          role: "worker",
          clock: fx.clock,
          logger: fx.logger,
          autoStart: false,
        });
        await worker.standbyTick();
        const error = await worker.lanes.send("relay:test", "0x", 100_000n).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(SignerError);
        expect((error as SignerError).code).to.equal("remote_signer_mismatch");
        expect(remote.calls.get("eth_signTransaction")).to.equal(1);
        expect(await fx.store.submissions.listByPurpose("relay:test")).to.have.length(0);
        expect(await fx.chain.provider.getTransactionCount(wallet.address, "pending")).to.equal(0);
        await worker.stop();
      } finally {
        await remote.close();
      }
    });
  }
});
