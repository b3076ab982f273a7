/**
 * Gas per payment for the escrow's full life, measured on the in-process Hardhat network.
 * Prints one JSON line:
 * {"lifecycle":[{"batchSize","merchants","gasPerPayment","calldataBytesPerPayment",
 *   "vsTransferWithAuthorization",...}],"steadyState":{...},"oneOffGasPerPayment":n,"oneOff":{...},
 *  "baselines":{...},"txGasCap":...}
 * Every gas figure is receipt gasUsed (21,000 base, calldata and refunds included), per payment;
 * calldata bytes are the transactions' input. `steadyState`: ten batches of 100 over 10 merchants
 * settled in one call, as a busy network's hour. `oneOffGasPerPayment`: payers with no escrow
 * balance paying by EIP-3009 authorization in payBatchWithAuthorization at 100 x 10, with their
 * settle (`oneOff.viaDeposit`: a first gasless deposit, then the payment in payBatch).
 * `vsTransferWithAuthorization`: over one `transferWithAuthorization` (an x402 `exact` payment).
 * `orderTimers`: the gas of each order-timer action on one payment (receipt gasUsed), on chain by
 * its actor and signed (`...WithSignature`, relayed).
 *
 * Life of a payment = its share of the payBatch that escrows it + its share of the settle call that
 * pays its merchant after the hold. Payers are distinct customers with an existing escrow balance
 * and merchants' payout addresses already hold tokens (steady state, not first-ever use).
 */
import { ethers, network } from "hardhat";
import { Wallet, type Signer, type TransactionReceipt } from "ethers";
import { deployStablePay } from "../src/chain/deploy";
import {
  RECEIVE_WITH_AUTHORIZATION_TYPES,
  TOKEN_DOMAIN_VERSION,
  TRANSFER_WITH_AUTHORIZATION_TYPES,
  depositNonce,
  escrowDomain,
  escalationTypes,
  ethersTypes,
  holdExtensionTypes,
  refundRejectionTypes,
  refundRequestTypes,
  ONE_OFF_NONCE,
  oneOffAuthorization,
  paymentId,
  paymentTypes,
  type Address,
  type Hex,
  type Payment,
  BatchTree,
  REFUND_REASONS,
  encodeBatch,
} from "../src/protocol";
import type { PaymentEscrow, SettlementToken, MerchantRegistry } from "../typechain-types";

/** EIP-7825 (Osaka): no single transaction may use more gas than this. */
const TX_GAS_CAP = 16_777_216n;
const HOLD_SECONDS = 3600n;
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
    await registry.registerMerchant(admin.address, payout, FEE_BPS, HOLD_SECONDS, HOLD_SECONDS, ethers.ZeroHash);
    await token.mint(payout, 1n); // existing holder: steady-state payouts
    merchantIds.push(BigInt(i + 1));
  }
  const chainId = (await ethers.provider.getNetwork()).chainId;
  return { token, registry, escrow, admin, merchantIds, chainId };
}

/** Gas of each gasless deposit fundedPayers made: a payer's first deposit into the escrow. */
const depositGas: bigint[] = [];

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
    depositGas.push(
      await gasOf(
        ctx.escrow.depositWithAuthorization(message.from, message.value, 0n, message.validBefore, salt, signature),
      ),
    );
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
      hold: HOLD_SECONDS,
    };
    items.push({
      payment,
      signature: (await payers[i].signTypedData(domain, ethersTypes(paymentTypes), payment)) as Hex,
    });
  }
  return items;
}

async function gasOf(txPromise: Promise<{ wait: () => Promise<TransactionReceipt | null> }>): Promise<bigint> {
  const receipt = await (await txPromise).wait();
  if (!receipt || receipt.status !== 1) throw new Error("transaction failed");
  return receipt.gasUsed;
}

/** Bytes of a transaction's calldata (what an L2 posts to L1 for it). */
const calldataBytes = (data: string): number => (data.length - 2) / 2;

/** Per payment, rounded up: the figures are gas and bytes a payment must at least pay for. */
const perPayment = (total: bigint | number, payments: number): number =>
  Number((BigInt(total) + BigInt(payments) - 1n) / BigInt(payments));

