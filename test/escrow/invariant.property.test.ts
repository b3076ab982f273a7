/**
 * Stateful property test of the escrows against an off-chain model, over two currencies: USD and EUR
 * escrows (each over its own token) sharing one MerchantRegistry, the same merchants and customers
 * (docs/CURRENCIES.md).
 *
 * fast-check draws ~50 random actions per run, each in a currency (deposit, withdraw, payBatch of
 * 1-4 payments, confirm, refund (also answering a refund request, in part or in full), openDispute,
 * resolveDispute / resolveExpiredDispute, the order timer's extendHold, requestRefund,
 * rejectRefundRequest, escalateRefundRequest / escalateUnansweredRefundRequest and release, settle,
 * claim, collectFees, blocklist toggle of a merchant payout on that currency's token), plus time
 * advance, a registry suspension / reactivation of a merchant (one registry: it acts in both
 * currencies: payments rejected MerchantNotActive, settlement skipping it, claim and release
 * refused MerchantSuspended, disputes open past the hold), and a cross-currency step: a payment,
 * confirmation or refund signed under the other escrow's EIP-712 domain, refused as a bad signature
 * (PaymentRejected InvalidSignature, or MerchantNotActive first when suspended; InvalidSigner) with
 * every storage slot of both escrows and tokens unchanged. A valid action that finds nothing to act
 * on in its currency (or a claim, a request's answer or a release it could take in the other) acts
 * in the other, so that splitting the actions keeps each currency's depth. The actions run on the
 * real contracts in the in-process network (fresh state per run through loadFixture); every outcome
 * is predicted from the model (including the exact revert and its arguments) and, after EVERY
 * step, IN EACH CURRENCY, the test checks:
 *
 *  1. the invariant: token.balanceOf(escrow) == sum of liabilities();
 *  2. every liabilities() bucket equals the model's sum (free balances, held, disputed, released,
 *     claimable, fees); held is counted two ways: the model's tranches plus its payments on their own
 *     timer, and the on-chain tranches plus those payments; a payment on its own timer is in held
 *     exactly once (its tranche gave up its amount when it left);
 *  3. each customer's escrow balance and wallet balance equal the model's;
 *  4. per-customer conservation: for every customer c,
 *        wallet(c) + escrowBalance(c) + inFlight(c) + paidToMerchants(c) == minted(c)
 *     where wallet and escrow balance are read on chain, inFlight(c) is what c's payments still
 *     hold or have under dispute, and paidToMerchants(c) is what left c for good (confirmed,
 *     settled, or ruled to the merchant, gross of fees);
 *  5. global conservation per token: all tokens minted == customer wallets + escrow balance +
 *     merchant payout wallets + fee recipient (nothing created or lost anywhere);
 *  6. each merchant's released / claimable balances and payout wallet equal the model's.
 *  7. order timers: nothing was released before its release time or with a refund request open
 *     (each release's block time is kept and checked against the record's release time).
 * A currency whose escrow's and token's storage roots (eth_getProof) and model are exactly as when
 * it last passed these checks passes them again without the reads (the reads would be equal).
 * At the end of each run every tranche and every payment record (every field, the timer's included)
 * of each currency is compared with the model too. With the default seed every listed outcome must
 * occur, and a few in each currency.
 *
 * A second property runs the same checks on a mix weighted towards the order timer, whose paths need
 * a request open, rejected or overdue, or a timer ended, before the next step can take them.
 *
 * Reproduce with FC_SEED=<seed> (and FC_RUNS=<n>, FC_TIMER_RUNS=<n>); the seed is logged on failure.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionReceipt } from "ethers";
import { deployStablePay } from "../../src/chain/deploy";
import {
  ADMIN_DELAY,
  ARBITER_ROLE,
  CUSTOMER_DEPOSIT,
  FEE_BPS,
  HOLD_PERIOD,
  MAX_HOLD,
  MIN_HOLD,
  ONE_DAY,
  DISPUTE_TIMEOUT,
  PaymentStatus,
  REGISTRAR_ROLE,
  RejectReason,
  domainOf,
  fundCustomer,
  idOf,
  usd,
  type EscrowFixture,
  type MerchantAccount,
} from "./fixtures";
import {
  REFUND_REASONS,
  confirmationTypes,
  encodeBatch,
  ethersTypes,
  paymentTypes,
  refundTypes,
  type Address,
  type Hex,
  type Payment,
} from "../../src/protocol";
import { liabilitiesOf, nextOrderRef, payBatchOf } from "./settle.helpers";

const DEFAULT_SEED = 20_250_611;
const SEED = Number(process.env.FC_SEED ?? DEFAULT_SEED);
const RUNS = Number(process.env.FC_RUNS ?? 16);
const TIMER_RUNS = Number(process.env.FC_TIMER_RUNS ?? 16);
/** Fixed gas so that a predicted revert is mined (at the pinned timestamp) instead of failing estimation. */
const GAS = { gasLimit: 3_000_000n };

/** Merchant terms in the property fixture: diverse fees (incl. 0 and the 10% maximum) and holds. */
const MERCHANT_FEE_BPS = [250n, 1000n, 0n];
const MERCHANT_HOLD = [HOLD_PERIOD, ONE_DAY, 3n * ONE_DAY];
/** PaymentLifecycle's order-timer constants. */
const MAX_HOLD_EXTENSION = 30n * ONE_DAY;
const MAX_HOLD_EXTENSIONS = 2n;
const MAX_REFUND_REQUESTS = 3n;
const REFUND_RESPONSE_WINDOW = 3n * ONE_DAY;
const ESCALATION_WINDOW = 7n * ONE_DAY;

/** The currencies of the run: one escrow over each token, all over one registry (docs/CURRENCIES.md). */
const CURRENCIES = ["USD", "EUR"] as const;

/** One fixture per currency (its token and escrow); registry, merchants, customers and roles are shared. */
interface Fixture {
  currencies: EscrowFixture[];
}

/**
 * USD and EUR escrows over one registry, as deployStablePay deploys them: 3 merchants registered
 * once (diverse terms), 4 customers holding CUSTOMER_DEPOSIT in each escrow, the admin minting,
 * pausing and blocklisting on each token, one arbiter and fee recipient in both.
 */
async function propertyFixture(): Promise<Fixture> {
  const signers = await ethers.getSigners();
  const [admin, arbiter, registrar, feeRecipient, relayer, stranger] = signers;
  const merchantSigners = signers.slice(6, 12);
  const customers = signers.slice(12, 16);
  const deployed = await deployStablePay(admin, {
    admin: admin.address,
    feeRecipient: feeRecipient.address,
    adminDelay: ADMIN_DELAY,
    disputeTimeout: DISPUTE_TIMEOUT,
    currencies: CURRENCIES.map((code) => ({ code })),
  });
  const { registry } = deployed;
  await registry.connect(admin).grantRole(REGISTRAR_ROLE, registrar.address);
  const merchants: MerchantAccount[] = [];
  for (let i = 0; i < 3; i++) {
    const [owner, payout] = [merchantSigners[2 * i], merchantSigners[2 * i + 1]];
    await registry
      .connect(registrar)
      .registerMerchant(owner.address, payout.address, FEE_BPS, MIN_HOLD, MAX_HOLD, ethers.ZeroHash);
    merchants.push({ id: BigInt(i + 1), owner, payout });
  }
  await registry.connect(registrar).setTerms(merchants[1].id, MERCHANT_FEE_BPS[1], ONE_DAY, MERCHANT_HOLD[1]);
  await registry.connect(registrar).setTerms(merchants[2].id, MERCHANT_FEE_BPS[2], ONE_DAY, MERCHANT_HOLD[2]);
  const chainId = (await ethers.provider.getNetwork()).chainId;
  const currencies: EscrowFixture[] = [];
  for (const { token, escrow } of deployed.currencies) {
    for (const role of [await token.MASTER_MINTER_ROLE(), await token.PAUSER_ROLE(), await token.BLOCKLISTER_ROLE()]) {
      await token.connect(admin).grantRole(role, admin.address);
    }
    await token.connect(admin).configureMinter(admin.address, usd(1_000_000_000));
    await escrow.connect(admin).grantRole(ARBITER_ROLE, arbiter.address);
    const f: EscrowFixture = {
      token,
      registry,
      escrow,
      admin,
      arbiter,
      registrar,
      feeRecipient,
      relayer,
      stranger,
      merchants,
      customers,
      chainId,
    };
    for (const customer of customers) await fundCustomer(f, customer, CUSTOMER_DEPOSIT);
    currencies.push(f);
  }
  return { currencies };
}

// ------------------------------------------------------------------------------------------ actions

