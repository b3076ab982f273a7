import { ApiError, isApiError } from "../errors";
import { acceptedPayment, SignatureKind, type Hex, type PaymentRecord, type PaymentRequestRecord } from "../domain";
import type { GuardedInsertOutcome, RelayerStore } from "../store/types";
import type { RelayerMetrics } from "../runtime/metrics";
import type { PayerAccounts } from "../ledger/payerAccounts";
import {
  MERCHANT_STATUS_NAMES,
  MerchantStatus,
  ONE_OFF_NONCE,
  bytesToHex,
  hexToBytes,
  oneOffAuthorization,
  receiveAuthorizationDigest,
  type AuthorizationMessage,
  type Payment,
} from "../../protocol";
import type { ChainView } from "../chain/chainView";
import type { EscrowDigester } from "../../protocol/digest";
import type { GroupCommitWriter } from "./groupCommit";
import type { PaymentRecovery } from "./signaturePool";
import { KeyedMutex } from "../runtime/keyedMutex";
import { checkDomain, checkHold, checkValidity, parsePayment } from "./parse";
import type { OneOffPaymentSubmission, PaymentSubmission, ReceiveAuthorization } from "../../protocol/schemas";
import { isEcdsaSignedBy } from "./signature";

export interface IntakeResult {
  /** True if this request stored the payment; false if it already existed (a retry or replay). */
  created: boolean;
  payment: PaymentRecord;
}

export type BatchItemResult = { ok: true; result: IntakeResult } | { ok: false; error: ApiError };

/** The outcome of one payer's items, and the records to commit for those that passed. */
interface Checked {
  results: BatchItemResult[];
  admitted: Admitted[];
}

/** A payment that passed intake's checks, with what the store's guard needs and what a refusal says. */
interface Admitted {
  index: number;
  record: PaymentRecord;
  /** What the payer's pending payments may add up to: escrow balance minus withdrawals in flight. */
  ceiling: bigint;
  balance: bigint;
  nonceBase: bigint;
}

/** A submission that passed every check that does not depend on the payer's pending payments. */
interface Verified {
  id: Hex;
  payment: Payment;
  signature: Hex;
  signatureKind: SignatureKind;
  request: PaymentRequestRecord | null;
}

export interface IntakeDeps {
  store: RelayerStore;
  chain: ChainView;
  /** Payer balances, nonces and pending reservations (the tracked ledger, or fresh reads). */
  accounts: PayerAccounts;
  digester: EscrowDigester;
  /** Digest and ECDSA recovery of payments (a worker pool, or inline). */
  recovery: PaymentRecovery;
  writer: GroupCommitWriter;
  /** Milliseconds since the epoch. */
  clock: () => number;
  metrics?: RelayerMetrics;
  /** Node calls one request's unverified items may cause (see NodeCallBudget). Default: unbounded. */
  maxNodeCallsPerRequest?: number;
}

/**
 * Node calls one request may cause before its items are known to be genuine: code look-ups and
 * ERC-1271 checks of contract payers, merchant terms. Without a bound, a batch of items with foreign
 * signatures and fresh payer addresses costs the node one call per item. Distinct look-ups count
 * once (they are cached); each ERC-1271 check counts. Items past the budget are refused with 429
 * node_call_budget_exceeded (unchecked: resubmitted in a later request they are checked then).
 */
export class NodeCallBudget {
  private readonly seen = new Set<string>();
  private spent = 0;

  constructor(private readonly max: number) {}

  /** Accounts for one call (`key`: a cached look-up, counted once per request); throws past the budget. */
  spend(key?: string): void {
    if (key !== undefined && this.seen.has(key)) return;
    if (this.spent >= this.max) {
      throw new ApiError("node_call_budget_exceeded", `this request already caused ${this.max} node calls`, {
        limit: this.max,
      });
    }
    this.spent++;
    if (key !== undefined) this.seen.add(key);
  }
}

