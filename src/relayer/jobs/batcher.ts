/**
 * Batcher: turns accepted payments into batches the submitter sends.
 *
 * It closes a batch when enough accepted payments are waiting (batchMaxSize) or the oldest has
 * waited batchMaxAgeMs. A tick that cannot close one costs a look at the oldest row (and, while it
 * is young, a count of at most one batch's rows), no chain read: the batcher ticks often and intake
 * shares the store. For each batch it closes it lists the oldest payments one batch needs (more
 * when the simulation drops many), marks those past their deadline expired (so a deadline passed
 * in the queue is noticed when a batch next closes), and builds the batch from the rest.
 * A batch is ordered by merchant (the escrow funds one tranche per merchant run, so grouping saves a
 * tranche write per run) and takes one hold per merchant: the escrow funds one tranche per (batch,
 * merchant) with one release time and reverts a batch whose merchant runs ask two holds
 * (ConflictingHold), so a merchant's payments with another hold than its oldest waiting one wait
 * for a later batch (src/protocol/batch.ts planBatch). It is sized under the gas budget with a measured per-payment cost (checked
 * with eth_estimateGas only when a payment's wallet contract decides its gas, see modelBounded),
 * and simulated item by item (./precheck.ts): items the escrow would reject are marked rejected
 * with the escrow's reason instead of being sent.
 *
 * While a built batch waits for the submitter no new one is built, so that the pending-block views
 * the simulation reads always include every earlier batch.
 */
import { isOneOff, planBatch } from "../../protocol";
import { BatchState, PaymentState, SignatureKind, type Hex, type PaymentRecord, type RejectReason } from "../domain";
import { DEFAULTS, type RelayerConfig } from "../config";
import type { RelayerStore } from "../store/types";
import type { ChainClient } from "../chain/client";
import { encodePayBatch } from "../chain/calldata";
import { TX_GAS_LIMIT_CAP } from "../chain/fees";
import { NO_LEDGER, type LedgerListener } from "../ledger/listener";
import { enqueuePaymentEvents } from "../webhooks/events";
import type { BuiltBatchRecords } from "./builtBatches";
import { ChainSnapshot, type BatchAccountSource } from "./precheck";
import { reportOnCommit, writePaymentChanges, type PaymentStateChange } from "./paymentChanges";
import { systemClock, type Clock } from "../runtime/clock";
import { errorMessage, silentLogger, type Logger } from "../runtime/log";
import { Job, type JobMetrics } from "./job";

/**
 * Gas model of payBatch, an upper bound of eth_estimateGas measured on the in-process network by
 * test/relayer/jobs/batcher.test.ts with distinct payers (cold account slots): a cost per
 * payment (calldata, EIP-712 hash, ecrecover, one packed account write, PaymentEscrowed), per
 * merchant run (registry read, tranche write, TrancheFunded) and a fixed part (intrinsic gas, the
 * batch's root, counter, totals and BatchEscrowed). Rounded up so the model stays above the node;
 * `npm run bench:gas` prints the measured figures.
 */
export const PAY_BATCH_GAS = { base: 80_000n, perPayment: 17_000n, perMerchantRun: 30_000n } as const;

/**
 * What payBatch needs on hand before a contract wallet's ERC-1271 check, else it rejects the item
 * InsufficientGas (contracts/libraries/BoundedSignature.sol, PaymentEscrow's BATCH_FINISH_GAS*): the
 * wallet's 100,000-gas budget under the 63/64 rule (ERC1271_GAS_NEEDED, rounded up) per item, and once
 * a reserve for finishing the batch (100,000 + 200 per item). An estimate prices a wallet at what it
 * burnt then (or skipped it); a wallet that burns its whole budget when mined must not sink the batch.
 */
export const CONTRACT_SIGNATURE_GAS = { perItem: 102_100n, finish: 100_000n, finishPerItem: 200n } as const;

/** Gas to add to a payBatch's limit for `contractSigned` ERC-1271 items in a batch of `batchSize`. */
export function contractSignatureGas(contractSigned: number, batchSize: number): bigint {
  if (contractSigned === 0) return 0n;
  return (
    BigInt(contractSigned) * CONTRACT_SIGNATURE_GAS.perItem +
    CONTRACT_SIGNATURE_GAS.finish +
    BigInt(batchSize) * CONTRACT_SIGNATURE_GAS.finishPerItem
  );
}

