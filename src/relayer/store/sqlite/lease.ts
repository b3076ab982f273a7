/**
 * The single-instance lease: at most one relayer process works on a database. Two would batch the
 * same payments and sign with the same key on two nonce counters (double sends, nonce fights), so
 * the second one refuses to start, naming the holder.
 *
 * The lease is a row in the database itself, so it holds for any two processes on one SQLite file,
 * on one host or on two sharing the file. The holder renews it (`renew`, every LEASE_TTL_MS / 3);
 * another process may take it over when the holder stopped renewing for LEASE_TTL_MS, or at once
 * when the holder's pid is gone from this same host (a kill -9 followed by a restart). A graceful
 * stop releases it. Since several workers coordinate through named leases with fencing
 * (`SqliteLeases` below), this one is taken only by a process of role `all` on SQLite: the embedded
 * layout, whose in-memory intake state assumes it is the only intake on the file.
 */
import { FencedError } from "../errors";
import type { Fence, Lease, LeaseRepository } from "../types";
import type { Connection } from "./connection";

/** A holder that has not renewed for this long is presumed dead. */
export const LEASE_TTL_MS = 30_000;

const NAME = "relayer";

export interface LeaseHolder {
  /** Random per process start. */
  holder: string;
  pid: number;
  host: string;
  /** The signer address the holder sends with. */
  signer: string;
  acquiredAt: number;
  heartbeatAt: number;
}

/** Another live relayer holds the database. */
export class InstanceLockedError extends Error {
  readonly code = "instance_locked";

  constructor(readonly current: LeaseHolder) {
    super(
      `another relayer holds this database: pid ${current.pid} on ${current.host}, signer ${current.signer}, ` +
        `since ${new Date(current.acquiredAt).toISOString()}, last heartbeat ${new Date(current.heartbeatAt).toISOString()}; ` +
        `stop it first (a crashed holder's lease expires ${LEASE_TTL_MS / 1000} s after its last heartbeat)`,
    );
    this.name = "InstanceLockedError";
  }
}

interface LeaseRow {
  holder: string;
  pid: number;
  host: string;
  signer: string;
  acquired_at: number;
  heartbeat_at: number;
}

const toHolder = (r: LeaseRow): LeaseHolder => ({
  holder: r.holder,
  pid: r.pid,
  host: r.host,
  signer: r.signer,
  acquiredAt: r.acquired_at,
  heartbeatAt: r.heartbeat_at,
});

/** Whether `pid` names a live process on this host (signal 0 only checks). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class SqliteLease {
  constructor(private readonly conn: Connection) {}

  /** The current holder, if any (expired or not). */
  current(): Promise<LeaseHolder | null> {
    return this.conn.run(() => {
      const row = this.conn.prepare("SELECT * FROM instance_lease WHERE name = ?").get(NAME) as LeaseRow | undefined;
      return row ? toHolder(row) : null;
    });
  }

  /** Takes the lease for `me`, or throws InstanceLockedError while another live holder has it. */
  acquire(
    me: Pick<LeaseHolder, "holder" | "pid" | "host" | "signer">,
    options: { now?: number; ttlMs?: number; alive?: (pid: number) => boolean } = {},
  ): Promise<LeaseHolder> {
    const now = options.now ?? Date.now();
    const ttlMs = options.ttlMs ?? LEASE_TTL_MS;
    const alive = options.alive ?? processAlive;
    return this.conn.atomic(() => {
      const row = this.conn.prepare("SELECT * FROM instance_lease WHERE name = ?").get(NAME) as LeaseRow | undefined;
      if (row && row.holder !== me.holder) {
        const expired = now - row.heartbeat_at > ttlMs;
        const goneHere = row.host === me.host && row.pid !== process.pid && !alive(row.pid);
        if (!expired && !goneHere) throw new InstanceLockedError(toHolder(row));
      }
      this.conn
        .prepare(
          `INSERT INTO instance_lease (name, holder, pid, host, signer, acquired_at, heartbeat_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, pid = excluded.pid, host = excluded.host,
             signer = excluded.signer, acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at`,
        )
        .run(NAME, me.holder, me.pid, me.host, me.signer.toLowerCase(), now, now);
      return { ...me, signer: me.signer.toLowerCase(), acquiredAt: now, heartbeatAt: now };
    });
  }

  /** Renews `holder`'s lease; false when it no longer holds it (taken over after expiring). */
  renew(holder: string, now: number = Date.now()): Promise<boolean> {
    return this.conn.run(
      () =>
        this.conn
          .prepare("UPDATE instance_lease SET heartbeat_at = ? WHERE name = ? AND holder = ?")
          .run(now, NAME, holder).changes === 1,
    );
  }

  /** Gives the lease up (graceful stop): the next relayer starts at once. */
  release(holder: string): Promise<void> {
    return this.conn.run(() => {
      this.conn.prepare("DELETE FROM instance_lease WHERE name = ? AND holder = ?").run(NAME, holder);
    });
  }
}