type Action =
  | { kind: "deposit"; who: number; mint: bigint; pct: number }
  | { kind: "withdraw"; who: number; pct: number }
  | { kind: "payBatch"; items: { who: number; merchant: number; amount: bigint }[] }
  | { kind: "confirm"; pick: number; valid: boolean }
  | { kind: "refund"; pick: number; valid: boolean; pct: number }
  | { kind: "openDispute"; pick: number; valid: boolean }
  | { kind: "resolveDispute"; pick: number; valid: boolean; pct: number; byTimeout: boolean }
  | { kind: "advance"; seconds: number }
  | { kind: "settle"; onlyReleasable: boolean }
  | { kind: "claim"; merchant: number; valid: boolean; clearFirst: boolean }
  | { kind: "collectFees" }
  | { kind: "blocklist"; merchant: number }
  | { kind: "extendHold"; pick: number; valid: boolean; extension: bigint }
  | { kind: "requestRefund"; pick: number; valid: boolean; pct: number; reason: number }
  | { kind: "rejectRefundRequest"; pick: number; valid: boolean }
  | { kind: "escalate"; pick: number; valid: boolean; unanswered: boolean }
  | { kind: "release"; pick: number; valid: boolean }
  | { kind: "suspend"; merchant: number }
  | {
      kind: "crossCurrency";
      what: "payment" | "confirmation" | "refund";
      who: number;
      merchant: number;
      amount: bigint;
      pick: number;
    };

/**
 * A drawn step: the action and the currency whose escrow (and token) it acts on. Time (advance) and
 * the registry (suspend) are shared, so their currency is only where the step is logged; a
 * crossCurrency step submits to `cur`'s escrow what was signed for the other's domain.
 */
interface Drawn {
  cur: number;
  action: Action;
}

const who = fc.nat({ max: 3 });
const merchant = fc.nat({ max: 2 });
const mostly = fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });
/** A percentage, mostly within [min, 100] and sometimes above 100 (an over-large request). */
const percent = (min: number, max: number) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min, max: 100 }) },
    { weight: 1, arbitrary: fc.integer({ min: 101, max }) },
  );
const paymentAmount = fc.oneof(
  { weight: 2, arbitrary: fc.bigInt(1n, 1_000n) }, // dust: fee rounding matters
  { weight: 5, arbitrary: fc.bigInt(1n, usd(400)) },
  { weight: 1, arbitrary: fc.bigInt(usd(400), usd(1_500)) }, // often more than the payer's balance
);

/** Each action's weight in the main mix and its arbitrary. */
const ACTIONS: { [K in Action["kind"]]: { weight: number; arbitrary: fc.Arbitrary<Extract<Action, { kind: K }>> } } = {
  deposit: {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("deposit" as const),
      who,
      mint: fc.bigInt(0n, usd(500)),
      pct: fc.integer({ min: 1, max: 100 }),
    }),
  },
  withdraw: {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("withdraw" as const), who, pct: percent(1, 130) }),
  },
  payBatch: {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("payBatch" as const),
      items: fc.array(fc.record({ who, merchant, amount: paymentAmount }), { minLength: 1, maxLength: 4 }),
    }),
  },
  confirm: {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("confirm" as const), pick: fc.nat(), valid: mostly }),
  },
  refund: {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("refund" as const),
      pick: fc.nat(),
      valid: mostly,
      pct: percent(1, 120),
    }),
  },
  openDispute: {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("openDispute" as const), pick: fc.nat(), valid: mostly }),
  },
  resolveDispute: {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("resolveDispute" as const),
      pick: fc.nat(),
      valid: mostly,
      pct: percent(0, 110),
      byTimeout: fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 3, arbitrary: fc.constant(false) }),
    }),
  },
  advance: {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      seconds: fc.oneof(fc.integer({ min: 1, max: 3600 }), fc.integer({ min: 1, max: 10 * 24 * 3600 })),
    }),
  },
  settle: { weight: 3, arbitrary: fc.record({ kind: fc.constant("settle" as const), onlyReleasable: fc.boolean() }) },
  claim: {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("claim" as const), merchant, valid: mostly, clearFirst: mostly }),
  },
  collectFees: { weight: 1, arbitrary: fc.record({ kind: fc.constant("collectFees" as const) }) },
  blocklist: { weight: 3, arbitrary: fc.record({ kind: fc.constant("blocklist" as const), merchant }) },
  extendHold: {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("extendHold" as const),
      pick: fc.nat(),
      valid: mostly,
      // Mostly within (0, 30 days]; sometimes one second over.
      extension: fc.oneof(
        { weight: 3, arbitrary: fc.bigInt(1n, 2n * ONE_DAY) },
        { weight: 1, arbitrary: fc.bigInt(1n, MAX_HOLD_EXTENSION) },
        { weight: 1, arbitrary: fc.constant(MAX_HOLD_EXTENSION + 1n) },
      ),
    }),
  },
  requestRefund: {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("requestRefund" as const),
      pick: fc.nat(),
      valid: mostly,
      pct: percent(1, 120),
      reason: fc.constantFrom(...Object.values(REFUND_REASONS), 77),
    }),
  },
  rejectRefundRequest: {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("rejectRefundRequest" as const), pick: fc.nat(), valid: mostly }),
  },
  escalate: {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("escalate" as const),
      pick: fc.nat(),
      valid: mostly,
      unanswered: fc.boolean(),
    }),
  },
  release: {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("release" as const), pick: fc.nat(), valid: mostly }),
  },
  suspend: { weight: 1, arbitrary: fc.record({ kind: fc.constant("suspend" as const), merchant }) },
  crossCurrency: {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("crossCurrency" as const),
      what: fc.constantFrom("payment" as const, "confirmation" as const, "refund" as const),
      who,
      merchant,
      amount: fc.bigInt(1n, usd(100)),
      pick: fc.nat(),
    }),
  },
};

const actionOf = (kind: Action["kind"]): fc.Arbitrary<Action> => ACTIONS[kind].arbitrary;

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  ...Object.values(ACTIONS).map(({ weight, arbitrary }) => ({ weight, arbitrary: arbitrary as fc.Arbitrary<Action> })),
);

/** Draws the currency of each action (as often one as the other). */
const inCurrency = (actions: fc.Arbitrary<Action>): fc.Arbitrary<Drawn> =>
  fc.record({ cur: fc.nat({ max: CURRENCIES.length - 1 }), action: actions });

/** The order-timer mix: the timer's actions and the steps around them (escrow, answers, time, settlement). */
const timerActionArb: fc.Arbitrary<Action> = fc.oneof(
  ...(
    [
      ["requestRefund", 4],
      ["payBatch", 3],
      ["rejectRefundRequest", 3],
      ["escalate", 3],
      ["extendHold", 2],
      ["release", 2],
      ["refund", 2],
      ["advance", 2],
      ["settle", 1],
      ["confirm", 1],
      ["openDispute", 1],
      ["resolveDispute", 1],
    ] as const
  ).map(([kind, weight]) => ({ weight, arbitrary: actionOf(kind) })),
);

// ------------------------------------------------------------------------------------------ model

interface PaymentModel {
  id: Hex;
  payment: Payment;
  inclusion: { batchId: bigint; proof: Hex[] };
  payer: number;
  merchant: number;
  amount: bigint;
  refunded: bigint;
  status: number;
  disputedAt: bigint;
  /** Fee rate frozen by a dispute or when the payment left its tranche (the record's feeBps). */
  recordFeeBps: bigint;
  /** What the merchant got from a ruling (gross of fee). */
  ruledToMerchant: bigint;
  /** The record's order-timer fields (zero until the payment leaves its tranche onto its own timer). */
  releaseAt: bigint;
  holdLeft: bigint;
  deadline: bigint;
  extensions: bigint;
  refundRequests: bigint;
  recordBatchId: bigint;
  /** Block time of its release (Released only). */
  releasedAt: bigint;
}

interface TrancheModel {
  batchId: bigint;
  merchant: number;
  amount: bigint;
  releaseAt: bigint;
  feeBps: bigint;
  settled: boolean;
}

/** One currency's state: its escrow's and token's. */
interface CurrencyModel {
  minted: bigint[];
  wallet: bigint[];
  balance: bigint[];
  payments: PaymentModel[];
  tranches: Map<string, TrancheModel>;
  batchCount: bigint;
  released: bigint[];
  claimable: bigint[];
  paid: bigint[];
  blocked: boolean[];
  fees: bigint;
  collected: bigint;
}

const key = (batchId: bigint, m: number) => `${batchId}:${m}`;
const fee = (amount: bigint, bps: bigint) => (amount * bps + 9_999n) / 10_000n;

