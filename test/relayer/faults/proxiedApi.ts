/** The API harness with its chain reads sent through a JSON-RPC proxy in front of Hardhat, to count or fault them. */
import { JsonRpcProvider } from "ethers";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { RelayerConfig } from "../../../src/relayer/config";
import type { Hex } from "../../../src/relayer/domain";
import { EthersChainView, type EthersChainViewOptions } from "../../../src/relayer/chain/chainView";
import { deployEscrowFixture } from "../../escrow/fixtures";
import { startApi, type ApiHarness } from "../helpers/api";
import { startRpcBridge } from "../helpers/chain";
import { startRpcProxy, type RpcProxy } from "./rpcProxy";

export interface ProxiedApi {
  h: ApiHarness;
  proxy: RpcProxy;
  /** The URL the chain view calls: the proxy's, with `path` appended. */
  rpcUrl: string;
  close(): Promise<void>;
}

export async function startProxiedApi(
  options: {
    /** Appended to the proxy's URL (a provider's key in the path or query). */
    path?: string;
    view?: Omit<EthersChainViewOptions, "provider" | "escrow" | "chainId">;
    config?: (rpcUrl: string) => Partial<RelayerConfig>;
  } = {},
): Promise<ProxiedApi> {
  const bridge = await startRpcBridge();
  const proxy = await startRpcProxy(bridge.url);
  const rpcUrl = `${proxy.url}${options.path ?? ""}`;
  const chainId = (await ethers.provider.getNetwork()).chainId;
  const provider = new JsonRpcProvider(rpcUrl, chainId, { staticNetwork: true, batchMaxCount: 1 });
  // The fixture is a snapshot: startApi loads the same one, so the escrow is at the same address.
  const f = await loadFixture(deployEscrowFixture);
  const chain = await EthersChainView.connect({
    provider,
    escrow: (await f.escrow.getAddress()) as Hex,
    chainId,
    ...options.view,
  });
  const h = await startApi({ config: options.config?.(rpcUrl), deps: { chain } });
  return {
    h,
    proxy,
    rpcUrl,
    async close() {
      await h.close();
      provider.destroy();
      await proxy.close();
      await bridge.close();
    },
  };
}
