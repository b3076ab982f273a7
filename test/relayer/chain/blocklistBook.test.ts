/**
 * Intake's blocklist book on real chains: it follows the token's Blocklisted / UnBlocklisted events
 * (Hardhat over the JSON-RPC bridge, anvil for a genuine reorg), intake answers payer_blocklisted
 * from it without an eth_call per payer, and while the book is behind or cannot reach the node the
 * chain view asks the token instead.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { BlocklistBook } from "../../../src/relayer/chain/blocklistBook";
import { EthersChainView } from "../../../src/relayer/chain/chainView";
import { connectChain, type ChainAddresses, type ChainClient } from "../../../src/relayer/chain/client";
import { anvilReorg } from "../../../src/localnet/anvil";
import type { Hex } from "../../../src/relayer/domain";
import { createMetrics } from "../../../src/relayer/runtime/metrics";
import { deployEscrowFixture } from "../../escrow/fixtures";
import { signedPayment, startApi, type ApiHarness } from "../helpers/api";
import { useAnvilPipelineFixture } from "../helpers/anvil";
import {
  FAST_RETRY,
  MemoryLogger,
  oneCurrency,
  startRpcBridge,
  usePipelineFixture,
  waitFor,
  type RpcBridge,
} from "../helpers/chain";

/** `chain` seen with the token's history starting at `tokenStartBlock` (the fixtures deploy it after their start block). */
function withTokenHistory(chain: ChainClient, tokenStartBlock: bigint | undefined) {
  const addresses: ChainAddresses = { ...chain.addresses, tokenStartBlock };
  return {
    addresses,
    blockNumber: () => chain.blockNumber(),
    tokenLogs: (from: bigint, to: bigint, topics: (string | string[] | null)[]) => chain.tokenLogs(from, to, topics),
  };
}

/** eth_calls `chain`'s provider sends to `to` (the token), counted from its debug events. */
function countCallsTo(chain: ChainClient, to: string): { count: number } {
  const counter = { count: 0 };
  const target = to.toLowerCase();
  void chain.provider.on("debug", (event: { action: string; payload?: unknown }) => {
    if (event.action !== "sendRpcPayload") return;
    const payloads = (Array.isArray(event.payload) ? event.payload : [event.payload]) as {
      method: string;
      params: { to?: string }[];
    }[];
    for (const p of payloads) if (p.method === "eth_call" && p.params[0]?.to?.toLowerCase() === target) counter.count++;
  });
  return counter;
}

