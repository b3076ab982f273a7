/**
 * The single-instance lease on a real SQLite file: two stores on one file (two processes) cannot
 * both hold it; a holder that stopped renewing is taken over after the TTL, one whose process is
 * gone from this host at once (kill -9 and restart); a holder that lost it learns so on renew.
 */
import { expect } from "chai";
import os from "node:os";
import { openSqliteStore, type SqliteStore } from "../../../src/relayer/store/sqlite";
import { InstanceLockedError, LEASE_TTL_MS, processAlive } from "../../../src/relayer/store/sqlite/lease";
import { tempStore } from "./helpers";

const refusal = (attempt: Promise<unknown>): Promise<unknown> =>
  attempt.then(
    () => null,
    (error: unknown) => error,
  );

const SIGNER = "0x00000000000000000000000000000000000000AA";

describe("SQLite store: single-instance lease", function () {
  let store: SqliteStore;
  let other: SqliteStore;
  let file: string;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, file, cleanup } = await tempStore());
    other = await openSqliteStore(file);
  });
  afterEach(async () => {
    await other.close();
    await store.close();
    await cleanup();
  });

  const me = (holder: string, pid = process.pid, host = os.hostname()) => ({ holder, pid, host, signer: SIGNER });

  it("a second holder on the same file is refused with the holder named, until the first releases it", async () => {
    await store.lease.acquire(me("first"), { now: 1_000 });
    let refused: unknown = null;
    await other.lease.acquire(me("second"), { now: 2_000 }).catch((e) => (refused = e));
    expect(refused).to.be.instanceOf(InstanceLockedError);
    const error = refused as InstanceLockedError;
    expect(error.code).to.equal("instance_locked");
    expect(error.current).to.include({ holder: "first", pid: process.pid, host: os.hostname() });
    expect(error.message).to.include(`pid ${process.pid} on ${os.hostname()}`);
    expect(error.message).to.include(SIGNER.toLowerCase());

    await store.lease.release("first");
    await other.lease.acquire(me("second"), { now: 3_000 });
    expect((await store.lease.current())!.holder).to.equal("second");
  });

  it("a holder that stopped renewing is taken over after the TTL; renewing keeps it; the old holder learns it lost it", async () => {
    await store.lease.acquire(me("first"), { now: 0 });
    expect(await store.lease.renew("first", LEASE_TTL_MS)).to.equal(true);
    expect(await refusal(other.lease.acquire(me("second"), { now: 2 * LEASE_TTL_MS }))).to.be.instanceOf(
      InstanceLockedError,
    );
    await other.lease.acquire(me("second"), { now: 2 * LEASE_TTL_MS + 1 });
    expect(await store.lease.renew("first", 2 * LEASE_TTL_MS + 2)).to.equal(false);
    expect((await other.lease.current())!.holder).to.equal("second");
  });

  it("a holder whose process is gone from this host (kill -9) is taken over at once; one on another host is not", async () => {
    const gone = 2 ** 22 + 12_345; // above Linux's default pid_max
    expect(processAlive(gone)).to.equal(false);
    await store.lease.acquire(me("crashed", gone), { now: 0 });
    await other.lease.acquire(me("restarted"), { now: 1 });
    expect((await other.lease.current())!.holder).to.equal("restarted");

    await other.lease.release("restarted");
    await store.lease.acquire(me("elsewhere", gone, "another-host"), { now: 0 });
    expect(await refusal(other.lease.acquire(me("restarted"), { now: 1 }))).to.be.instanceOf(InstanceLockedError);
  });
});