/** The whole system: each currency's state, and the shared registry's suspensions. */
interface Model {
  currencies: CurrencyModel[];
  suspended: boolean[];
}

function newModel(): Model {
  return { currencies: CURRENCIES.map(newCurrencyModel), suspended: [false, false, false] };
}

function newCurrencyModel(): CurrencyModel {
  return {
    minted: [0, 1, 2, 3].map(() => CUSTOMER_DEPOSIT),
    wallet: [0n, 0n, 0n, 0n],
    balance: [0, 1, 2, 3].map(() => CUSTOMER_DEPOSIT),
    payments: [],
    tranches: new Map(),
    batchCount: 0n,
    released: [0n, 0n, 0n],
    claimable: [0n, 0n, 0n],
    paid: [0n, 0n, 0n],
    blocked: [false, false, false],
    fees: 0n,
    collected: 0n,
  };
}

function trancheOf(model: CurrencyModel, p: PaymentModel): TrancheModel {
  return model.tranches.get(key(p.inclusion.batchId, p.merchant))!;
}

/** Still escrowed in its tranche (not settled, confirmed, fully refunded, disputed or on its own timer). */
function inTranche(model: CurrencyModel, p: PaymentModel): boolean {
  return p.status === PaymentStatus.None && !trancheOf(model, p).settled;
}

/** Held on its own timer, outside its tranche (extended, or a refund request open or rejected). */
function onOwnTimer(p: PaymentModel): boolean {
  return (
    p.status === PaymentStatus.Held ||
    p.status === PaymentStatus.RefundRequested ||
    p.status === PaymentStatus.RefundRejected
  );
}

/** Still held: in its tranche or on its own timer. */
function isHeld(model: CurrencyModel, p: PaymentModel): boolean {
  return inTranche(model, p) || onOwnTimer(p);
}

/** A refund request open or rejected: no extension, new request or direct dispute. */
const hasRequest = (p: PaymentModel) =>
  p.status === PaymentStatus.RefundRequested || p.status === PaymentStatus.RefundRejected;

/** What the payment still holds for its payer: held or frozen by a dispute. */
function inFlight(model: CurrencyModel, p: PaymentModel): bigint {
  if (isHeld(model, p) || p.status === PaymentStatus.Disputed) return p.amount - p.refunded;
  return 0n;
}

/** What left the payer for good towards the merchant (gross of fees). */
function toMerchant(model: CurrencyModel, p: PaymentModel): bigint {
  if (p.status === PaymentStatus.Confirmed || p.status === PaymentStatus.Released) return p.amount - p.refunded;
  if (p.status === PaymentStatus.None && trancheOf(model, p).settled) return p.amount - p.refunded;
  if (p.status === PaymentStatus.Resolved) return p.ruledToMerchant;
  return 0n;
}

/** The revert of the escrow's _loadHeld for a payment that is not held. */
const notHeld = (p: PaymentModel): [string, ...unknown[]] => ["PaymentNotHeld", p.id, p.status];

/** Takes the payment onto its own timer (first extension or request): its tranche gives up what it holds. */
function detach(model: CurrencyModel, p: PaymentModel): void {
  if (!inTranche(model, p)) return;
  const t = trancheOf(model, p);
  t.amount -= p.amount - p.refunded;
  p.recordFeeBps = t.feeBps;
  p.releaseAt = t.releaseAt;
  p.recordBatchId = p.inclusion.batchId;
  p.status = PaymentStatus.Held;
}

/** A payment for a lifecycle action: among the plausible ones when `valid`, else among all. */
function pickPayment(model: CurrencyModel, pick: number, valid: boolean, plausible: (p: PaymentModel) => boolean) {
  const pool = valid ? model.payments.filter(plausible) : model.payments;
  return pool.length === 0 ? undefined : pool[pick % pool.length];
}

// ------------------------------------------------------------------------------------------ runner

/** Outcome of the current step, for the coverage summary printed after the property. */
let outcome = "ok";
const skip = () => {
  outcome = "skip";
};

async function expectRevert(
  tx: Promise<unknown>,
  contract: EscrowFixture["escrow"] | EscrowFixture["token"],
  name: string,
  ...args: unknown[]
): Promise<void> {
  outcome = `revert ${name}`;
  await expect(tx)
    .to.be.revertedWithCustomError(contract, name)
    .withArgs(...args);
}

async function nextTimestamp(): Promise<bigint> {
  const ts = BigInt(await time.latest()) + 1n;
  await time.setNextBlockTimestamp(ts);
  return ts;
}

async function receiptOf(tx: Promise<{ wait(): Promise<ContractTransactionReceipt | null> }>) {
  return (await (await tx).wait())!;
}

function escrowLogs(f: EscrowFixture, receipt: ContractTransactionReceipt) {
  const out: { name: string; args: unknown[] }[] = [];
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== String(f.escrow.target).toLowerCase()) continue;
    const parsed = f.escrow.interface.parseLog(log);
    if (parsed) out.push({ name: parsed.name, args: [...parsed.args] });
  }
  return out;
}

/** Runs `a` on currency `cur`'s escrow and token against that currency's model (and the shared registry's). */
async function step(fx: Fixture, world: Model, drawn: number, a: Action): Promise<number> {
  // A valid claim goes to the other currency when only that one has something to claim.
  const owes = (c: number) => world.currencies[c].claimable.some((x) => x > 0n);
  const requested = (c: number) => world.currencies[c].payments.some((q) => q.status === PaymentStatus.RefundRequested);
  const next = BigInt(await time.latest()) + 1n;
  const releasable = (c: number) =>
    world.currencies[c].payments.some(
      (q) => (q.status === PaymentStatus.Held || q.status === PaymentStatus.RefundRejected) && q.releaseAt <= next,
    );
  // Likewise a valid answer to a refund request, or a valid release, goes where there is one to take.
  const retarget =
    (a.kind === "claim" && a.valid && !owes(drawn) && owes(1 - drawn)) ||
    (a.kind === "refund" && a.valid && a.pick % 2 === 0 && !requested(drawn) && requested(1 - drawn)) ||
    (a.kind === "release" && a.valid && !releasable(drawn) && releasable(1 - drawn));
  const cur = retarget ? 1 - drawn : drawn;
  await stepIn(fx, world, cur, a);
  // A valid action on a payment that found none to act on in its currency (skipped before any call)
  // acts in the other one: the runs' actions are split between currencies, not their depth.
  if (outcome === "skip" && "pick" in a && "valid" in a && a.valid) {
    outcome = "ok";
    await stepIn(fx, world, 1 - cur, a);
    return 1 - cur;
  }
  return cur;
}

