/**
 * The single-instance lease: at most one relayer process works on a database. Two would batch the
 * same payments and sign with the same key on two nonce counters (double sends, nonce fights), so
 * the second one refuses to start, naming the holder.
 *
 * The lease is a row in the database itself, so it holds for any two processes on one SQLite file,
 * on one host or on two sharing the file. The holder renews it (`renew`, every LEASE_TTL_MS / 3);
 * another process may take it over when the holder stopped renewing for LEASE_TTL_MS, or at once
 * when the holder's pid is gone from this same host (a kill -9 followed by a restart). A graceful
 * stop releases it.
 */
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
