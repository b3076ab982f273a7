import type {
  ApiKeyRecord,
  BatchRecord,
  BatchState,
  Hex,
  OutboxRecord,
  PaymentRecord,
  PaymentRequestRecord,
  PaymentState,
  RejectReason,
  RelayOperation,
  RelayRequestRecord,
  RelayState,
  SettlementRecord,
  SubmissionRecord,
  SubmissionState,
  WebhookEndpointRecord,
} from "../domain";
import type { ReportEvent } from "../../protocol/reports";

/**
 * Storage behind the relayer, split into repositories by aggregate. The default implementation is
 * SQLite (src/relayer/store/sqlite); the interface is async so a PostgreSQL implementation can
 * serve several relayer instances later. Every method that changes state is atomic on its own;
 * `transaction` groups several into one atomic unit.
 */
export interface RelayerStore {
  payments: PaymentRepository;
  batches: BatchRepository;
  submissions: SubmissionRepository;
  settlements: SettlementRepository;
  requests: PaymentRequestRepository;
  apiKeys: ApiKeyRepository;
  webhooks: WebhookRepository;
  outbox: OutboxRepository;
  idempotency: IdempotencyRepository;
  chainCursor: ChainCursorRepository;
  /** The merchants' report events, indexed up to a final block by the worker (docs/REPORTS.md). */
  reportIndex: ReportIndexRepository;
  /** Named leases with fencing epochs: one active submitter per signer lane, across processes. */
  leases: LeaseRepository;
  /** Token buckets shared by every relayer instance on this store. */
  rateLimits: RateLimitRepository;
  /** Signed operations api instances queued for the workers' signer lanes. */
  relayRequests: RelayRequestRepository;
  /** "sqlite" (one host, embedded) or "postgres" (shared by several instances). */
  readonly kind: StoreKind;
  /**
   * The currency code rows get when a creating call names none (`batches.create` and `adopt`,
   * `settlements.create`, a relay request without a currency, the report index's cursor), and what
   * a caller building a record takes when it serves this store's one currency: a view's own
   * currency; on the unscoped store the deployment's default currency (src/chain/deployments.ts
   * `defaultCurrency`, given when the store is opened; "USD" when none is), which is also what
   * rows stored before the store knew currencies became (migration 16).
   */
  readonly defaultCurrency: string;
  /**
   * The store as one currency sees it (docs/CURRENCIES.md): the same connection, `transaction`,
   * `onCommit` and the same currency-free repositories (apiKeys, webhooks, outbox, idempotency,
   * rateLimits, leases, chainCursor, submissions), with `payments`, `batches`, `settlements`,
   * `requests`, `relayRequests` and `reportIndex` reading and writing only the rows of currency
   * `code`. Every read filters on it, reads by key (`payments.get`, `getMany`, `batches.get`,
   * `requests.get`, `relayRequests.get`) too: a chain job of one escrow never sees, nor changes by
   * key, a row of another; a by-key update of another currency's row changes nothing. Creating
   * calls give new rows `code`; inserting a record whose `currency` is another one throws (a
   * programming error, not a client's). Views are cheap and may be taken per call.
   *
   * The store itself (unscoped) reads every currency's rows: the API's reads by id and the
   * merchants' listings (`PaymentFilter.currency` narrows a listing). Per-payer pending sums and
   * nonces, on-chain batch ids and the report index's events are meaningful per currency, so a
   * caller serving several currencies takes a view.
   */
  forCurrency(code: string): RelayerStore;
  /** Runs `work` atomically: all of its writes commit together or none do. */
  transaction<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Runs `callback` (synchronous, must not throw) right after the enclosing `transaction` commits
   * and before any other store call can observe the commit; at once outside a transaction; never if
   * the transaction rolls back. Used to mirror committed state into memory (the intake ledger).
   */
  onCommit(callback: () => void): void;
  close(): Promise<void>;
  /** Disk full / I/O errors (absent: the store has no such condition to report). */
  readonly storage?: StorageHealthView;
}

export type StoreKind = "sqlite" | "postgres";

