/**
 * A relayer API on a deployment record, wired as src/relayer/server.ts wires it: the deploy script's
 * deploy() writes deployments/hardhat.json (in a temp dir) on Hardhat's in-process chain, the chain
 * client loads that file through the RPC bridge (real HTTP JSON-RPC), and the app serves its
 * currencies. For what depends on the record's currencies (GET /v1/currencies, ChainClient.currency).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import type { FastifyInstance } from "fastify";
import { deploy } from "../../../src/chain/deployToNetwork";
import type { DeploymentRecord } from "../../../src/chain/deployments";
import { buildApp } from "../../../src/relayer/app";
import { EthersChainView } from "../../../src/relayer/chain/chainView";
import { connectChain, type ChainClient } from "../../../src/relayer/chain/client";
import { loadConfig } from "../../../src/relayer/config";
import type { FxConfig } from "../../../src/relayer/config";
import { createMetrics } from "../../../src/relayer/runtime/metrics";
import { openSqliteStore, type SqliteStore } from "../../../src/relayer/store/sqlite";
import { FAST_RETRY, startRpcBridge, type RpcBridge } from "./chain";
import { DirectChainWriter } from "./directChainWriter";

export interface DeployedApi {
  record: DeploymentRecord;
  /** The store the app writes (unscoped). */
  store: SqliteStore;
  /** The record's file, as DEPLOYMENTS_FILE names it. */
  file: string;
  /** Read-only, connected to the file as the relayer connects. */
  chain: ChainClient;
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export interface DeployedApiOptions {
  /**
   * The currencies intake serves (AppDeps.served), each on a chain view of its escrow and a
   * DirectChainWriter of a Hardhat account of its own (#6, #7, ...). Default: the app's default, the
   * record's first without a writer.
   */
  served?: string[];
  /** The FX desk's settings (AppDeps.fx); default none. */
  fx?: FxConfig | null;
  /** Where the app's JSON log lines go (default: no logging). */
  logStream?: { write(line: string): unknown };
  /** The app's clock (AppDeps.clock; default Date.now). */
  clock?: () => number;
}

/** Deploys `currencies` (codes, in order; default the deploy script's: USD alone) and starts an API on the record. */
export async function startDeployedApi(currencies?: string[], options: DeployedApiOptions = {}): Promise<DeployedApi> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "relayer-deployment-"));
  let bridge: RpcBridge | null = null;
  let store: SqliteStore | null = null;
  let chain: ChainClient | null = null;
  let app: FastifyInstance | null = null;
  const close = async () => {
    await app?.close();
    chain?.provider.destroy();
    await store?.close();
    await bridge?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const { record, file } = await deploy(hre, { dir, currencies, log: () => undefined });
    bridge = await startRpcBridge();
    chain = await connectChain({ rpcUrl: bridge.url, deployment: file!, signer: null, retry: FAST_RETRY });
    store = await openSqliteStore(path.join(dir, "relayer.sqlite"));
    const view = await EthersChainView.connect({
      provider: chain.provider,
      escrow: chain.addresses.escrow,
      registry: chain.addresses.registry,
      chainId: chain.chainId,
    });
    const client = chain;
    const signers = await hre.ethers.getSigners();
    const served = await Promise.all(
      (options.served ?? []).map(async (code, i) => {
        const currency = client.currency(code).addresses;
        return {
          code,
          chain: await EthersChainView.connect({
            provider: client.provider,
            escrow: currency.escrow,
            registry: client.addresses.registry,
            chainId: client.chainId,
          }),
          writer: new DirectChainWriter(signers[6 + i], currency.escrow),
        };
      }),
    );
    app = buildApp({
      config: loadConfig({}),
      store,
      chain: served[0]?.chain ?? view,
      currencies: chain.addresses.currencies,
      served: options.served ? served : undefined,
      fx: options.fx ?? null,
      clock: options.clock,
      logger: options.logStream ? { level: "info", stream: options.logStream } : false,
      metrics: createMetrics({ defaultMetrics: false }),
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address();
    if (!address || typeof address === "string") throw new Error("not listening on TCP");
    return { record, store, file: file!, chain, app, url: `http://127.0.0.1:${address.port}`, close };
  } catch (error) {
    await close();
    throw error;
  }
}
