/**
 * Writes a scripted payment history to a chain where StablePay is deployed, for the auditor's tests
 * and demos: deposits, several batches over three merchants with rejected items, a payment from a
 * wallet (payWithAuthorization), confirmations, partial and full refunds, a dispute split by the
 * arbiter and one that expires, a withdrawal, a settlement whose payout to a blocklisted address
 * is deferred and later claimed, fee collection, mints and burns; optionally many more batches
 * (to measure scan speed) and a deliberately broken ledger (tokens sent straight to the escrow).
 *
 *   npx hardhat run scripts/deploy.ts --network localhost
 *   npx hardhat run scripts/audit-history.ts --network localhost
 *   npm run audit -- --network localhost
 *
 * Environment (all optional): EXTRA_BATCHES and PAYMENTS_PER_BATCH (bulk history, default 0 and
 * 20), BREAK_LEDGER=true (then transfer 1,000 tokens to the escrow outside the protocol),
 * DEPLOYMENTS_DIR. The deployer must hold the operator roles (scripts/deploy.ts's default).
 */
import path from "node:path";
import { parseUnits, type Signer } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { readDeployment, deploymentsDirFromEnv, type DeploymentRecord } from "../src/chain/deployments";
import { BatchTree } from "../src/sdk/merkle";
import { paymentId } from "../src/sdk/paymentId";
import { escrowDomain, ethersTypes, paymentTypes, type Address, type Hex, type Payment } from "../src/sdk/typedData";
import {
  MerchantRegistry__factory,
  PaymentEscrow__factory,
  SettlementToken__factory,
  type MerchantRegistry,
  type PaymentEscrow,
  type SettlementToken,
} from "../typechain-types";

const DAY = 24 * 3600;
export const usd = (amount: string | number): bigint => parseUnits(String(amount), 6);

export interface HistoryOptions {
  /** Additional batches after the scripted story (bulk history for speed measurements). */
  extraBatches?: number;
  paymentsPerBatch?: number;
  log?: (line: string) => void;
}

/** An escrowed payment and how to prove it (what a relayer would keep). */
export interface Escrowed {
  payment: Payment;
  id: Hex;
  inclusion: { batchId: bigint; proof: Hex[] };
}

/** What the history did, for the tests' spot checks. */
export interface HistorySummary {
  merchants: { id: bigint; owner: Address; payout: Address }[];
  customers: Address[];
  /** Payment ids by their role in the story. */
  ids: {
    confirmed: Hex;
    confirmedAfterTermsChange: Hex;
    partiallyRefunded: Hex;
    fullyRefunded: Hex;
    disputeSplit: Hex;
    disputeExpired: Hex;
    fromWallet: Hex;
    stillHeld: Hex;
  };
  /** The still-held payment in full, for tests that act on it later. */
  stillHeld: Escrowed;
  batchCount: bigint;
  rejected: number;
  escrowedPayments: number;
  deferred: { merchantId: bigint; amount: bigint; blocklistedPayout: Address; newPayout: Address };
  minted: bigint;
  burned: bigint;
  feeRecipient: Address;
}

interface Ctx {
  hre: HardhatRuntimeEnvironment;
  token: SettlementToken;
  registry: MerchantRegistry;
  escrow: PaymentEscrow;
  chainId: bigint;
  relayer: Signer;
  nonces: Map<string, bigint>;
  orderSeq: number;
}

interface Item {
  payer: HardhatEthersSigner;
  merchantId: bigint;
  amount: bigint;
  /** Why the escrow must reject it; undefined: accepted. */
  reject?: "expired" | "insufficient" | "bad-signature";
  /** Signs with this signer instead of the payer (for "bad-signature"). */
  signer?: HardhatEthersSigner;
}