/**
 * Intake of signed payments: validation, signature, chain-state checks, then the group commit.
 *
 * Balance and nonce checks run under the payer's lock, which is held until the payment is
 * committed: the payer's view (src/relayer/ledger) then always includes every payment of that payer
 * this instance accepted before, so two payments that together exceed the balance cannot both pass.
 * That check is exact within one instance and costs no store read; the commit then goes through the
 * store's guarded insert, which judges each payment against the payer's pending payments of every
 * instance on the store (serialised per payer in the database), so the balance and the nonces hold
 * across instances too. A payment the guard refuses refreshes the payer's view.
 *
 * A payment of a payment request claims the request (in memory, across payers) from its check until
 * the request is marked paid after the commit, so exactly one payment per request is accepted; the
 * store's unique request claim refuses a second one should two processes ever share a database.
 */
export class Intake {
  readonly payerLock = new KeyedMutex();
  /** Payment requests claimed by a payment being committed right now: request id → payment id. */
  private readonly requestClaims = new Map<string, Hex>();

  constructor(private readonly deps: IntakeDeps) {}

  /** Stops its signature recovery (the app closes it after the group commit drained). */
  close(): Promise<void> {
    return this.deps.recovery.close();
  }

  nowSeconds(): bigint {
    return BigInt(Math.floor(this.deps.clock() / 1000));
  }

  /** A fresh node call budget: one per request (a batch request's items share it). */
  budget(): NodeCallBudget {
    return new NodeCallBudget(this.deps.maxNodeCallsPerRequest ?? Infinity);
  }

  async submit(body: PaymentSubmission): Promise<IntakeResult> {
    try {
      const verified = await this.verify(body, this.budget());
      const [result] = await this.payerLock.run(verified.payment.payer, () =>
        this.claiming(async (claims) => {
          const checked = await this.check([verified], claims);
          await this.commit([checked]);
          return checked.results;
        }),
      );
      if (!result.ok) throw result.error;
      this.count(result.result.created ? "accepted" : "duplicate");
      return result.result;
    } catch (error) {
      if (isApiError(error)) this.count(error.code);
      throw error;
    }
  }

