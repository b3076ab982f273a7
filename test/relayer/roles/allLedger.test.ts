/**
 * Role `all` (SQLite, a real process): intake admits payments against a mirror of the jobs
 * thread's payer ledger, which moves when the chain watcher applies blocks. A payer who deposited
 * after the watcher's last pass is not refused: before refusing, intake has the jobs thread run the
 * watcher now (src/relayer/roles/worker.ts `catchUp`), and judges the payment on the re-read view.
 */
import { expect } from "chai";
import { relayerDir, spawnRelayer, type LocalChain, type Merchant } from "../helpers/process";
import { AMOUNT, relayerEnv, signPayments, submitSigned, useScenarioSuite } from "../crash/scenario";

describe("role all: payer ledger mirrored from the jobs thread (SQLite, real process)", function () {
  this.timeout(300_000);

  let chain: LocalChain;
  let merchant: Merchant;
  const { running, cleanups } = useScenarioSuite((s) => ({ chain, merchant } = s));

  it("a payer who deposited after the watcher's last pass pays at once; one who cannot afford it is still refused", async () => {
    const dir = relayerDir();
    cleanups.push(() => dir.remove());
    const signer = await chain.fundedKey();
    // The watcher's own passes a minute apart: only the catch-up can have seen the deposits below.
    const relayer = await spawnRelayer(
      relayerEnv(chain, { rpcUrl: chain.url, db: dir.db, signerKey: signer.privateKey }, { POLL_INTERVAL_MS: "60000" }),
    );
    running.push(relayer);

    for (let round = 0; round < 3; round++) {
      const [fresh] = await chain.fundCustomers(1, 2n * AMOUNT);
      const [first, second, third] = await signPayments(chain, [fresh], {
        merchantId: merchant.id,
        perPayer: 3,
        amount: AMOUNT,
        label: `all-fresh-${round}`,
      });
      expect(await submitSigned(relayer.url, first), `fresh payer ${round}`).to.deep.equal({ status: 201, code: null });
      expect(await submitSigned(relayer.url, second)).to.deep.equal({ status: 201, code: null });
      // Caught up, the view is current: a payment beyond the deposit is refused with its code.
      expect(await submitSigned(relayer.url, third)).to.deep.equal({ status: 409, code: "insufficient_balance" });
    }
    expect(await relayer.stop()).to.equal(0);
  });
});
