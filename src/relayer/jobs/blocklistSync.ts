/**
 * Blocklist sync: keeps the escrow's mirror of the token's blocklist (IPaymentEscrow.syncBlocklist,
 * which payBatch reads to reject a blocklisted payer's payments as PayerBlocklisted) in step with the
 * token.
 *
 * Each tick reads the token's Blocklisted / UnBlocklisted logs (and USDC's Blacklisted /
 * UnBlacklisted; ../chain/blocklistLogs.ts, shared with intake's blocklist book) from its cursor to
 * the latest block, and for every account named there whose
 * mirror differs from what the token answers now, sends syncBlocklist(account) through the submitter
 * (the relayer's one key and nonce sequence). The call is permissionless and idempotent, so the
 * cursor lives in memory: a restart reads the logs again from the escrow's deploy block, and an
 * account already in step costs two reads, no transaction. Each tick re-reads the last
 * `confirmations` blocks, so an event a reorg moved is still seen.
 */
import type { Hex } from "../domain";
import { SubmissionState } from "../domain";
import type { RelayerConfig } from "../config";
import type { RelayerStore } from "../store/types";
import type { ChainClient } from "../chain/client";
import { escrowInterface } from "../chain/calldata";
import { readTokenBlocklisted } from "../chain/tokenBlocklist";
import { readBlocklistEvents } from "../chain/blocklistLogs";
import { NO_STORE_WRITES } from "./batchOutcome";
import type { SubmitterPort } from "./submitter";
import { silentLogger, type Logger } from "../runtime/log";
import { Job, type JobMetrics } from "./job";

/** Gas limit when the estimate fails for a reason other than a revert. */
const SYNC_FALLBACK_GAS = 80_000n;

export const blocklistPurpose = (account: Hex): string => `blocklist:${account}`;

export interface BlocklistSyncOptions {
  store: RelayerStore;
  chain: ChainClient;
  submitter: SubmitterPort;
  config: Pick<RelayerConfig, "pollIntervalMs" | "confirmations">;
  logger?: Logger;
  metrics?: JobMetrics;
  /**
   * The signer lanes that send this escrow's syncs. Another currency's escrow syncs the same account
   * under the same purpose from its own keys (a key serves one currency): only a pending sync of
   * these lanes holds this one back. Default: a pending sync of any signer does.
   */
  own?: readonly Hex[];
}

export class BlocklistSync extends Job {
  private cursor: bigint | null = null;
  /** Accounts synced by the last tick (for logs and tests). */
  lastSynced: Hex[] = [];

  constructor(private readonly options: BlocklistSyncOptions) {
    super("blocklist-sync", options.logger ?? silentLogger, options.metrics);
    options.submitter.registerPurpose("blocklist", {
      onMined: (keys, receipt) => {
        if (receipt.status !== 1) this.log.warn({ account: keys, txHash: receipt.transactionHash }, "sync reverted");
        return NO_STORE_WRITES;
      },
      onDropped: async (keys) => {
        this.log.warn({ account: keys }, "blocklist sync dropped: its nonce was taken outside the relayer");
      },
    });
  }

  protected intervalMs(): number {
    return this.options.config.pollIntervalMs;
  }

  protected async run(): Promise<void> {
    const { chain, config } = this.options;
    this.lastSynced = [];
    const latest = await chain.blockNumber();
    const start = chain.addresses.startBlock;
    let from = this.cursor === null ? start : this.cursor - BigInt(config.confirmations);
    if (from < start) from = start;
    const accounts = new Set((await readBlocklistEvents(chain, from, latest)).map((e) => e.account));
    for (const account of accounts) await this.syncIfStale(account);
    this.cursor = latest + 1n;
  }

  /** Sends syncBlocklist(account) when the escrow's mirror differs from the token and none is pending. */
  private async syncIfStale(account: Hex): Promise<void> {
    const { chain, store, submitter } = this.options;
    const [listed, mirrored] = await Promise.all([
      this.tokenBlocklists(account),
      chain.escrow.blocklistMirrored(account),
    ]);
    if (listed === mirrored) return;
    const purpose = blocklistPurpose(account);
    const previous = await store.submissions.listByPurpose(purpose);
    const own = this.options.own?.map((a) => a.toLowerCase());
    const mine = (signer: Hex) => own === undefined || own.includes(signer.toLowerCase());
    if (previous.some((s) => s.state === SubmissionState.Pending && mine(s.signer))) return;
    const data = escrowInterface.encodeFunctionData("syncBlocklist", [account]);
    const gasLimit = await submitter.gasLimitFor(data, SYNC_FALLBACK_GAS);
    const submission = await submitter.send(purpose, data, gasLimit);
    this.lastSynced.push(account);
    this.log.info({ account, blocklisted: listed, txHash: submission.txHash }, "blocklist mirror sync sent");
  }

  /** The token's answer, read as the escrow's sync reads it. */
  private tokenBlocklists(account: Hex): Promise<boolean> {
    const { chain } = this.options;
    return readTokenBlocklisted(
      (data) => chain.rpc("eth_call", () => chain.provider.call({ to: chain.addresses.token, data })),
      account,
    );
  }
}
