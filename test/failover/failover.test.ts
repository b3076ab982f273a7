/**
 * Failover with real processes (issue #12, item 6): relayer `api` and `worker` instances as their
 * own processes on one PostgreSQL database and one `hardhat node`, each scenario of
 * `npm run chaos:failover` (scripts/lib/failover.ts) run small. Counts come from the chain's
 * events against the payments intake acknowledged.
 */
import { expect } from "chai";
import {
  TAKEOVER_LIMIT_SECONDS,
  apiKill,
  postgresRestart,
  startFailoverWorld,
  workerKill,
  workerPause,
  type FailoverWorld,
  type ScenarioResult,
} from "../../scripts/lib/failover";

describe("failover: api and worker processes on PostgreSQL and a real chain", function () {
  this.timeout(240_000);
  let world: FailoverWorld;

  before(async function () {
    this.timeout(300_000);
    world = await startFailoverWorld({ payments: 24, payers: 8, leaseTtlMs: 6_000 });
  });

  after(async () => {
    await world?.stop();
  });

  /** Every acknowledged payment escrowed exactly once and settled once; nothing lost, nothing twice. */
  function expectExactlyOnce(result: ScenarioResult, payments: number): void {
    const summary = JSON.stringify(result);
    expect(result.acknowledged, summary).to.equal(payments);
    expect(result.lost, summary).to.equal(0);
    expect(result.duplicates, summary).to.equal(0);
    expect(result.escrowedOnce, summary).to.equal(result.acknowledged);
    expect(result.settledOnce, summary).to.equal(result.acknowledged);
  }

  it("(a) kill -9 of the active worker with its batch transaction in the mempool: a standby takes over within 15 s", async () => {
    const result = await workerKill(world);
    expectExactlyOnce(result, 24);
    expect(result.details.killSignal).to.equal("SIGKILL");
    expect(result.details.pendingAtKill as number).to.be.at.least(1);
    expect(result.takeoverSeconds).to.be.greaterThan(0).and.at.most(TAKEOVER_LIMIT_SECONDS);
    const [oldEpoch, newEpoch] = result.details.epochs as number[];
    expect(newEpoch).to.be.greaterThan(oldEpoch);
  });

  it("(b) kill -9 of one api instance under load: retries with the same idempotency key on the other lose nothing and duplicate nothing", async () => {
    const result = await apiKill(world);
    expectExactlyOnce(result, 24);
    expect(result.details.failedOver as number, JSON.stringify(result)).to.be.at.least(1);
    // A retry of an acknowledged payment is answered with its first result, never a second payment.
    for (const status of result.details.retriedStatuses as number[]) expect(status).to.be.oneOf([200, 201]);
    expect(result.details.retriedSameIds).to.equal(true);
    expect(result.details.killSignal).to.equal("SIGKILL");
  });

  it("(c) PostgreSQL restarted under load: 503 storage_unavailable while it is down, nothing lost, recovery by itself", async () => {
    const result = await postgresRestart(world);
    expectExactlyOnce(result, 24);
    expect(result.details.refusedWhileDown as number).to.be.at.least(1);
    expect(result.details.refusalCodes).to.include("503 storage_unavailable");
    for (const code of result.details.refusalCodes as string[]) expect(code).to.equal("503 storage_unavailable");
    expect(result.details.everyRefusalHasRetryAfter).to.equal(true);
    // Recovered by itself: every instance alive (none restarted) and ready again.
    expect(result.details.allAlive).to.equal(true);
    for (const status of result.details.readyAfter as number[]) expect(status).to.equal(200);
  });

  it("(d) SIGSTOP of the active worker, takeover, SIGCONT: the old process sends nothing more", async () => {
    const result = await workerPause(world);
    expectExactlyOnce(result, 24);
    expect(result.takeoverSeconds).to.be.at.most(TAKEOVER_LIMIT_SECONDS);
    expect(result.details.oldProcessTransactions).to.deep.equal([]);
    expect(result.details.minedAfterResume as number).to.be.at.least(1);
    expect(result.details.recordsUnderOldEpochAfterResume).to.equal(0);
    expect(result.details.noncesContiguous).to.equal(true);
    expect(result.details.oldAlive, "the old worker lives on as a standby").to.equal(true);
    expect(result.details.oldLeaseLostAfterResume, "the old worker noticed it lost the lease").to.equal(true);
  });
});