async function stepIn(fx: Fixture, world: Model, cur: number, a: Action): Promise<void> {
  const f = fx.currencies[cur];
  const model = world.currencies[cur];
  const { suspended } = world;
  const customers = f.customers;
  switch (a.kind) {
    case "deposit": {
      const c = customers[a.who];
      if (a.mint > 0n) {
        await f.token.connect(f.admin).mint(c.address, a.mint);
        model.minted[a.who] += a.mint;
        model.wallet[a.who] += a.mint;
      }
      const amount = (model.wallet[a.who] * BigInt(a.pct)) / 100n;
      if (amount === 0n) return skip();
      await f.token.connect(c).approve(await f.escrow.getAddress(), amount);
      await expect(f.escrow.connect(c).deposit(amount, GAS))
        .to.emit(f.escrow, "Deposited")
        .withArgs(c.address, c.address, amount);
      model.wallet[a.who] -= amount;
      model.balance[a.who] += amount;
      return;
    }

    case "withdraw": {
      const c = customers[a.who];
      const balance = model.balance[a.who];
      let amount = (balance * BigInt(a.pct)) / 100n;
      if (amount === 0n) amount = 1n;
      const tx = f.escrow.connect(c).withdraw(amount, c.address, GAS);
      if (amount > balance) {
        await expectRevert(tx, f.escrow, "InsufficientBalance", c.address, balance, amount);
        return;
      }
      await expect(tx).to.emit(f.escrow, "Withdrawn").withArgs(c.address, c.address, amount);
      model.balance[a.who] -= amount;
      model.wallet[a.who] += amount;
      return;
    }

    case "payBatch": {
      const ts = await nextTimestamp();
      const running = [...model.balance];
      // The escrow checks the merchant's status (shared registry) before the payer's balance.
      const reasons = a.items.map((item) => {
        if (suspended[item.merchant]) return BigInt(RejectReason.MerchantNotActive);
        if (running[item.who] < item.amount) return BigInt(RejectReason.InsufficientBalance);
        running[item.who] -= item.amount;
        return undefined;
      });
      const accepted = reasons.map((r) => r === undefined);
      if (reasons.some((r) => r === BigInt(RejectReason.MerchantNotActive))) {
        outcome = "ok with a suspended merchant's payment rejected";
      }
      const specs = a.items.map((item) => ({
        payer: customers[item.who],
        merchantId: f.merchants[item.merchant].id,
        amount: item.amount,
        hold: MERCHANT_HOLD[item.merchant],
      }));
      const batch = await payBatchOf(f, specs, accepted);
      const logs = escrowLogs(f, await receiptOf(Promise.resolve(batch.tx)));
      const escrowed = logs.filter((l) => l.name === "PaymentEscrowed").map((l) => l.args[0]);
      expect(escrowed, "accepted payment ids").to.deep.equal(batch.payments.map((p) => p.id));
      const rejectReasons = logs.filter((l) => l.name === "PaymentRejected").map((l) => l.args[2]);
      expect(rejectReasons, "reject reasons").to.deep.equal(reasons.filter((r) => r !== undefined));
      if (batch.payments.length === 0) {
        expect(await f.escrow.batchCount()).to.equal(model.batchCount);
        return;
      }
      model.batchCount += 1n;
      expect(batch.batchId).to.equal(model.batchCount);
      expect(await f.escrow.batchRoot(batch.batchId)).to.equal(batch.tree!.root);
      let k = 0;
      for (const [i, item] of a.items.entries()) {
        if (!accepted[i]) continue;
        const escrowedPayment = batch.payments[k++];
        model.balance[item.who] -= item.amount;
        const tk = key(batch.batchId, item.merchant);
        const t = model.tranches.get(tk) ?? {
          batchId: batch.batchId,
          merchant: item.merchant,
          amount: 0n,
          releaseAt: ts + MERCHANT_HOLD[item.merchant],
          feeBps: MERCHANT_FEE_BPS[item.merchant],
          settled: false,
        };
        t.amount += item.amount;
        model.tranches.set(tk, t);
        model.payments.push({
          ...escrowedPayment,
          payer: item.who,
          merchant: item.merchant,
          amount: item.amount,
          refunded: 0n,
          status: PaymentStatus.None,
          disputedAt: 0n,
          recordFeeBps: 0n,
          ruledToMerchant: 0n,
          releaseAt: 0n,
          holdLeft: 0n,
          deadline: 0n,
          extensions: 0n,
          refundRequests: 0n,
          recordBatchId: 0n,
          releasedAt: 0n,
        });
      }
      return;
    }

    case "confirm": {
      const p = pickPayment(model, a.pick, a.valid, (q) => isHeld(model, q));
      if (!p) return skip();
      await nextTimestamp();
      const tx = f.escrow.connect(customers[p.payer]).confirm(p.payment, p.inclusion, GAS);
      if (!isHeld(model, p)) {
        await expectRevert(tx, f.escrow, ...notHeld(p));
        return;
      }
      const t = trancheOf(model, p);
      const held = p.amount - p.refunded;
      // On its own timer the payment pays at the fee rate it took from its tranche.
      const fe = fee(held, inTranche(model, p) ? t.feeBps : p.recordFeeBps);
      await expect(tx)
        .to.emit(f.escrow, "PaymentConfirmed")
        .withArgs(p.id, f.merchants[p.merchant].id, p.inclusion.batchId, held - fe, fe);
      if (inTranche(model, p)) t.amount -= held;
      else outcome = "ok on its own timer";
      p.status = PaymentStatus.Confirmed;
      model.released[p.merchant] += held - fe;
      model.fees += fe;
      return;
    }

    case "refund": {
      // Prefer answering an open refund request, when there is one.
      const requested = model.payments.filter((q) => q.status === PaymentStatus.RefundRequested);
      const p =
        a.valid && requested.length > 0 && a.pick % 2 === 0
          ? requested[a.pick % requested.length]
          : pickPayment(model, a.pick, a.valid, (q) => isHeld(model, q));
      if (!p) return skip();
      const ts = await nextTimestamp();
      const held = p.amount - p.refunded;
      // An open request is answered in full above 50 %, else in part.
      const answerInFull = p.status === PaymentStatus.RefundRequested && a.pct > 50;
      let amount = answerInFull ? held : (held * BigInt(a.pct)) / 100n;
      if (amount === 0n) amount = 1n;
      const tx = f.escrow.connect(f.merchants[p.merchant].owner).refund(p.payment, p.inclusion, amount, GAS);
      if (!isHeld(model, p)) {
        await expectRevert(tx, f.escrow, ...notHeld(p));
        return;
      }
      if (amount > held) {
        await expectRevert(tx, f.escrow, "RefundExceedsHeld", p.id, amount, held);
        return;
      }
      const merchantId = f.merchants[p.merchant].id;
      const expected: { name: string; args: unknown[] }[] = [];
      if (amount < held && p.status === PaymentStatus.RefundRequested) {
        // A partial answer to the open request resumes the clock with the hold that was left.
        p.releaseAt = ts + p.holdLeft;
        p.holdLeft = 0n;
        p.deadline = 0n;
        p.status = PaymentStatus.Held;
        expected.push({ name: "HoldResumed", args: [p.id, merchantId, p.releaseAt] });
        outcome = "ok answering a request in part (clock resumed)";
      } else if (p.status === PaymentStatus.RefundRequested) {
        outcome = "ok answering a request in full";
      }
      expected.push({
        name: "PaymentRefunded",
        args: [p.id, merchantId, p.payment.payer, p.inclusion.batchId, amount, p.refunded + amount],
      });
      expect(escrowLogs(f, await receiptOf(tx)), "refund events").to.deep.equal(expected);
      if (inTranche(model, p)) trancheOf(model, p).amount -= amount;
      p.refunded += amount;
      if (amount === held) p.status = PaymentStatus.Refunded;
      model.balance[p.payer] += amount;
      return;
    }

    case "openDispute": {
      const p = pickPayment(model, a.pick, a.valid, (q) => isHeld(model, q));
      if (!p) return skip();
      const ts = await nextTimestamp();
      const tx = f.escrow.connect(customers[p.payer]).openDispute(p.payment, p.inclusion, GAS);
      if (!isHeld(model, p)) {
        await expectRevert(tx, f.escrow, ...notHeld(p));
        return;
      }
      if (hasRequest(p)) {
        await expectRevert(tx, f.escrow, "RefundRequestPending", p.id, p.status);
        return;
      }
      const t = trancheOf(model, p);
      const releaseAt = inTranche(model, p) ? t.releaseAt : p.releaseAt;
      // Past the hold only while the merchant is suspended (its tranches cannot settle then).
      if (ts >= releaseAt && !suspended[p.merchant]) {
        await expectRevert(tx, f.escrow, "DisputeWindowClosed", p.id, releaseAt);
        return;
      }
      if (ts >= releaseAt) outcome = "ok past the hold (merchant suspended)";
      const held = p.amount - p.refunded;
      await expect(tx)
        .to.emit(f.escrow, "DisputeOpened")
        .withArgs(p.id, f.merchants[p.merchant].id, p.payment.payer, p.inclusion.batchId, held, ts + DISPUTE_TIMEOUT);
      if (inTranche(model, p)) {
        p.recordFeeBps = t.feeBps;
        t.amount -= held;
      } else if (outcome === "ok") outcome = "ok on its own timer";
      p.status = PaymentStatus.Disputed;
      p.disputedAt = ts;
      return;
    }

    case "resolveDispute": {
      const p = pickPayment(model, a.pick, a.valid, (q) => q.status === PaymentStatus.Disputed);
      if (!p) return skip();
      const ts = await nextTimestamp();
      const disputed = p.amount - p.refunded;
      let toPayer = (disputed * BigInt(a.pct)) / 100n;
      const tx = a.byTimeout
        ? f.escrow.connect(f.stranger).resolveExpiredDispute(p.payment, GAS)
        : f.escrow.connect(f.arbiter).resolveDispute(p.payment, toPayer, GAS);
      if (p.status !== PaymentStatus.Disputed) {
        await expectRevert(tx, f.escrow, "NotDisputed", p.id, p.status);
        return;
      }
      if (a.byTimeout) {
        const expiresAt = p.disputedAt + DISPUTE_TIMEOUT;
        if (ts < expiresAt) {
          await expectRevert(tx, f.escrow, "DisputeNotExpired", p.id, expiresAt);
          return;
        }
        toPayer = disputed;
      } else if (toPayer > disputed) {
        await expectRevert(tx, f.escrow, "RulingExceedsDisputed", p.id, toPayer, disputed);
        return;
      }
      const gross = disputed - toPayer;
      const fe = fee(gross, p.recordFeeBps);
      await expect(tx)
        .to.emit(f.escrow, "DisputeResolved")
        .withArgs(p.id, f.merchants[p.merchant].id, p.payment.payer, toPayer, gross - fe, fe, a.byTimeout);
      p.status = PaymentStatus.Resolved;
      p.refunded += toPayer;
      p.ruledToMerchant = gross;
      model.balance[p.payer] += toPayer;
      model.released[p.merchant] += gross - fe;
      model.fees += fe;
      return;
    }

    case "extendHold": {
      const p = pickPayment(
        model,
        a.pick,
        a.valid,
        (q) => isHeld(model, q) && !hasRequest(q) && q.extensions < MAX_HOLD_EXTENSIONS,
      );
      if (!p) return skip();
      const ts = await nextTimestamp();
      const tx = f.escrow.connect(customers[p.payer]).extendHold(p.payment, p.inclusion, a.extension, GAS);
      if (a.extension > MAX_HOLD_EXTENSION) {
        await expectRevert(tx, f.escrow, "ExtensionOutOfRange", a.extension, MAX_HOLD_EXTENSION);
        return;
      }
      if (!isHeld(model, p)) {
        await expectRevert(tx, f.escrow, ...notHeld(p));
        return;
      }
      if (hasRequest(p)) {
        await expectRevert(tx, f.escrow, "RefundRequestPending", p.id, p.status);
        return;
      }
      const releaseAt = inTranche(model, p) ? trancheOf(model, p).releaseAt : p.releaseAt;
      if (ts >= releaseAt) {
        await expectRevert(tx, f.escrow, "HoldEnded", p.id, releaseAt);
        return;
      }
      if (p.extensions >= MAX_HOLD_EXTENSIONS) {
        await expectRevert(tx, f.escrow, "ExtensionLimitReached", p.id, p.extensions);
        return;
      }
      await expect(tx)
        .to.emit(f.escrow, "HoldExtended")
        .withArgs(
          p.id,
          f.merchants[p.merchant].id,
          p.payment.payer,
          p.inclusion.batchId,
          releaseAt + a.extension,
          p.extensions + 1n,
        );
      detach(model, p);
      p.extensions += 1n;
      p.releaseAt = releaseAt + a.extension;
      return;
    }

    case "requestRefund": {
      const p = pickPayment(
        model,
        a.pick,
        a.valid,
        (q) => isHeld(model, q) && !hasRequest(q) && q.refundRequests < MAX_REFUND_REQUESTS,
      );
      if (!p) return skip();
      const ts = await nextTimestamp();
      const held = p.amount - p.refunded;
      let amount = (held * BigInt(a.pct)) / 100n;
      if (amount === 0n) amount = 1n;
      const tx = f.escrow.connect(customers[p.payer]).requestRefund(p.payment, p.inclusion, amount, a.reason, GAS);
      if (!isHeld(model, p)) {
        await expectRevert(tx, f.escrow, ...notHeld(p));
        return;
      }
      if (hasRequest(p)) {
        await expectRevert(tx, f.escrow, "RefundRequestPending", p.id, p.status);
        return;
      }
      if (amount > held) {
        await expectRevert(tx, f.escrow, "RefundExceedsHeld", p.id, amount, held);
        return;
      }
      const releaseAt = inTranche(model, p) ? trancheOf(model, p).releaseAt : p.releaseAt;
      if (ts >= releaseAt) {
        await expectRevert(tx, f.escrow, "HoldEnded", p.id, releaseAt);
        return;
      }
      if (p.refundRequests >= MAX_REFUND_REQUESTS) {
        await expectRevert(tx, f.escrow, "RefundRequestLimitReached", p.id, p.refundRequests);
        return;
      }
      const respondBy = ts + REFUND_RESPONSE_WINDOW;
      await expect(tx)
        .to.emit(f.escrow, "RefundRequested")
        .withArgs(
          p.id,
          f.merchants[p.merchant].id,
          p.payment.payer,
          p.inclusion.batchId,
          amount,
          a.reason,
          releaseAt - ts,
          respondBy,
        );
      detach(model, p);
      p.refundRequests += 1n;
      p.holdLeft = releaseAt - ts;
      p.releaseAt = 0n;
      p.deadline = respondBy;
      p.status = PaymentStatus.RefundRequested;
      return;
    }

    case "rejectRefundRequest": {
      const p = pickPayment(model, a.pick, a.valid, (q) => q.status === PaymentStatus.RefundRequested);
      if (!p) return skip();
      const ts = await nextTimestamp();
      const tx = f.escrow.connect(f.merchants[p.merchant].owner).rejectRefundRequest(p.payment, GAS);
      if (p.status !== PaymentStatus.RefundRequested) {
        await expectRevert(tx, f.escrow, "NoOpenRefundRequest", p.id, p.status);
        return;
      }
      if (ts >= p.deadline) {
        await expectRevert(tx, f.escrow, "RefundResponseOverdue", p.id, p.deadline);
        return;
      }
      const escalateBy = ts + ESCALATION_WINDOW;
      const resumed = ts + p.holdLeft;
      const releaseAt = resumed > escalateBy ? resumed : escalateBy;
      await expect(tx)
        .to.emit(f.escrow, "RefundRequestRejected")
        .withArgs(p.id, f.merchants[p.merchant].id, p.payment.payer, escalateBy, releaseAt);
      p.releaseAt = releaseAt;
      p.holdLeft = 0n;
      p.deadline = escalateBy;
      p.status = PaymentStatus.RefundRejected;
      return;
    }

    case "escalate": {
      // When `valid`, the other kind of escalation if no payment is in this one's state.
      const wants = (unanswered: boolean) => (q: PaymentModel) =>
        q.status === (unanswered ? PaymentStatus.RefundRequested : PaymentStatus.RefundRejected);
      const unanswered = a.valid && !model.payments.some(wants(a.unanswered)) ? !a.unanswered : a.unanswered;
      const from = unanswered ? PaymentStatus.RefundRequested : PaymentStatus.RefundRejected;
      // Among those, preferably one whose escalation is due (unanswered) or still open (rejected).
      const next = BigInt(await time.latest()) + 1n;
      const timely = (q: PaymentModel) => wants(unanswered)(q) && (unanswered ? q.deadline <= next : q.deadline > next);
      const p = pickPayment(model, a.pick, a.valid, timely) ?? pickPayment(model, a.pick, a.valid, wants(unanswered));
      if (!p) return skip();
      // A valid escalation of an unanswered request waits for its answer to fall due.
      if (a.valid && unanswered && p.status === from && p.deadline > next) await time.increaseTo(p.deadline - 1n);
      const ts = await nextTimestamp();
      const tx = unanswered
        ? f.escrow.connect(f.stranger).escalateUnansweredRefundRequest(p.payment, GAS)
        : f.escrow.connect(customers[p.payer]).escalateRefundRequest(p.payment, GAS);
      const label = unanswered ? "unanswered" : "rejected";
      if (!onOwnTimer(p)) {
        await expectRevert(tx, f.escrow, "NotOnOwnTimer", p.id, p.status);
        return;
      }
      if (p.status !== from) {
        await expectRevert(
          tx,
          f.escrow,
          unanswered ? "NoOpenRefundRequest" : "RefundRequestNotRejected",
          p.id,
          p.status,
        );
        return;
      }
      if (unanswered ? ts < p.deadline : ts >= p.deadline) {
        await expectRevert(
          tx,
          f.escrow,
          unanswered ? "RefundResponseNotDue" : "EscalationWindowClosed",
          p.id,
          p.deadline,
        );
        return;
      }
      const held = p.amount - p.refunded;
      await expect(tx)
        .to.emit(f.escrow, "DisputeOpened")
        .withArgs(p.id, f.merchants[p.merchant].id, p.payment.payer, p.inclusion.batchId, held, ts + DISPUTE_TIMEOUT);
      p.status = PaymentStatus.Disputed;
      p.disputedAt = ts;
      outcome = `ok (${label})`;
      return;
    }

    case "release": {
      // When `valid`, one whose timer has ended if any (else one still running: HoldNotEnded).
      const next = BigInt(await time.latest()) + 1n;
      const releasable = (q: PaymentModel) =>
        q.status === PaymentStatus.Held || q.status === PaymentStatus.RefundRejected;
      const p =
        pickPayment(model, a.pick, a.valid, (q) => releasable(q) && q.releaseAt <= next) ??
        pickPayment(model, a.pick, a.valid, releasable);
      if (!p) return skip();
      // Now and then a valid release waits for the timer to end (else it is refused: HoldNotEnded).
      if (a.valid && a.pick % 3 === 0 && releasable(p) && p.releaseAt > next) await time.increaseTo(p.releaseAt - 1n);
      const ts = await nextTimestamp();
      const tx = f.escrow.connect(f.stranger).release(p.payment, GAS);
      if (!onOwnTimer(p)) {
        await expectRevert(tx, f.escrow, "NotOnOwnTimer", p.id, p.status);
        return;
      }
      if (p.status === PaymentStatus.RefundRequested) {
        await expectRevert(tx, f.escrow, "RefundRequestPending", p.id, p.status);
        return;
      }
      if (ts < p.releaseAt) {
        await expectRevert(tx, f.escrow, "HoldNotEnded", p.id, p.releaseAt);
        return;
      }
      if (suspended[p.merchant]) {
        await expectRevert(tx, f.escrow, "MerchantSuspended", f.merchants[p.merchant].id);
        return;
      }
      const held = p.amount - p.refunded;
      const fe = fee(held, p.recordFeeBps);
      await expect(tx)
        .to.emit(f.escrow, "PaymentReleased")
        .withArgs(p.id, f.merchants[p.merchant].id, held - fe, fe);
      p.status = PaymentStatus.Released;
      p.releasedAt = ts;
      model.released[p.merchant] += held - fe;
      model.fees += fe;
      return;
    }

    case "advance":
      await time.increase(a.seconds);
      return;

    case "settle": {
      const ts = await nextTimestamp();
      const allBatches = Array.from({ length: Number(model.batchCount) }, (_, i) => BigInt(i + 1));
      const entries = f.merchants.map((m, mi) => ({
        merchantId: m.id,
        batchIds: a.onlyReleasable
          ? allBatches.filter((b) => {
              const t = model.tranches.get(key(b, mi));
              return !t || t.settled || t.releaseAt <= ts;
            })
          : allBatches,
      }));
      const tx = f.escrow.connect(f.stranger).settle(entries, GAS);
      // The first unsettled tranche still on hold, in call order, reverts the whole call. A suspended
      // merchant's entry is skipped whole (its tranches and released balance stay).
      for (const [mi, entry] of entries.entries()) {
        if (suspended[mi]) continue;
        for (const b of entry.batchIds) {
          const t = model.tranches.get(key(b, mi));
          if (t && !t.settled && ts < t.releaseAt) {
            await expectRevert(tx, f.escrow, "HoldNotExpired", b, f.merchants[mi].id, t.releaseAt);
            return;
          }
        }
      }
      const expected: { name: string; args: unknown[] }[] = [];
      const payouts: { name: string; args: unknown[] }[] = [];
      for (const [mi, entry] of entries.entries()) {
        if (suspended[mi]) continue;
        let payout = 0n;
        for (const b of entry.batchIds) {
          const t = model.tranches.get(key(b, mi));
          if (!t || t.settled) continue;
          const fe = fee(t.amount, t.feeBps);
          expected.push({ name: "TrancheSettled", args: [b, f.merchants[mi].id, t.amount, fe] });
          payout += t.amount - fe;
          model.fees += fe;
          t.settled = true;
        }
        payout += model.released[mi];
        model.released[mi] = 0n;
        if (payout === 0n) continue;
        const payoutAddress = f.merchants[mi].payout.address;
        if (model.blocked[mi]) {
          payouts.push({ name: "PayoutDeferred", args: [f.merchants[mi].id, payoutAddress, payout] });
          model.claimable[mi] += payout;
          outcome = "ok with a deferred payout";
        } else {
          payouts.push({ name: "MerchantPaid", args: [f.merchants[mi].id, payoutAddress, payout] });
          model.paid[mi] += payout;
        }
      }
      const logs = escrowLogs(f, await receiptOf(tx));
      expect(logs, "settle events").to.deep.equal([...expected, ...payouts]);
      return;
    }

    case "claim": {
      // When `valid`, prefer a merchant with something to claim (and not suspended, if there is one).
      const owedAny = [0, 1, 2].filter((i) => model.claimable[i] > 0n);
      const owedActive = owedAny.filter((i) => !suspended[i]);
      const owed = owedActive.length > 0 ? owedActive : owedAny;
      const mi = a.valid && owed.length > 0 ? owed[a.merchant % owed.length] : a.merchant;
      const m = f.merchants[mi];
      // With `clearFirst`, the token operator first clears a blocklisted payout address.
      if (a.clearFirst && model.blocked[mi]) {
        await f.token.connect(f.admin).unBlocklist(m.payout.address);
        model.blocked[mi] = false;
      }
      await nextTimestamp();
      const tx = f.escrow.connect(f.stranger).claim(m.id, GAS);
      const amount = model.claimable[mi];
      if (suspended[mi]) {
        await expectRevert(tx, f.escrow, "MerchantSuspended", m.id);
      } else if (amount === 0n) {
        await expectRevert(tx, f.escrow, "NothingToClaim", m.id);
      } else if (model.blocked[mi]) {
        await expectRevert(tx, f.token, "AccountBlocklisted", m.payout.address);
      } else {
        await expect(tx).to.emit(f.escrow, "Claimed").withArgs(m.id, m.payout.address, amount);
        model.claimable[mi] = 0n;
        model.paid[mi] += amount;
      }
      return;
    }

    case "collectFees": {
      await nextTimestamp();
      const tx = f.escrow.connect(f.stranger).collectFees(GAS);
      if (model.fees === 0n) {
        await expectRevert(tx, f.escrow, "NothingToClaim", 0n);
      } else {
        await expect(tx).to.emit(f.escrow, "FeesCollected").withArgs(f.feeRecipient.address, model.fees);
        model.collected += model.fees;
        model.fees = 0n;
      }
      return;
    }

    case "blocklist": {
      const payout = f.merchants[a.merchant].payout.address;
      if (model.blocked[a.merchant]) await f.token.connect(f.admin).unBlocklist(payout);
      else await f.token.connect(f.admin).blocklist(payout);
      model.blocked[a.merchant] = !model.blocked[a.merchant];
      return;
    }

    case "suspend": {
      // The registrar suspends (or reactivates) the merchant in the shared registry: every currency's
      // escrow reads it (payBatch, settle, claim, release, late disputes are predicted from it).
      // A suspended merchant is reactivated by the next suspend step, so that suspensions end and
      // settlement resumes within a run (one merchant at most is suspended at a time).
      const frozen = [0, 1, 2].filter((i) => suspended[i]);
      const mi = frozen.length > 0 ? frozen[0] : a.merchant;
      const m = f.merchants[mi];
      const [from, to] = suspended[mi] ? [2n, 1n] : [1n, 2n]; // MerchantStatus: Active 1, Suspended 2
      const tx = suspended[mi]
        ? f.registry.connect(f.registrar).reactivate(m.id)
        : f.registry.connect(f.registrar).suspend(m.id);
      await expect(tx).to.emit(f.registry, "MerchantStatusChanged").withArgs(m.id, from, to);
      suspended[mi] = !suspended[mi];
      outcome = suspended[mi] ? "ok (suspended)" : "ok (reactivated)";
      return;
    }

    case "crossCurrency":
      await crossCurrency(fx, world, cur, a);
      return;
  }
}

