/**
 * Anvil as the local network's second node: same chain id and funded accounts as `hardhat node`,
 * blocks on an interval (a transaction waits in the pool), genuine reorgs, a `finalized` tag two
 * epochs behind the head. (`startLocalChain({ node: "anvil" })`, the whole StablePay set-up the
 * benches use, runs in test/relayer/jobs/anvilProcess.test.ts.)
 */
import { expect } from "chai";
import { Wallet, computeAddress } from "ethers";
import { anvilBinary, anvilReorg, setIntervalMining } from "../../src/localnet/anvil";
import { parseNodeKind, startNode, type LocalNode } from "../../src/localnet/node";
import { freePort, jsonRpc } from "../../src/localnet/rpc";
import { LOCAL_DEV_SIGNER_KEY } from "../../src/relayer/config";

type RpcBlock = { number: string; hash: string };

describe("localnet: anvil", function () {
  this.timeout(90_000);

  describe("the node", () => {
    let node: LocalNode | undefined;
    afterEach(async () => {
      await node?.stop();
      node = undefined;
    });
    const call = <T>(method: string, params: unknown[] = []) => jsonRpc<T>(node!.url, method, params);
    const head = async () => Number(await call<string>("eth_blockNumber"));

    it("answers on Hardhat's chain id with Hardhat's funded first account, and mines on its interval", async () => {
      node = await startNode({ kind: "anvil", port: await freePort(), blockTime: 0.5 });
      expect(node.kind).to.equal("anvil");
      expect(node.chainId).to.equal(31337);
      const balance = BigInt(await call<string>("eth_getBalance", [computeAddress(LOCAL_DEV_SIGNER_KEY), "latest"]));
      expect(balance).to.equal(10_000n * 10n ** 18n);
      const start = await head();
      await new Promise((resolve) => setTimeout(resolve, 1_300));
      expect((await head()) - start >= 2, "blocks without transactions").to.equal(true);
    });

    it("keeps a transaction in the pool until a block is mined", async () => {
      node = await startNode({ kind: "anvil", port: await freePort() });
      await setIntervalMining(node.url, 0);
      const wallet = new Wallet(LOCAL_DEV_SIGNER_KEY);
      const raw = await wallet.signTransaction({
        to: Wallet.createRandom().address,
        value: 1n,
        nonce: 0,
        gasLimit: 21_000n,
        maxFeePerGas: 10n ** 10n,
        maxPriorityFeePerGas: 10n ** 9n,
        chainId: 31337n,
        type: 2,
      });
      const hash = await call<string>("eth_sendRawTransaction", [raw]);
      expect((await call<{ blockNumber: string | null }>("eth_getTransactionByHash", [hash])).blockNumber).to.equal(
        null,
      );
      expect(await call("eth_getTransactionReceipt", [hash])).to.equal(null);
      await call("evm_mine");
      expect(await call("eth_getTransactionReceipt", [hash])).to.not.equal(null);
    });

    it("reorganises for real, and answers `finalized` two epochs behind the head", async () => {
      node = await startNode({ kind: "anvil", port: await freePort(), slotsInAnEpoch: 2 });
      await setIntervalMining(node.url, 0);
      await call("anvil_mine", ["0xa"]);
      const before = await call<RpcBlock>("eth_getBlockByNumber", ["0x8", false]);
      const below = await call<RpcBlock>("eth_getBlockByNumber", ["0x7", false]);
      const finalized = await call<RpcBlock>("eth_getBlockByNumber", ["finalized", false]);
      expect(Number(finalized.number)).to.equal((await head()) - 4);

      await anvilReorg(node.url, 3);
      const after = await call<RpcBlock>("eth_getBlockByNumber", ["0x8", false]);
      expect(after.hash, "block 8 replaced").to.not.equal(before.hash);
      expect(await head(), "same height").to.equal(10);
      const kept = await call<RpcBlock>("eth_getBlockByNumber", ["0x7", false]);
      expect(kept.hash, "the common ancestor stays").to.equal(below.hash);
    });

    it("refuses what it cannot do: an unknown node, anvil options for Hardhat, a fractional interval", async () => {
      expect(parseNodeKind("anvil")).to.equal("anvil");
      expect(() => parseNodeKind("geth")).to.throw(/unknown node "geth": expected one of hardhat, anvil/);
      let error: unknown;
      try {
        await startNode({ kind: "hardhat", port: await freePort(), blockTime: 1 });
      } catch (e) {
        error = e;
      }
      expect(String(error)).to.match(/blockTime, slotsInAnEpoch and baseFee are anvil options/);
      error = undefined;
      try {
        await setIntervalMining("http://127.0.0.1:9", 0.5);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(RangeError);
      expect(String(error)).to.match(/whole seconds/);
      expect(anvilBinary()).to.match(/anvil$/);
    });
  });
});
