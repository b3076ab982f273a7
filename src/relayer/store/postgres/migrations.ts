/**
 * PostgreSQL schema migrations, applied in order; migration N (1-based) sets schema version N.
 * Never edit a migration that has shipped: append a new one.
 *
 * Encoding: money, on-chain ids, nonces and block numbers are NUMERIC(78,0): exact for any uint256
 * (78 digits), compared and summed as numbers by the server (the guarded intake sums a payer's
 * pending amounts, the settler compares release times), and read back as decimal strings that
 * become bigint without loss. Timestamps (ms), local keys, epochs and submitter nonces are BIGINT.
 * Hex is lowercase. Text keys that are ordered or paged on use COLLATE "C": byte order, the same
 * as SQLite's, whatever the database's locale. Every index names the query that needs it. A
 * migration that depends on how the store is opened (16: the default currency of the rows it
 * backfills) is a function of the open options, as in the SQLite store.
 */
import type pg from "pg";
import { currencyCode } from "../currencyScope";
import { migrationSql, type Migration, type MigrationOptions } from "../migration";

const PENDING = "('accepted', 'batched', 'submitted')";

export const MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE payments (
    seq            BIGSERIAL PRIMARY KEY,
    id             TEXT COLLATE "C" NOT NULL UNIQUE,
    payer          TEXT NOT NULL,
    merchant_id    NUMERIC(78,0) NOT NULL,
    amount         NUMERIC(78,0) NOT NULL,
    order_ref      TEXT NOT NULL,
    nonce          NUMERIC(78,0) NOT NULL,
    valid_after    NUMERIC(78,0) NOT NULL,
    deadline       NUMERIC(78,0) NOT NULL,
    signature      TEXT NOT NULL,
    state          TEXT NOT NULL,
    reject_reason  TEXT,
    batch_key      BIGINT,
    batch_id       NUMERIC(78,0),
    leaf_index     INTEGER,
    tx_hash        TEXT,
    refunded       NUMERIC(78,0) NOT NULL DEFAULT 0,
    release_at     NUMERIC(78,0),
    request_id     TEXT,
    request_claim  TEXT,
    signature_kind TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
  );
  -- listByState (oldest first), countByState
  CREATE INDEX payments_state_created ON payments (state, created_at, id);
  -- pendingOf / pendingAmountOf / pendingNoncesOf / the guarded insert's pending sum; and at most one
  -- pending payment per (payer, nonce), across every instance
  CREATE UNIQUE INDEX payments_pending_nonce ON payments (payer, nonce) INCLUDE (amount)
    WHERE state IN ${PENDING};
  -- list filtered by payer (keyset on created_at, id)
  CREATE INDEX payments_payer_created ON payments (payer, created_at, id);
  -- list filtered by merchant (keyset on created_at, id)
  CREATE INDEX payments_merchant_created ON payments (merchant_id, created_at, id);
  -- list without a merchant filter
  CREATE INDEX payments_created ON payments (created_at, id);
  -- listByBatchIds: the payments a settled tranche paid out
  CREATE INDEX payments_batch ON payments (batch_id) WHERE batch_id IS NOT NULL;
  -- releasableTranches: held payments by release time
  CREATE INDEX payments_releasable ON payments (state, release_at) WHERE batch_id IS NOT NULL;
  -- at most one payment per payment request
  CREATE UNIQUE INDEX payments_request_claim ON payments (request_claim) WHERE request_claim IS NOT NULL;

  CREATE TABLE batches (
    key          BIGSERIAL PRIMARY KEY,
    state        TEXT NOT NULL,
    payment_ids  TEXT NOT NULL,
    batch_id     NUMERIC(78,0),
    root         TEXT,
    tx_hash      TEXT,
    block_number NUMERIC(78,0),
    block_hash   TEXT,
    gas_used     NUMERIC(78,0),
    gas_estimate NUMERIC(78,0),
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
  );
  -- listByState
  CREATE INDEX batches_state ON batches (state, key);
  -- getByBatchId (newest first), adopt
  CREATE INDEX batches_batch_id ON batches (batch_id, key) WHERE batch_id IS NOT NULL;

  CREATE TABLE submissions (
    id                       BIGSERIAL PRIMARY KEY,
    purpose                  TEXT NOT NULL,
    signer                   TEXT NOT NULL,
    epoch                    BIGINT NOT NULL,
    nonce                    BIGINT NOT NULL,
    tx_hash                  TEXT NOT NULL,
    raw_tx                   TEXT NOT NULL,
    max_fee_per_gas          NUMERIC(78,0) NOT NULL,
    max_priority_fee_per_gas NUMERIC(78,0) NOT NULL,
    state                    TEXT NOT NULL,
    sent_at                  BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL
  );
  -- listPending (of one signer or all)
  CREATE INDEX submissions_pending ON submissions (signer, id) WHERE state = 'pending';
  -- listByPurpose
  CREATE INDEX submissions_purpose ON submissions (purpose, id);
  -- maxNonce (per signer)
  CREATE INDEX submissions_signer_nonce ON submissions (signer, nonce);

  CREATE TABLE settlements (
    key         BIGSERIAL PRIMARY KEY,
    merchant_id NUMERIC(78,0) NOT NULL,
    batch_ids   TEXT NOT NULL,
    tx_hash     TEXT,
    amount      NUMERIC(78,0),
    fee         NUMERIC(78,0),
    state       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
  );
  -- listByMerchant (newest first)
  CREATE INDEX settlements_merchant ON settlements (merchant_id, key);
  -- listByState
  CREATE INDEX settlements_state ON settlements (state, key);

  CREATE TABLE payment_requests (
    id          TEXT PRIMARY KEY,
    merchant_id NUMERIC(78,0) NOT NULL,
    amount      NUMERIC(78,0) NOT NULL,
    order_ref   TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    payment_id  TEXT,
    created_at  BIGINT NOT NULL
  );
  -- pruneExpiredBefore
  CREATE INDEX payment_requests_expires ON payment_requests (expires_at);

  -- Only the hash of a key's secret is ever stored.
  CREATE TABLE api_keys (
    id          TEXT COLLATE "C" PRIMARY KEY,
    merchant_id NUMERIC(78,0) NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
  );
  -- listByMerchant
  CREATE INDEX api_keys_merchant ON api_keys (merchant_id, created_at, id);

  -- Secrets are ciphertext (SecretBox); claimed_by/claimed_until: which worker delivers the
  -- endpoint's events now (claimDueEndpoints).
  CREATE TABLE webhook_endpoints (
    id                   TEXT COLLATE "C" PRIMARY KEY,
    merchant_id          NUMERIC(78,0) NOT NULL,
    url                  TEXT NOT NULL,
    secret               TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    disabled_at          BIGINT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    failing_since        BIGINT,
    next_attempt_at      BIGINT NOT NULL DEFAULT 0,
    last_error           TEXT,
    disabled_reason      TEXT,
    claimed_by           TEXT,
    claimed_until        BIGINT
  );
  -- listByMerchant / listDetails / createCapped / live merchants
  CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints (merchant_id, created_at, id);
  -- dueEndpoints / claimDueEndpoints: live endpoints in id order (the round-robin cursor)
  CREATE INDEX webhook_endpoints_live ON webhook_endpoints (id) WHERE disabled_at IS NULL;

  -- One row per (event, endpoint): enqueueing the same event twice is a no-op.
  CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    event_id        TEXT NOT NULL,
    endpoint_id     TEXT COLLATE "C" NOT NULL REFERENCES webhook_endpoints (id),
    merchant_id     NUMERIC(78,0) NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at    BIGINT,
    dead_at         BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    UNIQUE (event_id, endpoint_id)
  );
  -- due() and pendingCount(): only live rows are indexed, so delivered history costs nothing.
  CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE delivered_at IS NULL AND dead_at IS NULL;
  -- deadCount, prune of dead rows
  CREATE INDEX outbox_dead ON outbox (dead_at) WHERE dead_at IS NOT NULL;
  -- dueFor(endpoint), dueEndpoints' EXISTS: one endpoint's live deliveries, most overdue first
  CREATE INDEX outbox_endpoint_due ON outbox (endpoint_id, next_attempt_at, id)
    WHERE delivered_at IS NULL AND dead_at IS NULL;
  -- delete(endpoint), enable(endpoint)
  CREATE INDEX outbox_endpoint ON outbox (endpoint_id);
  -- prune(): delivered history by age
  CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;

  -- The last sequence number given to an event of each payment.
  CREATE TABLE webhook_sequences (
    payment_id TEXT PRIMARY KEY,
    seq        BIGINT NOT NULL
  );

  CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
  );
  -- pruneCreatedBefore
  CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

  CREATE TABLE chain_cursors (
    name         TEXT PRIMARY KEY,
    block_number NUMERIC(78,0) NOT NULL,
    block_hash   TEXT NOT NULL
  );

  -- Named leases with fencing epochs (LeaseRepository). A released lease keeps its row (holder '')
  -- so the next holder's epoch still grows.
  CREATE TABLE leases (
    name       TEXT COLLATE "C" PRIMARY KEY,
    holder     TEXT NOT NULL,
    epoch      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    info       TEXT NOT NULL
  );

  -- Token buckets shared by every instance (RateLimitRepository).
  CREATE TABLE rate_limits (
    key        TEXT PRIMARY KEY,
    tokens     DOUBLE PRECISION NOT NULL,
    updated_at BIGINT NOT NULL,
    allowed    BOOLEAN NOT NULL
  );

  -- Readiness write probe while the store is failing: a row written and deleted.
  CREATE TABLE storage_probe (id BIGSERIAL PRIMARY KEY, filler TEXT NOT NULL);
  `,
  // h-failover (stand-in until part A's own): the signer lane that claimed a built batch (BatchRepository.claimBuilt).
  `
  ALTER TABLE batches ADD COLUMN lane TEXT;
  -- claimBuilt: built batches, unclaimed or by lane
  CREATE INDEX batches_state_lane ON batches (state, lane, key);
  `,
  // The relay queue (./relayQueue.ts): signed operations an api instance queued for the workers'
  // signer lanes, by the keccak of their calldata (the same signed operation twice is one row).
  // claimed_by is the lane lease that claimed it; a claim whose lease lapsed is free again.
  `
  CREATE TABLE relay_requests (
    id            TEXT COLLATE "C" PRIMARY KEY,
    operation     TEXT NOT NULL,
    calldata      TEXT NOT NULL,
    payer         TEXT,
    deadline      NUMERIC(78,0),
    state         TEXT NOT NULL,
    claimed_by    TEXT,
    tx_hash       TEXT,
    error_code    TEXT,
    error_message TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
  );
  -- claim: queued requests, oldest first
  CREATE INDEX relay_requests_queued ON relay_requests (created_at, id) WHERE state = 'queued';
  -- countByState; pruneFinishedBefore: sent and failed rows by age
  CREATE INDEX relay_requests_state ON relay_requests (state, updated_at);
  `,
  // One-off payments (nonce 2^64-1, paid from the payer's wallet, several pending per payer) are
  // outside the one-pending-payment-per-(payer, nonce) rule: the index's condition leaves them out
  // (the escrow-balance reads carry the same text), and their own pending sum per payer
  // (pendingOneOffAmountOf, the intake's token balance check) reads an index of theirs.
  `
  DROP INDEX payments_pending_nonce;
  CREATE UNIQUE INDEX payments_pending_nonce ON payments (payer, nonce) INCLUDE (amount)
    WHERE state IN ${PENDING} AND nonce <> 18446744073709551615;
  CREATE INDEX payments_pending_one_off ON payments (payer) INCLUDE (amount)
    WHERE state IN ${PENDING} AND nonce = 18446744073709551615;
  `,
  // 12: the merchant dashboard's reads. A payment request keeps the order reference the merchant
  // typed (its keccak256 is what the chain holds), payments are found by order reference, and an
  // endpoint's recent deliveries are listed newest first.
  `
  ALTER TABLE payment_requests ADD COLUMN order_ref_text TEXT;
  CREATE INDEX payments_merchant_order_ref ON payments (merchant_id, order_ref);
  CREATE INDEX outbox_endpoint_recent ON outbox (endpoint_id, id);
  `,
  // 13: the merchant report events (docs/REPORTS.md): the escrow events about each merchant, kept
  // by the report indexer (src/relayer/jobs/reportIndexer.ts) up to a final block, so reports and
  // credit records are read from here rather than from the node per request. One row per log;
  // `fields` holds the kind's own fields (JSON, integers as decimal strings); `order_ref` is the
  // escrowed payment's orderRef from its transaction's calldata. Block numbers are BIGINT here:
  // rows are read in chain order. The one-row cursor is the block indexed up to, its hash and time.
  `
  CREATE TABLE report_events (
    block_number BIGINT NOT NULL,
    log_index    INTEGER NOT NULL,
    merchant_id  NUMERIC(78,0) NOT NULL,
    tx_hash      TEXT NOT NULL,
    block_time   BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    fields       TEXT NOT NULL,
    order_ref    TEXT,
    PRIMARY KEY (block_number, log_index)
  );
  -- events(merchant, toBlock): one merchant's rows in chain order
  CREATE INDEX report_events_merchant ON report_events (merchant_id, block_number, log_index);

  CREATE TABLE report_index_cursor (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    block_number BIGINT NOT NULL,
    block_hash   TEXT NOT NULL,
    block_time   BIGINT NOT NULL
  );
  `,
  // 14: a hold per payment (each payment signs its own hold, in seconds, within its merchant's
  // bounds), and a payment request's hold (the one its payment must sign). NOT NULL with a default
  // of 0 only so the column can be added: 0 is no valid hold (the registry's shortest is 60 s), and
  // no deployment had payment rows when it shipped; every row since is written with its signed hold.
  `
  ALTER TABLE payments ADD COLUMN hold BIGINT NOT NULL DEFAULT 0;
  ALTER TABLE payment_requests ADD COLUMN hold BIGINT NOT NULL DEFAULT 0;
  `,
  // 15: order timers (issue 14). A payment a buyer's action took out of its tranche (a hold
  // extension, a refund request) carries its timer: JSON text (store/timerCodec.ts), NULL for every
  // untouched payment, so intake's inserts do not change. Two columns are derived from it for the
  // chain jobs' reads: when the order-timer keeper acts on it (release or escalation), and the block
  // of the last event applied to it (a reorg rewind re-reads the timers written above its point).
  `
  ALTER TABLE payments ADD COLUMN timer TEXT;
  ALTER TABLE payments ADD COLUMN timer_due_at BIGINT
    GENERATED ALWAYS AS (((timer::jsonb) ->> 'dueAt')::bigint) STORED;
  ALTER TABLE payments ADD COLUMN timer_block BIGINT
    GENERATED ALWAYS AS (((timer::jsonb) ->> 'block')::bigint) STORED;
  -- listTimersDue: the keeper's next releases and escalations
  CREATE INDEX payments_timer_due ON payments (timer_due_at) WHERE timer_due_at IS NOT NULL;
  -- listTimersAfter: timers a reorg may have undone
  CREATE INDEX payments_timer_block ON payments (timer_block) WHERE timer IS NOT NULL;
  -- listReleasedOffTranche: released balances the settler pays (no tranche settles them)
  CREATE INDEX payments_released_off_tranche ON payments (merchant_id) WHERE state = 'released' AND timer IS NOT NULL;
  `,
  // 16 (numbered as the SQLite store's; version 9 here): several currencies in one store
  // (docs/CURRENCIES.md): each payment, payment request, batch,
  // settlement, relay request and report event is one currency's (a code, "USD"), and the report
  // index keeps one cursor per currency. Rows from before belong to the store's default currency:
  // each column is added with that code as its default (PostgreSQL 11+ writes no row for it, every
  // existing row reads it back), then the default is dropped, so an insert that names no currency
  // fails rather than landing in the default one. At most one pending payment per (payer,
  // currency, nonce): nonces are per escrow. listByState and getByBatchId take the currency after
  // the column the unscoped reads seek on, so those keep their seeks (then sort what they seek;
  // the chain jobs, which call them, are to run on a view per currency) and a view seeks on both.
  // A merchant's report events get an index of their own per currency (few writes). No
  // uniqueness moves on batches: on-chain batch ids were never unique here (a reorged batch shares
  // its id with its replacement); report events keep their key (block, log index), unique across
  // currencies since every escrow is on the one chain.
  ({ defaultCurrency }: MigrationOptions) => {
    const code = `'${currencyCode(defaultCurrency)}'`;
    const tables = ["payments", "payment_requests", "batches", "settlements", "relay_requests", "report_events"];
    return `
  ${tables.map((t) => `ALTER TABLE ${t} ADD COLUMN currency TEXT NOT NULL DEFAULT ${code};`).join("\n  ")}
  ${tables.map((t) => `ALTER TABLE ${t} ALTER COLUMN currency DROP DEFAULT;`).join("\n  ")}

  -- pendingOf / pendingAmountOf / pendingNoncesOf / the guarded insert's pending sum; and at most one
  -- pending payment per (payer, currency, nonce), across every instance
  DROP INDEX payments_pending_nonce;
  CREATE UNIQUE INDEX payments_pending_nonce ON payments (payer, currency, nonce) INCLUDE (amount)
    WHERE state IN ${PENDING} AND nonce <> 18446744073709551615;
  DROP INDEX payments_pending_one_off;
  CREATE INDEX payments_pending_one_off ON payments (payer, currency) INCLUDE (amount)
    WHERE state IN ${PENDING} AND nonce = 18446744073709551615;
  -- listByState (oldest first), countByState
  DROP INDEX payments_state_created;
  CREATE INDEX payments_state_created ON payments (state, currency, created_at, id);
  -- getByBatchId (newest first), adopt
  DROP INDEX batches_batch_id;
  CREATE INDEX batches_batch_id ON batches (batch_id, currency, key) WHERE batch_id IS NOT NULL;
  -- events(merchant, toBlock) of one currency, in chain order (report_events_merchant stays for the
  -- unscoped read of every currency's: few writes, and a merchant's events are many to sort)
  CREATE INDEX report_events_merchant_currency ON report_events (merchant_id, currency, block_number, log_index);

  -- One cursor per currency.
  ALTER TABLE report_index_cursor ADD COLUMN currency TEXT NOT NULL DEFAULT ${code};
  ALTER TABLE report_index_cursor ALTER COLUMN currency DROP DEFAULT;
  ALTER TABLE report_index_cursor DROP COLUMN id;
  ALTER TABLE report_index_cursor ADD PRIMARY KEY (currency);
  `;
  },
];

/** Any constant: the advisory lock that serialises migrations of one database across instances. */
const MIGRATION_LOCK = 0x5374_6162_6c65; // "Stable"

/**
 * Applies pending migrations in one transaction under a transaction-level advisory lock, so two
 * instances starting at once do not both apply them (the second waits, then finds nothing to do).
 * Returns the schema version. `upTo` (tests) stops at that version, as an older relayer would.
 */
export async function migrate(
  client: pg.PoolClient,
  options: MigrationOptions,
  upTo: number = MIGRATIONS.length,
): Promise<number> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
    );
    const { rows } = await client.query<{ v: number | null }>("SELECT MAX(version) AS v FROM schema_migrations");
    const current = rows[0].v ?? 0;
    if (current > MIGRATIONS.length) {
      throw new Error(`database schema version ${current} is newer than this relayer (${MIGRATIONS.length})`);
    }
    for (let version = current + 1; version <= upTo; version++) {
      await client.query(migrationSql(MIGRATIONS[version - 1], options));
      await client.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [version, Date.now()]);
    }
    await client.query("COMMIT");
    return Math.max(current, upTo);
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