/**
 * Submits to currency `cur`'s escrow something signed for the other currency's EIP-712 domain
 * (whose verifyingContract is the other escrow): a payment, the payer's confirmation or the
 * merchant owner's refund of one of `cur`'s payments. Each is refused as a bad signature is
 * (PaymentRejected InvalidSignature, InvalidSigner) and changes nothing in either escrow (the
 * per-step checks compare both with their unchanged models; here the nonce, batch count and the
 * payment's record are compared too).
 */
async function crossCurrency(
  fx: Fixture,
  world: Model,
  cur: number,
  a: Extract<Action, { kind: "crossCurrency" }>,
): Promise<void> {
  const f = fx.currencies[cur];
  const other = fx.currencies[(cur + 1) % fx.currencies.length];
  const model = world.currencies[cur];
  const otherDomain = await domainOf(other);
  // Nothing at all changes in either escrow or token: every storage slot of the four stays as it was.
  const roots = async () => Promise.all(fx.currencies.map(rootsOf));
  const rootsBefore = await roots();
  await refuseCrossCurrency(f, other, otherDomain, world, model, a);
  expect(await roots(), "cross-currency step left every escrow's and token's storage").to.deep.equal(rootsBefore);
}

async function refuseCrossCurrency(
  f: EscrowFixture,
  other: EscrowFixture,
  otherDomain: Awaited<ReturnType<typeof domainOf>>,
  world: Model,
  model: CurrencyModel,
  a: Extract<Action, { kind: "crossCurrency" }>,
): Promise<void> {
  const deadline = BigInt(await time.latest()) + ONE_DAY;
  if (a.what === "payment") {
    const payer = f.customers[a.who];
    // A nonce available in both escrows, so that only the domain can refuse it.
    let nonce = (await f.escrow.nonceWindow(payer.address))[0];
    while (
      !(await f.escrow.isNonceAvailable(payer.address, nonce)) ||
      !(await other.escrow.isNonceAvailable(payer.address, nonce))
    ) {
      nonce += 1n;
    }
    const payment: Payment = {
      payer: payer.address as Address,
      merchantId: f.merchants[a.merchant].id,
      amount: a.amount,
      orderRef: nextOrderRef(),
      nonce,
      validAfter: 0n,
      deadline: deadline + 364n * ONE_DAY,
      hold: MERCHANT_HOLD[a.merchant],
    };
    const signature = (await payer.signTypedData(otherDomain, ethersTypes(paymentTypes), payment)) as Hex;
    await nextTimestamp();
    const tx = f.escrow.connect(f.relayer).payBatch(encodeBatch([{ payment, signature }]), GAS);
    // The merchant's status is read before the signature is checked.
    const reason = world.suspended[a.merchant] ? "MerchantNotActive" : "InvalidSignature";
    outcome = `refused ${reason} (payment)`;
    const logs = escrowLogs(f, await receiptOf(tx));
    expect(logs, "cross-currency payment events").to.deep.equal([
      { name: "PaymentRejected", args: [await idOf(f, payment), payer.address, BigInt(RejectReason[reason])] },
    ]);
    for (const [g, m] of [
      [f, model],
      [other, world.currencies[world.currencies.indexOf(model) === 0 ? 1 : 0]],
    ] as const) {
      expect(await g.escrow.isNonceAvailable(payer.address, nonce), "cross-currency payment's nonce unused").to.equal(
        true,
      );
      expect(await g.escrow.batchCount(), "no batch for a cross-currency payment").to.equal(m.batchCount);
    }
    return;
  }
  // A payment of this currency, in any state: the signature is checked before the payment's state.
  if (model.payments.length === 0) return skip();
  const p = model.payments[a.pick % model.payments.length];
  const before = await f.escrow.paymentRecord(p.id);
  let tx: Promise<unknown>;
  let signer: string;
  if (a.what === "confirmation") {
    const payer = f.customers[p.payer];
    signer = payer.address;
    const message = { paymentId: p.id, deadline };
    const signature = await payer.signTypedData(otherDomain, ethersTypes(confirmationTypes), message);
    await nextTimestamp();
    tx = f.escrow.connect(f.relayer).confirmWithSignature(p.payment, p.inclusion, deadline, signature, GAS);
  } else {
    const owner = f.merchants[p.merchant].owner;
    signer = owner.address;
    // Within what the payment still holds when it is held: only the domain is wrong.
    const totalRefund = p.refunded + (p.amount - p.refunded + 1n) / 2n;
    const message = { paymentId: p.id, totalRefund, deadline };
    const signature = await owner.signTypedData(otherDomain, ethersTypes(refundTypes), message);
    await nextTimestamp();
    tx = f.escrow.connect(f.relayer).refundWithSignature(p.payment, p.inclusion, totalRefund, deadline, signature, GAS);
  }
  await expectRevert(tx, f.escrow, "InvalidSigner", signer);
  outcome = `refused InvalidSigner (${a.what})`;
  expect(await f.escrow.paymentRecord(p.id), "cross-currency signature left the record").to.deep.equal(before);
}