export async function writeAuditHistory(
  hre: HardhatRuntimeEnvironment,
  record: DeploymentRecord,
  options: HistoryOptions = {},
): Promise<HistorySummary> {
  const log = options.log ?? (() => {});
  const signers = await hre.ethers.getSigners();
  const [deployer] = signers;
  const owners = signers.slice(1, 4);
  const payouts = signers.slice(4, 7);
  const newPayout = signers[7];
  const customers = signers.slice(8, 14);
  const relayer = signers[14];
  const stranger = signers[15];
  const c = record.contracts;
  const ctx: Ctx = {
    hre,
    token: SettlementToken__factory.connect(c.SettlementToken.address, deployer),
    registry: MerchantRegistry__factory.connect(c.MerchantRegistry.address, deployer),
    escrow: PaymentEscrow__factory.connect(c.PaymentEscrow.address, deployer),
    chainId: BigInt(record.chainId),
    relayer,
    nonces: new Map(),
    orderSeq: 0,
  };
  const { token, registry, escrow } = ctx;
  const escrowAddress = c.PaymentEscrow.address;

  log("minter, merchants and customer deposits");
  await wait(token.configureMinter(deployer.address, usd(1_000_000_000)));
  const terms: [number, number][] = [
    [250, 7 * DAY],
    [100, 3 * DAY],
    [175, 1 * DAY],
  ];
  const firstId = (await registry.merchantCount()) + 1n;
  for (let i = 0; i < 3; i++) {
    await wait(
      registry.registerMerchant(
        owners[i].address,
        payouts[i].address,
        terms[i][0],
        terms[i][1],
        `0x${"ab".repeat(32)}`,
      ),
    );
  }
  const [m1, m2, m3] = [firstId, firstId + 1n, firstId + 2n];
  for (const customer of customers) {
    await wait(token.mint(customer.address, usd(5_000)));
    await wait(token.connect(customer).approve(escrowAddress, usd(2_000)));
    await wait(escrow.connect(customer).deposit(usd(2_000)));
  }
  const [c0, c1, c2, c3, c4, c5] = customers;

  log("batches A, B (rejected items included), terms change, batch C, payment from a wallet");
  const a = await payBatch(ctx, [
    { payer: c0, merchantId: m1, amount: usd(100) },
    { payer: c1, merchantId: m1, amount: usd("250.5") },
    { payer: c2, merchantId: m1, amount: usd(70), reject: "expired" },
    { payer: c3, merchantId: m2, amount: usd(80) },
    { payer: c4, merchantId: m2, amount: usd(1_000_000), reject: "insufficient" },
    { payer: c5, merchantId: m2, amount: usd("42.42") },
  ]);
  const b = await payBatch(ctx, [
    { payer: c0, merchantId: m2, amount: usd(60) },
    { payer: c1, merchantId: m3, amount: usd("33.33") },
    { payer: c2, merchantId: m3, amount: usd(15), reject: "bad-signature", signer: c3 },
    { payer: c3, merchantId: m3, amount: usd(77) },
    { payer: c5, merchantId: m1, amount: usd("12.34") },
  ]);
  await wait(registry.setTerms(m1, 300, 7 * DAY));
  const cBatch = await payBatch(ctx, [
    { payer: c4, merchantId: m1, amount: usd(500) },
    { payer: c2, merchantId: m1, amount: usd("19.99") },
    { payer: c1, merchantId: m2, amount: usd(5) },
  ]);
  const fromWallet = await payFromWallet(ctx, c3, m3, usd(45));

  log("confirmations, refunds, disputes, a withdrawal");
  const [aC0, aC1, aC3, aC5] = a;
  await wait(escrow.connect(c0).confirm(aC0.payment, aC0.inclusion));
  await wait(escrow.connect(c2).confirm(cBatch[1].payment, cBatch[1].inclusion));
  await wait(escrow.connect(owners[0]).refund(aC1.payment, aC1.inclusion, usd("50.5")));
  await wait(escrow.connect(owners[1]).refund(aC5.payment, aC5.inclusion, usd("12.42")));
  await wait(escrow.connect(owners[1]).refund(aC5.payment, aC5.inclusion, usd(30)));
  await wait(escrow.connect(c3).openDispute(aC3.payment, aC3.inclusion));
  await wait(escrow.connect(c4).openDispute(cBatch[0].payment, cBatch[0].inclusion));
  await wait(escrow.connect(deployer).resolveDispute(aC3.payment, usd(30)));
  await wait(escrow.connect(c0).withdraw(usd(300), c0.address));
  // c5 voids its next nonce (as after signing a payment it no longer wants); later payments skip it.
  const voided = ctx.nonces.get(c5.address) ?? 0n;
  await wait(escrow.connect(c5).cancelNonce(voided));
  ctx.nonces.set(c5.address, voided + 1n);

  log("settlement with a deferred payout, a claim, fee collection, mint and burn");
  await increaseTime(hre, 8 * DAY);
  await wait(token.grantRole(await token.BLOCKLISTER_ROLE(), deployer.address));
  await wait(token.blocklist(payouts[1].address));
  const settleBatches = [a[0].inclusion.batchId, b[0].inclusion.batchId, cBatch[0].inclusion.batchId];
  await wait(
    escrow.connect(stranger).settle([
      { merchantId: m1, batchIds: settleBatches },
      { merchantId: m2, batchIds: settleBatches },
      { merchantId: m3, batchIds: [...settleBatches, fromWallet.inclusion.batchId] },
    ]),
  );
  const [, deferred] = await escrow.merchantBalances(m2);
  await wait(registry.connect(owners[1]).rotatePayout(m2, newPayout.address));
  // The payout was rotated after the deferral: only a registrar (the deployer here) may claim to it.
  await wait(escrow.connect(deployer).claim(m2));
  await wait(escrow.collectFees());
  await wait(token.mint(deployer.address, usd(1_000)));
  await wait(token.burn(usd(400)));

  log("the second dispute expires; a last batch stays held");
  await increaseTime(hre, 31 * DAY);
  await wait(escrow.connect(stranger).resolveExpiredDispute(cBatch[0].payment));
  const d = await payBatch(ctx, [
    { payer: c0, merchantId: m3, amount: usd(10) },
    { payer: c1, merchantId: m1, amount: usd(20) },
  ]);

  let escrowedPayments = a.length + b.length + cBatch.length + 1 + d.length;
  const extra = options.extraBatches ?? 0;
  if (extra > 0) {
    log(`${extra} more batches of ${options.paymentsPerBatch ?? 20} payments`);
    escrowedPayments += await bulkHistory(ctx, customers, [m1, m2, m3], extra, options.paymentsPerBatch ?? 20, log);
  }

  return {
    merchants: [0, 1, 2].map((i) => ({
      id: firstId + BigInt(i),
      owner: owners[i].address as Address,
      payout: payouts[i].address as Address,
    })),
    customers: customers.map((x) => x.address as Address),
    ids: {
      confirmed: aC0.id,
      confirmedAfterTermsChange: cBatch[1].id,
      partiallyRefunded: aC1.id,
      fullyRefunded: aC5.id,
      disputeSplit: aC3.id,
      disputeExpired: cBatch[0].id,
      fromWallet: fromWallet.id,
      stillHeld: d[1].id,
    },
    stillHeld: d[1],
    batchCount: await escrow.batchCount(),
    rejected: 3,
    escrowedPayments,
    deferred: {
      merchantId: m2,
      amount: deferred,
      blocklistedPayout: payouts[1].address as Address,
      newPayout: newPayout.address as Address,
    },
    minted: usd(5_000) * BigInt(customers.length) + usd(1_000),
    burned: usd(400),
    feeRecipient: record.feeRecipient as Address,
  };
}