/** What `insertAcceptedGuarded` did with one payment. */
export type GuardedInsertOutcome = "inserted" | "duplicate" | "insufficient_balance" | "nonce_unavailable";

/** A payment to insert with the most its payer's pending payments may add up to. */
export interface GuardedInsert {
  record: PaymentRecord;
  /**
   * The payer's escrow balance as intake read it, minus withdrawals in flight: the sum of the
   * payer's pending payments (accepted, batched, submitted; from every instance) including this
   * one must not exceed it. For a one-off payment: the payer's wallet balance, against its pending
   * one-off payments.
   */
  ceiling: bigint;
}

/** One payment's change in `PaymentRepository.update` / `updateMany`. */
export interface PaymentUpdate {
  id: Hex;
  /** Omitted: only `fields` change. */
  state?: PaymentState;
  fields: Partial<PaymentRecord>;
}

export interface PendingPayment {
  id: Hex;
  amount: bigint;
  nonce: bigint;
  /** Accepted (queued), or batched/submitted (in a transaction on its way to the chain). */
  state: PaymentState;
}

export interface PaymentFilter {
  /** Only this currency's payments (a scoped view's listing is its currency's whatever this says). */
  currency?: string;
  merchantId?: bigint;
  payer?: Hex;
  states?: PaymentState[];
  /** The order reference (bytes32, lowercase). */
  orderRef?: Hex;
  /** Created at or after (ms since epoch). */
  from?: number;
  /** Created before (ms since epoch). */
  to?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
  limit: number;
}

export interface Page<T> {
  items: T[];
  /** Cursor for the next page, or null when this is the last. */
  nextCursor: string | null;
}

