/**
 * scripts/deploy.ts's deploy() on the in-process network, and the deployment record module
 * (src/chain/deployments.ts): what the record contains, re-deploy detection (live, stale,
 * forced, other chain), role grants, several currencies over one registry, EXISTING_TOKEN and
 * environment parsing.
 */
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { takeSnapshot, type SnapshotRestorer } from "@nomicfoundation/hardhat-network-helpers";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { deploy, optionsFromEnv, type DeployResult, type DeployScriptOptions } from "../../src/chain/deployToNetwork";
import {
  SHARED_CONTRACT_NAMES,
  deploymentPath,
  deploymentStatus,
  hasLiveDeployment,
  readDeployment,
  validateDeployment,
  writeDeployment,
  type DeploymentRecord,
} from "../../src/chain/deployments";
import { DEFAULT_ADMIN_DELAY, DEFAULT_DISPUTE_TIMEOUT } from "../../src/chain/deploy";
import { MerchantRegistry__factory, PaymentEscrow__factory, SettlementToken__factory } from "../../typechain-types";
import { expectRejection, PROJECT_ROOT, removeDir, tempDir } from "./helpers";

const role = (name: string): string => ethers.id(name);

describe("deploy script (in-process network)", function () {
  let snapshot: SnapshotRestorer;
  let dir: string;
  let signers: HardhatEthersSigner[];
  let deployer: HardhatEthersSigner;
  let lines: string[];

  const run = (options: DeployScriptOptions = {}): Promise<DeployResult> =>
    deploy(hre, { dir, log: (line) => lines.push(line), ...options });

  before(async function () {
    snapshot = await takeSnapshot();
    signers = await ethers.getSigners();
    deployer = signers[0];
  });

  after(async function () {
    await snapshot.restore();
  });

  beforeEach(function () {
    dir = tempDir();
    lines = [];
  });

  afterEach(function () {
    removeDir(dir);
  });

  describe("first deployment", function () {
    let result: DeployResult;
    let holders: Record<string, string>;
    let firstDir: string;

    before(async function () {
      firstDir = tempDir();
      holders = {
        masterMinter: signers[1].address,
        pauser: signers[2].address,
        blocklister: signers[3].address,
        rescuer: signers[4].address,
        registrar: signers[5].address,
        arbiter: signers[6].address,
        feeRecipient: signers[7].address,
      };
      result = await deploy(hre, { dir: firstDir, log: () => undefined, ...holders });
    });

    after(function () {
      removeDir(firstDir);
    });

    it("writes deployments/hardhat.json in the given directory, readable and valid", async function () {
      expect(result.status).to.equal("deployed");
      expect(result.replaced).to.equal(undefined);
      expect(result.file).to.equal(path.join(firstDir, "hardhat.json"));
      expect(existsSync(result.file!)).to.equal(true);
      const read = readDeployment("hardhat", firstDir);
      expect(read).to.deep.equal(result.record);
      expect(validateDeployment(JSON.parse(readFileSync(result.file!, "utf8")))).to.deep.equal([]);
      // Atomic write: no temporary file left behind.
      expect(readdirSync(firstDir)).to.deep.equal(["hardhat.json"]);
    });

    it("records network, chain id, deployer, time and fee recipient", async function () {
      const r = result.record;
      expect(r.network).to.equal("hardhat");
      expect(r.chainId).to.equal(Number((await ethers.provider.getNetwork()).chainId));
      expect(r.deployer).to.equal(deployer.address);
      expect(new Date(r.deployedAt).toISOString()).to.equal(r.deployedAt);
      expect(Date.now() - Date.parse(r.deployedAt)).to.be.within(0, 5 * 60_000);
      expect(r.feeRecipient).to.equal(holders.feeRecipient);
    });

    it("records every contract with code, its creation tx and block; deploy block is the first tx's", async function () {
      const r = result.record;
      const blocks: number[] = [];
      const [usd] = r.currencies;
      const all = [
        ...SHARED_CONTRACT_NAMES.map((name) => [name, r.contracts[name]] as const),
        ["USD token", usd.token] as const,
        ["USD escrow", usd.escrow] as const,
      ];
      for (const [name, c] of all) {
        expect(await ethers.provider.getCode(c.address), name).to.not.equal("0x");
        const receipt = await ethers.provider.getTransactionReceipt(c.txHash!);
        expect(receipt, name).to.not.equal(null);
        expect(receipt!.contractAddress, name).to.equal(c.address);
        expect(receipt!.blockNumber, name).to.equal(c.blockNumber);
        expect(receipt!.from, name).to.equal(deployer.address);
        blocks.push(c.blockNumber!);
      }
      expect(r.blockNumber).to.equal(Math.min(...blocks));
      expect(r.blockNumber).to.equal(r.contracts.MerchantRegistry.blockNumber);
      expect(r.currencies.map((c) => [c.code, c.symbol, c.decimals])).to.deep.equal([["USD", "spUSD", 6]]);
    });

    it("records constructor arguments with bigints as decimal strings, and the linked libraries", async function () {
      const c = result.record.contracts;
      const [usd] = result.record.currencies;
      const delay = DEFAULT_ADMIN_DELAY.toString();
      expect(usd.token.constructorArgs).to.deep.equal(["StablePay USD", "spUSD", delay, deployer.address]);
      expect(c.MerchantRegistry.constructorArgs).to.deep.equal([delay, deployer.address]);
      expect(usd.escrow.constructorArgs).to.deep.equal([
        usd.token.address,
        c.MerchantRegistry.address,
        holders.feeRecipient,
        DEFAULT_DISPUTE_TIMEOUT.toString(),
        delay,
        deployer.address,
      ]);
      for (const lib of ["CustomerFunds", "PaymentLifecycle", "Settlement"] as const) {
        expect(c[lib].constructorArgs).to.deep.equal([]);
        expect(usd.escrow.libraries![`contracts/libraries/${lib}.sol:${lib}`]).to.equal(c[lib].address);
      }
      const escrow = PaymentEscrow__factory.connect(usd.escrow.address, ethers.provider);
      expect(await escrow.token()).to.equal(usd.token.address);
      expect(await escrow.registry()).to.equal(c.MerchantRegistry.address);
      expect(await escrow.feeRecipient()).to.equal(holders.feeRecipient);
      expect(await escrow.disputeTimeout()).to.equal(DEFAULT_DISPUTE_TIMEOUT);
    });

    it("grants the operator roles on chain to the requested holders and records them", async function () {
      const c = result.record.contracts;
      const [usd] = result.record.currencies;
      const token = SettlementToken__factory.connect(usd.token.address, ethers.provider);
      const registry = MerchantRegistry__factory.connect(c.MerchantRegistry.address, ethers.provider);
      const escrow = PaymentEscrow__factory.connect(usd.escrow.address, ethers.provider);
      const expected: [typeof token | typeof registry | typeof escrow, string, string, string][] = [
        [token, "token", "MASTER_MINTER_ROLE", holders.masterMinter],
        [token, "token", "PAUSER_ROLE", holders.pauser],
        [token, "token", "BLOCKLISTER_ROLE", holders.blocklister],
        [token, "token", "RESCUER_ROLE", holders.rescuer],
        [registry, "MerchantRegistry", "REGISTRAR_ROLE", holders.registrar],
        [escrow, "escrow", "ARBITER_ROLE", holders.arbiter],
      ];
      const roles: Record<string, Record<string, string>> = { ...usd.roles, ...result.record.roles };
      for (const [contract, contractName, roleName, holder] of expected) {
        expect(await contract.hasRole(role(roleName), holder), `${contractName}.${roleName}`).to.equal(true);
        expect(await contract.hasRole(role(roleName), deployer.address), `deployer ${roleName}`).to.equal(false);
        expect(roles[contractName][roleName]).to.equal(holder);
      }
      for (const contract of [token, registry, escrow]) {
        expect(await contract.defaultAdmin()).to.equal(deployer.address);
      }
      for (const name of ["token", "MerchantRegistry", "escrow"]) {
        expect(roles[name].DEFAULT_ADMIN_ROLE).to.equal(deployer.address);
      }
      expect(await token.MASTER_MINTER_ROLE()).to.equal(role("MASTER_MINTER_ROLE"));
      expect(await registry.REGISTRAR_ROLE()).to.equal(role("REGISTRAR_ROLE"));
      expect(await escrow.ARBITER_ROLE()).to.equal(role("ARBITER_ROLE"));
    });

    it("a second run reports the live deployment and sends nothing", async function () {
      const before = readFileSync(result.file!, "utf8");
      const nonce = await ethers.provider.getTransactionCount(deployer.address);
      const block = await ethers.provider.getBlockNumber();
      const again = await run({ dir: firstDir });
      expect(again.status).to.equal("existing");
      expect(again.record).to.deep.equal(result.record);
      expect(again.file).to.equal(result.file);
      expect(await ethers.provider.getTransactionCount(deployer.address)).to.equal(nonce);
      expect(await ethers.provider.getBlockNumber()).to.equal(block);
      expect(readFileSync(result.file!, "utf8")).to.equal(before);
      expect(lines.join("\n")).to.match(/already deployed on hardhat/);
      expect(lines.join("\n")).to.include(result.record.currencies[0].escrow.address);
    });

    it("hasLiveDeployment: true here, false on a record for another chain or an address without code", async function () {
      const r = result.record;
      expect(await hasLiveDeployment(ethers.provider, r)).to.equal(true);
      expect(await hasLiveDeployment(ethers.provider, { ...r, chainId: r.chainId + 1 })).to.equal(false);
      const moved = structuredClone(r);
      moved.currencies[0].escrow.address = ethers.Wallet.createRandom().address;
      expect(await deploymentStatus(ethers.provider, moved)).to.deep.include({
        live: false,
        reason: "no-code",
        currency: "USD",
      });
      const rewired = structuredClone(r);
      rewired.contracts.MerchantRegistry.address = signers[9].address;
      expect(await deploymentStatus(ethers.provider, rewired)).to.deep.include({
        live: false,
        reason: "not-this-escrow",
      });
    });
  });

  describe("re-deploy detection", function () {
    it("replaces a stale record (no code at the escrow address: chain reset) with a new deployment", async function () {
      const first = await run();
      const escrow = first.record.currencies[0].escrow.address;
      await ethers.provider.send("hardhat_setCode", [escrow, "0x"]);
      lines = [];
      const nonce = await ethers.provider.getTransactionCount(deployer.address);

      const second = await run();
      expect(second.status).to.equal("deployed");
      expect(second.replaced).to.equal("stale");
      expect(lines.join("\n")).to.match(
        /Stale deployment record .*hardhat\.json: no code at the recorded USD PaymentEscrow/,
      );
      expect(second.record.currencies[0].escrow.address).to.not.equal(escrow);
      expect(await ethers.provider.getTransactionCount(deployer.address)).to.be.greaterThan(nonce);
      expect(readDeployment("hardhat", dir)).to.deep.equal(second.record);
      expect(await hasLiveDeployment(ethers.provider, second.record)).to.equal(true);
    });

    it("FORCE_REDEPLOY deploys over a live record and keeps the previous one", async function () {
      const first = await run();
      const second = await run({ force: true });
      expect(second.status).to.equal("deployed");
      expect(second.replaced).to.equal("forced");
      expect(second.record.currencies[0].escrow.address).to.not.equal(first.record.currencies[0].escrow.address);
      expect(readDeployment("hardhat", dir)).to.deep.equal(second.record);
      const previous = JSON.parse(readFileSync(path.join(dir, "hardhat.previous.json"), "utf8")) as DeploymentRecord;
      expect(previous).to.deep.equal(first.record);
    });

    it("refuses to overwrite a record made on another chain id unless forced", async function () {
      const first = await run();
      const other = { ...first.record, chainId: 11155111 };
      writeDeployment(other, dir);
      await expectRejection(run(), /recorded for chain 11155111, but the connected chain is 31337.*Refusing/s);
      expect(readDeployment("hardhat", dir)).to.deep.equal(other);
      const forced = await run({ force: true });
      expect(forced.status).to.equal("deployed");
      expect(forced.replaced).to.equal("forced");
      expect(readDeployment("hardhat", dir).chainId).to.equal(31337);
      expect(JSON.parse(readFileSync(path.join(dir, "hardhat.previous.json"), "utf8"))).to.deep.equal(other);
    });

    it("refuses an unreadable record unless forced", async function () {
      mkdirSync(dir, { recursive: true });
      writeFileSync(deploymentPath("hardhat", dir), "{ not json");
      await expectRejection(run(), /hardhat\.json is not valid JSON.*FORCE_REDEPLOY/s);
      const forced = await run({ force: true });
      expect(forced.status).to.equal("deployed");
      expect(readDeployment("hardhat", dir)).to.deep.equal(forced.record);
      expect(readFileSync(path.join(dir, "hardhat.previous.json"), "utf8")).to.equal("{ not json");
    });

    it("writes nothing for the in-process network unless a directory or write is asked for", async function () {
      const defaultFile = path.join(PROJECT_ROOT, "deployments", "hardhat.json");
      const existed = existsSync(defaultFile);
      const result = await deploy(hre, { log: (line) => lines.push(line) });
      expect(result.status).to.equal("deployed");
      expect(result.file).to.equal(null);
      expect(existsSync(defaultFile)).to.equal(existed);
      expect(lines.join("\n")).to.match(/no deployment record written/);
      expect(await hasLiveDeployment(ethers.provider, result.record)).to.equal(true);
    });
  });

  describe("EXISTING_TOKEN", function () {
    it("uses a USDC-like token already on the chain: no token deployed, no token roles", async function () {
      const usdc = await new SettlementToken__factory(signers[10]).deploy("USD Coin", "USDC", 0n, signers[10].address);
      const usdcAddress = await usdc.getAddress();
      const result = await run({ existingToken: usdcAddress });
      const c = result.record.contracts;
      expect(result.record.currencies).to.have.length(1);
      const [usdcCurrency] = result.record.currencies;
      expect(usdcCurrency).to.deep.include({ code: "USDC", symbol: "USDC", decimals: 6 });
      expect(usdcCurrency.token).to.deep.equal({
        address: usdcAddress,
        txHash: null,
        blockNumber: null,
        constructorArgs: [],
        external: true,
      });
      expect(usdcCurrency.roles.token).to.deep.equal({});
      expect(result.record.blockNumber).to.equal(c.MerchantRegistry.blockNumber);
      const escrow = PaymentEscrow__factory.connect(usdcCurrency.escrow.address, ethers.provider);
      expect(await escrow.token()).to.equal(usdcAddress);
      expect(await usdc.hasRole(role("PAUSER_ROLE"), deployer.address)).to.equal(false);
      expect(readDeployment("hardhat", dir)).to.deep.equal(result.record);
      expect(lines.join("\n")).to.include(`Using existing token ${usdcAddress} (USDC) as currency USDC`);
    });

    it("rejects an address without code and a token without 6 decimals", async function () {
      const nobody = ethers.Wallet.createRandom().address;
      await expectRejection(run({ existingToken: nobody }), `EXISTING_TOKEN ${nobody} has no code`);
      // Code that answers every call with 18: decimals() == 18.
      const eighteen = ethers.Wallet.createRandom().address;
      await ethers.provider.send("hardhat_setCode", [eighteen, "0x601260005260206000f3"]);
      await expectRejection(run({ existingToken: eighteen }), /has 18 decimals; StablePay expects 6/);
      expect(existsSync(deploymentPath("hardhat", dir))).to.equal(false);
    });
  });

  describe("several currencies", function () {
    it("deploys a token and an escrow per currency over one registry and one set of libraries", async function () {
      const result = await run({ currencies: ["USD", "EUR"], arbiter: signers[6].address });
      const r = result.record;
      expect(validateDeployment(r)).to.deep.equal([]);
      expect(r.currencies.map((c) => [c.code, c.symbol])).to.deep.equal([
        ["USD", "spUSD"],
        ["EUR", "spEUR"],
      ]);
      const [usd, eur] = r.currencies;
      expect(new Set([usd.token.address, eur.token.address, usd.escrow.address, eur.escrow.address]).size).to.equal(4);
      expect(eur.escrow.libraries).to.deep.equal(usd.escrow.libraries);
      for (const c of r.currencies) {
        const escrow = PaymentEscrow__factory.connect(c.escrow.address, ethers.provider);
        expect(await escrow.token(), c.code).to.equal(c.token.address);
        expect(await escrow.registry(), c.code).to.equal(r.contracts.MerchantRegistry.address);
        expect(await escrow.hasRole(role("ARBITER_ROLE"), signers[6].address), c.code).to.equal(true);
        expect(c.roles.escrow.ARBITER_ROLE).to.equal(signers[6].address);
        const token = SettlementToken__factory.connect(c.token.address, ethers.provider);
        expect(await token.name()).to.equal(`StablePay ${c.code}`);
      }
      // Each escrow is its own EIP-712 domain: a payment signed for one is not valid in the other.
      const domains = await Promise.all(
        r.currencies.map((c) => PaymentEscrow__factory.connect(c.escrow.address, ethers.provider).DOMAIN_SEPARATOR()),
      );
      expect(domains[0]).to.not.equal(domains[1]);
      expect(lines.join("\n")).to.include(`EUR               PaymentEscrow ${eur.escrow.address}`);
    });

    it("a live record with other currencies is refused, not silently reused, unless forced", async function () {
      const first = await run({ currencies: ["USD"] });
      await expectRejection(
        run({ currencies: ["USD", "EUR"] }),
        /has the currencies USD, not USD, EUR\. Set FORCE_REDEPLOY=true/,
      );
      expect(readDeployment("hardhat", dir)).to.deep.equal(first.record);
      const forced = await run({ currencies: ["USD", "EUR"], force: true });
      expect(forced.record.currencies.map((c) => c.code)).to.deep.equal(["USD", "EUR"]);
      // The same currencies again: the live record is reused.
      expect((await run({ currencies: ["USD", "EUR"] })).status).to.equal("existing");
    });

    it("an existing token comes first, under its own code, and replaces our token of that code", async function () {
      const usdc = await new SettlementToken__factory(signers[10]).deploy("USD Coin", "USDC", 0n, signers[10].address);
      const result = await run({
        existingToken: await usdc.getAddress(),
        existingTokenCode: "USD",
        currencies: ["EUR", "USD"],
      });
      expect(result.record.currencies.map((c) => [c.code, c.symbol, c.token.external ?? false])).to.deep.equal([
        ["USD", "USDC", true],
        ["EUR", "spEUR", false],
      ]);
    });

    it("deploymentStatus names the currency whose escrow is gone", async function () {
      const { record } = await run({ currencies: ["USD", "EUR"] });
      await ethers.provider.send("hardhat_setCode", [record.currencies[1].escrow.address, "0x"]);
      expect(await deploymentStatus(ethers.provider, record)).to.deep.equal({
        live: false,
        reason: "no-code",
        address: record.currencies[1].escrow.address,
        currency: "EUR",
      });
    });

    it("validateDeployment refuses repeated codes, tokens or escrows and an escrow without libraries", async function () {
      const { record } = await run({ currencies: ["USD", "EUR"] });
      const [usd, eur] = record.currencies;
      const twice = { ...record, currencies: [usd, { ...eur, code: "USD" }] };
      expect(validateDeployment(twice)).to.deep.equal(["currencies: two share one code"]);
      const sameToken = { ...record, currencies: [usd, { ...eur, token: usd.token }] };
      expect(validateDeployment(sameToken)).to.deep.equal(["currencies: two share one token"]);
      const sameEscrow = { ...record, currencies: [usd, { ...eur, escrow: usd.escrow }] };
      expect(validateDeployment(sameEscrow)).to.deep.equal(["currencies: two share one escrow"]);
      const bare = { ...record, currencies: [usd, { ...eur, escrow: { ...eur.escrow, libraries: undefined } }] };
      delete bare.currencies[1].escrow.libraries;
      expect(validateDeployment(bare)).to.deep.equal([
        "currencies.1.escrow.libraries: an escrow names its linked libraries",
      ]);
      const externalRegistry = structuredClone(record);
      externalRegistry.contracts.MerchantRegistry.external = true;
      expect(validateDeployment(externalRegistry)).to.include(
        "contracts.MerchantRegistry.external is only allowed for a token",
      );
      expect(validateDeployment({ ...record, currencies: [] })).to.have.length.greaterThan(0);
      expect(validateDeployment({ ...record, currencies: [{ ...usd, code: "usd" }] })[0]).to.match(
        /^currencies\.0\.code: /,
      );
    });
  });

  describe("optionsFromEnv", function () {
    it("reads role holders, fee recipient, token, force, directory and save flag", function () {
      const a = signers[1].address;
      const b = signers[2].address;
      const options = optionsFromEnv({
        MASTER_MINTER: a.toLowerCase(),
        PAUSER: a,
        BLOCKLISTER: a,
        RESCUER: a,
        REGISTRAR: b,
        ARBITER: b,
        FEE_RECIPIENT: b,
        EXISTING_TOKEN: a,
        FORCE_REDEPLOY: "true",
        DEPLOYMENTS_DIR: "/tmp/x",
        SAVE_DEPLOYMENT: "1",
        CURRENCIES: "USD, EUR",
        EXISTING_TOKEN_CODE: "USDC",
      });
      expect(options).to.deep.include({
        masterMinter: a,
        pauser: a,
        blocklister: a,
        rescuer: a,
        registrar: b,
        arbiter: b,
        feeRecipient: b,
        existingToken: a,
        existingTokenCode: "USDC",
        currencies: ["USD", "EUR"],
        force: true,
        dir: "/tmp/x",
        write: true,
      });
      const empty = optionsFromEnv({});
      expect(empty.masterMinter).to.equal(undefined);
      expect(empty.force).to.equal(undefined);
      expect(empty.dir).to.equal(undefined);
    });

    it("rejects malformed values naming the variable", function () {
      expect(() => optionsFromEnv({ ARBITER: "0x1234" })).to.throw('ARBITER="0x1234" is not an address');
      expect(() => optionsFromEnv({ FORCE_REDEPLOY: "yes" })).to.throw(
        /FORCE_REDEPLOY="yes" must be "true" or "false"/,
      );
      expect(() => optionsFromEnv({ CURRENCIES: "USD,euro" })).to.throw(/"euro" is not a currency code/);
      expect(() => optionsFromEnv({ EXISTING_TOKEN_CODE: "$" })).to.throw(/"\$" is not a currency code/);
    });
  });

  describe("deployment record file", function () {
    it("readDeployment names the missing file and how to create it", function () {
      const file = deploymentPath("nowhere", dir);
      expect(() => readDeployment("nowhere", dir)).to.throw(
        `No deployment for network "nowhere": ${file} does not exist. ` +
          "Deploy first: npx hardhat run scripts/deploy.ts --network nowhere",
      );
    });

    it("readDeployment lists what is wrong with an invalid file, naming it", async function () {
      const { record } = await run();
      const broken = structuredClone(record) as unknown as Record<string, any>;
      broken.chainId = "31337";
      broken.currencies[0].escrow.address = "0xnope";
      delete broken.contracts.Settlement;
      writeFileSync(deploymentPath("hardhat", dir), JSON.stringify(broken));
      const file = deploymentPath("hardhat", dir);
      let message = "";
      try {
        readDeployment("hardhat", dir);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).to.include(`Deployment file ${file} is not a valid deployment record`);
      expect(message).to.include("chainId: Expected integer");
      expect(message).to.include("currencies.0.escrow.address: Expected string to match");
      expect(message).to.include("contracts.Settlement: Expected required property");
    });

    it("readDeployment rejects a file written for another network", async function () {
      const { record } = await run();
      writeFileSync(deploymentPath("localhost", dir), JSON.stringify(record));
      expect(() => readDeployment("localhost", dir)).to.throw(/is for network "hardhat", not "localhost"/);
    });

    it("writeDeployment refuses an invalid record and leaves no file", function () {
      expect(() => writeDeployment({ network: "x" } as unknown as DeploymentRecord, dir)).to.throw(
        /Refusing to write an invalid deployment record/,
      );
      expect(readdirSync(dir)).to.deep.equal([]);
    });

    it("deploymentPath rejects network names that would escape the directory", function () {
      expect(deploymentPath("sepolia", "deployments")).to.equal(path.join("deployments", "sepolia.json"));
      expect(() => deploymentPath("../etc/passwd")).to.throw(/Invalid network name/);
    });
  });
});