  /**
   * Per-item results in input order; one item's failure never fails the others. Each payer's items
   * are checked together in input order; the request holds every payer's lock (taken in address
   * order, so two batches never deadlock) until its admitted payments are committed together.
   */
  async submitMany(bodies: PaymentSubmission[], budget = this.budget()): Promise<BatchItemResult[]> {
    const results: BatchItemResult[] = new Array(bodies.length);
    const byPayer = new Map<Hex, { index: number; verified: Verified }[]>();
    await Promise.all(
      bodies.map(async (body, index) => {
        try {
          const verified = await this.verify(body, budget);
          const group = byPayer.get(verified.payment.payer) ?? [];
          group.push({ index, verified });
          byPayer.set(verified.payment.payer, group);
        } catch (error) {
          if (!isApiError(error)) throw error;
          results[index] = { ok: false, error };
        }
      }),
    );
    const groups = [...byPayer]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, group]) => group.sort((x, y) => x.index - y.index));
    const underLocks = groups.reduceRight<() => Promise<void>>(
      (inner, group) => () => this.payerLock.run(group[0].verified.payment.payer, inner),
      () =>
        this.claiming(async (claims) => {
          const checked = await Promise.all(
            groups.map((group) =>
              this.check(
                group.map((g) => g.verified),
                claims,
              ),
            ),
          );
          await this.commit(checked);
          checked.forEach((c, g) => c.results.forEach((outcome, i) => (results[groups[g][i].index] = outcome)));
        }),
    );
    await underLocks();
    for (const result of results)
      this.count(result.ok ? (result.result.created ? "accepted" : "duplicate") : result.error.code);
    return results;
  }

  /** Checks that need no lock: fields, domain, validity window, signature, merchant, payment request. */
  private async verify(body: PaymentSubmission, budget: NodeCallBudget): Promise<Verified> {
    const { chain, recovery } = this.deps;
    checkDomain(body, chain.chainId, chain.escrow);
    const payment = parsePayment(body);
    checkValidity(payment.validAfter, payment.deadline, this.nowSeconds());
    const signature = body.signature.toLowerCase() as Hex;
    const { id, signer } = await recovery.recover(payment, signature);
    // ECDSA first (as the escrow does), then ERC-1271 if the payer is a contract.
    const signatureKind = signer === payment.payer ? SignatureKind.Ecdsa : SignatureKind.Contract;
    if (
      signatureKind === SignatureKind.Contract &&
      !(await this.isContractSignature(payment.payer, hexToBytes(id), signature, budget))
    ) {
      throw new ApiError("invalid_signature", `signature is not ${payment.payer}'s`);
    }
    const request = await this.checkPayee(payment, body.requestId, budget);
    return { id, payment, signature, signatureKind, request };
  }

  /** Merchant active, the hold within its bounds, payer not blocklisted, the payment request (if any) matched. */
  private async checkPayee(
    payment: Payment,
    requestId: string | undefined,
    budget: NodeCallBudget,
  ): Promise<PaymentRequestRecord | null> {
    const { chain } = this.deps;
    budget.spend(`merchant:${payment.merchantId}`);
    // Both reads are cached; a new payer or merchant costs one round trip, not two.
    const [merchant, blocklisted] = await Promise.all([
      chain.merchant(payment.merchantId),
      chain.isBlocklisted(payment.payer),
    ]);
    if (merchant.status === MerchantStatus.None) {
      throw new ApiError("unknown_merchant", `no merchant ${payment.merchantId}`, {
        merchantId: payment.merchantId.toString(),
      });
    }
    if (merchant.status !== MerchantStatus.Active) {
      throw new ApiError("merchant_not_active", `merchant ${payment.merchantId} cannot receive payments`, {
        merchantId: payment.merchantId.toString(),
        status: MERCHANT_STATUS_NAMES[merchant.status].toLowerCase(),
      });
    }
    checkHold(payment.hold, payment.merchantId, merchant);
    // The escrow rejects a blocklisted payer's payments (PayerBlocklisted) once its mirror is synced:
    // refuse them here at once rather than accept what the chain would reject.
    if (blocklisted) {
      throw new ApiError("payer_blocklisted", `the token blocklists ${payment.payer}`, { payer: payment.payer });
    }
    return requestId ? await this.matchRequest(requestId, payment) : null;
  }

  /**
   * A one-off payment (paid from the payer's wallet by its EIP-3009 authorization bound to the
   * payment, escrow `payBatchWithAuthorization`). Checked as the token and the escrow will: the
   * authorization is exactly the one the payment requires (from, to = escrow, value = amount,
   * window, nonce = payment id), signed by the payer (ECDSA, else its ERC-1271 wallet), not spent
   * or cancelled on the token, and the payer's wallet holds the amount on top of its one-off
   * payments not yet on chain. It reserves nothing of the payer's escrow balance or nonce window.
   * Under the payer's lock until committed, and judged again by the store's guarded insert, so no
   * instance, nor two at once, over-commits a wallet.
   */
  async submitOneOff(body: OneOffPaymentSubmission, budget = this.budget()): Promise<IntakeResult> {
    try {
      const result = await this.oneOff(body, budget);
      this.count(result.created ? "accepted" : "duplicate");
      return result;
    } catch (error) {
      if (isApiError(error)) this.count(error.code);
      throw error;
    }
  }

  private async oneOff(body: OneOffPaymentSubmission, budget: NodeCallBudget): Promise<IntakeResult> {
    const { chain, digester, store, writer } = this.deps;
    checkDomain(body, chain.chainId, chain.escrow);
    const payment = parsePayment({ ...body, nonce: ONE_OFF_NONCE.toString() });
    checkValidity(payment.validAfter, payment.deadline, this.nowSeconds());
    const id = bytesToHex(digester.payment(payment));
    const expected = oneOffAuthorization(chain.escrow, payment, id);
    checkAuthorization(body.authorization, expected);
    const signature = body.authorization.signature.toLowerCase() as Hex;
    const digest = hexToBytes(receiveAuthorizationDigest(await chain.tokenDomain(), expected));
    const signatureKind = isEcdsaSignedBy(digest, hexToBytes(signature), payment.payer)
      ? SignatureKind.Ecdsa
      : SignatureKind.Contract;
    if (
      signatureKind === SignatureKind.Contract &&
      !(await this.isContractSignature(payment.payer, digest, signature, budget))
    ) {
      throw new ApiError("invalid_signature", `authorization is not signed by ${payment.payer}`);
    }
    const request = await this.checkPayee(payment, body.requestId, budget);
    const verified: Verified = { id, payment, signature, signatureKind, request };
    return this.payerLock.run(payment.payer, () =>
      this.claiming(async (claims) => {
        const existing = await store.payments.get(id);
        if (existing) return { created: false, payment: existing };
        if (await chain.authorizationUsed(payment.payer, id)) {
          throw new ApiError("authorization_used", "the token has already spent or cancelled this authorization", {
            paymentId: id,
          });
        }
        const [balance, pending] = await Promise.all([
          chain.tokenBalance(payment.payer),
          store.payments.pendingOneOffAmountOf(payment.payer),
        ]);
        if (balance < pending + payment.amount) throw walletShort(balance, pending);
        if (request && !(await this.claimRequest(verified, claims))) throw requestAlreadyPaid(request.id);
        const record = newRecord(verified, this.deps.store.defaultCurrency, this.deps.clock());
        // The store's guard judges the wallet again, serialised per payer across instances.
        const outcome = await writer.enqueueGuarded(record, balance);
        if (outcome === "insufficient_balance") {
          throw walletShort(balance, await store.payments.pendingOneOffAmountOf(payment.payer));
        }
        if (outcome !== "inserted") {
          const stored = await store.payments.get(id);
          if (stored) return { created: false, payment: stored };
          if (record.requestId !== null) throw requestAlreadyPaid(record.requestId);
          throw new ApiError("conflict", "the payment was not stored; retry");
        }
        if (record.requestId !== null) await store.requests.markPaid(record.requestId, record.id);
        return { created: true, payment: record };
      }),
    );
  }

  /** ECDSA first (as the escrow does), then ERC-1271 if the payer is a contract. */
  async checkSignature(signer: Hex, digest: Uint8Array, signature: Hex): Promise<void> {
    if (isEcdsaSignedBy(digest, hexToBytes(signature), signer)) return;
    if (await this.isContractSignature(signer, digest, signature)) return;
    throw new ApiError("invalid_signature", `signature is not ${signer}'s`);
  }

  /** ERC-1271: `signer` is a contract that accepts `signature` for `digest`. */
  private async isContractSignature(
    signer: Hex,
    digest: Uint8Array,
    signature: Hex,
    budget?: NodeCallBudget,
  ): Promise<boolean> {
    const { chain } = this.deps;
    budget?.spend(`code:${signer}`);
    if (!(await chain.hasCode(signer))) return false;
    budget?.spend();
    return chain.isValidSignature(signer, digest, hexToBytes(signature));
  }

  private async matchRequest(requestId: string, payment: Payment): Promise<PaymentRequestRecord> {
    const request = await this.deps.store.requests.get(requestId);
    if (!request || request.merchantId !== payment.merchantId) {
      throw new ApiError("not_found", `no payment request ${requestId} for merchant ${payment.merchantId}`);
    }
    if (request.amount !== payment.amount || request.orderRef !== payment.orderRef || request.hold !== payment.hold) {
      throw new ApiError("validation_failed", "payment does not match its payment request", {
        amount: request.amount.toString(),
        orderRef: request.orderRef,
        hold: Number(request.hold),
      });
    }
    if (request.expiresAt < this.deps.clock())
      throw new ApiError("expired", `payment request ${requestId} has expired`);
    return request;
  }

  /**
   * Runs `work` (checks and commit) with a set collecting the payment requests it claims; the claims
   * are released when it ends, by then the requests of committed payments are marked paid.
   */
  private async claiming<T>(work: (claims: Set<string>) => Promise<T>): Promise<T> {
    const claims = new Set<string>();
    try {
      return await work(claims);
    } finally {
      for (const requestId of claims) this.requestClaims.delete(requestId);
    }
  }

  /**
   * Claims `item`'s payment request for this request's commit, or says it cannot: another payment
   * holds the claim (it is being committed) or the request is already paid. The claim is taken
   * before the store is read, with no await in between, so of two concurrent payments of one
   * request (whatever their payers) exactly one gets past here; the paid mark is read fresh because
   * the one read in `verify` predates the payer's lock.
   */
  private async claimRequest(item: Verified, claims: Set<string>): Promise<boolean> {
    const requestId = item.request!.id;
    if (this.requestClaims.has(requestId)) return false;
    this.requestClaims.set(requestId, item.id);
    claims.add(requestId);
    const current = await this.deps.store.requests.get(requestId);
    if (current?.paymentId && current.paymentId !== item.id) {
      this.requestClaims.delete(requestId);
      claims.delete(requestId);
      return false;
    }
    return true;
  }

  /**
   * Under the payer's lock: duplicates, nonce window, balance net of pending payments, payment
   * request not paid yet. Items (all of one payer) are checked in order, each against the ones
   * admitted before it. The store is only read when an item fails a check (is it a retry of a
   * payment already stored?) or pays a payment request.
   */
  private async check(items: Verified[], claims: Set<string>): Promise<Checked> {
    const { store, accounts } = this.deps;
    const payer = items[0].payment.payer;
    let view = await accounts.view(payer);
    let caughtUp = false;
    const results: BatchItemResult[] = [];
    const admitted: Admitted[] = [];
    const seen = new Map<Hex, number>();
    const now = this.deps.clock();
    const fail = (error: ApiError) => results.push({ ok: false, error });

    for (const [index, item] of items.entries()) {
      const first = seen.get(item.id);
      if (first !== undefined) {
        // The same payment twice in one request: the second is a duplicate of the first.
        const earlier = results[first];
        results.push(earlier.ok ? { ok: true, result: { created: false, payment: earlier.result.payment } } : earlier);
        continue;
      }
      seen.set(item.id, index);
      const { payment } = item;
      let free = view.isNonceFree(payment.nonce);
      if ((!free || view.available < payment.amount) && !caughtUp && accounts.catchUp && !view.pending.has(item.id)) {
        // The view may predate a deposit (or withdrawal) just mined: look at the head once before refusing.
        caughtUp = true;
        await accounts.catchUp();
        // Re-read whatever the pass found: a watcher pass already under way when `view` was read may
        // have applied the block (and moved the cursor) before this one started, finding nothing new.
        view = await accounts.view(payer);
        // A re-read view holds what the store has: this request's admissions are not committed yet.
        for (const { record } of admitted) {
          const reservation = { id: record.id, amount: record.amount, nonce: record.nonce, state: record.state };
          view.add(reservation);
          accounts.reserve(payer, reservation);
        }
        free = view.isNonceFree(payment.nonce);
      }
      if (view.pending.has(item.id) || !free || view.available < payment.amount || item.request) {
        const existing = await store.payments.get(item.id);
        if (existing) {
          results.push({ ok: true, result: { created: false, payment: existing } });
          continue;
        }
      }
      if (!free) {
        fail(
          new ApiError("nonce_unavailable", `nonce ${payment.nonce} is used, pending or outside the window`, {
            nonceBase: view.account.nonceBase.toString(),
          }),
        );
      } else if (view.available < payment.amount) {
        fail(
          new ApiError("insufficient_balance", "escrow balance minus pending payments is below the amount", {
            balance: view.account.balance.toString(),
            pending: view.pendingAmount.toString(),
          }),
        );
      } else if (item.request && !(await this.claimRequest(item, claims))) {
        fail(requestAlreadyPaid(item.request.id));
      } else {
        const record = newRecord(item, this.deps.store.defaultCurrency, now);
        const reservation = { id: record.id, amount: record.amount, nonce: record.nonce, state: record.state };
        view.add(reservation);
        accounts.reserve(payer, reservation);
        admitted.push({
          index: results.length,
          record,
          ceiling: view.account.balance - view.outflowAmount,
          balance: view.account.balance,
          nonceBase: view.account.nonceBase,
        });
        results.push({ ok: true, result: { created: true, payment: record } });
      }
    }
    return { results, admitted };
  }

  /** Enqueues every admitted payment in one go (so they share a group commit) and waits for it. */
  private async commit(checked: Checked[]): Promise<void> {
    const { store, writer, accounts } = this.deps;
    const all = checked.flatMap((c) => c.admitted.map((a) => ({ ...a, results: c.results })));
    let outcomes: GuardedInsertOutcome[];
    try {
      outcomes = await Promise.all(all.map(({ record, ceiling }) => writer.enqueueGuarded(record, ceiling)));
    } catch (error) {
      // Reserved in memory but maybe not stored: the next intake of these payers reads afresh.
      for (const { record } of all) accounts.discard(record.payer);
      throw error;
    }
    const committed = outcomes.map((o) => o === "inserted");
    for (const [i, { index, record, results, balance, nonceBase }] of all.entries()) {
      if (committed[i]) continue;
      // The view missed payments another instance stored: the next intake of this payer reads afresh.
      accounts.discard(record.payer);
      if (outcomes[i] === "insufficient_balance") {
        results[index] = {
          ok: false,
          error: new ApiError("insufficient_balance", "escrow balance minus pending payments is below the amount", {
            balance: balance.toString(),
            pending: (await store.payments.pendingAmountOf(record.payer)).toString(),
          }),
        };
        continue;
      }
      if (outcomes[i] === "nonce_unavailable") {
        results[index] = {
          ok: false,
          error: new ApiError("nonce_unavailable", `nonce ${record.nonce} is used, pending or outside the window`, {
            nonceBase: nonceBase.toString(),
          }),
        };
        continue;
      }
      // Another relayer instance stored it between our look-up and the commit: report theirs.
      const existing = await store.payments.get(record.id);
      if (existing) results[index] = { ok: true, result: { created: false, payment: existing } };
      // Not stored and not there: the store's unique request claim refused a second payment of the request.
      else if (record.requestId !== null) results[index] = { ok: false, error: requestAlreadyPaid(record.requestId) };
    }
    const paid = all.filter(({ record }, i) => committed[i] && record.requestId !== null);
    await Promise.all(paid.map(({ record }) => store.requests.markPaid(record.requestId!, record.id)));
  }

  private count(result: string): void {
    this.deps.metrics?.intakeResults.inc({ result, currency: this.deps.store.defaultCurrency });
  }
}