/** {@link contractSignatureGas} of a batch: every payment not known to be ECDSA-signed counts. */
export function contractSignatureGasOf(payments: readonly PaymentRecord[]): bigint {
  const contractSigned = payments.filter((p) => p.signatureKind !== SignatureKind.Ecdsa).length;
  return contractSignatureGas(contractSigned, payments.length);
}

/**
 * `limit` (from an estimate) plus the payments' {@link contractSignatureGasOf}, never above EIP-7825's
 * cap: a capped batch at worst has its wallets' items skipped as InsufficientGas, never sunk.
 */
export function withContractSignatureGas(limit: bigint, payments: readonly PaymentRecord[]): bigint {
  const extra = contractSignatureGasOf(payments);
  if (extra === 0n) return limit;
  const cap = limit > TX_GAS_LIMIT_CAP ? limit : TX_GAS_LIMIT_CAP;
  return limit + extra < cap ? limit + extra : cap;
}

/**
 * Gas limit model of payBatchWithAuthorization (one-off payments). Never an estimate: an item the
 * gas left cannot cover is skipped (InsufficientGas), not reverted, so eth_estimateGas finds a
 * limit that skips items. The limit covers, per payment, its share of the batch (the token's
 * receiveWithAuthorization, its events and tranche share, rounded well up) and for an ERC-1271
 * payer its wallet's whole check budget (the token call's cap); and once what the escrow requires
 * on hand before the last item: the token call's cap under the 63/64 rule (ONE_OFF_ITEM_GAS_NEEDED)
 * and the batch's finishing reserve (ONE_OFF_FINISH_GAS + 200 per item), as in CustomerFunds.sol.
 */
export const ONE_OFF_BATCH_GAS = {
  base: 80_000n,
  perPayment: 75_000n,
  perMerchantRun: 30_000n,
  contractWallet: 160_000n,
  itemCallNeeded: (160_000n * 64n) / 63n + 2_000n,
  finish: 110_000n,
  finishPerItem: 200n,
} as const;

/** The gas limit of a one-off batch of `payments` in `runs` merchant runs, `contractSigned` of them ERC-1271. */
export function oneOffModelGas(payments: number, runs: number, contractSigned: number): bigint {
  const g = ONE_OFF_BATCH_GAS;
  return (
    g.base +
    BigInt(payments) * (g.perPayment + g.finishPerItem) +
    BigInt(runs) * g.perMerchantRun +
    BigInt(contractSigned) * g.contractWallet +
    g.itemCallNeeded +
    g.finish
  );
}

/** {@link oneOffModelGas} of a built one-off batch. */
export function oneOffBatchGas(payments: readonly PaymentRecord[]): bigint {
  const contractSigned = payments.filter((p) => p.signatureKind !== SignatureKind.Ecdsa).length;
  return oneOffModelGas(payments.length, merchantRuns(payments), contractSigned);
}

/** Batches built per tick at most (the rest waits for the next tick). */
const MAX_BATCHES_PER_TICK = 8;
/** Extra candidates read beyond one batch's size, to replace the items the simulation drops. */
const LOAD_SLACK = 1.25;

/** True when the model can bound the batch's gas: every payment ECDSA-signed (see SignatureKind). */
export function modelBounded(payments: readonly PaymentRecord[]): boolean {
  return payments.every((p) => p.signatureKind === SignatureKind.Ecdsa);
}

/**
 * Whether PAY_BATCH_GAS bounds payBatch on the chain the relayer talks to. The model was measured on
 * the deployed bytecode; other bytecode (solidity-coverage's instrumented escrow, a future version)
 * costs more. So it is trusted only after the node has estimated one ECDSA-signed batch at or under
 * it, and never again once an estimate came out above it: until then every batch is estimated.
 */
export class PayBatchGasModel {
  private holds: boolean | null = null;

  /** True when `payments` can be sent with the model's limit, without eth_estimateGas. */
  bounds(payments: readonly PaymentRecord[]): boolean {
    return this.holds === true && modelBounded(payments);
  }

  /** Checks the model against the node's estimate of a batch of `payments` in `merchantRuns` runs. */
  observe(payments: readonly PaymentRecord[], merchantRuns: number, estimate: bigint): void {
    if (!modelBounded(payments)) return;
    if (estimate > modelGas(payments.length, merchantRuns)) this.holds = false;
    else this.holds ??= true;
  }
}