describe("relayer: intake's blocklist book", function () {
  describe("intake answers from the book (Hardhat)", function () {
    let bridge: RpcBridge | null = null;
    let client: ChainClient | null = null;
    let book: BlocklistBook | null = null;
    let h: ApiHarness | null = null;

    afterEach(async () => {
      await book?.stop();
      await h?.close();
      client?.provider.destroy();
      await bridge?.close();
      [bridge, client, book, h] = [null, null, null, null];
    });

    it("sees blocklist and unblocklist within a poll; intake refuses then accepts the payer, with no eth_call to the token", async function () {
      const f = await loadFixture(deployEscrowFixture);
      bridge = await startRpcBridge();
      const token = await f.token.getAddress();
      client = await connectChain({
        rpcUrl: bridge.url,
        deployment: oneCurrency({
          chainId: f.chainId,
          escrow: await f.escrow.getAddress(),
          registry: await f.registry.getAddress(),
          token,
          // The in-process chain holds every test's deployments: read it all, it is short.
          startBlock: 0n,
          tokenStartBlock: 0n,
        }),
        retry: FAST_RETRY,
      });
      book = new BlocklistBook({ chain: client, reorgWindow: 64n, pollIntervalMs: 50 });
      const view = await EthersChainView.connect({
        provider: client.provider,
        escrow: client.addresses.escrow,
        blocklist: book,
        termsCacheMs: 0,
        accountCacheMs: 0,
      });
      h = await startApi({ deps: { chain: view } });
      expect(await book.start(10_000)).to.equal(true);
      const tokenCalls = countCallsTo(client, token);
      const payer = h.f.customers[0];
      const account = payer.address.toLowerCase() as Hex;
      const post = (body: unknown) => h!.request("POST", "/v1/payments", { body });
      expect(book.lookup(account)).to.equal(false);

      await h.f.token.connect(h.f.admin).grantRole(await h.f.token.BLOCKLISTER_ROLE(), h.f.admin.address);
      await h.f.token.connect(h.f.admin).blocklist(payer.address);
      // The book's own loop picks it up (a poll is 50 ms).
      await waitFor("book sees Blocklisted", async () => book!.lookup(account) === true, 2_000);
      const refused = await post((await signedPayment(h, 0)).body);
      expect([refused.status, refused.body.error.code]).to.deep.equal([403, "payer_blocklisted"]);
      expect((await h.store.payments.list({ limit: 10 })).items).to.have.length(0);
      const other = await post((await signedPayment(h, 1)).body);
      expect(other.status).to.equal(201);

      await h.f.token.connect(h.f.admin).unBlocklist(payer.address);
      expect(await book.poll()).to.equal(true);
      expect(book.lookup(account)).to.equal(false);
      const accepted = await post((await signedPayment(h, 0)).body);
      expect(accepted.status).to.equal(201);
      // Every answer came from memory.
      expect(tokenCalls.count).to.equal(0);
    });
  });

  describe("fallback to the token", function () {
    const setup = usePipelineFixture();
    const clients: ChainClient[] = [];
    const books: BlocklistBook[] = [];
    afterEach(async () => {
      for (const b of books.splice(0)) await b.stop();
      for (const c of clients.splice(0)) c.provider.destroy();
    });

    /** The book's own connection through the fixture's bridge (faults on it reach the view's reads too). */
    async function bookClient(fx: Awaited<ReturnType<typeof setup>>): Promise<ChainClient> {
      const c = await connectChain({ rpcUrl: fx.bridge.url, deployment: fx.addresses, retry: FAST_RETRY });
      clients.push(c);
      return c;
    }

    it("a book that cannot read the logs answers nothing, the view asks the token; failures are logged without the URL and counted", async () => {
      const fx = await setup();
      const [c0, c1] = fx.customers;
      const listed = c0.address.toLowerCase() as Hex;
      await fx.token.connect(fx.admin).grantRole(await fx.token.BLOCKLISTER_ROLE(), fx.admin.address);
      await fx.token.connect(fx.admin).blocklist(c0.address);
      const logger = new MemoryLogger();
      const metrics = createMetrics({ defaultMetrics: false });
      const chain = withTokenHistory(await bookClient(fx), fx.addresses.startBlock);
      const book = new BlocklistBook({ chain, reorgWindow: 64n, pollIntervalMs: 20, logger, metrics });
      books.push(book);
      const view = await EthersChainView.connect({
        provider: fx.chain.provider,
        escrow: fx.addresses.escrow,
        blocklist: book,
      });

      fx.bridge.failMethod("eth_getLogs", 10_000);
      expect(await book.start(300)).to.equal(false);
      expect(book.caughtUp).to.equal(false);
      expect(book.lookup(listed)).to.equal(null);
      // Never "not blocklisted" because the book is behind: the token answers.
      expect(await view.isBlocklisted(listed)).to.equal(true);
      expect(await view.isBlocklisted(c1.address.toLowerCase() as Hex)).to.equal(false);
      const failures = async () =>
        (await metrics.failures.get()).values.find(
          (v) => v.labels.component === "blocklist-book" && v.labels.reason === "poll",
        )?.value ?? 0;
      // The loop keeps polling (and failing) in the background.
      await waitFor("a second failed poll", async () => (await failures()) > 1, 5_000);
      const lines = logger.lines.filter((l) => l.msg.startsWith("blocklist book poll failed"));
      // Rate-limited: one line for all the failures so far.
      expect(lines).to.have.length(1);
      expect(JSON.stringify(lines[0].obj)).not.to.include(fx.bridge.url.replace("http://", ""));

      fx.bridge.heal();
      await waitFor("book catches up", async () => book.caughtUp, 5_000);
      expect(book.lookup(listed)).to.equal(true);
    });

    it("a book whose last poll is too old stops answering; one that does not know the token's history asks about unseen accounts", async () => {
      const fx = await setup();
      const [c0, c1] = fx.customers;
      const account = c0.address.toLowerCase() as Hex;
      let now = 1_000_000;
      const chain = withTokenHistory(await bookClient(fx), fx.addresses.startBlock);
      const book = new BlocklistBook({
        chain,
        reorgWindow: 64n,
        pollIntervalMs: 1_000,
        staleAfterMs: 5_000,
        now: () => now,
      });
      const view = await EthersChainView.connect({
        provider: fx.chain.provider,
        escrow: fx.addresses.escrow,
        blocklist: book,
        blocklistCacheMs: 0,
      });
      expect(await book.poll()).to.equal(true);
      expect(book.lookup(account)).to.equal(false);

      // Listed after the book's last poll, which then fails: within the bound the book still answers
      // (as a cached read would), past it the token is asked.
      await fx.token.connect(fx.admin).grantRole(await fx.token.BLOCKLISTER_ROLE(), fx.admin.address);
      await fx.token.connect(fx.admin).blocklist(c0.address);
      fx.bridge.failMethod("eth_blockNumber", 10_000);
      expect(await book.poll()).to.equal(false);
      now += 4_000;
      expect(await view.isBlocklisted(account)).to.equal(false);
      now += 2_000;
      expect(book.lookup(account)).to.equal(null);
      expect(await view.isBlocklisted(account)).to.equal(true);
      fx.bridge.heal();

      // External token (no deploy block known): only accounts with events since the escrow's deploy
      // block are answered from memory.
      const external = new BlocklistBook({
        chain: withTokenHistory(fx.chain, undefined),
        reorgWindow: 64n,
        pollIntervalMs: 1_000,
      });
      expect(external.complete).to.equal(false);
      expect(await external.poll()).to.equal(true);
      expect(external.lookup(account)).to.equal(true);
      expect(external.lookup(c1.address.toLowerCase() as Hex)).to.equal(null);
    });
  });

  describe("reorgs (anvil)", function () {
    const setup = useAnvilPipelineFixture();

    it("a reorg that removes the Blocklisted event un-blocklists the account in the book", async () => {
      const fx = await setup();
      const c0 = fx.customers[0];
      const account = c0.address.toLowerCase() as Hex;
      const chain = withTokenHistory(fx.chain, fx.addresses.startBlock);
      const book = new BlocklistBook({ chain, reorgWindow: 64n, pollIntervalMs: 100 });
      const admin = fx.token.runner as unknown as { address: string };
      await (await fx.token.grantRole(await fx.token.BLOCKLISTER_ROLE(), admin.address)).wait();
      expect(await book.poll()).to.equal(true);
      expect(book.lookup(account)).to.equal(false);

      const receipt = (await (await fx.token.blocklist(c0.address)).wait())!;
      expect(await book.poll()).to.equal(true);
      expect(book.lookup(account)).to.equal(true);

      // The new branch replaces every block from the blocklisting's on, without it.
      await anvilReorg(fx.url, Number((await fx.head()) - BigInt(receipt.blockNumber) + 1n));
      expect(await fx.token.isBlocklisted(c0.address)).to.equal(false);
      expect(await book.poll()).to.equal(true);
      expect(book.lookup(account)).to.equal(false);
    });
  });
});