interface NamedLeaseRow {
  name: string;
  holder: string;
  epoch: number;
  expires_at: number;
  info: string;
}

const toLease = (r: NamedLeaseRow): Lease => ({
  name: r.name,
  holder: r.holder,
  epoch: r.epoch,
  expiresAt: r.expires_at,
  info: r.info,
});

/**
 * Throws FencedError unless `fence` still holds its lease. Called inside the atomic unit of the write
 * it guards: SQLite's write transactions are IMMEDIATE (one writer per file), so no other process can
 * take the lease over between this check and the commit.
 */
export function assertLeaseHeld(conn: Connection, fence: Fence): void {
  const row = conn.prepare("SELECT * FROM leases WHERE name = ?").get(fence.lease) as NamedLeaseRow | undefined;
  if (row && row.holder === fence.holder && row.epoch === fence.epoch) return;
  throw new FencedError(fence, row && row.holder !== "" ? { holder: row.holder, epoch: row.epoch } : null);
}

/**
 * Named leases with fencing epochs (LeaseRepository): the `jobs` lease (one worker runs the
 * singleton jobs) and one `lane:<signer>` lease per signer key (one submitter per key). A released
 * lease keeps its row (holder "") so its epoch keeps growing across holders.
 */
export class SqliteLeases implements LeaseRepository {
  constructor(private readonly conn: Connection) {}

  acquire(name: string, holder: string, ttlMs: number, now: number, info: string): Promise<Lease | null> {
    return this.conn.atomic(() => {
      const row = this.conn.prepare("SELECT * FROM leases WHERE name = ?").get(name) as NamedLeaseRow | undefined;
      const live = row !== undefined && row.holder !== "" && row.expires_at > now;
      if (live && row.holder !== holder) return null;
      // Still ours: extended at the same epoch. Otherwise a new tenure: the epoch moves on, which
      // fences whatever an earlier holder still tries to write.
      const epoch = live ? row.epoch : (row?.epoch ?? 0) + 1;
      this.conn
        .prepare(
          `INSERT INTO leases (name, holder, epoch, expires_at, info) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, epoch = excluded.epoch,
             expires_at = excluded.expires_at, info = excluded.info`,
        )
        .run(name, holder, epoch, now + ttlMs, info);
      return { name, holder, epoch, expiresAt: now + ttlMs, info };
    });
  }

  renew(name: string, holder: string, epoch: number, ttlMs: number, now: number): Promise<boolean> {
    return this.conn.run(
      () =>
        this.conn
          .prepare("UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND epoch = ?")
          .run(now + ttlMs, name, holder, epoch).changes === 1,
    );
  }

  release(name: string, holder: string, epoch: number): Promise<void> {
    return this.conn.run(() => {
      this.conn
        .prepare("UPDATE leases SET holder = '', expires_at = 0 WHERE name = ? AND holder = ? AND epoch = ?")
        .run(name, holder, epoch);
    });
  }

  assertHeld(fence: Fence): Promise<void> {
    return this.conn.run(() => assertLeaseHeld(this.conn, fence));
  }

  get(name: string): Promise<Lease | null> {
    return this.conn.run(() => {
      // A released lease keeps its row (and epoch) with no holder: nobody holds it.
      const row = this.conn.prepare("SELECT * FROM leases WHERE name = ? AND holder <> ''").get(name) as
        NamedLeaseRow | undefined;
      return row ? toLease(row) : null;
    });
  }

  list(prefix: string): Promise<Lease[]> {
    return this.conn.run(() =>
      (
        this.conn
          .prepare("SELECT * FROM leases WHERE substr(name, 1, ?) = ? AND holder <> '' ORDER BY name")
          .all(prefix.length, prefix) as NamedLeaseRow[]
      ).map(toLease),
    );
  }
}
