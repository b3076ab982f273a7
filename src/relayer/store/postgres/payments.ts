import { PaymentState, type Hex, type PaymentRecord, type RejectReason, type SignatureKind } from "../../domain";
import type {
  GuardedInsert,
  GuardedInsertOutcome,
  Page,
  PaymentFilter,
  PaymentRepository,
  PaymentUpdate,
  PendingPayment,
} from "../types";
import { ONE_OFF_NONCE, isOneOff } from "../../../protocol/eip3009";
import { groupByShape, mergePaymentUpdates } from "../paymentUpdates";
import { decodeTimer, encodeTimer } from "../timerCodec";
import { dec, decOrNull, decodeCursor, encodeCursor, hex, hexOrNull } from "../sqlite/codec";
import type { PgConnection, Queryable } from "./connection";
import { enqueueAcceptedEvents } from "./outbox";
import type { CurrencyScope } from "../currencyScope";

export const PENDING_STATES = [PaymentState.Accepted, PaymentState.Batched, PaymentState.Submitted] as const;
const PENDING_SQL = PENDING_STATES.map((s) => `'${s}'`).join(", ");
/**
 * One-off payments (nonce ONE_OFF_NONCE) are paid from the payer's wallet, not its escrow balance
 * or nonce window: the escrow-balance reads leave them out (the text of the pending-nonce index's
 * condition, migration 11), pendingOneOffAmountOf sums them.
 */
const FROM_BALANCE_SQL = `nonce <> ${ONE_OFF_NONCE}`;
const ONE_OFF_SQL = `nonce = ${ONE_OFF_NONCE}`;

interface PaymentRow {
  id: string;
  currency: string;
  payer: string;
  merchant_id: string;
  amount: string;
  order_ref: string;
  nonce: string;
  valid_after: string;
  deadline: string;
  hold: string | number;
  signature: string;
  state: string;
  reject_reason: string | null;
  batch_key: number | null;
  batch_id: string | null;
  leaf_index: number | null;
  tx_hash: string | null;
  refunded: string;
  release_at: string | null;
  timer: string | null;
  request_id: string | null;
  signature_kind: string | null;
  created_at: number;
  updated_at: number;
}

const bigOrNull = (v: string | null): bigint | null => (v === null ? null : BigInt(v));