export interface PaymentRepository {
  /**
   * Inserts new accepted payments in one durable commit (group commit of concurrent intake), with
   * the `payment.accepted` webhook event of each inserted one (merchants with a live endpoint).
   * Returns the ids that were inserted; an id already present is skipped (not an error), so a
   * client retrying the same signed payment gets the first result.
   */
  insertAccepted(payments: PaymentRecord[]): Promise<Set<Hex>>;
  /**
   * `insertAccepted` that holds across relayer instances sharing the store: per (currency, payer),
   * serialised in the database, a payment is inserted only if no pending payment of the payer in
   * its currency has its nonce and the payer's pending sum in that currency plus its amount stays
   * within its `ceiling` (nonces and balances are per escrow); items are judged in order. One durable commit for the whole group; an id already stored is "duplicate". A one-off
   * payment (nonce ONE_OFF_NONCE) takes no nonce and is judged against the payer's pending one-off
   * payments, its `ceiling` being the payer's wallet balance.
   */
  insertAcceptedGuarded(items: readonly GuardedInsert[]): Promise<Map<Hex, GuardedInsertOutcome>>;
  get(id: Hex): Promise<PaymentRecord | null>;
  /** The stored payments among `ids` (absent ids are left out), in one read. */
  getMany(ids: readonly Hex[]): Promise<Map<Hex, PaymentRecord>>;
  /**
   * The distinct (merchant, on-chain batch) tranches with a payment in `states` whose releaseAt is
   * at or before `chainTime`: what a settlement can pay out now.
   */
  releasableTranches(
    states: readonly PaymentState[],
    chainTime: bigint,
  ): Promise<{ merchantId: bigint; batchId: bigint }[]>;
  /** Payments of these on-chain batches in the given states (a settled tranche's payments). */
  listByBatchIds(batchIds: readonly bigint[], states: readonly PaymentState[]): Promise<PaymentRecord[]>;
  /**
   * Payments on their own order timer due by `chainTime` (their timer's dueAt: a release or an
   * unanswered refund request's escalation), soonest first, at most `limit`, leaving out the
   * merchants in `skipMerchants` (suspended: the escrow refuses their releases).
   */
  listTimersDue(chainTime: bigint, limit: number, skipMerchants?: readonly bigint[]): Promise<PaymentRecord[]>;
  /** Payments whose timer an event of a block above `block` wrote last (what a reorg rewind re-checks). */
  listTimersAfter(block: bigint): Promise<PaymentRecord[]>;
  /**
   * Payments released outside their tranche (state released with a timer: by their own timer, or
   * confirmed while on it), of one merchant or all: no TrancheSettled marks them paid; the settle
   * call that pays their merchant's released balance does.
   */
  listReleasedOffTranche(merchantId?: bigint): Promise<PaymentRecord[]>;
  list(filter: PaymentFilter): Promise<Page<PaymentRecord>>;
  /** Oldest accepted payments first, at most `limit`. */
  listByState(state: PaymentState, limit: number): Promise<PaymentRecord[]>;
  /**
   * Sum of amounts of this payer's payments from its escrow balance not yet on chain (accepted,
   * batched, submitted). Here and in the next two, one-off payments (nonce ONE_OFF_NONCE, paid from
   * the payer's wallet: they reserve neither balance nor nonce) are left out; the guarded insert
   * leaves them out too.
   */
  pendingAmountOf(payer: Hex): Promise<bigint>;
  /** Nonces of this payer's escrow-balance payments not yet on chain. */
  pendingNoncesOf(payer: Hex): Promise<bigint[]>;
  /** This payer's escrow-balance payments not yet on chain: id, amount and nonce. */
  pendingOf(payer: Hex): Promise<PendingPayment[]>;
  /** Sum of amounts of this payer's one-off payments not yet on chain (what its wallet must still hold). */
  pendingOneOffAmountOf(payer: Hex): Promise<bigint>;
  setState(
    ids: Hex[],
    state: PaymentState,
    fields?: Partial<
      Pick<PaymentRecord, "rejectReason" | "batchKey" | "batchId" | "leafIndex" | "txHash" | "releaseAt" | "refunded">
    >,
  ): Promise<void>;
  /** Applies per-payment updates (e.g. leaf index per id) in one commit: `updateMany` without its result. */
  update(updates: PaymentUpdate[]): Promise<void>;
  /**
   * A group's state changes in one commit and a few statements whatever its size, where the chain
   * jobs move many payments at once (a batch built, sent, escrowed, settled): one statement per
   * distinct set of changed fields (PostgreSQL: `UPDATE … FROM unnest(…)`; SQLite: one prepared
   * statement for the group's rows), each payment with its own values (a leaf index per payment).
   * Every written row gets `updatedAt` (the update's, else now). An id given twice gets its
   * updates in order, the later value of a field winning; `id` and `createdAt` are never written;
   * a field that cannot be updated throws before anything is written. Ids not stored are skipped:
   * returns the ids written (lowercase). No state check: callers move payments they just read.
   */
  updateMany(updates: readonly PaymentUpdate[]): Promise<Set<Hex>>;
  countByState(): Promise<Record<PaymentState, number>>;
}

/** Whether the store can write (disk full, I/O errors); see ./sqlite/storageErrors.ts. */
export interface StorageHealthView {
  readonly failing: boolean;
  onChange(listener: (failing: boolean) => void): void;
  /** Tries a real write; ends `failing` when it succeeds. */
  probe(): Promise<boolean>;
}

export interface BatchRepository {
  /**
   * Creates a built batch for `paymentIds` (in order) and marks them batched, atomically. The batch
   * is the view's currency's (unscoped: the default currency's), and only that currency's payments
   * among `paymentIds` are marked.
   */
  create(paymentIds: Hex[], gasEstimate?: bigint | null): Promise<BatchRecord>;
  /**
   * Records a batch someone else escrowed (state `adopted`): `leaves` are its Merkle leaves in
   * order. No payment is changed. Recording the same (batchId, txHash) again returns the first.
   */
  adopt(batch: {
    leaves: Hex[];
    batchId: bigint;
    root: Hex;
    txHash: Hex;
    blockNumber: bigint;
    blockHash: Hex;
  }): Promise<BatchRecord>;
  get(key: number): Promise<BatchRecord | null>;
  getByBatchId(batchId: bigint): Promise<BatchRecord | null>;
  listByState(states: BatchState[]): Promise<BatchRecord[]>;
  /**
   * Signer lanes share the built batches: claims for lane lease `lease` (e.g. "lane:0xab…") up to
   * `limit` built batches, oldest first, that no lane has claimed or whose lane's lease is released
   * or expired at `now` (its worker is gone); atomic, so two lanes never claim the same batch.
   * Returns every built batch claimed by `lease`, oldest first.
   */
  claimBuilt(lease: string, now: number, limit: number): Promise<BatchRecord[]>;
  update(
    key: number,
    fields: Partial<Omit<BatchRecord, "key" | "currency" | "paymentIds" | "createdAt">>,
  ): Promise<void>;
}