/**
 * Contiguous runs of one merchant and hold in a batch (what the escrow reads terms and funds a
 * tranche write for; encodeBatch starts a run at each change of either).
 */
export function merchantRuns(payments: readonly PaymentRecord[]): number {
  let runs = 0;
  for (let i = 0; i < payments.length; i++)
    if (i === 0 || payments[i].merchantId !== payments[i - 1].merchantId || payments[i].hold !== payments[i - 1].hold)
      runs++;
  return runs;
}

export function modelGas(payments: number, merchantRuns: number): bigint {
  return (
    PAY_BATCH_GAS.base +
    BigInt(payments) * PAY_BATCH_GAS.perPayment +
    BigInt(merchantRuns) * PAY_BATCH_GAS.perMerchantRun
  );
}

export interface BatcherOptions {
  store: RelayerStore;
  chain: ChainClient;
  config: Pick<RelayerConfig, "batchMaxSize" | "batchMaxAgeMs" | "pollIntervalMs">;
  clock?: Clock;
  logger?: Logger;
  metrics?: JobMetrics;
  /** Default DEFAULTS.batchGasBudget. */
  gasBudget?: bigint;
  /** Told of the payment state changes it commits (default: nobody). */
  ledger?: LedgerListener;
  /** Payer accounts for the pre-send simulation without chain reads (the intake ledger). */
  batchAccounts?: BatchAccountSource;
  /** Shared with the submitter, which sends model-bound batches without an estimate either. */
  gasModel?: PayBatchGasModel;
  /** Where the payments of each batch built are left for the submitter (default: nowhere). */
  builtBatches?: BuiltBatchRecords;
}

export interface BuiltBatch {
  key: number;
  paymentIds: Hex[];
  merchants: number;
  estimatedGas: bigint | null;
  rejected: number;
}

interface Selection {
  included: PaymentRecord[];
  rejected: { payment: PaymentRecord; reason: RejectReason }[];
  /** Stopped by the size or the gas budget (more candidates would not change it). */
  full: boolean;
}

export class Batcher extends Job {
  private readonly store: RelayerStore;
  private readonly chain: ChainClient;
  private readonly config: BatcherOptions["config"];
  private readonly clock: Clock;
  private readonly gasBudget: bigint;
  private readonly ledger: LedgerListener;
  private readonly batchAccounts?: BatchAccountSource;
  private readonly gasModel: PayBatchGasModel;
  private readonly builtBatches?: BuiltBatchRecords;
  /** Batches built by the last tick (for logs and tests). */
  lastBuilt: BuiltBatch[] = [];

  constructor(options: BatcherOptions) {
    super("batcher", options.logger ?? silentLogger, options.metrics);
    this.store = options.store;
    this.chain = options.chain;
    this.config = options.config;
    this.clock = options.clock ?? systemClock;
    this.gasBudget = options.gasBudget ?? DEFAULTS.batchGasBudget;
    this.ledger = options.ledger ?? NO_LEDGER;
    this.batchAccounts = options.batchAccounts;
    this.gasModel = options.gasModel ?? new PayBatchGasModel();
    this.builtBatches = options.builtBatches;
  }

  protected intervalMs(): number {
    return this.config.pollIntervalMs;
  }

