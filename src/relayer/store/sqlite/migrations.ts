/**
 * Schema migrations, applied in order; migration N (1-based) sets schema version N. Never edit a
 * migration that has shipped: append a new one. Money and on-chain ids that can exceed 2^53 are
 * TEXT decimal; timestamps (ms), local keys and submitter nonces are INTEGER. Hex is lowercase.
 * Every index names the query that needs it. A migration that depends on how the store is opened
 * (migration 16: the default currency of the rows it backfills) is a function of the open options.
 */
import { currencyCode } from "../currencyScope";
import type { Migration } from "../migration";

// The payment columns after the key, shared by migration 1 and the table migration 2 rebuilds;
// the text each migration runs is what it was when it shipped.
const PAYMENT_COLUMNS = `    payer         TEXT NOT NULL,
    merchant_id   TEXT NOT NULL,
    amount        TEXT NOT NULL,
    order_ref     TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    valid_after   TEXT NOT NULL,
    deadline      TEXT NOT NULL,
    signature     TEXT NOT NULL,
    state         TEXT NOT NULL,
    reject_reason TEXT,
    batch_key     INTEGER,
    batch_id      TEXT,
    leaf_index    INTEGER,
    tx_hash       TEXT,
    refunded      TEXT NOT NULL DEFAULT '0',
    release_at    TEXT,
    request_id    TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL`;