/** Proof that the caller holds lease `lease` at `epoch` (see LeaseRepository). */
export interface Fence {
  lease: string;
  holder: string;
  epoch: number;
}

export interface SubmissionRepository {
  /**
   * Records a signed transaction BEFORE it is broadcast, so a crash after sending can reconcile.
   * With `fence`, atomically only while the fence's lease is still held by its holder at its epoch;
   * otherwise throws FencedError and records nothing (a paused old leader cannot send).
   */
  record(submission: Omit<SubmissionRecord, "id" | "updatedAt">, fence?: Fence): Promise<SubmissionRecord>;
  /** Pending submissions, of one signer when given. */
  listPending(signer?: Hex): Promise<SubmissionRecord[]>;
  listByPurpose(purpose: string): Promise<SubmissionRecord[]>;
  setState(id: number, state: SubmissionState): Promise<void>;
  /** Highest nonce ever recorded for the signer (every signer when absent), or null. */
  maxNonce(signer?: Hex): Promise<number | null>;
}

export interface Lease {
  name: string;
  holder: string;
  /** Grows by one every time the lease changes holder: what fences a holder that lost it. */
  epoch: number;
  /** ms since the epoch; the holder must renew before then. */
  expiresAt: number;
  /** Who holds it, for operators (pid, host, role): never a secret. */
  info: string;
}

/**
 * Named leases with fencing. A holder takes a lease that is free, expired or already its own; a
 * new holder gets the previous epoch + 1. Every write that must come from the current holder only
 * (a submission) carries the epoch, and the store refuses it once the lease moved on.
 */
export interface LeaseRepository {
  /** Takes or extends `name` for `holder` until now + ttlMs; null while another live holder has it. */
  acquire(name: string, holder: string, ttlMs: number, now: number, info: string): Promise<Lease | null>;
  /** Extends the holder's lease; false if it is no longer the holder's at `epoch`. */
  renew(name: string, holder: string, epoch: number, ttlMs: number, now: number): Promise<boolean>;
  /** Ends the holder's lease at once (graceful stop): a standby may take it without waiting. */
  release(name: string, holder: string, epoch: number): Promise<void>;
  /**
   * Throws FencedError unless `fence.holder` still holds `fence.lease` at `fence.epoch`. Inside a
   * `transaction`, the check holds until it commits (PostgreSQL: the lease row is locked FOR SHARE),
   * so a job's page of writes commits only under a lease it still holds.
   */
  assertHeld(fence: Fence): Promise<void>;
  get(name: string): Promise<Lease | null>;
  /** Leases whose name starts with `prefix`, by name. */
  list(prefix: string): Promise<Lease[]>;
}

/** A relay request as an api instance queues it (see RelayRequestRecord). */
export interface NewRelayRequest {
  id: Hex;
  /** Absent: the view's currency, or the store's default currency on the unscoped store. */
  currency?: string;
  operation: RelayOperation;
  calldata: Hex;
  payer: Hex | null;
  deadline: bigint | null;
  /** ms since the epoch. */
  now: number;
}

/**
 * The relay queue: signed operations (confirm, dispute, refund, gasless deposit, withdrawal) an api
 * instance, which holds no signer, queues for the workers' signer lanes (src/relayer/jobs/relayQueue.ts).
 * A request moves queued → sent or queued → failed, once.
 */
