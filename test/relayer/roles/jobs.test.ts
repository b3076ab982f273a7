/**
 * The jobs' start-up checks of the configuration against the chain: Hardhat's public dev keys sign
 * only on the local chain.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import { ConfigError, LOCAL_DEV_SIGNER_KEYS, loadConfig } from "../../../src/relayer/config";
import { refuseDevKeys } from "../../../src/relayer/roles/jobs";

describe("relayer jobs: signer keys against the chain", function () {
  const own = Wallet.createRandom().privateKey;

  it("a worker on any chain but the local one refuses Hardhat's dev keys, the default included, naming the key's place only", function () {
    const refusal = (env: NodeJS.ProcessEnv, chainId: bigint): ConfigError => {
      try {
        refuseDevKeys(loadConfig(env), chainId);
      } catch (error) {
        expect(error).to.be.instanceOf(ConfigError);
        return error as ConfigError;
      }
      throw new Error("not refused");
    };
    const byDefault = refusal({}, 1n);
    expect(byDefault.message).to.include("signer key #1 is one of Hardhat's public dev keys");
    expect(byDefault.message).to.include("chain 1");
    const second = refusal({ RELAYER_PRIVATE_KEYS: `${own},${LOCAL_DEV_SIGNER_KEYS[1]}` }, 8453n);
    expect(second.message).to.include("signer key #2");
    for (const error of [byDefault, second]) {
      for (const key of LOCAL_DEV_SIGNER_KEYS) expect(error.message).to.not.include(key.slice(2));
    }
    // Upper-case hex is the same key.
    refusal({ RELAYER_PRIVATE_KEY: LOCAL_DEV_SIGNER_KEYS[0].toUpperCase().replace("0X", "0x") }, 1n);
  });

  it("the local chain takes the dev keys, and any chain takes keys of the operator's own", function () {
    expect(() => refuseDevKeys(loadConfig({}), 31337n)).to.not.throw();
    expect(() => refuseDevKeys(loadConfig({ RELAYER_CURRENCIES: "USD,EUR" }), 31337n)).to.not.throw();
    expect(() => refuseDevKeys(loadConfig({ RELAYER_PRIVATE_KEY: own }), 1n)).to.not.throw();
  });
});
