/**
 * `recoversPerSecondOneCore`: how many signature recoveries one core of this machine does per
 * second on the relayer's own path (src/relayer/intake/signature.ts: libsecp256k1's ecdsaRecover
 * and the keccak of the key). Machines differ in speed and the shared ones here are noisy, so the
 * bench's bars are ratios to this figure, measured in the same run before the load starts.
 */
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { hexToBytes } from "../../src/protocol/hash";
import { recoverAddress } from "../../src/relayer/intake/signature";
import type { SignedPayment } from "../../src/localnet/network";

/**
 * Median over `rounds` rounds of `perRound` recoveries each (short rounds: the median drops the
 * ones another process's burst slowed down). Each recovery is checked against the payer, so a
 * broken path cannot make the figure look good. The event loop gets a turn between rounds: held
 * for seconds, it would leave the bench's keep-alive sockets to the node closed under it (see
 * ./signing.ts).
 */
export async function measureRecoversPerSecond(
  payments: SignedPayment[],
  rounds = 9,
  perRound = 1_500,
): Promise<{ recoversPerSecond: number; microsPerRecover: number; recoversPerCpuSecond: number; rounds: number[] }> {
  if (payments.length === 0) throw new Error("no signed payments to recover");
  const samples = payments.slice(0, Math.min(payments.length, perRound)).map((p) => ({
    digest: hexToBytes(p.id),
    signature: hexToBytes(p.signature),
    payer: p.payment.payer.toLowerCase(),
  }));
  // One untimed round: the code path compiled and the library's tables in cache.
  for (const s of samples) recoverAddress(s.digest, s.signature);
  const perSecond: number[] = [];
  const perCpuSecond: number[] = [];
  for (let round = 0; round < rounds; round++) {
    await yieldToLoop();
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    for (let i = 0; i < perRound; i++) {
      const s = samples[i % samples.length];
      if (recoverAddress(s.digest, s.signature) !== s.payer) throw new Error("recovery returned the wrong signer");
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    perSecond.push(perRound / seconds);
    perCpuSecond.push(perRound / ((cpu.user + cpu.system) / 1e6));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return {
    recoversPerSecond: Math.round(median(perSecond)),
    microsPerRecover: Math.round((1e6 / median(perSecond)) * 10) / 10,
    // Per second of this process's CPU: what a core does when it is not shared (the wall-clock
    // figure above drops when other processes take the core; both are printed).
    recoversPerCpuSecond: Math.round(median(perCpuSecond)),
    rounds: perSecond.map(Math.round),
  };
}
