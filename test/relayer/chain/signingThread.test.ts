import { expect } from "chai";
import { Transaction, Wallet } from "ethers";
import { privateKeyToAccount } from "viem/accounts";
import { SigningThread, privateKeyBytes, signEip1559, type UnsignedTx } from "../../../src/relayer/chain/signingThread";
import type { Hex } from "../../../src/relayer/domain";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as Hex;
const tx = (nonce: number): UnsignedTx => ({
  chainId: 31337,
  to: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
  // A batch-sized payload: 166 KB of calldata.
  data: `0x${"a1b2".repeat(83_000)}`,
  value: 0n,
  nonce,
  gas: 9_000_000n,
  maxFeePerGas: 2_000_000_000n,
  maxPriorityFeePerGas: 1_000_000_000n,
});

describe("relayer chain: transaction signing thread", function () {
  let thread: SigningThread | null = null;
  afterEach(async () => {
    await thread?.close();
    thread = null;
  });

  it("signs exactly what the ethers Wallet signs, with the same hash, on or off the thread", async function () {
    thread = new SigningThread(KEY);
    const inline = await signEip1559(privateKeyBytes(KEY), tx(7));
    const threaded = await thread.sign(tx(7));
    expect(threaded).to.deep.equal(inline);
    const { chainId, to, data, value, nonce, gas, maxFeePerGas, maxPriorityFeePerGas } = tx(7);
    const byEthers = await new Wallet(KEY).signTransaction({
      type: 2,
      chainId,
      to,
      data,
      value,
      nonce,
      gasLimit: gas,
      maxFeePerGas,
      maxPriorityFeePerGas,
    });
    expect(threaded.rawTx).to.equal(byEthers);
    expect(threaded.txHash).to.equal(Transaction.from(byEthers).hash);
  });

  it("matches viem's account signer for both signature parities, and refuses a bad key", async function () {
    const account = privateKeyToAccount(KEY);
    const parities = new Set<number>();
    for (let nonce = 0; nonce < 12; nonce++) {
      const small = { ...tx(nonce), data: `0x${"c3".repeat(100 + nonce)}` as Hex };
      const ours = signEip1559(privateKeyBytes(KEY), small);
      expect(ours.rawTx).to.equal(await account.signTransaction({ type: "eip1559", ...small }));
      const parsed = Transaction.from(ours.rawTx);
      expect(ours.txHash).to.equal(parsed.hash);
      parities.add(parsed.signature!.yParity);
    }
    expect([...parities].sort()).to.deep.equal([0, 1]);
    expect(() => privateKeyBytes("0x1234")).to.throw("invalid private key");
    expect(() => privateKeyBytes(`0x${"00".repeat(32)}`)).to.throw("invalid private key");
  });

  it("fails the signature in flight when the thread dies, and signs again on a new one", async function () {
    thread = new SigningThread(KEY);
    await thread.sign(tx(1));
    const { worker } = (thread as unknown as { thread: { worker: { terminate(): Promise<number> } } }).thread;
    const inFlight = thread.sign(tx(2)).then(
      () => "signed",
      (e: Error) => e.message,
    );
    await worker.terminate();
    expect(await inFlight).to.match(/signing thread exited/);
    expect((await thread.sign(tx(3))).rawTx).to.equal((await signEip1559(privateKeyBytes(KEY), tx(3))).rawTx);
  });
});
