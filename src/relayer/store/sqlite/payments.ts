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
import { big, bigOrNull, dec, decOrNull, decodeCursor, encodeCursor, hex, hexOrNull, placeholders } from "./codec";
import { enqueueAcceptedEvents } from "./outbox";
import type { Connection } from "./connection";
import type { CurrencyScope } from "../currencyScope";

/** Not yet final on chain: their amounts and nonces are still reserved against the payer. */
/** Values per IN (...) list: well under SQLite's bound-parameter limit. */
const IN_CHUNK = 500;

export const PENDING_STATES = [PaymentState.Accepted, PaymentState.Batched, PaymentState.Submitted] as const;
const PENDING_SQL = PENDING_STATES.map((s) => `'${s}'`).join(", ");
/**
 * One-off payments (nonce ONE_OFF_NONCE) are paid from the payer's wallet, not its escrow balance
 * or nonce window: the escrow-balance reads leave them out, pendingOneOffAmountOf sums them.
 */
const FROM_BALANCE_SQL = `nonce <> '${ONE_OFF_NONCE}'`;
const ONE_OFF_SQL = `nonce = '${ONE_OFF_NONCE}'`;
/** pendingSum's limbs: 13 decimal digits each. */
const LIMB_DIGITS = 13n;
const LIMB = 10n ** LIMB_DIGITS;

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
  hold: number;
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

