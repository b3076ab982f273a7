/**
 * On-chain reads the rebuilt ledger is reconciled against, all pinned to the audited block so that
 * activity during the audit cannot create false mismatches. Calls go out in parallel (bounded);
 * over HTTP the transport batches them into JSON-RPC batches.
 */
import pMap from "p-map";
import type { PublicClient } from "viem";
import { escrowAbi, registryAbi, tokenAbi } from "./abi";
import { ConnectionError } from "./errors";
import type { Ledger } from "./rebuild/ledger";
import type { Address, AuditTarget, Buckets, Hex } from "./types";
import { trancheKey } from "./util";

const CONCURRENCY = 32;

export interface ChainTranche {
  amount: bigint;
  releaseAt: number;
  feeBps: number;
}

/** escrow.paymentRecord, every field (IPaymentEscrow.PaymentRecord). */
export interface ChainPaymentRecord {
  status: number;
  disputedAt: number;
  feeBps: number;
  refunded: bigint;
  disputeExpiresAt: number;
  releaseAt: number;
  holdLeft: number;
  deadline: number;
  extensions: number;
  refundRequests: number;
  batchId: bigint;
}

export interface ChainMerchant {
  owner: Address;
  payout: Address;
  feeBps: number;
  minHold: number;
  maxHold: number;
  status: number;
  released: bigint;
  claimable: bigint;
}

export interface ChainState {
  blockNumber: bigint;
  liabilities: Buckets;
  escrowTokenBalance: bigint;
  totalSupply: bigint;
  batchCount: bigint;
  merchantCount: bigint;
  batchRoots: Map<bigint, Hex>;
  customerBalances: Map<Address, bigint>;
  tranches: Map<string, ChainTranche>;
  paymentRecords: Map<Hex, ChainPaymentRecord>;
  merchants: Map<bigint, ChainMerchant>;
  /** Token balances of every holder the Transfer events touched (SettlementToken only). */
  holderBalances: Map<Address, bigint>;
  /** Number of eth_call reads made. */
  reads: number;
}