const sum = (xs: bigint[]) => xs.reduce((s, x) => s + x, 0n);

/** The checks after every step, in every currency: a step in one must leave the other exactly as modelled too. */
/** A currency's state as last checked: its contracts' storage roots and its model's fingerprint. */
type Checked = { roots: string; model: string } | undefined;

/**
 * The storage roots of a currency's escrow and token (eth_getProof). The per-step checks read only
 * these two contracts' storage (their code is immutable), so equal roots give equal reads.
 */
async function rootsOf(f: EscrowFixture): Promise<string> {
  const proofs = await Promise.all(
    [f.escrow.target, f.token.target].map((a) => ethers.provider.send("eth_getProof", [a, [], "latest"])),
  );
  return proofs.map((p: { storageHash: string }) => p.storageHash).join(":");
}

const fingerprint = (model: CurrencyModel): string =>
  JSON.stringify(model, (_, v: unknown) =>
    typeof v === "bigint" ? v.toString() : v instanceof Map ? [...(v as Map<string, unknown>).entries()] : v,
  );

/**
 * The checks after every step, in every currency. A currency whose escrow and token storage and whose
 * model are exactly as when it last passed them (the other currency's step, a refused call, a time
 * advance) would give the same reads against the same model: it passes them again without the reads.
 * Any change in either side (a step leaking into the other currency included) runs them in full.
 */
