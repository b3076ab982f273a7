/** The protocol's nonce window (src/protocol/nonces.ts) against the escrow's `isNonceAvailable`. */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { NONCE_WINDOW, isNonceAvailable } from "../../src/protocol";
import { deployEscrowFixture, escrowOne, type EscrowFixture } from "../escrow/fixtures";

async function expectSameAsEscrow(f: EscrowFixture, account: string): Promise<void> {
  const [nonceBase, nonceBitmap] = await f.escrow.nonceWindow(account);
  for (let nonce = 0n; nonce < 2n * NONCE_WINDOW + 4n; nonce++) {
    const onChain = await f.escrow.isNonceAvailable(account, nonce);
    expect(isNonceAvailable({ nonceBase, nonceBitmap }, nonce), `nonce ${nonce}`).to.equal(onChain);
  }
}

describe("protocol: nonce window (src/protocol/nonces.ts) against the escrow", function () {
  it("agrees with escrow.isNonceAvailable below, inside and past the window, as it fills and slides", async function () {
    const f = await loadFixture(deployEscrowFixture);
    const [payer] = f.customers;
    await expectSameAsEscrow(f, payer.address);
    for (const nonce of [1n, 3n, NONCE_WINDOW - 1n]) await escrowOne(f, payer, { nonce });
    await expectSameAsEscrow(f, payer.address);
    // Using the base slides the window past 0 and 1.
    await escrowOne(f, payer, { nonce: 0n });
    const [base] = await f.escrow.nonceWindow(payer.address);
    expect(base).to.equal(2n);
    await expectSameAsEscrow(f, payer.address);
  });
});