  protected async run(): Promise<void> {
    this.lastBuilt = [];
    if ((await this.store.batches.listByState([BatchState.Built])).length > 0) return;
    const maxSize = Math.max(1, this.config.batchMaxSize);
    const now = this.clock.now();
    const oneBatch = Math.ceil(maxSize * LOAD_SLACK);
    const maxListing = Math.max(oneBatch, maxSize * MAX_BATCHES_PER_TICK);

    // Most ticks close nothing: find that out from the oldest row, and at most one batch's worth
    // of rows when only the size can close one, before any chain read.
    const [oldest] = await this.store.payments.listByState(PaymentState.Accepted, 1);
    if (!oldest) return;
    let listed: PaymentRecord[] | null = null;
    if (now - oldest.createdAt < this.config.batchMaxAgeMs) {
      listed = await this.store.payments.listByState(PaymentState.Accepted, oneBatch);
      if (listed.length < maxSize) return;
    }

    const snapshot = new ChainSnapshot(this.chain, await this.chain.chainTime(), this.batchAccounts);
    let window = oneBatch;
    while (this.lastBuilt.length < MAX_BATCHES_PER_TICK) {
      // Listed afresh for each batch: what earlier batches took is no longer accepted.
      const queued = listed ?? (await this.store.payments.listByState(PaymentState.Accepted, window));
      listed = null;
      // Rows past the listing may exist (those in front are not ready, or were dropped).
      const more = queued.length >= window && window < maxListing;
      const expired = queued.filter((p) => p.deadline <= snapshot.chainTime);
      await this.expire(expired, now);
      // Not yet valid: left waiting (the escrow would reject it now, it may pass later).
      const waiting = queued.filter((p) => p.deadline > snapshot.chainTime && p.validAfter <= snapshot.chainTime);
      const closes =
        waiting.length >= maxSize || (waiting.length > 0 && now - waiting[0].createdAt >= this.config.batchMaxAgeMs);
      if (!closes) {
        if (expired.length > 0) continue;
        if (!more) return;
        window = Math.min(maxListing, window * 2);
        continue;
      }
      // One-off payments go to payBatchWithAuthorization batches, the others to payBatch: a batch
      // holds the kind of the oldest waiting payment.
      const oneOff = isOneOff(waiting[0]);
      const kind = waiting.filter((p) => isOneOff(p) === oneOff);
      const outcome = await this.buildOne(groupByMerchant(kind), snapshot, maxSize, now, more);
      if (outcome === "nothing") return;
      if (outcome === "needs_more") window = Math.min(maxListing, window * 2);
      else window = oneBatch;
    }
  }

  /** Marks payments past their deadline expired (the escrow would reject them). */
  private async expire(expired: PaymentRecord[], now: number): Promise<void> {
    if (expired.length === 0) return;
    await this.store.transaction(() =>
      writePaymentChanges(
        this.store,
        expired.map((payment) => ({ payment, state: PaymentState.Expired, fields: { rejectReason: "expired" } })),
        now,
        this.ledger,
      ),
    );
    this.log.info({ count: expired.length }, "payments expired before they could be batched");
  }

  /**
   * Builds one batch from the front of `ordered`: simulates items in order, keeps those the escrow
   * would accept up to the size and gas limits, and stores the batch with the rejections. When the
   * simulation dropped so many that `ordered` runs out before the batch is full and `more` rows are
   * waiting past it, builds nothing and asks for a longer listing instead.
   */
  private async buildOne(
    ordered: PaymentRecord[],
    snapshot: ChainSnapshot,
    maxSize: number,
    now: number,
    more: boolean,
  ): Promise<"built" | "nothing" | "needs_more"> {
    let candidates = ordered.slice(0, Math.ceil(maxSize * LOAD_SLACK));
    await snapshot.load(candidates);
    let limit = maxSize;
    let { included, rejected, full } = this.select(candidates, snapshot, limit);
    // The simulation dropped many: read further candidates.
    while (!full && candidates.length < ordered.length) {
      const next = ordered.slice(0, candidates.length + maxSize);
      await snapshot.load(next.slice(candidates.length));
      candidates = next;
      ({ included, rejected, full } = this.select(candidates, snapshot, limit));
    }
    if (!full && more) return "needs_more";

    // ECDSA-signed payments cost at most what the model says (it was selected under the budget by
    // it); only a batch with ERC-1271 payers (or rows stored before intake recorded the kind) asks
    // the node, whose estimate executes the whole batch once more.
    let estimatedGas: bigint | null = null;
    const oneOff = included.length > 0 && isOneOff(included[0]);
    for (let attempt = 0; included.length > 0 && !oneOff && !this.gasModel.bounds(included) && attempt < 3; attempt++) {
      estimatedGas = await this.estimate(included);
      if (estimatedGas !== null) this.gasModel.observe(included, merchantRuns(included), estimatedGas);
      // The limit it will be sent with carries every wallet's full check budget as well.
      const needed = estimatedGas === null ? null : estimatedGas + contractSignatureGasOf(included);
      if (needed === null || needed <= this.gasBudget) break;
      // The model under-estimated (e.g. ERC-1271 payers): shrink in proportion and check again.
      limit = Math.max(1, Math.floor(((included.length * Number(this.gasBudget)) / Number(needed)) * 0.95));
      this.log.warn({ estimatedGas, items: included.length, limit }, "batch over the gas budget; shrinking");
      ({ included, rejected } = this.select(candidates, snapshot, limit));
    }

    if (included.length === 0 && rejected.length === 0) return "nothing";
    const trial = snapshot.trial([...included, ...rejected.map((r) => r.payment)]);

    let written: PaymentRecord[] = [];
    const key = await this.store.transaction(async () => {
      await writePaymentChanges(
        this.store,
        rejected.map((r) => ({ payment: r.payment, state: PaymentState.Rejected, fields: { rejectReason: r.reason } })),
        now,
        this.ledger,
      );
      if (included.length === 0) return null;
      const batch = await this.store.batches.create(
        included.map((p) => p.id),
        estimatedGas,
      );
      const batched: PaymentStateChange[] = [];
      for (const p of included) {
        const after = { ...p, state: PaymentState.Batched, batchKey: batch.key, updatedAt: batch.updatedAt };
        batched.push({ before: p.state, after });
      }
      written = batched.map((b) => b.after);
      await enqueuePaymentEvents(
        this.store,
        batched.map((b) => ({ payment: b.after })),
        now,
      );
      reportOnCommit(this.store, this.ledger, batched);
      return batch.key;
    });
    snapshot.commit(trial);
    if (key !== null) this.builtBatches?.remember(key, written);

    if (rejected.length > 0) {
      this.log.info(
        { rejected: rejected.map((r) => ({ id: r.payment.id, reason: r.reason })) },
        "simulation dropped payments the escrow would reject",
      );
    }
    if (key !== null) {
      const merchants = new Set(included.map((p) => p.merchantId)).size;
      this.lastBuilt.push({
        key,
        paymentIds: included.map((p) => p.id),
        merchants,
        estimatedGas,
        rejected: rejected.length,
      });
      this.log.info({ batch: key, size: included.length, merchants, estimatedGas }, "batch built");
    }
    return "built";
  }

