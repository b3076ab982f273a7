/** The harness's small parts that need no chain: waits, child processes, one-shot commands, the basic environment. */
import { expect } from "chai";
import { ManagedProcess, processBasics, runCommand } from "../../src/localnet/process";
import { waitFor } from "../../src/localnet/wait";

describe("localnet: waits and processes", function () {
  this.timeout(30_000);

  it("waitFor returns the first value that is not undefined, null or false", async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls < 3 ? (calls === 1 ? null : false) : 0), {
      what: "a count",
      timeoutMs: 5_000,
      intervalMs: 1,
    });
    expect(value).to.equal(0);
    expect(calls).to.equal(3);
  });

  it("waitFor gives up at once on an abort reason, and after the timeout with the detail", async () => {
    const aborted = await waitFor(() => undefined, { what: "x", timeoutMs: 5_000, abort: () => "it exited" }).catch(
      (e: Error) => e.message,
    );
    expect(aborted).to.equal("x: it exited");
    const timedOut = await waitFor(() => undefined, {
      what: "y",
      timeoutMs: 20,
      intervalMs: 5,
      detail: () => "tail",
    }).catch((e: Error) => e.message);
    expect(timedOut).to.equal("y: no answer within 0.02 s: tail");
  });

  it("a managed process keeps its output's tail, and stop() ends its whole process group", async () => {
    const child = new ManagedProcess({
      name: "sh",
      command: "sh",
      args: ["-c", "echo first; echo second; sleep 60 & wait"],
      cwd: process.cwd(),
      env: processBasics(),
      keepOutput: 100,
    });
    await waitFor(() => child.output().includes("second"), { what: "output", timeoutMs: 10_000, intervalMs: 10 });
    expect(child.output()).to.equal("first\nsecond\n");
    const exit = await child.stop("SIGTERM", 5_000);
    expect(exit.signal).to.equal("SIGTERM");
    expect(child.running).to.equal(false);
  });

  it("runCommand collects stdout, stderr and the exit code", async () => {
    const result = await runCommand("sh", ["-c", "echo out; echo err >&2; exit 3"], {
      cwd: process.cwd(),
      env: processBasics(),
      timeoutMs: 10_000,
    });
    expect(result).to.include({ code: 3, stdout: "out\n", stderr: "err\n" });
  });

  it("processBasics keeps how to run (PATH, HOME, NODE_*) and nothing else", () => {
    expect(
      processBasics({ PATH: "/bin", HOME: "/h", NODE_OPTIONS: "--x", TS_NODE_PROJECT: "t", RPC_URL: "u", SECRET: "s" }),
    ).to.deep.equal({ PATH: "/bin", HOME: "/h", NODE_OPTIONS: "--x", TS_NODE_PROJECT: "t" });
  });
});