/** Many batches over the merchants, with a confirmation per batch and a settlement every ten. */
async function bulkHistory(
  ctx: Ctx,
  customers: HardhatEthersSigner[],
  merchantIds: bigint[],
  batches: number,
  perBatch: number,
  log: (line: string) => void,
): Promise<number> {
  const top = usd(1_000_000);
  for (const customer of customers) {
    await wait(ctx.token.mint(customer.address, top));
    await wait(ctx.token.connect(customer).approve(await ctx.escrow.getAddress(), top));
    await wait(ctx.escrow.connect(customer).deposit(top));
  }
  let count = 0;
  const pending: bigint[] = [];
  for (let i = 0; i < batches; i++) {
    const items: Item[] = Array.from({ length: perBatch }, (_, j) => ({
      payer: customers[(i + j) % customers.length],
      // Grouped by merchant, as the relayer does: one tranche per merchant run.
      merchantId: merchantIds[Math.floor((j * merchantIds.length) / perBatch)],
      amount: usd(1) + BigInt(((i * perBatch + j) * 7919) % 100_000_000),
    }));
    const escrowed = await payBatch(ctx, items);
    count += escrowed.length;
    const first = escrowed[0];
    const payer = items[0].payer;
    await wait(ctx.escrow.connect(payer).confirm(first.payment, first.inclusion));
    pending.push(first.inclusion.batchId);
    if (pending.length === 10 || i === batches - 1) {
      await increaseTime(ctx.hre, 8 * DAY);
      await wait(ctx.escrow.settle(merchantIds.map((merchantId) => ({ merchantId, batchIds: pending }))));
      pending.length = 0;
      log(`  ${i + 1}/${batches} batches`);
    }
  }
  return count;
}

/** Signs `items` and submits them in one payBatch; returns the accepted ones with their proofs. */
export async function payBatch(ctx: Ctx, items: Item[]): Promise<Escrowed[]> {
  const escrowAddress = (await ctx.escrow.getAddress()) as Address;
  const domain = escrowDomain(ctx.chainId, escrowAddress);
  const now = BigInt((await ctx.hre.ethers.provider.getBlock("latest"))!.timestamp);
  const signed: { payment: Payment; signature: Hex }[] = [];
  const accepted: Payment[] = [];
  for (const item of items) {
    const nonce = ctx.nonces.get(item.payer.address) ?? 0n;
    ctx.orderSeq++;
    const payment: Payment = {
      payer: item.payer.address as Address,
      merchantId: item.merchantId,
      amount: item.amount,
      orderRef: `0x${ctx.orderSeq.toString(16).padStart(64, "0")}` as Hex,
      nonce,
      validAfter: 0n,
      deadline: item.reject === "expired" ? now - 1n : now + 365n * BigInt(DAY),
    };
    const signature = (await (item.signer ?? item.payer).signTypedData(
      domain,
      ethersTypes(paymentTypes),
      payment,
    )) as Hex;
    signed.push({ payment, signature });
    // A rejected item leaves the payer's nonce unused.
    if (!item.reject) {
      ctx.nonces.set(item.payer.address, nonce + 1n);
      accepted.push(payment);
    }
  }
  const batchId = (await ctx.escrow.batchCount()) + 1n;
  await wait(ctx.escrow.connect(ctx.relayer).payBatch(signed));
  const ids = accepted.map((p) => paymentId(domain, p));
  const tree = new BatchTree(ids);
  return accepted.map((payment, i) => ({ payment, id: ids[i], inclusion: { batchId, proof: tree.proof(i) } }));
}

