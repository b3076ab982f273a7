/**
 * Holds one named lease (store.leases) for this process: takes it when free or expired, renews it
 * every TTL / 3, and gives it up on a graceful stop. What runs under the lease starts in
 * `onAcquired` and stops in `onLost`; the fence it hands out goes into every write that must come
 * from the current holder only.
 *
 * A holder that cannot renew in time (a pause, a database outage) counts the lease as lost once its
 * own deadline passes, without waiting to hear it from the store: by then another worker may hold
 * it. A holder recorded by a process that is gone from this same host (kill -9 and a restart) is
 * released at once rather than waited out.
 */
import os from "node:os";
import type { Fence, Lease, LeaseRepository } from "../store/types";
import { processAlive } from "../store/sqlite/lease";
import type { Clock } from "../runtime/clock";
import { errorMessage, type Logger } from "../runtime/log";

export interface LeaseInfo {
  pid: number;
  host: string;
  role: string;
}

export interface LeaseKeeperOptions {
  leases: LeaseRepository;
  name: string;
  /** This process's holder id (random per start). */
  holder: string;
  role: string;
  ttlMs: number;
  clock: Clock;
  log: Logger;
  /** Runs once the lease is taken; a failure gives the lease back (tried again later). */
  onAcquired(fence: Fence): Promise<void>;
  /** Runs once the lease is lost or given up: stop what ran under it. */
  onLost(reason: "expired" | "taken" | "released"): Promise<void>;
}

export class LeaseKeeper {
  private held: Lease | null = null;
  private renewedAt = 0;
  private readonly info: string;

  constructor(private readonly options: LeaseKeeperOptions) {
    const info: LeaseInfo = { pid: process.pid, host: os.hostname(), role: options.role };
    this.info = JSON.stringify(info);
  }

  get name(): string {
    return this.options.name;
  }

  /** The fence while held; null otherwise. */
  fence(): Fence | null {
    const held = this.held;
    if (!held || this.options.clock.now() >= held.expiresAt) return null;
    return { lease: held.name, holder: held.holder, epoch: held.epoch };
  }

  get isHeld(): boolean {
    return this.held !== null;
  }

  /** One step: renew when due (or notice the lease is lost), else try to take it. */
  async tick(): Promise<void> {
    const now = this.options.clock.now();
    if (this.held) {
      if (now >= this.held.expiresAt) return this.lose("expired");
      if (now - this.renewedAt < this.options.ttlMs / 3) return;
      const { name, holder, ttlMs } = this.options;
      let renewed: boolean;
      try {
        renewed = await this.options.leases.renew(name, holder, this.held.epoch, ttlMs, now);
      } catch (error) {
        this.options.log.warn({ lease: name, err: errorMessage(error) }, "lease renewal failed; retrying");
        return;
      }
      if (!renewed) return this.lose("taken");
      this.held = { ...this.held, expiresAt: now + ttlMs };
      this.renewedAt = now;
      return;
    }
    await this.tryAcquire(now);
  }

  private async tryAcquire(now: number): Promise<void> {
    const { leases, name, holder, ttlMs, log } = this.options;
    let lease = await leases.acquire(name, holder, ttlMs, now, this.info);
    if (!lease) {
      const current = await leases.get(name);
      if (!current || !goneFromThisHost(current)) return;
      // Its process died on this host (kill -9): no need to wait out its TTL.
      await leases.release(name, current.holder, current.epoch);
      log.warn({ lease: name, epoch: current.epoch }, "lease of a process gone from this host released");
      lease = await leases.acquire(name, holder, ttlMs, now, this.info);
      if (!lease) return;
    }
    this.held = lease;
    this.renewedAt = now;
    log.info({ lease: name, epoch: lease.epoch }, "lease acquired");
    try {
      await this.options.onAcquired({ lease: name, holder, epoch: lease.epoch });
    } catch (error) {
      log.error({ lease: name, err: errorMessage(error) }, "could not start under the lease; giving it back");
      await this.release();
    }
  }

  /** Lost (expired or taken over): stop what runs under it. */
  private async lose(reason: "expired" | "taken"): Promise<void> {
    const held = this.held;
    if (!held) return;
    this.held = null;
    this.options.log.error({ lease: held.name, epoch: held.epoch, reason }, "lease lost");
    await this.options.onLost(reason);
  }

  /** Told by a fenced write that the lease moved on. */
  async lost(): Promise<void> {
    await this.lose("taken");
  }

  /** Graceful: stops what runs under it, then frees the lease for a standby at once. */
  async release(): Promise<void> {
    const held = this.held;
    if (!held) return;
    this.held = null;
    await this.options.onLost("released");
    await this.options.leases.release(held.name, held.holder, held.epoch).catch((error: unknown) => {
      this.options.log.warn({ lease: held.name, err: errorMessage(error) }, "lease release failed (it expires)");
    });
  }
}

function goneFromThisHost(lease: Lease): boolean {
  try {
    const info = JSON.parse(lease.info) as Partial<LeaseInfo>;
    return (
      info.host === os.hostname() && typeof info.pid === "number" && info.pid !== process.pid && !processAlive(info.pid)
    );
  } catch {
    return false;
  }
}
