/**
 * Gas per payment for the escrow's full life, measured on the in-process Hardhat network.
 * Prints one JSON line:
 * {"lifecycle":[{"batchSize","merchants","gasPerPayment",...}],"baselines":{...},"txGasCap":...}
 * Every figure is receipt gasUsed (21,000 base, calldata and refunds included), per payment.
 *
 * Life of a payment = its share of the payBatch that escrows it + its share of the settle call that
 * pays its merchant after the hold. Payers are distinct customers with an existing escrow balance
 * and merchants' payout addresses already hold tokens (steady state, not first-ever use).
 */
import { ethers, network } from "hardhat";
import { Wallet, type TransactionReceipt } from "ethers";
import { deployStablePay } from "../src/chain/deploy";
import {
  RECEIVE_WITH_AUTHORIZATION_TYPES,
  TOKEN_DOMAIN_VERSION,
  TRANSFER_WITH_AUTHORIZATION_TYPES,
  depositNonce,
  escrowDomain,
  ethersTypes,
  paymentTypes,
  type Address,
  type Hex,
  type Payment,
} from "../src/protocol";
import type { PaymentEscrow, SettlementToken, MerchantRegistry } from "../typechain-types";

/** EIP-7825 (Osaka): no single transaction may use more gas than this. */
const TX_GAS_CAP = 16_777_216n;
const HOLD_PERIOD = 3600n;
const FEE_BPS = 250n;
const AMOUNT = 10_000_000n; // 10.00 with 6 decimals

/**
 * Every key, address and reference is derived from a counter, never random: calldata zero bytes
 * change gas, so random inputs would make the figures drift by a few gas between runs.
 */
let seedCounter = 0n;
/** A constant deadline (2100-01-01): one derived from the clock would change calldata between runs. */
const FAR_DEADLINE = 4_102_444_800n;
const nextSeed = (): string => ethers.keccak256(ethers.toBeHex(++seedCounter, 32));
const deterministicWallet = (): Wallet => new Wallet(nextSeed());

interface Ctx {
  token: SettlementToken;
  registry: MerchantRegistry;
  escrow: PaymentEscrow;
  admin: Awaited<ReturnType<typeof ethers.getSigners>>[number];
  merchantIds: bigint[];
  chainId: bigint;
}

async function setup(): Promise<Ctx> {
  const [admin] = await ethers.getSigners();
  const { token, registry, escrow } = await deployStablePay(admin, {
    admin: admin.address,
    feeRecipient: admin.address,
  });
  await token.grantRole(await token.MASTER_MINTER_ROLE(), admin.address);
  await token.configureMinter(admin.address, 10n ** 30n);
  await registry.grantRole(await registry.REGISTRAR_ROLE(), admin.address);
  const merchantIds: bigint[] = [];
  for (let i = 0; i < 10; i++) {
    const payout = deterministicWallet().address;
    await registry.registerMerchant(admin.address, payout, FEE_BPS, HOLD_PERIOD, ethers.ZeroHash);
    await token.mint(payout, 1n); // existing holder: steady-state payouts
    merchantIds.push(BigInt(i + 1));
  }
  const chainId = (await ethers.provider.getNetwork()).chainId;
  return { token, registry, escrow, admin, merchantIds, chainId };
}

/** Payers with an escrow balance: minted, then deposited in one admin-funded batch of deposits. */
async function fundedPayers(ctx: Ctx, count: number): Promise<Wallet[]> {
  const payers = Array.from({ length: count }, () => deterministicWallet());
  const escrowAddress = await ctx.escrow.getAddress();
  // Mint straight to the escrow and credit by deposit is not possible; fund by gasless deposits.
  const tokenAddress = await ctx.token.getAddress();
  const domain = {
    name: await ctx.token.name(),
    version: TOKEN_DOMAIN_VERSION,
    chainId: ctx.chainId,
    verifyingContract: tokenAddress,
  };
  const types = ethersTypes(RECEIVE_WITH_AUTHORIZATION_TYPES);
  for (const payer of payers) {
    await ctx.token.mint(payer.address, AMOUNT * 4n);
    // A deposit authorization's nonce is derived from the deposit tag and a salt (see the escrow).
    const salt = nextSeed() as Hex;
    const message = {
      from: payer.address,
      to: escrowAddress,
      value: AMOUNT * 4n,
      validAfter: 0n,
      validBefore: 2n ** 40n,
      nonce: depositNonce(payer.address as Address, AMOUNT * 4n, salt),
    };
    const signature = await payer.signTypedData(domain, types, message);
    await ctx.escrow.depositWithAuthorization(message.from, message.value, 0n, message.validBefore, salt, signature);
  }
  return payers;
}

async function signedBatch(ctx: Ctx, payers: Wallet[], merchants: number) {
  const domain = escrowDomain(ctx.chainId, (await ctx.escrow.getAddress()) as Address);
  const items = [];
  for (let i = 0; i < payers.length; i++) {
    const [base] = await ctx.escrow.nonceWindow(payers[i].address);
    const payment: Payment = {
      payer: payers[i].address as Address,
      // Grouped by merchant, as the relayer submits them: contiguous runs of equal merchant ids.
      merchantId: ctx.merchantIds[Math.floor((i * merchants) / payers.length)],
      amount: AMOUNT,
      orderRef: nextSeed() as Address,
      nonce: base,
      validAfter: 0n,
      deadline: FAR_DEADLINE,
    };
    items.push({ payment, signature: await payers[i].signTypedData(domain, ethersTypes(paymentTypes), payment) });
  }
  return items;
}