  /**
   * Walks `candidates` in order through the simulation: rejected items are collected, accepted
   * ones included until the batch holds `maxSize` or the next one would cross the gas budget
   * (by the model; eth_estimateGas checks the result).
   */
  private select(candidates: PaymentRecord[], snapshot: ChainSnapshot, maxSize: number): Selection {
    const { verdicts } = snapshot.trial(candidates);
    const included: PaymentRecord[] = [];
    const rejected: Selection["rejected"] = [];
    const merchants = new Set<bigint>();
    let contractSigned = 0;
    for (let i = 0; i < candidates.length; i++) {
      if (included.length >= maxSize) return { included, rejected, full: true };
      const p = candidates[i];
      const verdict = verdicts[i];
      if (!verdict.ok) {
        rejected.push({ payment: p, reason: verdict.reason });
        continue;
      }
      const runs = merchants.size + (merchants.has(p.merchantId) ? 0 : 1);
      const contracts = contractSigned + (p.signatureKind === SignatureKind.Ecdsa ? 0 : 1);
      const gas = isOneOff(p)
        ? oneOffModelGas(included.length + 1, runs, contracts)
        : modelGas(included.length + 1, runs) + contractSignatureGas(contracts, included.length + 1);
      if (gas > this.gasBudget) return { included, rejected, full: true };
      merchants.add(p.merchantId);
      contractSigned = contracts;
      included.push(p);
    }
    return { included, rejected, full: included.length >= maxSize };
  }

  private async estimate(payments: PaymentRecord[]): Promise<bigint | null> {
    try {
      return await this.chain.estimateGas(this.chain.addresses.escrow, encodePayBatch(payments));
    } catch (error) {
      // payBatch does not revert on bad items; a failed estimate is the node's problem. The
      // submitter estimates again (and falls back to the model) when it sends.
      this.log.warn({ err: errorMessage(error) }, "payBatch gas estimate failed");
      return null;
    }
  }
}

/**
 * The candidates of one batch: payments ordered by merchant, merchants by their oldest payment,
 * each merchant's payments oldest first, so one run per merchant and the oldest waiting payment
 * always in the first batch. Each merchant's run takes the hold of its oldest payment; its payments
 * with another hold are left out, for a later batch (one hold per merchant per batch, see planBatch).
 */
export function groupByMerchant(payments: PaymentRecord[]): PaymentRecord[] {
  const sorted = [...payments].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  return planBatch(sorted).included;
}