/** Escrows one batch of `batchSize` fresh payers over `merchants`; its id, gas and calldata size. */
async function escrowBatch(ctx: Ctx, batchSize: number, merchants: number) {
  const payers = await fundedPayers(ctx, batchSize);
  const items = await signedBatch(ctx, payers, merchants);
  const batchId = (await ctx.escrow.batchCount()) + 1n;
  const sent = await ctx.escrow.payBatch(encodeBatch(items), { gasLimit: TX_GAS_CAP });
  const gas = await gasOf(Promise.resolve(sent));
  if ((await ctx.escrow.batchCount()) !== batchId) throw new Error("batch not escrowed");
  return { batchId, gas, calldataBytes: calldataBytes(sent.data) };
}

/** Settles `batchIds` for the first `merchants` merchants, once the hold has passed. */
async function settleBatches(ctx: Ctx, merchants: number, batchIds: bigint[]) {
  await network.provider.send("evm_increaseTime", [Number(HOLD_SECONDS)]);
  const settlements = ctx.merchantIds.slice(0, merchants).map((merchantId) => ({ merchantId, batchIds }));
  const sent = await ctx.escrow.settle(settlements, { gasLimit: TX_GAS_CAP });
  return { gas: await gasOf(Promise.resolve(sent)), calldataBytes: calldataBytes(sent.data) };
}

async function lifecycle(ctx: Ctx, batchSize: number, merchants: number) {
  const batch = await escrowBatch(ctx, batchSize, merchants);
  const settle = await settleBatches(ctx, merchants, [batch.batchId]);
  return {
    batchSize,
    merchants,
    gasPerPayment: perPayment(batch.gas + settle.gas, batchSize),
    calldataBytesPerPayment: perPayment(batch.calldataBytes + settle.calldataBytes, batchSize),
    payBatchGas: Number(batch.gas),
    settleGas: Number(settle.gas),
  };
}

/**
 * A busy network's hour: `batches` batches of `batchSize` payments over `merchants` merchants, then
 * one settlement of all of them (each merchant's tranches of every batch in one call).
 */
async function steadyState(ctx: Ctx, batches: number, batchSize: number, merchants: number) {
  const escrowed = [];
  for (let i = 0; i < batches; i++) escrowed.push(await escrowBatch(ctx, batchSize, merchants));
  const settle = await settleBatches(
    ctx,
    merchants,
    escrowed.map((b) => b.batchId),
  );
  const payments = batches * batchSize;
  const payBatchGas = escrowed.reduce((sum, b) => sum + b.gas, 0n);
  const payBatchBytes = escrowed.reduce((sum, b) => sum + b.calldataBytes, 0);
  return {
    batches,
    batchSize,
    merchants,
    gasPerPayment: perPayment(payBatchGas + settle.gas, payments),
    calldataBytesPerPayment: perPayment(payBatchBytes + settle.calldataBytes, payments),
    settleGas: Number(settle.gas),
  };
}

/**
 * One-off payers: `batchSize` fresh wallets holding tokens and no escrow balance, each paying by its
 * EIP-3009 authorization in one payBatchWithAuthorization over `merchants`, then its settle.
 */