async function gasOf(txPromise: Promise<{ wait: () => Promise<TransactionReceipt | null> }>): Promise<bigint> {
  const receipt = await (await txPromise).wait();
  if (!receipt || receipt.status !== 1) throw new Error("transaction failed");
  return receipt.gasUsed;
}

async function lifecycle(ctx: Ctx, batchSize: number, merchants: number) {
  const payers = await fundedPayers(ctx, batchSize);
  const items = await signedBatch(ctx, payers, merchants);
  const batchId = (await ctx.escrow.batchCount()) + 1n;
  const escrowGas = await gasOf(ctx.escrow.payBatch(items, { gasLimit: TX_GAS_CAP }));
  if ((await ctx.escrow.batchCount()) !== batchId) throw new Error("batch not escrowed");
  await network.provider.send("evm_increaseTime", [Number(HOLD_PERIOD)]);
  const settlements = ctx.merchantIds.slice(0, merchants).map((merchantId) => ({ merchantId, batchIds: [batchId] }));
  const settleGas = await gasOf(ctx.escrow.settle(settlements, { gasLimit: TX_GAS_CAP }));
  const total = escrowGas + settleGas;
  return {
    batchSize,
    merchants,
    gasPerPayment: Number((total + BigInt(batchSize) - 1n) / BigInt(batchSize)),
    payBatchGas: Number(escrowGas),
    settleGas: Number(settleGas),
  };
}

async function baselines(ctx: Ctx) {
  const [, holder, existing] = await ethers.getSigners();
  await ctx.token.mint(holder.address, AMOUNT * 10n);
  await ctx.token.mint(existing.address, 1n);
  const token = ctx.token.connect(holder);
  const erc20TransferFresh = await gasOf(token.transfer(deterministicWallet().address, AMOUNT));
  const erc20TransferExisting = await gasOf(token.transfer(existing.address, AMOUNT));

  const payer = deterministicWallet();
  await ctx.token.mint(payer.address, AMOUNT * 10n);
  const domain = {
    name: await ctx.token.name(),
    version: TOKEN_DOMAIN_VERSION,
    chainId: ctx.chainId,
    verifyingContract: await ctx.token.getAddress(),
  };
  const types = ethersTypes(TRANSFER_WITH_AUTHORIZATION_TYPES);
  const message = {
    from: payer.address,
    to: existing.address,
    value: AMOUNT,
    validAfter: 0n,
    validBefore: 2n ** 40n,
    nonce: nextSeed(),
  };
  const signature = await payer.signTypedData(domain, types, message);
  const transferWithAuthorization = await gasOf(
    ctx.token["transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)"](
      message.from,
      message.to,
      message.value,
      message.validAfter,
      message.validBefore,
      message.nonce,
      signature,
    ),
  );
  return {
    erc20TransferFresh: Number(erc20TransferFresh),
    erc20TransferExisting: Number(erc20TransferExisting),
    transferWithAuthorization: Number(transferWithAuthorization),
  };
}

/**
 * Largest batch over `merchants` whose payBatch stays under the per-transaction gas cap: scale the
 * size by the measured gas until it lands within 1% below the cap (per-merchant costs amortise,
 * so the per-payment figure of a smaller batch overestimates).
 */
async function largestBatch(ctx: Ctx, merchants: number, reference: { batchSize: number; payBatchGas: number }) {
  const target = Number(TX_GAS_CAP) * 0.995;
  let size = Math.floor((target * reference.batchSize) / reference.payBatchGas);
  let best: Awaited<ReturnType<typeof lifecycle>> | null = null;
  for (let attempt = 0; attempt < 4; attempt++) {
    const result = await lifecycle(ctx, size, merchants);
    const fits = result.payBatchGas <= Number(TX_GAS_CAP) && result.settleGas <= Number(TX_GAS_CAP);
    if (fits && (!best || result.batchSize > best.batchSize)) best = result;
    if (fits && result.payBatchGas >= Number(TX_GAS_CAP) * 0.99) break;
    size = Math.floor((size * target) / result.payBatchGas);
  }
  if (!best) throw new Error(`no batch size over ${merchants} merchants fits the transaction gas cap`);
  return best;
}

/** BENCH_QUICK=1: only batch 100 over 1 and 10 merchants (for iterating on the contracts). */
async function quick(ctx: Ctx) {
  const results = [await lifecycle(ctx, 100, 1), await lifecycle(ctx, 100, 10)];
  console.log(JSON.stringify({ lifecycle: results }));
}

async function main() {
  const ctx = await setup();
  if (process.env.BENCH_QUICK === "1") return quick(ctx);
  const results = [];
  for (const merchants of [1, 10]) {
    let reference = { batchSize: 1, payBatchGas: 0 };
    for (const batchSize of [1, 10, 100]) {
      const r = await lifecycle(ctx, batchSize, Math.min(merchants, batchSize));
      results.push({ ...r, merchants });
      reference = r;
    }
    results.push({ ...(await largestBatch(ctx, merchants, reference)), largest: true });
  }
  const out = { lifecycle: results, baselines: await baselines(ctx), txGasCap: Number(TX_GAS_CAP) };
  console.log(JSON.stringify(out));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
