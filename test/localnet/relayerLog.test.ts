/** The relayer's log lines on the start script's console (src/localnet/relayerLog.ts). */
import { expect } from "chai";
import { consoleLine } from "../../src/localnet/relayerLog";

describe("relayer log on the console", function () {
  it("shows warnings and errors in one line, keeps info in the file, and always shows non-JSON lines", function () {
    const info = JSON.stringify({ level: 30, msg: "request completed" });
    const warn = JSON.stringify({ level: 40, msg: "webhook delivery failed", err: "timeout", outbox: 3 });
    const early = JSON.stringify({ level: "error", msg: "shutdown step failed", step: "store" });
    expect(consoleLine(info)).to.equal(null);
    expect(consoleLine(warn)).to.equal("WARN webhook delivery failed (err=timeout)");
    expect(consoleLine(early)).to.equal("ERROR shutdown step failed (step=store)");
    expect(consoleLine("Error: Cannot find module 'x'")).to.equal("Error: Cannot find module 'x'");
    const nonce = JSON.stringify({ level: 40, msg: "nonce taken outside the relayer; re-signing with the next one" });
    expect(consoleLine(nonce)).to.include("account #0 also sent a transaction");
  });
});