export interface RelayRequestRepository {
  /**
   * Queues the request unless its id is stored already; returns the stored row (the existing one,
   * unchanged, for an id already there) and whether this call inserted it. Atomic across instances.
   */
  enqueue(request: NewRelayRequest): Promise<{ record: RelayRequestRecord; inserted: boolean }>;
  get(id: Hex): Promise<RelayRequestRecord | null>;
  /**
   * Claims for lane lease `lease` (e.g. "lane:0xab…") up to `limit` queued requests, oldest first,
   * that no lane has claimed or whose lane's lease is released or expired at `now`; atomic, so two
   * lanes never claim the same request (PostgreSQL: FOR UPDATE SKIP LOCKED). Returns every queued
   * request claimed by `lease`, oldest first: a lane taken over from a killed worker gets the
   * requests that worker claimed and did not finish.
   */
  claim(lease: string, now: number, limit: number): Promise<RelayRequestRecord[]>;
  /** Gives a request `lease` claimed back to the queue, for any lane (a send that failed for now). */
  release(id: Hex, lease: string, now: number): Promise<void>;
  /** queued → sent with its transaction; false (nothing changed) if it is not queued. */
  markSent(id: Hex, txHash: Hex, now: number): Promise<boolean>;
  /** queued → failed with an API error code and a safe message; false (nothing changed) if it is not queued. */
  markFailed(id: Hex, code: string, message: string, now: number): Promise<boolean>;
  countByState(): Promise<Record<RelayState, number>>;
  /** Deletes up to `limit` sent or failed requests last changed before `before` (ms); returns how many. */
  pruneFinishedBefore(before: number, limit: number): Promise<number>;
}

export interface RateLimitRepository {
  /**
   * Takes `cost` tokens from the bucket `key` (refilled at `ratePerSecond` up to `burst`), shared by
   * every instance on the store; atomic. When short, takes nothing and says how long to wait.
   */
  take(
    key: string,
    ratePerSecond: number,
    burst: number,
    cost: number,
    now: number,
  ): Promise<{ allowed: boolean; retryAfterMs: number }>;
}

export interface SettlementRepository {
  create(merchantId: bigint, batchIds: bigint[]): Promise<SettlementRecord>;
  update(
    key: number,
    fields: Partial<Omit<SettlementRecord, "key" | "currency" | "merchantId" | "createdAt">>,
  ): Promise<void>;
  listByMerchant(merchantId: bigint, limit: number, cursor?: string): Promise<Page<SettlementRecord>>;
  listByState(states: SettlementRecord["state"][]): Promise<SettlementRecord[]>;
}

export interface PaymentRequestRepository {
  create(request: PaymentRequestRecord): Promise<void>;
  get(id: string): Promise<PaymentRequestRecord | null>;
  markPaid(id: string, paymentId: Hex): Promise<void>;
  /** Deletes up to `limit` requests that expired before `before` (ms); returns how many. */
  pruneExpiredBefore(before: number, limit: number): Promise<number>;
}

export interface ApiKeyRepository {
  create(key: ApiKeyRecord): Promise<void>;
  findBySecretHash(secretHash: Hex): Promise<ApiKeyRecord | null>;
  listByMerchant(merchantId: bigint): Promise<ApiKeyRecord[]>;
  revoke(id: string, at: number): Promise<void>;
}

/** Why an endpoint stopped receiving events: its merchant said so, or it kept failing. */
export type WebhookDisabledReason = "merchant" | "failing";

/** An endpoint as its merchant may see it: everything but the secret, plus its delivery health. */
export interface WebhookEndpointDetails {
  id: string;
  merchantId: bigint;
  url: string;
  createdAt: number;
  disabledAt: number | null;
  disabledReason: WebhookDisabledReason | null;
  /** Failed deliveries in a row (0 after any success). */
  consecutiveFailures: number;
  /** First failure of the current run of failures. */
  failingSince: number | null;
  /** The endpoint is backing off until then (0: not backing off). */
  nextAttemptAt: number;
  lastError: string | null;
}

/** An endpoint with deliveries due now (what the dispatcher needs to send them). */
export interface DueEndpoint {
  id: string;
  merchantId: bigint;
  url: string;
  /** In clear: decrypted by the store. */
  secret: string;
  consecutiveFailures: number;
}

