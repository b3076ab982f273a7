/**
 * The cross-currency audit, run after the per-currency ones: reads the signed fields of the FX
 * desk's candidate legs from their escrowing transactions' calldata (events carry no orderRef) and
 * pairs them (./reconcile/fx.ts). Every currency must have been audited at one block, so that a
 * leg and its partner are judged at the same moment.
 */
import type { PublicClient } from "viem";
import type { AuditResult } from "./audit";
import { MerchantNotFoundError, UsageError } from "./errors";
import {
  checkFx,
  DEFAULT_FX_BAND_BPS,
  DEFAULT_FX_GRACE_SECONDS,
  type FxCheckOptions,
  type FxPair,
} from "./reconcile/fx";
import { signedPaymentsFromChain } from "./report/merchant";
import type { Address, Mismatch } from "./types";

export interface FxAuditOptions extends FxCheckOptions {
  client: PublicClient;
  /** The per-currency audits, all at one block. */
  results: readonly AuditResult[];
}

export interface FxAuditResult {
  network: string;
  chainId: number;
  currencies: string[];
  deskMerchantId: bigint;
  /** Every address that owned the desk merchant: the payers of settle legs. */
  deskOwners: Address[];
  toBlock: bigint;
  blockTimestamp: number;
  graceSeconds: bigint;
  bandBps: bigint;
  rates: Record<string, string>;
  legs: number;
  pairs: FxPair[];
  mismatches: Mismatch[];
}

export async function runFxAudit(options: FxAuditOptions): Promise<FxAuditResult> {
  const { client, results, deskMerchantId } = options;
  if (results.length < 2) throw new UsageError("The FX pairing check needs at least two audited currencies");
  const [first] = results;
  const toBlock = first.scan.toBlock;
  if (results.some((r) => r.scan.toBlock !== toBlock)) {
    throw new UsageError("The FX pairing check needs every currency audited at one block (--to-block)");
  }
  const desk = first.ledger.merchants.get(deskMerchantId);
  if (!desk)
    throw new MerchantNotFoundError(`--fx-desk ${deskMerchantId}: no merchant ${deskMerchantId} was registered`);
  const owners = new Set(desk.owners.map((a) => a.toLowerCase()));

  const currencies = await Promise.all(
    results.map(async (r) => {
      // Only the desk's candidate legs: one calldata read per escrowing transaction of those.
      const candidates = [...r.ledger.payments.values()].filter(
        (p) => p.merchantId === deskMerchantId || owners.has(p.payer.toLowerCase()),
      );
      const signed = await signedPaymentsFromChain(
        client,
        r.target,
        candidates.map((p) => ({ txHash: p.escrowed.transactionHash, paymentId: p.id.toLowerCase() as `0x${string}` })),
      );
      return { code: r.target.currency, ledger: r.ledger, signed };
    }),
  );
  const checked = checkFx(currencies, first.blockTimestamp, options);
  return {
    network: first.target.network,
    chainId: first.target.chainId,
    currencies: currencies.map((c) => c.code),
    deskMerchantId,
    deskOwners: checked.deskOwners,
    toBlock,
    blockTimestamp: first.blockTimestamp,
    graceSeconds: options.graceSeconds ?? DEFAULT_FX_GRACE_SECONDS,
    bandBps: options.bandBps ?? DEFAULT_FX_BAND_BPS,
    rates: Object.fromEntries([...(options.rates ?? new Map())].map(([pair, r]) => [pair, `${r.pay}:${r.settle}`])),
    legs: checked.legs.length,
    pairs: checked.pairs,
    mismatches: checked.mismatches,
  };
}
