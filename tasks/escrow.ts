/**
 * Escrow operator tasks, on the escrow of deployments/<network>.json.
 *
 *   npx hardhat escrow:liabilities --network localhost [--json]
 *   npx hardhat escrow:sweep-surplus --to 0x… --network localhost
 */
import { task } from "hardhat/config";
import { formatUnits } from "ethers";
import {
  CURRENCY_PARAM,
  fail,
  liveDeployment,
  operator,
  parseAddress,
  selectCurrency,
  send,
  TOKEN_DECIMALS,
} from "./common";

const BUCKETS = ["customerBalances", "held", "disputed", "released", "claimable", "fees"] as const;

task("escrow:liabilities", "Prints the escrow's liabilities by bucket and checks them against its token balance")
  .addFlag("json", "Print one JSON object (amounts in base units) instead of a table")
  .addOptionalParam("currency", CURRENCY_PARAM)
  .setAction(async (args: { json: boolean; currency?: string }, hre) => {
    // Load the factories before the first RPC request (see the note in ./common).
    const [{ PaymentEscrow__factory }, { SettlementToken__factory }] = await Promise.all([
      import("../typechain-types/factories/contracts/PaymentEscrow__factory"),
      import("../typechain-types/factories/contracts/SettlementToken__factory"),
    ]);
    const record = await liveDeployment(hre);
    const escrowAddress = selectCurrency(record, args.currency).escrow.address;
    const escrow = PaymentEscrow__factory.connect(escrowAddress, hre.ethers.provider);
    const token = SettlementToken__factory.connect(await escrow.token(), hre.ethers.provider);
    const [liabilities, balance, symbol] = await Promise.all([
      escrow.liabilities(),
      token.balanceOf(escrowAddress),
      token.symbol().catch(() => "tokens"),
    ]);
    const buckets = Object.fromEntries(BUCKETS.map((name) => [name, liabilities[name]])) as Record<
      (typeof BUCKETS)[number],
      bigint
    >;
    const total = BUCKETS.reduce((sum, name) => sum + buckets[name], 0n);
    const difference = balance - total;
    const match = difference === 0n;

    const fmt = (amount: bigint): string => formatUnits(amount, TOKEN_DECIMALS);
    if (args.json) {
      const out = {
        escrow: escrowAddress,
        token: await token.getAddress(),
        liabilities: Object.fromEntries(BUCKETS.map((name) => [name, buckets[name].toString()])),
        total: total.toString(),
        balance: balance.toString(),
        match,
        difference: difference.toString(),
      };
      console.log(JSON.stringify(out, null, 2));
    } else {
      console.log(`PaymentEscrow ${escrowAddress} liabilities (${symbol}):`);
      for (const name of BUCKETS) console.log(`  ${name.padEnd(18)}${fmt(buckets[name])}`);
      console.log(`  ${"total".padEnd(18)}${fmt(total)}`);
      console.log(`Token balance of the escrow: ${fmt(balance)} ${symbol}`);
      if (match) console.log("Match: yes (balance equals total liabilities)");
      else if (difference > 0n) {
        console.log(
          `Match: no (surplus of ${fmt(difference)} ${symbol}: tokens sent to the escrow outside its accounting)`,
        );
      } else {
        console.log(`Match: no (DEFICIT of ${fmt(-difference)} ${symbol}: the balance does not cover the liabilities)`);
      }
    }
    if (difference < 0n) fail(`Escrow ${escrowAddress} holds less than its liabilities`);
  });

task(
  "escrow:sweep-surplus",
  "Sends the escrow's token balance beyond its liabilities to an address (signer: the default admin)",
)
  .addParam("to", "Recipient of the surplus")
  .addOptionalParam("currency", CURRENCY_PARAM)
  .setAction(async (args: { to: string; currency?: string }, hre) => {
    const to = parseAddress("to", args.to);
    const [{ PaymentEscrow__factory }, { SettlementToken__factory }] = await Promise.all([
      import("../typechain-types/factories/contracts/PaymentEscrow__factory"),
      import("../typechain-types/factories/contracts/SettlementToken__factory"),
    ]);
    const record = await liveDeployment(hre);
    const signer = await operator(hre);
    const escrowAddress = selectCurrency(record, args.currency).escrow.address;
    const escrow = PaymentEscrow__factory.connect(escrowAddress, signer);
    const token = SettlementToken__factory.connect(await escrow.token(), hre.ethers.provider);
    const admin = await escrow.defaultAdmin();
    if (admin.toLowerCase() !== signer.address.toLowerCase()) {
      fail(`The signer ${signer.address} is not the default admin (${admin}) of PaymentEscrow ${escrowAddress}`);
    }
    const [l, balance] = await Promise.all([escrow.liabilities(), token.balanceOf(escrowAddress)]);
    const owed = BUCKETS.reduce((sum, name) => sum + l[name], 0n);
    if (balance <= owed)
      fail(
        `No surplus: the escrow holds ${formatUnits(balance, TOKEN_DECIMALS)} and owes ${formatUnits(owed, TOKEN_DECIMALS)}`,
      );
    const { response } = await send("sweepSurplus", () => escrow.sweepSurplus(to), escrow.interface);
    console.log(`Swept ${formatUnits(balance - owed, TOKEN_DECIMALS)} to ${to} (tx ${response.hash})`);
  });