/** When a run of failures disables an endpoint: at least `failures` in a row spanning at least `spanMs`. */
export interface DisablePolicy {
  failures: number;
  spanMs: number;
}

/**
 * Webhook endpoints. Secrets are encrypted at rest by the implementation: callers pass and receive
 * them in clear, the database holds ciphertext only.
 */
export interface WebhookRepository {
  create(endpoint: WebhookEndpointRecord): Promise<void>;
  /** `create` unless the merchant already has `max` endpoints (then false, nothing created); atomic. */
  createCapped(endpoint: WebhookEndpointRecord, max: number): Promise<boolean>;
  listByMerchant(merchantId: bigint): Promise<WebhookEndpointRecord[]>;
  /** The merchant's endpoints without their secrets, with delivery health, oldest first. */
  listDetails(merchantId: bigint): Promise<WebhookEndpointDetails[]>;
  getDetails(id: string): Promise<WebhookEndpointDetails | null>;
  get(id: string): Promise<WebhookEndpointRecord | null>;
  /**
   * Stops deliveries to the endpoint (idempotent: the first time and reason stay). Its pending
   * deliveries are dead-lettered with "endpoint disabled" (kept until pruned; `enable` revives them)
   * and no new event is queued for it while disabled.
   */
  disable(id: string, at: number, reason?: WebhookDisabledReason): Promise<void>;
  /**
   * Delivers to the endpoint again, with a clean failure record; its deliveries dead-lettered by
   * the disabling that were created at or after `reviveSince` are queued again. Returns how many.
   */
  enable(id: string, at: number, reviveSince: number): Promise<number>;
  /** Removes the endpoint and every delivery queued or made to it. False if it did not exist. */
  delete(id: string): Promise<boolean>;
  /**
   * Live endpoints out of backoff with at least one delivery due at `now`, by id after `after`
   * (the dispatcher's round-robin cursor; "" from the start).
   */
  dueEndpoints(now: number, limit: number, after?: string): Promise<DueEndpoint[]>;
  /**
   * `dueEndpoints`, each returned endpoint claimed for `holder` until now + leaseMs: an endpoint
   * claimed by another holder whose claim has not expired is left out, so one worker at a time
   * delivers an endpoint's events (PostgreSQL: FOR UPDATE SKIP LOCKED).
   */
  claimDueEndpoints(
    now: number,
    limit: number,
    holder: string,
    leaseMs: number,
    after?: string,
  ): Promise<DueEndpoint[]>;
  /** Ends `holder`'s claim on the endpoint (its deliveries in flight are done). */
  releaseEndpoint(id: string, holder: string): Promise<void>;
  /** A delivery to the endpoint succeeded: its failure run ends. */
  recordSuccess(id: string): Promise<void>;
  /**
   * A delivery failed: counts it, backs the endpoint off until `nextAttemptAt`, and disables the
   * endpoint (reason "failing") when the run of failures meets `policy`. Returns the run's length
   * and whether this call disabled it.
   */
  recordFailure(
    id: string,
    error: string,
    at: number,
    nextAttemptAt: number,
    policy: DisablePolicy,
  ): Promise<{ consecutiveFailures: number; disabled: boolean }>;
}