async function checkEveryCurrency(fx: Fixture, model: Model, where: string, last: Checked[]): Promise<void> {
  for (const [c, f] of fx.currencies.entries()) {
    const now = { roots: await rootsOf(f), model: fingerprint(model.currencies[c]) };
    if (last[c]?.roots === now.roots && last[c]?.model === now.model) continue;
    checkAfterStep(f, model.currencies[c], await readState(f, model.currencies[c]), `${where}, ${CURRENCIES[c]}`);
    last[c] = now;
  }
}

/** What the per-step checks read from one currency's escrow and token (the tranches the model holds unsettled). */
async function readState(f: EscrowFixture, model: CurrencyModel) {
  const escrowAddress = String(f.escrow.target);
  const unsettled = [...model.tranches.values()].filter((t) => !t.settled);
  const [l, escrowTokens, escrowBalances, wallets, merchantBalances, payoutWallets, feeWallet, chainTranches] =
    await Promise.all([
      liabilitiesOf(f.escrow),
      f.token.balanceOf(escrowAddress),
      Promise.all(f.customers.map((c) => f.escrow.balanceOf(c.address))),
      Promise.all(f.customers.map((c) => f.token.balanceOf(c.address))),
      Promise.all(f.merchants.map((m) => f.escrow.merchantBalances(m.id))),
      Promise.all(f.merchants.map((m) => f.token.balanceOf(m.payout.address))),
      f.token.balanceOf(f.feeRecipient.address),
      Promise.all(unsettled.map((t) => f.escrow.tranche(t.batchId, f.merchants[t.merchant].id))),
    ]);
  return { l, escrowTokens, escrowBalances, wallets, merchantBalances, payoutWallets, feeWallet, chainTranches };
}

/** The checks run after every step on one currency's escrow and token (see the header). */
function checkAfterStep(
  f: EscrowFixture,
  model: CurrencyModel,
  state: Awaited<ReturnType<typeof readState>>,
  where: string,
): void {
  const { l, escrowTokens, escrowBalances, wallets, merchantBalances, payoutWallets, feeWallet, chainTranches } = state;

  // 1. The invariant.
  const owed = l.customerBalances + l.held + l.disputed + l.released + l.claimable + l.fees;
  expect(escrowTokens, `${where}: token balance == sum of liabilities`).to.equal(owed);

  // 2. Buckets. The model's held total is checked two ways: tranches plus payments on their own
  // timer, and every held payment; then against the chain's own tranches plus those payments.
  const unsettled = [...model.tranches.values()].filter((t) => !t.settled);
  const heldByTranches = sum(unsettled.map((t) => t.amount));
  const heldOnOwnTimers = sum(model.payments.filter(onOwnTimer).map((p) => p.amount - p.refunded));
  const heldByPayments = sum(model.payments.filter((p) => isHeld(model, p)).map((p) => p.amount - p.refunded));
  const heldInTranches = sum(model.payments.filter((p) => inTranche(model, p)).map((p) => p.amount - p.refunded));
  expect(heldByTranches, `${where}: model self-check (tranches vs their payments)`).to.equal(heldInTranches);
  expect(heldByTranches + heldOnOwnTimers, `${where}: model self-check (held)`).to.equal(heldByPayments);
  // A payment on its own timer is in held exactly once: its tranche on chain no longer counts it.
  expect(
    sum(chainTranches.map((t) => t.amount)) + heldOnOwnTimers,
    `${where}: on-chain tranches + payments on their own timer == held`,
  ).to.equal(l.held);
  const disputed = sum(
    model.payments.filter((p) => p.status === PaymentStatus.Disputed).map((p) => p.amount - p.refunded),
  );
  expect(l, `${where}: liabilities buckets`).to.deep.equal({
    customerBalances: sum(model.balance),
    held: heldByTranches + heldOnOwnTimers,
    disputed,
    released: sum(model.released),
    claimable: sum(model.claimable),
    fees: model.fees,
  });

  // 3 and 4. Customers.
  for (let c = 0; c < f.customers.length; c++) {
    expect(escrowBalances[c], `${where}: escrow balance of customer ${c}`).to.equal(model.balance[c]);
    expect(wallets[c], `${where}: wallet of customer ${c}`).to.equal(model.wallet[c]);
    const mine = model.payments.filter((p) => p.payer === c);
    const inFlightSum = sum(mine.map((p) => inFlight(model, p)));
    const toMerchants = sum(mine.map((p) => toMerchant(model, p)));
    expect(
      wallets[c] + escrowBalances[c] + inFlightSum + toMerchants,
      `${where}: conservation for customer ${c}`,
    ).to.equal(model.minted[c]);
  }

  // 5. Global conservation: every minted token is in exactly one place.
  expect(sum(wallets) + escrowTokens + sum(payoutWallets) + feeWallet, `${where}: global conservation`).to.equal(
    sum(model.minted),
  );
  expect(feeWallet, `${where}: fee recipient`).to.equal(model.collected);

  // 6. Merchants.
  for (let m = 0; m < f.merchants.length; m++) {
    expect(
      [merchantBalances[m][0], merchantBalances[m][1]],
      `${where}: merchant ${m} released/claimable`,
    ).to.deep.equal([model.released[m], model.claimable[m]]);
    expect(payoutWallets[m], `${where}: payout wallet of merchant ${m}`).to.equal(model.paid[m]);
  }
}