/** One payment straight from the payer's wallet (EIP-3009 ReceiveWithAuthorization, nonce = payment id). */
async function payFromWallet(
  ctx: Ctx,
  payer: HardhatEthersSigner,
  merchantId: bigint,
  amount: bigint,
): Promise<Escrowed> {
  const escrowAddress = (await ctx.escrow.getAddress()) as Address;
  const domain = escrowDomain(ctx.chainId, escrowAddress);
  const nonce = ctx.nonces.get(payer.address) ?? 0n;
  ctx.nonces.set(payer.address, nonce + 1n);
  ctx.orderSeq++;
  const now = BigInt((await ctx.hre.ethers.provider.getBlock("latest"))!.timestamp);
  const payment: Payment = {
    payer: payer.address as Address,
    merchantId,
    amount,
    orderRef: `0x${ctx.orderSeq.toString(16).padStart(64, "0")}` as Hex,
    nonce,
    validAfter: 0n,
    deadline: now + BigInt(DAY),
  };
  const id = paymentId(domain, payment);
  const tokenDomain = {
    name: await ctx.token.name(),
    version: "2",
    chainId: ctx.chainId,
    verifyingContract: await ctx.token.getAddress(),
  };
  const validBefore = now + BigInt(DAY);
  const signature = await payer.signTypedData(
    tokenDomain,
    {
      ReceiveWithAuthorization: [
        { name: "from", type: "address" },
        { name: "to", type: "address" },
        { name: "value", type: "uint256" },
        { name: "validAfter", type: "uint256" },
        { name: "validBefore", type: "uint256" },
        { name: "nonce", type: "bytes32" },
      ],
    },
    { from: payer.address, to: escrowAddress, value: amount, validAfter: 0n, validBefore, nonce: id },
  );
  const batchId = (await ctx.escrow.batchCount()) + 1n;
  await wait(ctx.escrow.connect(ctx.relayer).payWithAuthorization(payment, 0n, validBefore, signature));
  return { payment, id, inclusion: { batchId, proof: [] } };
}

/** Sends `amount` tokens straight to the escrow with a plain ERC-20 transfer: owed to no one. */
export async function breakLedger(
  hre: HardhatRuntimeEnvironment,
  record: DeploymentRecord,
  amount = usd(1_000),
): Promise<Hex> {
  const [deployer] = await hre.ethers.getSigners();
  const token = SettlementToken__factory.connect(record.contracts.SettlementToken.address, deployer);
  await wait(token.mint(deployer.address, amount));
  const tx = await token.transfer(record.contracts.PaymentEscrow.address, amount);
  await tx.wait();
  return tx.hash as Hex;
}

async function increaseTime(hre: HardhatRuntimeEnvironment, seconds: number): Promise<void> {
  await hre.network.provider.send("evm_increaseTime", [seconds]);
  await hre.network.provider.send("evm_mine", []);
}

async function wait(tx: Promise<{ wait(): Promise<unknown> }>): Promise<void> {
  await (await tx).wait();
}

async function main(): Promise<void> {
  const hre = (await import("hardhat")).default;
  const dir = deploymentsDirFromEnv(hre.config.paths.root);
  const record = readDeployment(hre.network.name, dir);
  const started = Date.now();
  const summary = await writeAuditHistory(hre, record, {
    extraBatches: Number(process.env.EXTRA_BATCHES ?? 0),
    paymentsPerBatch: Number(process.env.PAYMENTS_PER_BATCH ?? 20),
    log: (line) => console.log(line),
  });
  console.log(
    `History written to ${hre.network.name} in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
      `${summary.batchCount} batches, ${summary.escrowedPayments} payments (record ${path.join(dir, `${hre.network.name}.json`)})`,
  );
  if (process.env.BREAK_LEDGER === "true") {
    const hash = await breakLedger(hre, record);
    console.log(`Broke the ledger: 1,000 tokens sent straight to the escrow in ${hash}`);
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exitCode = 1;
  });
}