export interface OutboxRepository {
  /**
   * Queues one delivery per active endpoint of the merchant; called inside the state change's
   * transaction. `payload` may be built from the event's sequence number: with `sequenceKey`
   * (the payment id) the store gives the event the key's next number (1, 2, ...; a repeat of an
   * event already queued takes none), else 0.
   */
  enqueue(event: OutboxEvent): Promise<number>;
  /** True if the merchant has an endpoint that is not disabled (nothing to queue otherwise). */
  hasLiveEndpoints(merchantId: bigint): Promise<boolean>;
  /** Which of these merchants have an endpoint that is not disabled. */
  merchantsWithLiveEndpoints(merchantIds: readonly bigint[]): Promise<Set<bigint>>;
  /** `enqueue` for many events in one call (inside the state change's transaction). */
  enqueueMany(events: readonly OutboxEvent[]): Promise<number>;
  /** Deliveries due at `now`, oldest first. */
  due(now: number, limit: number): Promise<OutboxRecord[]>;
  /** One endpoint's deliveries due at `now`, most overdue first, leaving out the ids in `exclude`. */
  dueFor(endpointId: string, now: number, limit: number, exclude?: readonly number[]): Promise<OutboxRecord[]>;
  /** One endpoint's deliveries, newest first (delivered, pending and dead-lettered alike). */
  recentFor(endpointId: string, limit: number): Promise<OutboxRecord[]>;
  markDelivered(id: number, at: number): Promise<void>;
  markFailed(id: number, error: string, nextAttemptAt: number): Promise<void>;
  /** Dead-letters a delivery that exhausted its attempts: kept for inspection, never due again. */
  markDead(id: number, error: string, at: number): Promise<void>;
  /**
   * Deletes up to `limit` delivered or dead-lettered rows that became so before `before`; returns
   * how many (call again while it returns `limit`). Undelivered rows are never pruned.
   */
  prune(before: number, limit: number): Promise<number>;
  /** Undelivered, not dead-lettered. */
  pendingCount(): Promise<number>;
  deadCount(): Promise<number>;
}

export interface OutboxEvent {
  eventId: string;
  merchantId: bigint;
  eventType: string;
  payload: string | ((sequence: number) => string);
  /** Numbers the events of one payment (its id): see OutboxRepository.enqueue. */
  sequenceKey?: string;
  now: number;
}

export interface IdempotencyRecord {
  scope: string;
  key: string;
  requestHash: Hex;
  status: number;
  body: string;
  createdAt: number;
}

export interface IdempotencyRepository {
  get(scope: string, key: string): Promise<IdempotencyRecord | null>;
  /**
   * Stores the first response; returns the stored record if another request won the race. A stored
   * record created before `replaceCreatedBefore` (ms; expired) is replaced instead.
   */
  put(record: IdempotencyRecord, replaceCreatedBefore?: number): Promise<IdempotencyRecord>;
  /** Deletes up to `limit` records created before `before` (ms); returns how many. */
  pruneCreatedBefore(before: number, limit: number): Promise<number>;
}

export interface ChainCursorRepository {
  /** Last block whose escrow events were applied (and its hash, to detect reorgs). */
  get(name: string): Promise<{ blockNumber: bigint; blockHash: Hex } | null>;
  set(name: string, blockNumber: bigint, blockHash: Hex): Promise<void>;
}

/** The block the report index holds every event up to: its number, hash and time (unix seconds). */
export interface ReportIndexCursor {
  blockNumber: bigint;
  blockHash: Hex;
  timestamp: number;
}

/** One indexed event: the report event, and for an escrow the payment's orderRef (null when none). */
export interface IndexedReportEvent {
  /** The currency whose escrow emitted it. */
  currency: string;
  event: ReportEvent;
  orderRef: Hex | null;
}

/**
 * The report index keeps one cursor per currency (each escrow is indexed on its own). A scoped view
 * reads and moves its currency's events and cursor; the unscoped index reads every currency's
 * events and moves the default currency's cursor (what a single-currency indexer did before).
 */
export interface ReportIndexRepository {
  /** Where the index stands, or null before its first page. */
  cursor(): Promise<ReportIndexCursor | null>;
  /**
   * Adds a page of events (those already held, by block and log index, are left as they are) and
   * moves the cursor to the page's last block; atomic.
   */
  append(events: readonly IndexedReportEvent[], cursor: ReportIndexCursor): Promise<void>;
  /**
   * Drops every event above `cursor`'s block and moves the cursor there (null: drops all, no
   * cursor); atomic. Only the cursor's currency's events (unscoped: the default currency's).
   */
  rewind(cursor: ReportIndexCursor | null): Promise<void>;
  /** One merchant's events up to `toBlock` in chain order, with the orderRef of each escrowed payment. */
  events(merchantId: bigint, toBlock: bigint): Promise<{ events: ReportEvent[]; orderRefs: Map<Hex, Hex> }>;
}

export type { RejectReason };