/** Every field of a one-off payment's authorization must be the one its payment requires. */
function checkAuthorization(given: ReceiveAuthorization, expected: AuthorizationMessage): void {
  const fields: [keyof AuthorizationMessage, string, string][] = [
    ["from", given.from.toLowerCase(), expected.from],
    ["to", given.to.toLowerCase(), expected.to],
    ["value", given.value, expected.value.toString()],
    ["validAfter", given.validAfter, expected.validAfter.toString()],
    ["validBefore", given.validBefore, expected.validBefore.toString()],
    ["nonce", given.nonce.toLowerCase(), expected.nonce],
  ];
  for (const [field, got, want] of fields) {
    // Decimal strings are schema-checked; leading zeros compare as numbers.
    const same = field === "from" || field === "to" || field === "nonce" ? got === want : BigInt(got) === BigInt(want);
    if (!same) {
      throw new ApiError("authorization_mismatch", `authorization.${field} is not the one this payment requires`, {
        field,
        expected: want,
      });
    }
  }
}

const walletShort = (balance: bigint, pending: bigint): ApiError =>
  new ApiError("insufficient_token_balance", "wallet balance minus pending one-off payments is below the amount", {
    balance: balance.toString(),
    pending: pending.toString(),
  });

const requestAlreadyPaid = (requestId: string): ApiError =>
  new ApiError("request_already_paid", `payment request ${requestId} is already paid by another payment`, {
    requestId,
  });

/** `currency`: the store's (a view's own currency, else the store's default). */
function newRecord(item: Verified, currency: string, now: number): PaymentRecord {
  return acceptedPayment({
    id: item.id,
    currency,
    ...item.payment,
    signature: item.signature,
    requestId: item.request?.id ?? null,
    signatureKind: item.signatureKind,
    createdAt: now,
  });
}