export const toPayment = (r: PaymentRow): PaymentRecord => ({
  id: r.id as Hex,
  currency: r.currency,
  payer: r.payer as Hex,
  merchantId: big(r.merchant_id),
  amount: big(r.amount),
  orderRef: r.order_ref as Hex,
  nonce: big(r.nonce),
  validAfter: big(r.valid_after),
  deadline: big(r.deadline),
  hold: BigInt(r.hold),
  signature: r.signature as Hex,
  state: r.state as PaymentState,
  rejectReason: r.reject_reason as RejectReason | null,
  batchKey: r.batch_key,
  batchId: bigOrNull(r.batch_id),
  leafIndex: r.leaf_index,
  txHash: r.tx_hash as Hex | null,
  refunded: big(r.refunded),
  releaseAt: bigOrNull(r.release_at),
  timer: decodeTimer(r.timer),
  requestId: r.request_id,
  signatureKind: r.signature_kind as SignatureKind | null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Column and encoder for each updatable field; `id`, `currency` and `createdAt` are immutable. */
const COLUMNS: { [K in keyof PaymentRecord]?: [string, (v: PaymentRecord[K]) => unknown] } = {
  payer: ["payer", hex],
  merchantId: ["merchant_id", dec],
  amount: ["amount", dec],
  orderRef: ["order_ref", hex],
  nonce: ["nonce", dec],
  validAfter: ["valid_after", dec],
  deadline: ["deadline", dec],
  signature: ["signature", hex],
  state: ["state", (v) => v],
  rejectReason: ["reject_reason", (v) => v],
  batchKey: ["batch_key", (v) => v],
  batchId: ["batch_id", decOrNull],
  leafIndex: ["leaf_index", (v) => v],
  txHash: ["tx_hash", hexOrNull],
  refunded: ["refunded", dec],
  releaseAt: ["release_at", decOrNull],
  timer: ["timer", encodeTimer],
  requestId: ["request_id", (v) => v],
  updatedAt: ["updated_at", (v) => v],
};

type Column = [string, (v: unknown) => unknown];

function columnOf(key: string): Column {
  const column = COLUMNS[key as keyof PaymentRecord] as Column | undefined;
  if (!column) throw new Error(`payment field "${key}" cannot be updated`);
  return column;
}

/** SET clause and values for the given fields, always stamping updated_at. */
function assignments(fields: Partial<PaymentRecord>, now: number): { sql: string; values: unknown[] } {
  const parts: string[] = [];
  const values: unknown[] = [];
  for (const key of Object.keys(fields).sort() as (keyof PaymentRecord)[]) {
    const value = fields[key];
    if (value === undefined || key === "updatedAt") continue;
    const column = columnOf(key);
    parts.push(`${column[0]} = ?`);
    values.push(column[1](value));
  }
  parts.push("updated_at = ?");
  values.push(fields.updatedAt ?? now);
  return { sql: parts.join(", "), values };
}

/**
 * Payments on the file, of one currency (a view) or all (`scope.currency` null). A view's every
 * statement carries `scope.sqlite()`'s condition, reads by id and updates included.
 */
export class SqlitePayments implements PaymentRepository {
  constructor(
    private readonly conn: Connection,
    private readonly scope: CurrencyScope,
  ) {}

  insertAccepted(payments: PaymentRecord[]): Promise<Set<Hex>> {
    for (const p of payments) this.scope.accept(p.currency);
    return this.conn.atomic(() => {
      const inserted = new Set<Hex>();
      for (const p of payments) if (this.insertOne(p)) inserted.add(hex(p.id));
      enqueueAcceptedEvents(
        this.conn,
        payments.filter((p) => p.state === PaymentState.Accepted && inserted.has(hex(p.id))),
      );
      return inserted;
    });
  }

  /**
   * BEGIN IMMEDIATE takes SQLite's write lock before the pending payments are read, so every writer
   * on the file (each process, the intake writer thread) judges against all payments committed
   * before it, and none commits in between. Each item costs index seeks, not a read of the payer's
   * pending payments: its id, its (payer, currency, nonce) among the pending rows, and once per
   * payer and currency per call the pending sum (pendingSum), to which the call's own inserts are
   * added. Each record is judged in its own currency, in a view as in the unscoped store.
   */
  insertAcceptedGuarded(items: readonly GuardedInsert[]): Promise<Map<Hex, GuardedInsertOutcome>> {
    for (const { record } of items) this.scope.accept(record.currency);
    return this.conn.atomic(() => {
      const outcomes = new Map<Hex, GuardedInsertOutcome>();
      const sums = new Map<string, bigint>();
      const nonceTaken = this.conn.prepare(
        `SELECT 1 FROM payments WHERE payer = ? AND currency = ? AND nonce = ? AND state IN (${PENDING_SQL})
           AND ${FROM_BALANCE_SQL} LIMIT 1`,
      );
      const stored = this.conn.prepare("SELECT 1 FROM payments WHERE id = ?");
      const inserted: PaymentRecord[] = [];
      for (const { record, ceiling } of items) {
        const id = hex(record.id);
        if (outcomes.has(id)) continue;
        const payer = hex(record.payer);
        let outcome: GuardedInsertOutcome;
        // A one-off payment is judged against the payer's pending one-off payments and its wallet
        // (`ceiling`), with no nonce of the window to take.
        const oneOff = isOneOff(record);
        const sumKey = `${record.currency}:${payer}:${oneOff ? "one-off" : "balance"}`;
        if (stored.get(id) !== undefined) outcome = "duplicate";
        // The call's own inserts are pending rows by now: the seek sees them.
        else if (!oneOff && nonceTaken.get(payer, record.currency, dec(record.nonce)) !== undefined) {
          outcome = "nonce_unavailable";
        } else {
          const sum =
            sums.get(sumKey) ?? this.pendingSum(payer, record.currency, oneOff ? ONE_OFF_SQL : FROM_BALANCE_SQL);
          sums.set(sumKey, sum);
          if (sum + record.amount > ceiling) outcome = "insufficient_balance";
          // Not inserted although the guard passed: the payment request is claimed by another
          // payment; the caller tells it apart by a read.
          else if (!this.insertOne(record)) outcome = "duplicate";
          else {
            outcome = "inserted";
            sums.set(sumKey, sum + record.amount);
            inserted.push(record);
          }
        }
        outcomes.set(id, outcome);
      }
      enqueueAcceptedEvents(
        this.conn,
        inserted.filter((p) => p.state === PaymentState.Accepted),
      );
      return outcomes;
    });
  }

  /**
   * The sum of a payer's pending amounts (of `currency`; null: of every currency, the unscoped
   * store's read), added up by SQLite from the covering index. Amounts are
   * decimal text of up to 39 digits (uint128) and SQLite's integers have 63 bits, so each amount is
   * split into three 13-digit limbs summed apart: a limb sum stays exact below 920,000 rows. Rows
   * past those bounds (never written by intake) are summed in bigint instead.
   */
  private pendingSum(payer: Hex, currency: string | null, funding: string = FROM_BALANCE_SQL): bigint {
    const inCurrency = currency === null ? "" : " AND currency = ?";
    const args = currency === null ? [payer] : [payer, currency];
    const row = this.conn
      .prepare(
        `SELECT COUNT(*) AS n, MAX(LENGTH(amount)) AS width,
           SUM(CAST(substr(amount, -13) AS INTEGER)) AS lo,
           SUM(CAST(substr(amount, -26, 13) AS INTEGER)) AS mid,
           SUM(CAST(substr(amount, -39, 13) AS INTEGER)) AS hi
         FROM payments WHERE payer = ?${inCurrency} AND state IN (${PENDING_SQL}) AND ${funding}`,
      )
      .safeIntegers(true)
      .get(...args) as { n: bigint; width: bigint | null; lo: bigint | null; mid: bigint | null; hi: bigint | null };
    if (row.n === 0n) return 0n;
    if (row.width! > LIMB_DIGITS * 3n || row.n >= 900_000n) {
      const rows = this.conn
        .prepare(
          `SELECT amount FROM payments WHERE payer = ?${inCurrency} AND state IN (${PENDING_SQL}) AND ${funding}`,
        )
        .all(...args) as { amount: string }[];
      return rows.reduce((total, r) => total + BigInt(r.amount), 0n);
    }
    return (row.hi! * LIMB + row.mid!) * LIMB + row.lo!;
  }

  /** Inserts one payment unless its id or its payment request's claim is taken; true if inserted. */
  private insertOne(p: PaymentRecord): boolean {
    // ON CONFLICT DO NOTHING, not INSERT OR IGNORE: OR IGNORE would also swallow a NOT NULL violation
    // and silently drop a payment the caller then acknowledges. The upsert clause covers only the
    // unique keys: the id (a retry) and request_claim (a second payment of one payment request).
    const insert = this.conn.prepare(
      `INSERT INTO payments (id, currency, payer, merchant_id, amount, order_ref, nonce, valid_after, deadline, hold,
         signature, state, reject_reason, batch_key, batch_id, leaf_index, tx_hash, refunded, release_at,
         request_id, request_claim, signature_kind, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    );
    const result = insert.run(
      hex(p.id),
      p.currency,
      hex(p.payer),
      dec(p.merchantId),
      dec(p.amount),
      hex(p.orderRef),
      dec(p.nonce),
      dec(p.validAfter),
      dec(p.deadline),
      Number(p.hold),
      hex(p.signature),
      p.state,
      p.rejectReason,
      p.batchKey,
      decOrNull(p.batchId),
      p.leafIndex,
      hexOrNull(p.txHash),
      dec(p.refunded),
      decOrNull(p.releaseAt),
      p.requestId,
      p.requestId,
      p.signatureKind,
      p.createdAt,
      p.updatedAt,
    );
    return result.changes > 0;
  }

  get(id: Hex): Promise<PaymentRecord | null> {
    return this.conn.run(() => {
      const scope = this.scope.sqlite();
      const row = this.conn.prepare(`SELECT * FROM payments WHERE id = ?${scope.sql}`).get(hex(id), ...scope.values) as
        PaymentRow | undefined;
      return row ? toPayment(row) : null;
    });
  }

  /** Newest first, keyset-paginated on (created_at, id) so pages stay stable while rows are added. */
  getMany(ids: readonly Hex[]): Promise<Map<Hex, PaymentRecord>> {
    return this.conn.run(() => {
      const found = new Map<Hex, PaymentRecord>();
      const scope = this.scope.sqlite();
      for (let at = 0; at < ids.length; at += IN_CHUNK) {
        const chunk = ids.slice(at, at + IN_CHUNK).map(hex);
        const rows = this.conn
          .prepare(`SELECT * FROM payments WHERE id IN (${placeholders(chunk.length)})${scope.sql}`)
          .all(...chunk, ...scope.values) as PaymentRow[];
        for (const row of rows) found.set(row.id as Hex, toPayment(row));
      }
      return found;
    });
  }

  releasableTranches(
    states: readonly PaymentState[],
    chainTime: bigint,
  ): Promise<{ merchantId: bigint; batchId: bigint }[]> {
    return this.conn.run(() => {
      if (states.length === 0) return [];
      // Grouped in SQLite: the settler asks on every tick, and decoding every held payment into a
      // record to find a handful of tranches cost the HTTP thread tens of milliseconds per tick.
      const scope = this.scope.sqlite();
      const rows = this.conn
        .prepare(
          `SELECT DISTINCT merchant_id, batch_id FROM payments
             WHERE state IN (${placeholders(states.length)}) AND batch_id IS NOT NULL
               AND release_at IS NOT NULL AND CAST(release_at AS INTEGER) <= ?${scope.sql}`,
        )
        .all(...states, chainTime, ...scope.values) as { merchant_id: string; batch_id: string }[];
      return rows.map((r) => ({ merchantId: BigInt(r.merchant_id), batchId: BigInt(r.batch_id) }));
    });
  }

  listByBatchIds(batchIds: readonly bigint[], states: readonly PaymentState[]): Promise<PaymentRecord[]> {
    return this.conn.run(() => {
      if (batchIds.length === 0 || states.length === 0) return [];
      const out: PaymentRecord[] = [];
      const scope = this.scope.sqlite();
      for (let at = 0; at < batchIds.length; at += IN_CHUNK) {
        const chunk = batchIds.slice(at, at + IN_CHUNK).map(dec);
        const rows = this.conn
          .prepare(
            `SELECT * FROM payments WHERE batch_id IN (${placeholders(chunk.length)})
               AND state IN (${placeholders(states.length)})${scope.sql} ORDER BY seq`,
          )
          .all(...chunk, ...states, ...scope.values) as PaymentRow[];
        out.push(...rows.map(toPayment));
      }
      return out;
    });
  }

  listTimersDue(chainTime: bigint, limit: number, skipMerchants: readonly bigint[] = []): Promise<PaymentRecord[]> {
    return this.conn.run(() => {
      const skip = skipMerchants.length === 0 ? "" : `AND merchant_id NOT IN (${placeholders(skipMerchants.length)})`;
      const scope = this.scope.sqlite();
      const rows = this.conn
        .prepare(
          `SELECT * FROM payments WHERE timer_due_at IS NOT NULL AND timer_due_at <= ? ${skip}${scope.sql}
             ORDER BY timer_due_at, id LIMIT ?`,
        )
        .all(chainTime, ...skipMerchants.map(dec), ...scope.values, limit) as PaymentRow[];
      return rows.map(toPayment);
    });
  }

  listTimersAfter(block: bigint): Promise<PaymentRecord[]> {
    return this.conn.run(() => {
      const scope = this.scope.sqlite();
      const rows = this.conn
        .prepare(
          `SELECT * FROM payments WHERE timer IS NOT NULL AND timer_block > ?${scope.sql} ORDER BY timer_block, id`,
        )
        .all(block, ...scope.values) as PaymentRow[];
      return rows.map(toPayment);
    });
  }

  listReleasedOffTranche(merchantId?: bigint): Promise<PaymentRecord[]> {
    return this.conn.run(() => {
      const byMerchant = merchantId === undefined ? "" : "AND merchant_id = ?";
      const scope = this.scope.sqlite();
      const rows = this.conn
        .prepare(
          `SELECT * FROM payments WHERE state = '${PaymentState.Released}' AND timer IS NOT NULL ${byMerchant}${scope.sql}
             ORDER BY merchant_id, id`,
        )
        .all(...(merchantId === undefined ? [] : [dec(merchantId)]), ...scope.values) as PaymentRow[];
      return rows.map(toPayment);
    });
  }

  list(filter: PaymentFilter): Promise<Page<PaymentRecord>> {
    return this.conn.run(() => {
      const where: string[] = [];
      const values: unknown[] = [];
      const currency = this.scope.currency ?? filter.currency;
      // A view lists its own currency's payments only.
      if (this.scope.currency !== null && filter.currency !== undefined && filter.currency !== this.scope.currency) {
        return { items: [], nextCursor: null };
      }
      if (currency !== undefined) {
        where.push("currency = ?");
        values.push(currency);
      }
      if (filter.merchantId !== undefined) {
        where.push("merchant_id = ?");
        values.push(dec(filter.merchantId));
      }
      if (filter.payer !== undefined) {
        where.push("payer = ?");
        values.push(hex(filter.payer));
      }
      if (filter.states !== undefined) {
        if (filter.states.length === 0) return { items: [], nextCursor: null };
        where.push(`state IN (${placeholders(filter.states.length)})`);
        values.push(...filter.states);
      }
      if (filter.orderRef !== undefined) {
        where.push("order_ref = ?");
        values.push(hex(filter.orderRef));
      }
      if (filter.from !== undefined) {
        where.push("created_at >= ?");
        values.push(filter.from);
      }
      if (filter.to !== undefined) {
        where.push("created_at < ?");
        values.push(filter.to);
      }
      if (filter.cursor !== undefined) {
        const [createdAt, id] = decodeCursor(filter.cursor, ["number", "string"]);
        where.push("(created_at, id) < (?, ?)");
        values.push(createdAt, id);
      }
      const limit = Math.max(1, Math.floor(filter.limit));
      const sql = `SELECT * FROM payments ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
        ORDER BY created_at DESC, id DESC LIMIT ?`;
      const rows = this.conn.prepare(sql).all(...values, limit + 1) as PaymentRow[];
      const items = rows.slice(0, limit).map(toPayment);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit ? encodeCursor([last.createdAt, last.id]) : null };
    });
  }

  listByState(state: PaymentState, limit: number): Promise<PaymentRecord[]> {
    return this.conn.run(() => {
      const scope = this.scope.sqlite();
      const rows = this.conn
        .prepare(`SELECT * FROM payments WHERE state = ?${scope.sql} ORDER BY created_at, id LIMIT ?`)
        .all(state, ...scope.values, limit) as PaymentRow[];
      return rows.map(toPayment);
    });
  }

  pendingAmountOf(payer: Hex): Promise<bigint> {
    return this.conn.run(() => this.pendingSum(hex(payer), this.scope.currency));
  }

  pendingOneOffAmountOf(payer: Hex): Promise<bigint> {
    return this.conn.run(() => this.pendingSum(hex(payer), this.scope.currency, ONE_OFF_SQL));
  }

  pendingNoncesOf(payer: Hex): Promise<bigint[]> {
    return this.conn.run(() => {
      const scope = this.scope.sqlite();
      const rows = this.conn
        .prepare(
          `SELECT nonce FROM payments WHERE payer = ?${scope.sql} AND state IN (${PENDING_SQL}) AND ${FROM_BALANCE_SQL}`,
        )
        .all(hex(payer), ...scope.values) as { nonce: string }[];
      return rows.map((r) => BigInt(r.nonce)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    });
  }

  pendingOf(payer: Hex): Promise<PendingPayment[]> {
    return this.conn.run(() => {
      const scope = this.scope.sqlite();
      const rows = this.conn
        .prepare(
          `SELECT id, amount, nonce, state FROM payments
             WHERE payer = ?${scope.sql} AND state IN (${PENDING_SQL}) AND ${FROM_BALANCE_SQL}`,
        )
        .all(hex(payer), ...scope.values) as { id: string; amount: string; nonce: string; state: string }[];
      return rows.map((r) => ({
        id: r.id as Hex,
        amount: BigInt(r.amount),
        nonce: BigInt(r.nonce),
        state: r.state as PaymentState,
      }));
    });
  }

  setState(
    ids: Hex[],
    state: PaymentState,
    fields: Partial<
      Pick<PaymentRecord, "rejectReason" | "batchKey" | "batchId" | "leafIndex" | "txHash" | "releaseAt" | "refunded">
    > = {},
  ): Promise<void> {
    return this.conn.atomic(() => {
      const { sql, values } = assignments({ ...fields, state }, Date.now());
      const scope = this.scope.sqlite();
      const statement = this.conn.prepare(`UPDATE payments SET ${sql} WHERE id = ?${scope.sql}`);
      for (const id of ids) statement.run(...values, hex(id), ...scope.values);
    });
  }

  async update(updates: PaymentUpdate[]): Promise<void> {
    await this.updateMany(updates);
  }

  /** One prepared statement per set of changed columns, run for each of its rows in one transaction. */
  updateMany(updates: readonly PaymentUpdate[]): Promise<Set<Hex>> {
    const groups = [...groupByShape(mergePaymentUpdates(updates, Date.now())).values()].map((rows) => {
      const keys = Object.keys(rows[0][1]).sort();
      return { keys, columns: keys.map(columnOf), rows };
    });
    if (groups.length === 0) return Promise.resolve(new Set());
    const scope = this.scope.sqlite();
    return this.conn.atomic(() => {
      const written = new Set<Hex>();
      for (const { keys, columns, rows } of groups) {
        const statement = this.conn.prepare(
          `UPDATE payments SET ${columns.map(([name]) => `${name} = ?`).join(", ")} WHERE id = ?${scope.sql}`,
        );
        for (const [id, fields] of rows) {
          const values = keys.map((key, i) => columns[i][1](fields[key as keyof PaymentRecord]));
          if (statement.run(...values, id, ...scope.values).changes > 0) written.add(id);
        }
      }
      return written;
    });
  }

  countByState(): Promise<Record<PaymentState, number>> {
    return this.conn.run(() => {
      const counts = Object.fromEntries(Object.values(PaymentState).map((s) => [s, 0])) as Record<PaymentState, number>;
      const scope = this.scope.sqlite();
      const rows = this.conn
        .prepare(`SELECT state, COUNT(*) AS n FROM payments WHERE 1 = 1${scope.sql} GROUP BY state`)
        .all(...scope.values) as {
        state: PaymentState;
        n: number;
      }[];
      for (const r of rows) counts[r.state] = r.n;
      return counts;
    });
  }
}