/** End of run: every tranche and payment record on chain matches the model. */
async function checkStorage(f: EscrowFixture, model: CurrencyModel, code: string): Promise<void> {
  expect(await f.escrow.batchCount(), `${code} batch count`).to.equal(model.batchCount);
  for (const t of model.tranches.values()) {
    const onChain = await f.escrow.tranche(t.batchId, f.merchants[t.merchant].id);
    const want = t.settled ? [0n, 0n, 0n] : [t.amount, t.releaseAt, t.feeBps];
    expect(
      [onChain.amount, onChain.releaseAt, onChain.feeBps],
      `${code} tranche ${key(t.batchId, t.merchant)}`,
    ).to.deep.equal(want);
  }
  for (const p of model.payments) {
    const r = await f.escrow.paymentRecord(p.id);
    expect(
      [
        r.status,
        r.disputedAt,
        r.feeBps,
        r.refunded,
        r.disputeExpiresAt,
        r.releaseAt,
        r.holdLeft,
        r.deadline,
        r.extensions,
        r.refundRequests,
        r.batchId,
      ],
      `${code} record of ${p.id}`,
    ).to.deep.equal([
      BigInt(p.status),
      p.disputedAt,
      p.recordFeeBps,
      p.refunded,
      // Fixed when the dispute opens; the timeout never changes in these runs.
      p.disputedAt === 0n ? 0n : p.disputedAt + DISPUTE_TIMEOUT,
      p.releaseAt,
      p.holdLeft,
      p.deadline,
      p.extensions,
      p.refundRequests,
      p.recordBatchId,
    ]);
    // Nothing was released before its release time (a release keeps the record's release time).
    if (p.status === PaymentStatus.Released) {
      expect(p.releasedAt >= r.releaseAt && r.releaseAt > 0n, `release of ${p.id} at ${p.releasedAt}`).to.equal(true);
    }
  }
}

/**
 * Runs `runs` sequences of `actions` on fresh state, checking after every step and the storage at
 * the end; prints the outcome summary; with the default seed, every `required` outcome must occur.
 */
async function runProperty(
  actions: fc.Arbitrary<Drawn[]>,
  runs: number,
  required: readonly string[],
  requiredInEach: readonly string[],
  reproduce: string,
): Promise<void> {
  const outcomes = new Map<string, number>();
  let steps = 0;
  const perCurrency = CURRENCIES.map(() => new Map<string, number>());
  const property = fc.asyncProperty(actions, async (list) => {
    const fx = await loadFixture(propertyFixture);
    const model = newModel();
    const last: Checked[] = CURRENCIES.map(() => undefined);
    await checkEveryCurrency(fx, model, "initial", last);
    for (const [i, drawn] of list.entries()) {
      const { action } = drawn;
      outcome = "ok";
      const cur = await step(fx, model, drawn.cur, action);
      steps++;
      const label = `${action.kind}: ${outcome}`;
      outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
      perCurrency[cur].set(label, (perCurrency[cur].get(label) ?? 0) + 1);
      await checkEveryCurrency(fx, model, `step ${i} (${action.kind} in ${CURRENCIES[cur]})`, last);
    }
    for (const [c, f] of fx.currencies.entries()) await checkStorage(f, model.currencies[c], CURRENCIES[c]);
  });
  try {
    await fc.assert(property, {
      seed: SEED,
      numRuns: runs,
      interruptAfterTimeLimit: 10 * 60_000,
      markInterruptAsFailure: true,
    });
  } catch (error) {
    console.error(`fast-check property failed; reproduce with ${reproduce}`);
    throw error;
  }
  console.log(`      ${steps} steps; outcomes:`);
  for (const [label, count] of [...outcomes.entries()].sort()) console.log(`        ${label}: ${count}`);
  // The default-seed runs must reach the interesting paths, or the property proves little (this guards
  // against the arbitraries degenerating after an edit). Other seeds only print the summary.
  const missing = SEED !== DEFAULT_SEED ? [] : required.filter((label) => (outcomes.get(label) ?? 0) === 0);
  expect(missing, "required outcomes no step reached").to.deep.equal([]);
  // Each currency must see its own payments, settlements and refusals, not ride on the other's.
  for (const [c, counts] of perCurrency.entries()) {
    const absent = SEED !== DEFAULT_SEED ? [] : requiredInEach.filter((label) => (counts.get(label) ?? 0) === 0);
    expect(absent, `required outcomes no step reached in ${CURRENCIES[c]}`).to.deep.equal([]);
  }
}

describe("PaymentEscrow stateful property: model vs chain after every step", function () {
  it(`keeps balance == liabilities, the model's buckets and per-account conservation (${RUNS} runs, seed ${SEED})`, async function () {
    this.timeout(15 * 60_000);
    await runProperty(
      fc.array(inCurrency(actionArb), { minLength: 45, maxLength: 55 }),
      RUNS,
      [
        "payBatch: ok",
        "confirm: ok",
        "refund: ok",
        "openDispute: ok",
        "resolveDispute: ok",
        "settle: ok",
        "settle: ok with a deferred payout",
        "claim: ok",
        "collectFees: ok",
        "withdraw: revert InsufficientBalance",
        "settle: revert HoldNotExpired",
        "extendHold: ok",
        "requestRefund: ok",
        "release: ok",
        "suspend: ok (suspended)",
        "suspend: ok (reactivated)",
        "payBatch: ok with a suspended merchant's payment rejected",
        "claim: revert MerchantSuspended",
        "crossCurrency: refused InvalidSignature (payment)",
        "crossCurrency: refused InvalidSigner (confirmation)",
        "crossCurrency: refused InvalidSigner (refund)",
      ],
      [
        "payBatch: ok",
        "confirm: ok",
        "refund: ok",
        "settle: ok",
        "collectFees: ok",
        "crossCurrency: refused InvalidSigner (refund)",
      ],
      `FC_SEED=${SEED} FC_RUNS=${RUNS}`,
    );
  });

  // The order timer's paths need a request to be open, rejected or overdue, or a timer to end, before
  // the next step can take them: a mix weighted towards them reaches every one in few runs.
  it(`order timers: the same checks on a mix weighted towards them (${TIMER_RUNS} runs, seed ${SEED})`, async function () {
    this.timeout(15 * 60_000);
    await runProperty(
      fc.array(inCurrency(timerActionArb), { minLength: 25, maxLength: 35 }),
      TIMER_RUNS,
      [
        "extendHold: ok",
        "extendHold: revert ExtensionOutOfRange",
        "requestRefund: ok",
        "rejectRefundRequest: ok",
        "refund: ok answering a request in part (clock resumed)",
        "refund: ok answering a request in full",
        "escalate: ok (rejected)",
        "escalate: ok (unanswered)",
        "release: ok",
        "release: revert HoldNotEnded",
        "confirm: ok on its own timer",
        "settle: ok",
      ],
      ["payBatch: ok", "requestRefund: ok", "rejectRefundRequest: ok", "escalate: ok (unanswered)"],
      `FC_SEED=${SEED} FC_TIMER_RUNS=${TIMER_RUNS}`,
    );
  });
});