export const toPayment = (r: PaymentRow): PaymentRecord => ({
  id: r.id as Hex,
  currency: r.currency,
  payer: r.payer as Hex,
  merchantId: BigInt(r.merchant_id),
  amount: BigInt(r.amount),
  orderRef: r.order_ref as Hex,
  nonce: BigInt(r.nonce),
  validAfter: BigInt(r.valid_after),
  deadline: BigInt(r.deadline),
  hold: BigInt(r.hold),
  signature: r.signature as Hex,
  state: r.state as PaymentState,
  rejectReason: r.reject_reason as RejectReason | null,
  batchKey: r.batch_key,
  batchId: bigOrNull(r.batch_id),
  leafIndex: r.leaf_index,
  txHash: r.tx_hash as Hex | null,
  refunded: BigInt(r.refunded),
  releaseAt: bigOrNull(r.release_at),
  timer: decodeTimer(r.timer),
  requestId: r.request_id,
  signatureKind: r.signature_kind as SignatureKind | null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/**
 * Column, encoder and SQL type (for a group update's arrays) of each updatable field; `id`,
 * `currency` and `createdAt` are immutable.
 */
const COLUMNS: { [K in keyof PaymentRecord]?: [string, (v: PaymentRecord[K]) => unknown, string] } = {
  payer: ["payer", hex, "text"],
  merchantId: ["merchant_id", dec, "numeric"],
  amount: ["amount", dec, "numeric"],
  orderRef: ["order_ref", hex, "text"],
  nonce: ["nonce", dec, "numeric"],
  validAfter: ["valid_after", dec, "numeric"],
  deadline: ["deadline", dec, "numeric"],
  signature: ["signature", hex, "text"],
  state: ["state", (v) => v, "text"],
  rejectReason: ["reject_reason", (v) => v, "text"],
  batchKey: ["batch_key", (v) => v, "bigint"],
  batchId: ["batch_id", decOrNull, "numeric"],
  leafIndex: ["leaf_index", (v) => v, "integer"],
  txHash: ["tx_hash", hexOrNull, "text"],
  refunded: ["refunded", dec, "numeric"],
  releaseAt: ["release_at", decOrNull, "numeric"],
  timer: ["timer", encodeTimer, "text"],
  requestId: ["request_id", (v) => v, "text"],
  updatedAt: ["updated_at", (v) => v, "bigint"],
};

type Column = [string, (v: unknown) => unknown, string];

function columnOf(key: string): Column {
  const column = COLUMNS[key as keyof PaymentRecord] as Column | undefined;
  if (!column) throw new Error(`payment field "${key}" cannot be updated`);
  return column;
}

/** SET clause ($first, $first+1, ...) and values for the given fields, always stamping updated_at. */
function assignments(fields: Partial<PaymentRecord>, now: number, first = 1): { sql: string; values: unknown[] } {
  const parts: string[] = [];
  const values: unknown[] = [];
  for (const key of Object.keys(fields).sort() as (keyof PaymentRecord)[]) {
    const value = fields[key];
    if (value === undefined || key === "updatedAt") continue;
    const column = columnOf(key);
    values.push(column[1](value));
    parts.push(`${column[0]} = $${first + values.length - 1}`);
  }
  values.push(fields.updatedAt ?? now);
  parts.push(`updated_at = $${first + values.length - 1}`);
  return { sql: parts.join(", "), values };
}

const INSERT_COLUMNS = `id, currency, payer, merchant_id, amount, order_ref, nonce, valid_after, deadline, signature,
  state, reject_reason, batch_key, batch_id, leaf_index, tx_hash, refunded, release_at, request_id, request_claim,
  signature_kind, created_at, updated_at, hold`;

/**
 * One multi-row INSERT of `payments` through unnest (one round trip per group commit), skipping an
 * id already stored or a second payment of one payment request; returns the ids inserted. Rows are
 * inserted in array order, so of two with one id inside the call the first wins.
 */
async function insertRows(db: Queryable, payments: readonly PaymentRecord[]): Promise<Set<Hex>> {
  const inserted = new Set<Hex>();
  if (payments.length === 0) return inserted;
  const col = <T>(f: (p: PaymentRecord) => T): T[] => payments.map(f);
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO payments (${INSERT_COLUMNS})
     SELECT ${INSERT_COLUMNS} FROM unnest($1::text[], $24::text[], $2::text[], $3::numeric[], $4::numeric[],
       $5::text[], $6::numeric[], $7::numeric[], $8::numeric[], $9::text[], $10::text[], $11::text[],
       $12::bigint[], $13::numeric[], $14::integer[], $15::text[], $16::numeric[], $17::numeric[], $18::text[],
       $19::text[], $20::text[], $21::bigint[], $22::bigint[], $23::bigint[])
       WITH ORDINALITY AS t(${INSERT_COLUMNS}, ord)
     ORDER BY ord
     ON CONFLICT DO NOTHING
     RETURNING id`,
    [
      col((p) => hex(p.id)),
      col((p) => hex(p.payer)),
      col((p) => dec(p.merchantId)),
      col((p) => dec(p.amount)),
      col((p) => hex(p.orderRef)),
      col((p) => dec(p.nonce)),
      col((p) => dec(p.validAfter)),
      col((p) => dec(p.deadline)),
      col((p) => hex(p.signature)),
      col((p) => p.state),
      col((p) => p.rejectReason),
      col((p) => p.batchKey),
      col((p) => decOrNull(p.batchId)),
      col((p) => p.leafIndex),
      col((p) => hexOrNull(p.txHash)),
      col((p) => dec(p.refunded)),
      col((p) => decOrNull(p.releaseAt)),
      col((p) => p.requestId),
      col((p) => p.requestId),
      col((p) => p.signatureKind),
      col((p) => p.createdAt),
      col((p) => p.updatedAt),
      col((p) => dec(p.hold)),
      col((p) => p.currency),
    ],
  );
  for (const row of rows) inserted.add(row.id as Hex);
  return inserted;
}

const compare = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Payments on the database, of one currency (a view) or all (`scope.currency` null). A view's every
 * statement carries `scope.pg()`'s condition, reads by id and updates included.
 */
export class PgPayments implements PaymentRepository {
  constructor(
    private readonly conn: PgConnection,
    private readonly scope: CurrencyScope,
  ) {}

  insertAccepted(payments: PaymentRecord[]): Promise<Set<Hex>> {
    for (const p of payments) this.scope.accept(p.currency);
    return this.conn.atomic(async (db) => {
      const inserted = await insertRows(db, payments);
      await enqueueAcceptedEvents(
        db,
        payments.filter((p) => p.state === PaymentState.Accepted && inserted.has(hex(p.id))),
      );
      return inserted;
    });
  }

  /**
   * One transaction per call (a whole group commit), in three statements whatever the group's size
   * (and at most three for its events, none when no merchant of the group listens):
   * a transaction-level advisory lock per (currency, payer) serialises guarded inserts of every
   * instance (taken in sorted order, so two groups sharing payers cannot deadlock); then, under the
   * locks, one read of the payers' pending payments in each currency, of the ids and payment requests stored already and of the
   * merchants that listen for webhooks; the items judged in order in memory; one multi-row insert of
   * the survivors; their `payment.accepted` events. Outcomes are those of the SQLite store's.
   */
  insertAcceptedGuarded(items: readonly GuardedInsert[]): Promise<Map<Hex, GuardedInsertOutcome>> {
    for (const { record } of items) this.scope.accept(record.currency);
    return this.conn.atomic(async (db) => {
      const outcomes = new Map<Hex, GuardedInsertOutcome>();
      if (items.length === 0) return outcomes;
      // (currency, payer) keys: "<currency>:<payer>", a code never holding ":".
      const keyOf = (record: PaymentRecord): string => `${record.currency}:${hex(record.payer)}`;
      const keys = [...new Set(items.map((i) => keyOf(i.record)))].sort();
      const payers = [...new Set(items.map((i) => hex(i.record.payer)))];
      const currencies = [...new Set(items.map((i) => i.record.currency))];
      // Its own statement: a read in the same statement would take its snapshot before the wait.
      await db.query(
        `SELECT pg_advisory_xact_lock(hashtextextended(k, 0))
           FROM unnest($1::text[]) WITH ORDINALITY AS t(k, ord) ORDER BY ord`,
        [keys],
      );
      const claims = [...new Set(items.flatMap((i) => (i.record.requestId === null ? [] : [i.record.requestId])))];
      // Index scans in one statement, answering only what the guard asks: each payer's pending sum
      // (summed by the server from the pending index, one row per payer however many are pending)
      // and which of the group's nonces are pending. A join on the items' (payer, nonce) pairs
      // costs more to plan than the few rows `nonce = ANY` lets through and the client drops.
      // Payers and currencies as two arrays (their product is a superset of the group's pairs; rows
      // of a pair no item has are dropped below): the pending index is sought by payer, and the
      // currency filters its entries (a payer's pending rows are few).
      const { rows } = await db.query<{ kind: number; key: string; amount: string | null; nonce: string | null }>(
        `SELECT 0 AS kind, currency || ':' || payer AS key, SUM(amount)::text AS amount, NULL AS nonce FROM payments
           WHERE payer = ANY($1::text[]) AND currency = ANY($5::text[]) AND state IN (${PENDING_SQL})
             AND ${FROM_BALANCE_SQL} GROUP BY payer, currency
         UNION ALL
         SELECT 5, currency || ':' || payer, SUM(amount)::text, NULL FROM payments
           WHERE payer = ANY($1::text[]) AND currency = ANY($5::text[]) AND state IN (${PENDING_SQL})
             AND ${ONE_OFF_SQL} GROUP BY payer, currency
         UNION ALL
         SELECT 4, currency || ':' || payer, NULL, nonce::text FROM payments
           WHERE payer = ANY($1::text[]) AND currency = ANY($5::text[]) AND nonce = ANY($4::numeric[])
             AND state IN (${PENDING_SQL}) AND ${FROM_BALANCE_SQL}
         UNION ALL
         SELECT 1, id, NULL, NULL FROM payments WHERE id = ANY($2::text[])
         UNION ALL
         SELECT DISTINCT 2, merchant_id::text, NULL, NULL FROM webhook_endpoints
           WHERE merchant_id = ANY($3::numeric[]) AND disabled_at IS NULL
         ${claims.length > 0 ? "UNION ALL SELECT 3, request_claim, NULL, NULL FROM payments WHERE request_claim = ANY($6::text[])" : ""}`,
        [
          payers,
          [...new Set(items.map((i) => hex(i.record.id)))],
          [...new Set(items.map((i) => dec(i.record.merchantId)))],
          [...new Set(items.map((i) => dec(i.record.nonce)))],
          currencies,
          ...(claims.length > 0 ? [claims] : []),
        ],
      );
      const pending = new Map<string, { sum: bigint; oneOffSum: bigint; nonces: Set<bigint> }>();
      for (const key of keys) pending.set(key, { sum: 0n, oneOffSum: 0n, nonces: new Set() });
      const existing = new Set<string>();
      const live = new Set<bigint>();
      const claimed = new Set<string>();
      for (const r of rows) {
        // A (payer, currency) pair of the product that no item has: nothing to judge against it.
        if ((r.kind === 0 || r.kind === 5 || r.kind === 4) && !pending.has(r.key)) continue;
        if (r.kind === 0) pending.get(r.key)!.sum = BigInt(r.amount!);
        else if (r.kind === 5) pending.get(r.key)!.oneOffSum = BigInt(r.amount!);
        else if (r.kind === 4) pending.get(r.key)!.nonces.add(BigInt(r.nonce!));
        else if (r.kind === 1) existing.add(r.key);
        else if (r.kind === 2) live.add(BigInt(r.key));
        else claimed.add(r.key);
      }
      const accepted: PaymentRecord[] = [];
      for (const { record, ceiling } of items) {
        const id = hex(record.id);
        if (existing.has(id) || outcomes.has(id)) {
          if (!outcomes.has(id)) outcomes.set(id, "duplicate");
          continue;
        }
        const p = pending.get(keyOf(record))!;
        const oneOff = isOneOff(record);
        if (!oneOff && p.nonces.has(record.nonce)) {
          outcomes.set(id, "nonce_unavailable");
        } else if ((oneOff ? p.oneOffSum : p.sum) + record.amount > ceiling) {
          outcomes.set(id, "insufficient_balance");
        } else if (record.requestId !== null && claimed.has(record.requestId)) {
          // A second payment of one payment request (checked last, as SQLite's insert would skip
          // it): the request's first payment is the result, and this one reserves nothing.
          outcomes.set(id, "duplicate");
        } else if (oneOff) {
          p.oneOffSum += record.amount;
          if (record.requestId !== null) claimed.add(record.requestId);
          outcomes.set(id, "inserted");
          accepted.push(record);
        } else {
          p.sum += record.amount;
          p.nonces.add(record.nonce);
          if (record.requestId !== null) claimed.add(record.requestId);
          outcomes.set(id, "inserted");
          accepted.push(record);
        }
      }
      const inserted = await insertRows(db, accepted);
      // Not inserted although judged free: a payment of another payer claimed the same request in
      // a group that committed meanwhile (the locks are per payer). The first payment is the result.
      for (const p of accepted) if (!inserted.has(hex(p.id))) outcomes.set(hex(p.id), "duplicate");
      await enqueueAcceptedEvents(
        db,
        accepted.filter((p) => p.state === PaymentState.Accepted && inserted.has(hex(p.id))),
        live,
      );
      return outcomes;
    });
  }

  async get(id: Hex): Promise<PaymentRecord | null> {
    const scope = this.scope.pg(2);
    const rows = await this.conn.rows<PaymentRow>(`SELECT * FROM payments WHERE id = $1${scope.sql}`, [
      hex(id),
      ...scope.values,
    ]);
    return rows.length ? toPayment(rows[0]) : null;
  }

  async getMany(ids: readonly Hex[]): Promise<Map<Hex, PaymentRecord>> {
    const found = new Map<Hex, PaymentRecord>();
    if (ids.length === 0) return found;
    const scope = this.scope.pg(2);
    const rows = await this.conn.rows<PaymentRow>(`SELECT * FROM payments WHERE id = ANY($1::text[])${scope.sql}`, [
      ids.map(hex),
      ...scope.values,
    ]);
    for (const row of rows) found.set(row.id as Hex, toPayment(row));
    return found;
  }

  async releasableTranches(
    states: readonly PaymentState[],
    chainTime: bigint,
  ): Promise<{ merchantId: bigint; batchId: bigint }[]> {
    if (states.length === 0) return [];
    const scope = this.scope.pg(3);
    const rows = await this.conn.rows<{ merchant_id: string; batch_id: string }>(
      `SELECT DISTINCT merchant_id, batch_id FROM payments
         WHERE state = ANY($1::text[]) AND batch_id IS NOT NULL AND release_at IS NOT NULL
           AND release_at <= $2::numeric${scope.sql}`,
      [states, dec(chainTime), ...scope.values],
    );
    return rows.map((r) => ({ merchantId: BigInt(r.merchant_id), batchId: BigInt(r.batch_id) }));
  }

  async listByBatchIds(batchIds: readonly bigint[], states: readonly PaymentState[]): Promise<PaymentRecord[]> {
    if (batchIds.length === 0 || states.length === 0) return [];
    const scope = this.scope.pg(3);
    const rows = await this.conn.rows<PaymentRow>(
      `SELECT * FROM payments WHERE batch_id = ANY($1::numeric[]) AND state = ANY($2::text[])${scope.sql} ORDER BY seq`,
      [batchIds.map(dec), states, ...scope.values],
    );
    return rows.map(toPayment);
  }

  async listTimersDue(
    chainTime: bigint,
    limit: number,
    skipMerchants: readonly bigint[] = [],
  ): Promise<PaymentRecord[]> {
    const scope = this.scope.pg(4);
    const rows = await this.conn.rows<PaymentRow>(
      `SELECT * FROM payments WHERE timer_due_at IS NOT NULL AND timer_due_at <= $1::bigint
         AND NOT (merchant_id = ANY($2::numeric[]))${scope.sql} ORDER BY timer_due_at, id LIMIT $3`,
      [dec(chainTime), skipMerchants.map(dec), limit, ...scope.values],
    );
    return rows.map(toPayment);
  }

  async listTimersAfter(block: bigint): Promise<PaymentRecord[]> {
    const scope = this.scope.pg(2);
    const rows = await this.conn.rows<PaymentRow>(
      `SELECT * FROM payments WHERE timer IS NOT NULL AND timer_block > $1::bigint${scope.sql} ORDER BY timer_block, id`,
      [dec(block), ...scope.values],
    );
    return rows.map(toPayment);
  }

  async listReleasedOffTranche(merchantId?: bigint): Promise<PaymentRecord[]> {
    const scope = this.scope.pg(2);
    const rows = await this.conn.rows<PaymentRow>(
      `SELECT * FROM payments WHERE state = '${PaymentState.Released}' AND timer IS NOT NULL
         AND ($1::numeric IS NULL OR merchant_id = $1::numeric)${scope.sql} ORDER BY merchant_id, id`,
      [merchantId === undefined ? null : dec(merchantId), ...scope.values],
    );
    return rows.map(toPayment);
  }

  /** Newest first, keyset-paginated on (created_at, id) so pages stay stable while rows are added. */
  async list(filter: PaymentFilter): Promise<Page<PaymentRecord>> {
    const where: string[] = [];
    const values: unknown[] = [];
    const param = (value: unknown): string => {
      values.push(value);
      return `$${values.length}`;
    };
    // A view lists its own currency's payments only.
    if (this.scope.currency !== null && filter.currency !== undefined && filter.currency !== this.scope.currency) {
      return { items: [], nextCursor: null };
    }
    const currency = this.scope.currency ?? filter.currency;
    if (currency !== undefined) where.push(`currency = ${param(currency)}`);
    if (filter.merchantId !== undefined) where.push(`merchant_id = ${param(dec(filter.merchantId))}::numeric`);
    if (filter.payer !== undefined) where.push(`payer = ${param(hex(filter.payer))}`);
    if (filter.states !== undefined) {
      if (filter.states.length === 0) return { items: [], nextCursor: null };
      where.push(`state = ANY(${param(filter.states)}::text[])`);
    }
    if (filter.orderRef !== undefined) where.push(`order_ref = ${param(hex(filter.orderRef))}`);
    if (filter.from !== undefined) where.push(`created_at >= ${param(filter.from)}`);
    if (filter.to !== undefined) where.push(`created_at < ${param(filter.to)}`);
    if (filter.cursor !== undefined) {
      const [createdAt, id] = decodeCursor(filter.cursor, ["number", "string"]);
      where.push(`(created_at, id) < (${param(createdAt)}::bigint, ${param(id)}::text)`);
    }
    const limit = Math.max(1, Math.floor(filter.limit));
    const rows = await this.conn.rows<PaymentRow>(
      `SELECT * FROM payments ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
        ORDER BY created_at DESC, id DESC LIMIT ${param(limit + 1)}`,
      values,
    );
    const items = rows.slice(0, limit).map(toPayment);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit ? encodeCursor([last.createdAt, last.id]) : null };
  }

  async listByState(state: PaymentState, limit: number): Promise<PaymentRecord[]> {
    const scope = this.scope.pg(3);
    const rows = await this.conn.rows<PaymentRow>(
      `SELECT * FROM payments WHERE state = $1${scope.sql} ORDER BY created_at, id LIMIT $2`,
      [state, limit, ...scope.values],
    );
    return rows.map(toPayment);
  }

  pendingAmountOf(payer: Hex): Promise<bigint> {
    return this.pendingSum(payer, FROM_BALANCE_SQL);
  }

  pendingOneOffAmountOf(payer: Hex): Promise<bigint> {
    return this.pendingSum(payer, ONE_OFF_SQL);
  }

  private async pendingSum(payer: Hex, funding: string): Promise<bigint> {
    const scope = this.scope.pg(2);
    const rows = await this.conn.rows<{ sum: string | null }>(
      `SELECT SUM(amount) AS sum FROM payments WHERE payer = $1${scope.sql} AND state IN (${PENDING_SQL}) AND ${funding}`,
      [hex(payer), ...scope.values],
    );
    return BigInt(rows[0].sum ?? "0");
  }

  async pendingNoncesOf(payer: Hex): Promise<bigint[]> {
    const scope = this.scope.pg(2);
    const rows = await this.conn.rows<{ nonce: string }>(
      `SELECT nonce FROM payments WHERE payer = $1${scope.sql} AND state IN (${PENDING_SQL}) AND ${FROM_BALANCE_SQL}`,
      [hex(payer), ...scope.values],
    );
    return rows.map((r) => BigInt(r.nonce)).sort(compare);
  }

  async pendingOf(payer: Hex): Promise<PendingPayment[]> {
    const scope = this.scope.pg(2);
    const rows = await this.conn.rows<{ id: string; amount: string; nonce: string; state: string }>(
      `SELECT id, amount, nonce, state FROM payments
         WHERE payer = $1${scope.sql} AND state IN (${PENDING_SQL}) AND ${FROM_BALANCE_SQL} ORDER BY seq`,
      [hex(payer), ...scope.values],
    );
    return rows.map((r) => ({
      id: r.id as Hex,
      amount: BigInt(r.amount),
      nonce: BigInt(r.nonce),
      state: r.state as PaymentState,
    }));
  }

  async setState(
    ids: Hex[],
    state: PaymentState,
    fields: Partial<
      Pick<PaymentRecord, "rejectReason" | "batchKey" | "batchId" | "leafIndex" | "txHash" | "releaseAt" | "refunded">
    > = {},
  ): Promise<void> {
    if (ids.length === 0) return;
    const { sql, values } = assignments({ ...fields, state }, Date.now(), 2);
    const scope = this.scope.pg(values.length + 2);
    await this.conn.query(`UPDATE payments SET ${sql} WHERE id = ANY($1::text[])${scope.sql}`, [
      ids.map(hex),
      ...values,
      ...scope.values,
    ]);
  }

  async update(updates: PaymentUpdate[]): Promise<void> {
    await this.updateMany(updates);
  }

  /** One `UPDATE … FROM unnest(…)` per set of changed columns, each row with its own values. */
  updateMany(updates: readonly PaymentUpdate[]): Promise<Set<Hex>> {
    const statements: { sql: string; values: unknown[] }[] = [];
    for (const rows of groupByShape(mergePaymentUpdates(updates, Date.now())).values()) {
      const keys = Object.keys(rows[0][1]).sort();
      const columns = keys.map(columnOf);
      const scope = this.scope.pg(columns.length + 2, "p.currency");
      statements.push({
        sql: `UPDATE payments AS p SET ${columns.map(([name]) => `${name} = v.${name}`).join(", ")}
                FROM unnest($1::text[], ${columns.map(([, , type], i) => `$${i + 2}::${type}[]`).join(", ")})
                  AS v(id, ${columns.map(([name]) => name).join(", ")})
               WHERE p.id = v.id${scope.sql}
           RETURNING p.id`,
        values: [
          rows.map(([id]) => id),
          ...keys.map((key, i) => rows.map(([, fields]) => columns[i][1](fields[key as keyof PaymentRecord]))),
          ...scope.values,
        ],
      });
    }
    if (statements.length === 0) return Promise.resolve(new Set());
    return this.conn.atomic(async (db) => {
      const written = new Set<Hex>();
      for (const { sql, values } of statements) {
        for (const row of (await db.query<{ id: string }>(sql, values)).rows) written.add(row.id as Hex);
      }
      return written;
    });
  }

  async countByState(): Promise<Record<PaymentState, number>> {
    const counts = Object.fromEntries(Object.values(PaymentState).map((s) => [s, 0])) as Record<PaymentState, number>;
    const scope = this.scope.pg(1);
    const rows = await this.conn.rows<{ state: PaymentState; n: number }>(
      `SELECT state, COUNT(*) AS n FROM payments WHERE TRUE${scope.sql} GROUP BY state`,
      scope.values,
    );
    for (const r of rows) counts[r.state] = r.n;
    return counts;
  }
}
