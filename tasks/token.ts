/**
 * Settlement token operator tasks. Each acts on the token of deployments/<network>.json as the
 * network's first configured account.
 *
 *   npx hardhat token:configure-minter --minter 0x… --allowance 1000000 --network localhost
 *   npx hardhat token:mint --to 0x… --amount 12.34 --network localhost
 *   npx hardhat token:pause --network localhost
 *   npx hardhat token:unpause --network localhost
 */
import { task } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { formatUnits } from "ethers";
import type { SettlementToken } from "../typechain-types";
import {
  CURRENCY_PARAM,
  fail,
  liveDeployment,
  operator,
  parseAddress,
  parseAmount,
  requireRole,
  selectCurrency,
  send,
  TOKEN_DECIMALS,
} from "./common";

interface TokenContext {
  token: SettlementToken;
  label: string;
  symbol: string;
  signer: string;
  network: string;
}

async function tokenContext(hre: HardhatRuntimeEnvironment, code: string | undefined): Promise<TokenContext> {
  // Load the factory before the first RPC request (see the note in ./common).
  const { SettlementToken__factory } = await import("../typechain-types/factories/contracts/SettlementToken__factory");
  const record = await liveDeployment(hre);
  const signer = await operator(hre);
  const currency = selectCurrency(record, code);
  const address = currency.token.address;
  const token = SettlementToken__factory.connect(address, signer);
  const symbol = await token.symbol().catch(() => "tokens");
  return {
    token,
    label: `${currency.code} SettlementToken ${address}`,
    symbol,
    signer: signer.address,
    network: hre.network.name,
  };
}

const fmt = (amount: bigint): string => formatUnits(amount, TOKEN_DECIMALS);

task("token:configure-minter", "Enables a minter with a mint allowance (signer: MASTER_MINTER_ROLE)")
  .addParam("minter", "Address allowed to mint")
  .addParam("allowance", "Remaining amount it may mint, in token units (e.g. 1000000)")
  .addOptionalParam("currency", CURRENCY_PARAM)
  .setAction(async (args: { minter: string; allowance: string; currency?: string }, hre) => {
    const minter = parseAddress("minter", args.minter);
    const allowance = parseAmount("allowance", args.allowance);
    const { token, label, symbol, signer } = await tokenContext(hre, args.currency);
    await requireRole(token, label, "MASTER_MINTER_ROLE", signer);
    if (await token.paused()) fail(`${label} is paused: minters cannot be configured until token:unpause`);
    const { response } = await send("configureMinter", () => token.configureMinter(minter, allowance), token.interface);
    console.log(`Configured minter ${minter} with an allowance of ${fmt(allowance)} ${symbol} (tx ${response.hash})`);
  });

task("token:mint", "Mints tokens to an address (signer: a configured minter)")
  .addParam("to", "Recipient address")
  .addParam("amount", "Amount in token units with up to 6 decimals, e.g. 12.34")
  .addOptionalParam("currency", CURRENCY_PARAM)
  .setAction(async (args: { to: string; amount: string; currency?: string }, hre) => {
    const to = parseAddress("to", args.to);
    const amount = parseAmount("amount", args.amount);
    const { token, label, symbol, signer, network } = await tokenContext(hre, args.currency);
    if (await token.paused()) fail(`${label} is paused: run token:unpause first`);
    const configure = `npx hardhat token:configure-minter --minter ${signer} --allowance <amount> --network ${network}`;
    if (!(await token.isMinter(signer))) {
      fail(`The signer ${signer} is not a minter of ${label}. A MASTER_MINTER_ROLE holder can enable it: ${configure}`);
    }
    const allowance = await token.minterAllowance(signer);
    if (allowance < amount) {
      fail(
        `The signer's mint allowance is ${fmt(allowance)} ${symbol}, less than ${fmt(amount)}. ` +
          `A MASTER_MINTER_ROLE holder can raise it: ${configure}`,
      );
    }
    const { response } = await send(
      `mint of ${fmt(amount)} ${symbol} to ${to}`,
      () => token.mint(to, amount),
      token.interface,
    );
    const balance = await token.balanceOf(to);
    console.log(`Minted ${fmt(amount)} ${symbol} to ${to} (tx ${response.hash})`);
    console.log(`Balance of ${to}: ${fmt(balance)} ${symbol}`);
  });

task("token:pause", "Pauses every token movement (signer: PAUSER_ROLE)")
  .addOptionalParam("currency", CURRENCY_PARAM)
  .setAction(async (args: { currency?: string }, hre) => {
    const { token, label, signer } = await tokenContext(hre, args.currency);
    await requireRole(token, label, "PAUSER_ROLE", signer);
    if (await token.paused()) {
      console.log(`${label} is already paused; nothing to do`);
      return;
    }
    const { response } = await send("pause", () => token.pause(), token.interface);
    console.log(`Paused ${label} (tx ${response.hash})`);
  });

task("token:unpause", "Resumes token movements (signer: PAUSER_ROLE)")
  .addOptionalParam("currency", CURRENCY_PARAM)
  .setAction(async (args: { currency?: string }, hre) => {
    const { token, label, signer } = await tokenContext(hre, args.currency);
    await requireRole(token, label, "PAUSER_ROLE", signer);
    if (!(await token.paused())) {
      console.log(`${label} is not paused; nothing to do`);
      return;
    }
    const { response } = await send("unpause", () => token.unpause(), token.interface);
    console.log(`Unpaused ${label} (tx ${response.hash})`);
  });