export const MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE payments (
    id            TEXT PRIMARY KEY,
${PAYMENT_COLUMNS}
  ) WITHOUT ROWID;
  -- listByState (oldest first), countByState
  CREATE INDEX payments_state_created ON payments (state, created_at, id);
  -- pendingAmountOf / pendingNoncesOf
  CREATE INDEX payments_payer_state ON payments (payer, state);
  -- list filtered by merchant (keyset on created_at, id)
  CREATE INDEX payments_merchant_created ON payments (merchant_id, created_at, id);
  -- list without a merchant filter
  CREATE INDEX payments_created ON payments (created_at, id);

  CREATE TABLE batches (
    key          INTEGER PRIMARY KEY AUTOINCREMENT,
    state        TEXT NOT NULL,
    payment_ids  TEXT NOT NULL,
    batch_id     TEXT,
    root         TEXT,
    tx_hash      TEXT,
    block_number TEXT,
    block_hash   TEXT,
    gas_used     TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
  );
  CREATE INDEX batches_state ON batches (state);
  CREATE INDEX batches_batch_id ON batches (batch_id) WHERE batch_id IS NOT NULL;

  CREATE TABLE submissions (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    purpose                  TEXT NOT NULL,
    nonce                    INTEGER NOT NULL,
    tx_hash                  TEXT NOT NULL,
    raw_tx                   TEXT NOT NULL,
    max_fee_per_gas          TEXT NOT NULL,
    max_priority_fee_per_gas TEXT NOT NULL,
    state                    TEXT NOT NULL,
    sent_at                  INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL
  );
  CREATE INDEX submissions_state ON submissions (state, id);
  CREATE INDEX submissions_purpose ON submissions (purpose, id);
  CREATE INDEX submissions_nonce ON submissions (nonce);

  CREATE TABLE settlements (
    key         INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_id TEXT NOT NULL,
    batch_ids   TEXT NOT NULL,
    tx_hash     TEXT,
    amount      TEXT,
    fee         TEXT,
    state       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
  );
  CREATE INDEX settlements_merchant ON settlements (merchant_id, key);
  CREATE INDEX settlements_state ON settlements (state, key);

  CREATE TABLE payment_requests (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    amount      TEXT NOT NULL,
    order_ref   TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    payment_id  TEXT,
    created_at  INTEGER NOT NULL
  ) WITHOUT ROWID;

  -- Only the hash of a key's secret is ever stored.
  CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX api_keys_merchant ON api_keys (merchant_id, created_at);

  CREATE TABLE webhook_endpoints (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    disabled_at INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints (merchant_id, created_at);

  -- One row per (event, endpoint): enqueueing the same event twice is a no-op.
  CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT NOT NULL,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id),
    merchant_id     TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    dead_at         INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    UNIQUE (event_id, endpoint_id)
  );
  -- due() and pendingCount(): only live rows are indexed, so delivered history costs nothing.
  CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE delivered_at IS NULL AND dead_at IS NULL;
  CREATE INDEX outbox_dead ON outbox (dead_at) WHERE dead_at IS NOT NULL;

  CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
  ) WITHOUT ROWID;

  CREATE TABLE chain_cursors (
    name         TEXT PRIMARY KEY,
    block_number TEXT NOT NULL,
    block_hash   TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // 2: payments clustered by arrival instead of by id. With the id (a hash) as the clustering key
  // every insert and every state change of a batch landed on its own random page, and the
  // (payer, state) index moved on every state change; by arrival, a batch's rows share pages (the
  // writes per payment are in docs/benchmarks.md's history). A payer's payments are found
  // through (payer, created_at), which state changes never touch.
  `
  CREATE TABLE payments_by_arrival (
    seq           INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
${PAYMENT_COLUMNS}
  );
  INSERT INTO payments_by_arrival (id, payer, merchant_id, amount, order_ref, nonce, valid_after, deadline,
    signature, state, reject_reason, batch_key, batch_id, leaf_index, tx_hash, refunded, release_at,
    request_id, created_at, updated_at)
  SELECT id, payer, merchant_id, amount, order_ref, nonce, valid_after, deadline, signature, state,
    reject_reason, batch_key, batch_id, leaf_index, tx_hash, refunded, release_at, request_id, created_at,
    updated_at
  FROM payments ORDER BY created_at, id;
  DROP TABLE payments;
  ALTER TABLE payments_by_arrival RENAME TO payments;
  -- listByState (oldest first), countByState
  CREATE INDEX payments_state_created ON payments (state, created_at, id);
  -- pendingOf / pendingAmountOf / pendingNoncesOf (state filtered on the rows), list filtered by payer
  CREATE INDEX payments_payer_created ON payments (payer, created_at, id);
  -- list filtered by merchant (keyset on created_at, id)
  CREATE INDEX payments_merchant_created ON payments (merchant_id, created_at, id);
  -- list without a merchant filter
  CREATE INDEX payments_created ON payments (created_at, id);
  -- listByBatchIds: the payments a settled tranche paid out
  CREATE INDEX payments_batch ON payments (batch_id) WHERE batch_id IS NOT NULL;

  -- The batcher's gas estimate, so that sending a batch just built does not simulate it again.
  ALTER TABLE batches ADD COLUMN gas_estimate TEXT;
  `,
  // 3: how intake verified each signature (ECDSA or ERC-1271). A batch of ECDSA-signed payments is
  // sized and given its gas limit by the measured model, without eth_estimateGas: the estimate made
  // the node execute every batch twice, and on a machine shared with the node that was the largest
  // CPU cost after the relayer itself. Older rows stay NULL (unknown: estimated as before).
  `
  ALTER TABLE payments ADD COLUMN signature_kind TEXT;
  `,
  // 4: webhooks: per-endpoint delivery health (backoff, automatic disabling), per-payment event
  // sequence numbers, and indexes for per-endpoint delivery and pruning. Secrets are encrypted by
  // the store when it opens (it needs the key), not here.
  `
  ALTER TABLE webhook_endpoints ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE webhook_endpoints ADD COLUMN failing_since INTEGER;
  ALTER TABLE webhook_endpoints ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE webhook_endpoints ADD COLUMN last_error TEXT;
  ALTER TABLE webhook_endpoints ADD COLUMN disabled_reason TEXT;
  -- dueEndpoints(): live endpoints whose backoff has passed
  CREATE INDEX webhook_endpoints_due ON webhook_endpoints (next_attempt_at) WHERE disabled_at IS NULL;

  -- dueFor(endpoint): one endpoint's live deliveries, most overdue first
  CREATE INDEX outbox_endpoint_due ON outbox (endpoint_id, next_attempt_at, id)
    WHERE delivered_at IS NULL AND dead_at IS NULL;
  -- prune(): delivered history by age
  CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;

  -- The last sequence number given to an event of each payment.
  CREATE TABLE webhook_sequences (
    payment_id TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 5: payment requests: at most one payment per request, enforced by the store as the last line of
  // defence behind intake's in-memory claim. request_claim is the request id of the payment that
  // claimed it; rows stored before this migration keep NULL except the first payment of each request
  // (a request paid several times before keeps its other payments, unclaimed). And the retention
  // pruner's look-ups: idempotency records by age, payment requests by expiry.
  `
  ALTER TABLE payments ADD COLUMN request_claim TEXT;
  UPDATE payments SET request_claim = request_id
   WHERE seq IN (SELECT MIN(seq) FROM payments WHERE request_id IS NOT NULL GROUP BY request_id);
  CREATE UNIQUE INDEX payments_request_claim ON payments (request_claim) WHERE request_claim IS NOT NULL;
  CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
  CREATE INDEX payment_requests_expires ON payment_requests (expires_at);
  `,
  // 6: the single-instance lease: one relayer process per database (see ./lease.ts). The holder
  // renews heartbeat_at; another process takes over only after it expired, or at once when the
  // holder's process is gone from the same host (kill -9 and restart). And the table of the write
  // probe that tells when a full disk has room again (./storageErrors.ts).
  `
  CREATE TABLE instance_lease (
    name         TEXT PRIMARY KEY,
    holder       TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    host         TEXT NOT NULL,
    signer       TEXT NOT NULL,
    acquired_at  INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  -- Readiness write probe while the store is failing (disk full): a row written and deleted.
  CREATE TABLE storage_probe (id INTEGER PRIMARY KEY, filler BLOB NOT NULL);
  `,
  // 7: several workers on one store: named leases with fencing epochs (one submitter per signer
  // lane, one holder of the singleton jobs; see ./lease.ts), the signer and lease epoch of every
  // submission (nonces are per signer; rows from before are given their signer when the store opens,
  // read from their signed bytes), and the lane lease that claimed a built batch.
  `
  CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    epoch      INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    info       TEXT NOT NULL
  ) WITHOUT ROWID;
  ALTER TABLE submissions ADD COLUMN signer TEXT NOT NULL DEFAULT '';
  ALTER TABLE submissions ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX submissions_signer_nonce ON submissions (signer, nonce);
  ALTER TABLE batches ADD COLUMN lane TEXT;
  `,
  // 8: shared rate limits (./rateLimits.ts): one token bucket per key for every process on the file.
  // And webhook endpoint claims: one worker at a time delivers an endpoint's events
  // (claimDueEndpoints); a claim past claimed_until is free again.
  `
  CREATE TABLE rate_limits (
    key        TEXT PRIMARY KEY,
    tokens     REAL NOT NULL,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  ALTER TABLE webhook_endpoints ADD COLUMN claimed_by TEXT;
  ALTER TABLE webhook_endpoints ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;
  `,
  // 9: a payer's pending payments (the guarded insert's read, pendingOf and the sums) from an index
  // of the pending rows alone, covering what those reads select. Through (payer, created_at) they
  // read every payment the payer ever made, each from the table. The index's condition is the
  // queries' own text (PENDING_SQL), so SQLite's planner can prove they imply it.
  `
  CREATE INDEX payments_pending ON payments (payer, nonce, amount, id, state)
    WHERE state IN ('accepted', 'batched', 'submitted');
  `,
  // 10: the relay queue (./relayQueue.ts): signed operations an api instance queued for the workers'
  // signer lanes, by the keccak of their calldata (the same signed operation twice is one row).
  // claimed_by is the lane lease that claimed it; a claim whose lease lapsed is free again.
  `
  CREATE TABLE relay_requests (
    id            TEXT PRIMARY KEY,
    operation     TEXT NOT NULL,
    calldata      TEXT NOT NULL,
    payer         TEXT,
    deadline      TEXT,
    state         TEXT NOT NULL,
    claimed_by    TEXT,
    tx_hash       TEXT,
    error_code    TEXT,
    error_message TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
  ) WITHOUT ROWID;
  -- claim: queued requests, oldest first
  CREATE INDEX relay_requests_queued ON relay_requests (created_at, id) WHERE state = 'queued';
  -- countByState; pruneFinishedBefore: sent and failed rows by age
  CREATE INDEX relay_requests_state ON relay_requests (state, updated_at);
  `,
  // 11: one-off payments (nonce 2^64-1, paid from the payer's wallet) are left out of the escrow-
  // balance reads above by their nonce; their own pending sum per payer (pendingOneOffAmountOf, the
  // intake's token balance check) reads this index of the pending one-off rows alone.
  `
  CREATE INDEX payments_pending_one_off ON payments (payer, amount)
    WHERE state IN ('accepted', 'batched', 'submitted') AND nonce = '18446744073709551615';
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
  // escrowed payment's orderRef from its transaction's calldata. Block numbers are INTEGER here:
  // rows are read in chain order. The one-row cursor is the block indexed up to, its hash and time.
  `
  CREATE TABLE report_events (
    block_number INTEGER NOT NULL,
    log_index    INTEGER NOT NULL,
    merchant_id  TEXT NOT NULL,
    tx_hash      TEXT NOT NULL,
    block_time   INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    fields       TEXT NOT NULL,
    order_ref    TEXT,
    PRIMARY KEY (block_number, log_index)
  ) WITHOUT ROWID;
  -- events(merchant, toBlock): one merchant's rows in chain order
  CREATE INDEX report_events_merchant ON report_events (merchant_id, block_number, log_index);

  CREATE TABLE report_index_cursor (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    block_number INTEGER NOT NULL,
    block_hash   TEXT NOT NULL,
    block_time   INTEGER NOT NULL
  );
  `,
  // 14: a hold per payment (each payment signs its own hold, in seconds, within its merchant's
  // bounds), and a payment request's hold (the one its payment must sign). NOT NULL with a default
  // of 0 only so the column can be added: 0 is no valid hold (the registry's shortest is 60 s), and
  // no deployment had payment rows when it shipped; every row since is written with its signed hold.
  `
  ALTER TABLE payments ADD COLUMN hold INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE payment_requests ADD COLUMN hold INTEGER NOT NULL DEFAULT 0;
  `,
  // 15: order timers (issue 14). A payment a buyer's action took out of its tranche (a hold
  // extension, a refund request) carries its timer: JSON text (store/timerCodec.ts), NULL for every
  // untouched payment, so intake's inserts do not change. Two columns are derived from it for the
  // chain jobs' reads: when the order-timer keeper acts on it (release or escalation), and the block
  // of the last event applied to it (a reorg rewind re-reads the timers written above its point).
  `
  ALTER TABLE payments ADD COLUMN timer TEXT;
  ALTER TABLE payments ADD COLUMN timer_due_at INTEGER
    GENERATED ALWAYS AS (CAST(json_extract(timer, '$.dueAt') AS INTEGER)) VIRTUAL;
  ALTER TABLE payments ADD COLUMN timer_block INTEGER
    GENERATED ALWAYS AS (CAST(json_extract(timer, '$.block') AS INTEGER)) VIRTUAL;
  -- listTimersDue: the keeper's next releases and escalations
  CREATE INDEX payments_timer_due ON payments (timer_due_at) WHERE timer_due_at IS NOT NULL;
  -- listTimersAfter: timers a reorg may have undone
  CREATE INDEX payments_timer_block ON payments (timer_block) WHERE timer IS NOT NULL;
  -- listReleasedOffTranche: released balances the settler pays (no tranche settles them)
  CREATE INDEX payments_released_off_tranche ON payments (merchant_id) WHERE state = 'released' AND timer IS NOT NULL;
  `,
  // 16: several currencies in one store (docs/CURRENCIES.md): each payment, payment request, batch,
  // settlement, relay request and report event is one currency's (a code, "USD"), and the report
  // index keeps one cursor per currency. Rows from before belong to the store's default currency.
  // SQLite adds a NOT NULL column only with a default, so the default is the backfill: the
  // default currency's code, which every existing row reads back (no row is rewritten). It stays in
  // the schema, but the store names the currency on every insert, so it is never relied on again.
  // Indexes: the pending reads and the guarded insert seek on (payer, currency), listByState on
  // (state, currency), getByBatchId on (batch_id, currency): the currency follows the column the
  // unscoped reads seek on, so those keep their seeks (then sort what they seek; the chain jobs,
  // which call them, are to run on a view per currency) and a view seeks on both. A merchant's
  // report events get an index of their own per currency (few writes). No uniqueness moves:
  // on-chain batch ids were never unique here (a reorged batch shares its id with its
  // replacement); report events keep their key (block, log index), unique across currencies since
  // every escrow is on the one chain. The cursor table is rebuilt with the currency as its key.
  ({ defaultCurrency }) => {
    const code = `'${currencyCode(defaultCurrency)}'`;
    return `
  ALTER TABLE payments ADD COLUMN currency TEXT NOT NULL DEFAULT ${code};
  ALTER TABLE payment_requests ADD COLUMN currency TEXT NOT NULL DEFAULT ${code};
  ALTER TABLE batches ADD COLUMN currency TEXT NOT NULL DEFAULT ${code};
  ALTER TABLE settlements ADD COLUMN currency TEXT NOT NULL DEFAULT ${code};
  ALTER TABLE relay_requests ADD COLUMN currency TEXT NOT NULL DEFAULT ${code};
  ALTER TABLE report_events ADD COLUMN currency TEXT NOT NULL DEFAULT ${code};

  -- pendingOf / pendingAmountOf / pendingNoncesOf and the guarded insert: a payer's pending rows of
  -- one currency (the condition is still the queries' own text, PENDING_SQL)
  DROP INDEX payments_pending;
  CREATE INDEX payments_pending ON payments (payer, currency, nonce, amount, id, state)
    WHERE state IN ('accepted', 'batched', 'submitted');
  DROP INDEX payments_pending_one_off;
  CREATE INDEX payments_pending_one_off ON payments (payer, currency, amount)
    WHERE state IN ('accepted', 'batched', 'submitted') AND nonce = '18446744073709551615';
  -- listByState (oldest first), countByState
  DROP INDEX payments_state_created;
  CREATE INDEX payments_state_created ON payments (state, currency, created_at, id);
  -- getByBatchId (newest first), adopt
  DROP INDEX batches_batch_id;
  CREATE INDEX batches_batch_id ON batches (batch_id, currency) WHERE batch_id IS NOT NULL;
  -- events(merchant, toBlock) of one currency, in chain order (report_events_merchant stays for the
  -- unscoped read of every currency's: few writes, and a merchant's events are many to sort)
  CREATE INDEX report_events_merchant_currency ON report_events (merchant_id, currency, block_number, log_index);

  CREATE TABLE report_index_cursors (
    currency     TEXT PRIMARY KEY,
    block_number INTEGER NOT NULL,
    block_hash   TEXT NOT NULL,
    block_time   INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO report_index_cursors (currency, block_number, block_hash, block_time)
    SELECT ${code}, block_number, block_hash, block_time FROM report_index_cursor;
  DROP TABLE report_index_cursor;
  ALTER TABLE report_index_cursors RENAME TO report_index_cursor;
  `;
  },
];