export async function readChainState(
  client: PublicClient,
  target: AuditTarget,
  ledger: Ledger,
  blockNumber: bigint,
): Promise<ChainState> {
  let reads = 0;
  const call = async <T>(what: string, read: () => Promise<T>): Promise<T> => {
    reads++;
    try {
      return await read();
    } catch (e) {
      throw new ConnectionError(
        `Reading ${what} at block ${blockNumber} failed: ${(e as Error).message.split("\n")[0]}`,
        e,
      );
    }
  };
  const at = { blockNumber } as const;

  const [liabilities, escrowTokenBalance, totalSupply, batchCount, merchantCount] = await Promise.all([
    call("escrow.liabilities()", () =>
      client.readContract({ address: target.escrow, abi: escrowAbi, functionName: "liabilities", ...at }),
    ),
    call("token.balanceOf(escrow)", () =>
      client.readContract({
        address: target.token,
        abi: tokenAbi,
        functionName: "balanceOf",
        args: [target.escrow],
        ...at,
      }),
    ),
    call("token.totalSupply()", () =>
      client.readContract({ address: target.token, abi: tokenAbi, functionName: "totalSupply", ...at }),
    ),
    call("escrow.batchCount()", () =>
      client.readContract({ address: target.escrow, abi: escrowAbi, functionName: "batchCount", ...at }),
    ),
    call("registry.merchantCount()", () =>
      client.readContract({ address: target.registry, abi: registryAbi, functionName: "merchantCount", ...at }),
    ),
  ]);

  const batchRoots = new Map<bigint, Hex>();
  await pMap(
    [...ledger.batches.keys()],
    async (id) => {
      batchRoots.set(
        id,
        await call(`escrow.batchRoot(${id})`, () =>
          client.readContract({ address: target.escrow, abi: escrowAbi, functionName: "batchRoot", args: [id], ...at }),
        ),
      );
    },
    { concurrency: CONCURRENCY },
  );

  const customerBalances = new Map<Address, bigint>();
  await pMap(
    [...ledger.customers.keys()],
    async (account) => {
      customerBalances.set(
        account,
        await call(`escrow.balanceOf(${account})`, () =>
          client.readContract({
            address: target.escrow,
            abi: escrowAbi,
            functionName: "balanceOf",
            args: [account],
            ...at,
          }),
        ),
      );
    },
    { concurrency: CONCURRENCY },
  );

  const tranches = new Map<string, ChainTranche>();
  await pMap(
    [...ledger.tranches.values()],
    async (t) => {
      const r = await call(`escrow.tranche(${t.batchId}, ${t.merchantId})`, () =>
        client.readContract({
          address: target.escrow,
          abi: escrowAbi,
          functionName: "tranche",
          args: [t.batchId, t.merchantId],
          ...at,
        }),
      );
      tranches.set(trancheKey(t.batchId, t.merchantId), { amount: r.amount, releaseAt: r.releaseAt, feeBps: r.feeBps });
    },
    { concurrency: CONCURRENCY },
  );

  // Only payments that left the batch path have a record; untouched ones are covered by their tranche.
  const paymentRecords = new Map<Hex, ChainPaymentRecord>();
  const touched = [...ledger.payments.values()].filter((p) => p.touched);
  await pMap(
    touched,
    async (p) => {
      const r = await call(`escrow.paymentRecord(${p.id})`, () =>
        client.readContract({
          address: target.escrow,
          abi: escrowAbi,
          functionName: "paymentRecord",
          args: [p.id],
          ...at,
        }),
      );
      paymentRecords.set(p.id, {
        status: r.status,
        disputedAt: r.disputedAt,
        feeBps: r.feeBps,
        refunded: r.refunded,
        disputeExpiresAt: r.disputeExpiresAt,
        releaseAt: r.releaseAt,
        holdLeft: r.holdLeft,
        deadline: r.deadline,
        extensions: r.extensions,
        refundRequests: r.refundRequests,
        batchId: r.batchId,
      });
    },
    { concurrency: CONCURRENCY },
  );

  const merchants = new Map<bigint, ChainMerchant>();
  await pMap(
    [...ledger.merchants.keys()],
    async (id) => {
      const [m, [released, claimable]] = await Promise.all([
        call(`registry.getMerchant(${id})`, () =>
          client.readContract({
            address: target.registry,
            abi: registryAbi,
            functionName: "getMerchant",
            args: [id],
            ...at,
          }),
        ),
        call(`escrow.merchantBalances(${id})`, () =>
          client.readContract({
            address: target.escrow,
            abi: escrowAbi,
            functionName: "merchantBalances",
            args: [id],
            ...at,
          }),
        ),
      ]);
      merchants.set(id, {
        owner: m.owner,
        payout: m.payout,
        feeBps: m.feeBps,
        minHold: m.minHold,
        maxHold: m.maxHold,
        status: m.status,
        released,
        claimable,
      });
    },
    { concurrency: CONCURRENCY },
  );

  const holderBalances = new Map<Address, bigint>();
  if (!target.externalToken) {
    await pMap(
      [...ledger.token.balances.keys()],
      async (holder) => {
        holderBalances.set(
          holder,
          await call(`token.balanceOf(${holder})`, () =>
            client.readContract({
              address: target.token,
              abi: tokenAbi,
              functionName: "balanceOf",
              args: [holder],
              ...at,
            }),
          ),
        );
      },
      { concurrency: CONCURRENCY },
    );
  }

  return {
    blockNumber,
    liabilities: { ...liabilities },
    escrowTokenBalance,
    totalSupply,
    batchCount,
    merchantCount,
    batchRoots,
    customerBalances,
    tranches,
    paymentRecords,
    merchants,
    holderBalances,
    reads,
  };
}