async function oneOffBatch(ctx: Ctx, batchSize: number, merchants: number) {
  const payers = Array.from({ length: batchSize }, () => deterministicWallet());
  const escrowAddress = (await ctx.escrow.getAddress()) as Address;
  const domain = escrowDomain(ctx.chainId, escrowAddress);
  const tokenDomain = {
    name: await ctx.token.name(),
    version: TOKEN_DOMAIN_VERSION,
    chainId: ctx.chainId,
    verifyingContract: await ctx.token.getAddress(),
  };
  const types = ethersTypes(RECEIVE_WITH_AUTHORIZATION_TYPES);
  const items = [];
  for (let i = 0; i < payers.length; i++) {
    await ctx.token.mint(payers[i].address, AMOUNT);
    const payment: Payment = {
      payer: payers[i].address as Address,
      merchantId: ctx.merchantIds[Math.floor((i * merchants) / payers.length)],
      amount: AMOUNT,
      orderRef: nextSeed() as Hex,
      nonce: ONE_OFF_NONCE,
      validAfter: 0n,
      deadline: FAR_DEADLINE,
      hold: HOLD_SECONDS,
    };
    const message = oneOffAuthorization(escrowAddress, payment, paymentId(domain, payment));
    items.push({ payment, signature: (await payers[i].signTypedData(tokenDomain, types, message)) as Hex });
  }
  const batchId = (await ctx.escrow.batchCount()) + 1n;
  const sent = await ctx.escrow.payBatchWithAuthorization(encodeBatch(items), { gasLimit: TX_GAS_CAP });
  const gas = await gasOf(Promise.resolve(sent));
  if ((await ctx.escrow.batchCount()) !== batchId) throw new Error("one-off batch not escrowed");
  const settle = await settleBatches(ctx, merchants, [batchId]);
  return {
    batchSize,
    merchants,
    gasPerPayment: perPayment(gas + settle.gas, batchSize),
    calldataBytesPerPayment: perPayment(calldataBytes(sent.data) + settle.calldataBytes, batchSize),
    payBatchWithAuthorizationGas: Number(gas),
    settleGas: Number(settle.gas),
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
/**
 * Gas of each order-timer action, on payments of one batch of four to one merchant (the merchant's
 * owner is the admin): the first extension takes a payment out of its tranche, the second only moves
 * its timer; a refund request pauses the clock; the merchant answers; escalations open disputes.
 */
async function orderTimers(ctx: Ctx) {
  const payers = await fundedPayers(ctx, 4);
  for (const payer of payers) await ctx.admin.sendTransaction({ to: payer.address, value: 10n ** 18n });
  const items = await signedBatch(ctx, payers, 1);
  const batchId = (await ctx.escrow.batchCount()) + 1n;
  await gasOf(ctx.escrow.payBatch(encodeBatch(items)));
  const domain = escrowDomain(ctx.chainId, (await ctx.escrow.getAddress()) as Address);
  const tree = new BatchTree(items.map((item) => paymentId(domain, item.payment)));
  const inclusion = (i: number) => ({ batchId, proof: tree.proof(i) });
  const by = (i: number) => ctx.escrow.connect(payers[i].connect(ethers.provider));
  const [a, b, c, d] = items.map((item) => item.payment);
  const reason = REFUND_REASONS.not_received;
  const gas: Record<string, number> = {};
  gas.extendHoldFromTranche = Number(await gasOf(by(0).extendHold(a, inclusion(0), 600)));
  gas.extendHoldAgain = Number(await gasOf(by(0).extendHold(a, inclusion(0), 600)));
  gas.requestRefund = Number(await gasOf(by(1).requestRefund(b, inclusion(1), AMOUNT / 2n, reason)));
  gas.partialRefundAnsweringRequest = Number(await gasOf(ctx.escrow.refund(b, inclusion(1), AMOUNT / 4n)));
  await gasOf(by(2).requestRefund(c, inclusion(2), AMOUNT, reason));
  gas.rejectRefundRequest = Number(await gasOf(ctx.escrow.rejectRefundRequest(c)));
  gas.escalateRefundRequest = Number(await gasOf(by(2).escalateRefundRequest(c)));
  await gasOf(by(3).requestRefund(d, inclusion(3), 1n, reason));
  await network.provider.send("evm_increaseTime", [3 * 24 * 3600]);
  gas.escalateUnansweredRefundRequest = Number(await gasOf(ctx.escrow.escalateUnansweredRefundRequest(d)));
  gas.release = Number(await gasOf(ctx.escrow.release(a)));
  return { ...gas, ...(await signedOrderTimers(ctx)) };
}

/**
 * The signed (relayed) order-timer actions, each submitted by the relayer (here the admin, also the
 * merchants' owner key) on a second batch of four, so proofs have the same depth as above.
 */
async function signedOrderTimers(ctx: Ctx) {
  const payers = await fundedPayers(ctx, 4);
  const items = await signedBatch(ctx, payers, 1);
  const batchId = (await ctx.escrow.batchCount()) + 1n;
  await gasOf(ctx.escrow.payBatch(encodeBatch(items)));
  const domain = escrowDomain(ctx.chainId, (await ctx.escrow.getAddress()) as Address);
  const tree = new BatchTree(items.map((item) => paymentId(domain, item.payment)));
  const inclusion = (i: number) => ({ batchId, proof: tree.proof(i) });
  const ids = items.map((item) => paymentId(domain, item.payment));
  const [a, b] = items.map((item) => item.payment);
  const reason = BigInt(REFUND_REASONS.not_received);
  const deadline = FAR_DEADLINE;
  const sign = (signer: Signer, types: Parameters<typeof ethersTypes>[0], message: Record<string, unknown>) =>
    signer.signTypedData(domain, ethersTypes(types), message);
  const gas: Record<string, number> = {};
  for (const ordinal of [1n, 2n]) {
    const signature = await sign(payers[0], holdExtensionTypes, {
      paymentId: ids[0],
      extension: 600n,
      ordinal,
      deadline,
    });
    gas[ordinal === 1n ? "extendHoldWithSignatureFromTranche" : "extendHoldWithSignatureAgain"] = Number(
      await gasOf(ctx.escrow.extendHoldWithSignature(a, inclusion(0), 600n, ordinal, deadline, signature)),
    );
  }
  const amount = AMOUNT / 2n;
  const request = await sign(payers[1], refundRequestTypes, {
    paymentId: ids[1],
    amount,
    reason,
    ordinal: 1n,
    deadline,
  });
  gas.requestRefundWithSignature = Number(
    await gasOf(ctx.escrow.requestRefundWithSignature(b, inclusion(1), amount, reason, 1n, deadline, request)),
  );
  const rejection = await sign(ctx.admin, refundRejectionTypes, { paymentId: ids[1], ordinal: 1n, deadline });
  gas.rejectRefundRequestWithSignature = Number(
    await gasOf(ctx.escrow.rejectRefundRequestWithSignature(b, 1n, deadline, rejection)),
  );
  const escalation = await sign(payers[1], escalationTypes, { paymentId: ids[1], ordinal: 1n, deadline });
  gas.escalateRefundRequestWithSignature = Number(
    await gasOf(ctx.escrow.escalateRefundRequestWithSignature(b, 1n, deadline, escalation)),
  );
  return gas;
}

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
  const steady = await steadyState(ctx, 10, 100, 10);
  const base = await baselines(ctx);
  // Every row against an x402 `exact` settlement on the same token, measured in the same run.
  const vs = (gas: number) => Math.round((gas / base.transferWithAuthorization) * 1000) / 1000;
  const at100x10 = results.find((r) => r.batchSize === 100 && r.merchants === 10)!;
  // A payer with no escrow balance: its EIP-3009 authorization straight into a batch, against
  // depositing first (its own transaction, a first deposit) and then paying in a batch.
  const oneOff = await oneOffBatch(ctx, 100, 10);
  const timers = await orderTimers(ctx);
  const deposits = [...depositGas].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const firstDeposit = Number(deposits[Math.floor(deposits.length / 2)]);
  const viaDeposit = firstDeposit + at100x10.gasPerPayment;
  const out = {
    lifecycle: results.map((r) => ({ ...r, vsTransferWithAuthorization: vs(r.gasPerPayment) })),
    steadyState: { ...steady, vsTransferWithAuthorization: vs(steady.gasPerPayment) },
    oneOffGasPerPayment: oneOff.gasPerPayment,
    oneOff: {
      path: "payBatchWithAuthorization at 100 x 10",
      ...oneOff,
      vsTransferWithAuthorization: vs(oneOff.gasPerPayment),
      viaDeposit: {
        path: "depositWithAuthorization, then payBatch at 100 x 10",
        firstDepositGas: firstDeposit,
        gasPerPayment: viaDeposit,
        vsTransferWithAuthorization: vs(viaDeposit),
      },
    },
    orderTimers: timers,
    baselines: base,
    txGasCap: Number(TX_GAS_CAP),
  };
  console.log(JSON.stringify(out));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
