/**
 * What the API reads from the chain (merchant terms, payer accounts, code, blocklist status), the
 * interface and its ethers implementation behind short read-through caches.
 */
import { Interface, getAddress, type Provider } from "ethers";
import { blockTag, readEscrowAccount, type RawRpc } from "./accountReads";
import {
  MerchantRegistry__factory,
  PaymentEscrow__factory,
  type MerchantRegistry,
  type PaymentEscrow,
} from "../../../typechain-types";
import { ApiError } from "../errors";
import { tokenDomain, type Hex, type MerchantStatus, type TokenDomain } from "../../protocol";
import { revertData } from "./revert";
import { readTokenBlocklisted } from "./tokenBlocklist";
import type { BlocklistLookup } from "./blocklistBook";
import { TtlCache } from "../runtime/ttlCache";
import { EscrowEventDecoder, type EscrowEventOf } from "./escrowEvents";

export { MerchantStatus, NONCE_WINDOW, isNonceAvailable } from "../../protocol";

export interface MerchantTerms {
  status: MerchantStatus;
  /** Key that signs the merchant's refunds. */
  owner: Hex;
  feeBps: number;
  /** Shortest hold (seconds) a payment to the merchant may ask (each payment signs its own). */
  minHold: number;
  /** Longest hold a payment to the merchant may ask. */
  maxHold: number;
}

/** A payer's escrow account: free balance and nonce window (see IPaymentEscrow.nonceWindow). */
export interface AccountState {
  balance: bigint;
  nonceBase: bigint;
  nonceBitmap: bigint;
}

/**
 * What intake and the API read from the chain. Reads may be served from a short cache: the escrow
 * re-checks everything when it escrows a batch, so a stale read can only make the relayer accept a
 * payment the chain then rejects (reported as `rejected`), never move money it should not.
 */
export interface ChainView {
  readonly chainId: bigint;
  /** The escrow's address, lowercase. */
  readonly escrow: Hex;
  merchant(merchantId: bigint): Promise<MerchantTerms>;
  /**
   * How many merchants the registry has registered (ids run 1..count, none is ever removed): tells
   * an unknown merchant id without reading its terms. Cached like the terms.
   */
  merchantCount(): Promise<bigint>;
  /**
   * Whether the registry grants `role` to `account`, read fresh (uncached) so a revoked FX quoter
   * is refused at once. Optional: a view without it serves no FX desk.
   */
  hasRole?(role: Hex, account: Hex): Promise<boolean>;
  /** The registry's address, lowercase (optional, like `hasRole`): the FX quotes' EIP-712 domain. */
  readonly registryAddress?: Hex;
  /** The settlement token's address (checksummed; read from the escrow once). */
  tokenAddress(): Promise<string>;
  account(address: Hex): Promise<AccountState>;
  hasCode(address: Hex): Promise<boolean>;
  /**
   * Does the token blocklist `address` (`isBlocklisted`, or USDC's `isBlacklisted`)? The escrow
   * rejects such a payer's payments once its mirror is synced; intake refuses them at once.
   */
  isBlocklisted(address: Hex): Promise<boolean>;
  /** ERC-1271: does the contract at `signer` accept `signature` for `digest`? False on any revert. */
  isValidSignature(signer: Hex, digest: Uint8Array, signature: Uint8Array): Promise<boolean>;
  merchantBalances(merchantId: bigint): Promise<{ released: bigint; claimable: bigint }>;
  /** Latest block number; used by the readiness probe. */
  blockNumber(): Promise<number>;
  /**
   * Timestamp of the latest block (not cached): the clock the escrow checks deadlines by, which a
   * local chain moved with evm_increaseTime runs ahead of the wall clock.
   */
  chainTime(): Promise<bigint>;
  /** The settlement token's EIP-712 domain (its `name()`, read once): what one-off authorizations are signed under. */
  tokenDomain(): Promise<TokenDomain>;
  /** The token balance of `address` in its wallet (latest block, not cached). */
  tokenBalance(address: Hex): Promise<bigint>;
  /** EIP-3009 `authorizationState`: has the token spent or cancelled `authorizer`'s `nonce`? (latest, not cached) */
  authorizationUsed(authorizer: Hex, nonce: Hex): Promise<boolean>;
  /**
   * The payment's escrow events in chain order, read from the block of `escrowTx` (the batch that
   * escrowed it) to the latest; empty while that transaction has no receipt.
   */
  paymentEvents(paymentId: Hex, escrowTx: Hex): Promise<PaymentChainEvent[]>;
  /** Drops cached state of `address` (after a deposit or withdrawal the relayer sent). */
  forget(address: Hex): void;
}

/** The escrow's events about one payment (its id is topic 1 of each). */
export const PAYMENT_EVENT_NAMES = [
  "PaymentEscrowed",
  "PaymentRejected",
  "PaymentConfirmed",
  "PaymentRefunded",
  "DisputeOpened",
  "DisputeResolved",
  "HoldExtended",
  "RefundRequested",
  "RefundRequestRejected",
  "HoldResumed",
  "PaymentReleased",
] as const;
export type PaymentEventName = (typeof PAYMENT_EVENT_NAMES)[number];
const paymentDecoder = new EscrowEventDecoder(PAYMENT_EVENT_NAMES);

/** One of a payment's events as the chain holds it, with where and when. */
export interface PaymentChainEvent {
  event: EscrowEventOf<PaymentEventName>;
  blockNumber: number;
  /** Unix seconds of the block. */
  timestamp: number;
  txHash: Hex;
  logIndex: number;
}

/** ERC-1271 magic value, as the 32-byte word `isValidSignature` returns. */
const ERC1271_MAGIC = "0x1626ba7e" + "0".repeat(56);
/** Same budget the escrow gives a wallet inside a batch (BoundedSignature.ERC1271_GAS). */
const ERC1271_GAS = 100_000n;
const erc1271 = new Interface(["function isValidSignature(bytes32 hash, bytes signature) view returns (bytes4)"]);
const tokenReads = new Interface([
  "function name() view returns (string)",
  "function balanceOf(address account) view returns (uint256)",
  "function authorizationState(address authorizer, bytes32 nonce) view returns (bool)",
]);

export interface EthersChainViewOptions {
  provider: Provider;
  escrow: string;
  /** Defaults to `escrow.registry()`. */
  registry?: string;
  /** Defaults to `escrow.token()`. */
  token?: string;
  /** Defaults to the provider's network. */
  chainId?: bigint;
  /** Merchant terms change rarely (registrar transactions). */
  termsCacheMs?: number;
  /** Balances and nonces change with every batch; keep this short. 0 coalesces concurrent reads only. */
  accountCacheMs?: number;
  codeCacheMs?: number;
  /** Blocklist changes are rare (the token's blocklister); a payer listed meanwhile is rejected on chain. */
  blocklistCacheMs?: number;
  /**
   * The token's blocklist followed in memory (./blocklistBook.ts): answers without an eth_call while
   * caught up. Without one, or while it cannot answer, the token is asked (cached blocklistCacheMs).
   */
  blocklist?: BlocklistLookup;
  /**
   * An account the book has seen no event of, when it does not know the token's whole history: the
   * token's answer is kept this long (any later change is an event the book then answers from).
   */
  blocklistBaselineCacheMs?: number;
  /** A read slower than this fails with 503 chain_unavailable instead of holding the request. */
  callTimeoutMs?: number;
}

export const CHAIN_VIEW_DEFAULTS = {
  termsCacheMs: 5_000,
  accountCacheMs: 250,
  codeCacheMs: 60_000,
  blocklistCacheMs: 5_000,
  blocklistBaselineCacheMs: 60_000,
  callTimeoutMs: 5_000,
} as const;

/** ChainView over the typechain bindings of a deployed escrow and registry. */
export class EthersChainView implements ChainView {
  private readonly terms: TtlCache<bigint, MerchantTerms>;
  private readonly count: TtlCache<"count", bigint>;
  private readonly accounts: TtlCache<string, AccountState>;
  private readonly code: TtlCache<string, boolean>;
  private readonly blocklisted: TtlCache<string, boolean>;
  private readonly blocklistBaseline: TtlCache<string, boolean>;
  private readonly book: BlocklistLookup | null;
  /** The token's address, read from the escrow when first needed (unless given). */
  private token: Promise<string> | null = null;
  private domain: Promise<TokenDomain> | null = null;
  private readonly callTimeoutMs: number;

  private constructor(
    readonly chainId: bigint,
    readonly escrow: Hex,
    private readonly provider: Provider,
    private readonly escrowContract: PaymentEscrow,
    private readonly registry: MerchantRegistry,
    options: EthersChainViewOptions,
  ) {
    if (options.token) this.token = Promise.resolve(getAddress(options.token));
    this.terms = new TtlCache(options.termsCacheMs ?? CHAIN_VIEW_DEFAULTS.termsCacheMs);
    this.count = new TtlCache(options.termsCacheMs ?? CHAIN_VIEW_DEFAULTS.termsCacheMs, 1);
    this.accounts = new TtlCache(options.accountCacheMs ?? CHAIN_VIEW_DEFAULTS.accountCacheMs);
    this.code = new TtlCache(options.codeCacheMs ?? CHAIN_VIEW_DEFAULTS.codeCacheMs);
    this.blocklisted = new TtlCache(options.blocklistCacheMs ?? CHAIN_VIEW_DEFAULTS.blocklistCacheMs);
    this.blocklistBaseline = new TtlCache(
      options.blocklistBaselineCacheMs ?? CHAIN_VIEW_DEFAULTS.blocklistBaselineCacheMs,
    );
    this.book = options.blocklist ?? null;
    this.callTimeoutMs = options.callTimeoutMs ?? CHAIN_VIEW_DEFAULTS.callTimeoutMs;
  }

  static async connect(options: EthersChainViewOptions): Promise<EthersChainView> {
    const escrow = PaymentEscrow__factory.connect(getAddress(options.escrow), options.provider);
    const registryAddress = options.registry ?? (await escrow.registry());
    const registry = MerchantRegistry__factory.connect(getAddress(registryAddress), options.provider);
    const chainId = options.chainId ?? (await options.provider.getNetwork()).chainId;
    return new EthersChainView(
      chainId,
      options.escrow.toLowerCase() as Hex,
      options.provider,
      escrow,
      registry,
      options,
    );
  }

  merchant(merchantId: bigint): Promise<MerchantTerms> {
    return this.terms.get(merchantId, async () => {
      const [status, feeBps, minHold, maxHold, owner] = await this.timed(this.registry.terms(merchantId));
      return {
        status: Number(status) as MerchantStatus,
        feeBps: Number(feeBps),
        minHold: Number(minHold),
        maxHold: Number(maxHold),
        owner: owner.toLowerCase() as Hex,
      };
    });
  }

  get registryAddress(): Hex {
    return (this.registry.target as string).toLowerCase() as Hex;
  }

  hasRole(role: Hex, account: Hex): Promise<boolean> {
    return this.timed(this.registry.hasRole(role, account));
  }

  merchantCount(): Promise<bigint> {
    return this.count.get("count", async () => BigInt(await this.timed(this.registry.merchantCount())));
  }

  account(address: Hex): Promise<AccountState> {
    const key = address.toLowerCase();
    return this.accounts.get(key, () => this.readAccount(key, "latest"));
  }

  /** The account at the end of `block` (the chain watcher's cursor, for the intake ledger). */
  accountAt(address: Hex, block: bigint): Promise<AccountState> {
    return this.readAccount(address.toLowerCase(), blockTag(block));
  }

  private readAccount(address: string, tag: string): Promise<AccountState> {
    return this.timed(readEscrowAccount(this.provider as unknown as RawRpc, this.escrow, address, tag));
  }

  hasCode(address: Hex): Promise<boolean> {
    const key = address.toLowerCase();
    return this.code.get(key, async () => (await this.timed(this.provider.getCode(key))) !== "0x");
  }

  isBlocklisted(address: Hex): Promise<boolean> {
    const key = address.toLowerCase();
    const known = this.book?.lookup(key as Hex) ?? null;
    if (known !== null) return Promise.resolve(known);
    const read = async () => {
      const token = await this.tokenAddress();
      return readTokenBlocklisted((data) => this.timed(this.provider.call({ to: token, data })), key);
    };
    // A caught-up book without the token's early history: the account had no event since the book's start.
    if (this.book?.caughtUp) return this.blocklistBaseline.get(key, read);
    return this.blocklisted.get(key, read);
  }

  tokenAddress(): Promise<string> {
    this.token ??= this.timed(this.escrowContract.token()).then(getAddress, (error: unknown) => {
      this.token = null;
      throw error;
    });
    return this.token;
  }

  tokenDomain(): Promise<TokenDomain> {
    this.domain ??= Promise.all([this.tokenCall<string>("name", []), this.tokenAddress()]).then(
      ([name, token]) => tokenDomain({ name, chainId: this.chainId, token: token as Hex }),
      (error: unknown) => {
        this.domain = null;
        throw error;
      },
    );
    return this.domain;
  }

  tokenBalance(address: Hex): Promise<bigint> {
    return this.tokenCall<bigint>("balanceOf", [address]);
  }

  authorizationUsed(authorizer: Hex, nonce: Hex): Promise<boolean> {
    return this.tokenCall<boolean>("authorizationState", [authorizer, nonce]);
  }

  private async tokenCall<T>(name: "name" | "balanceOf" | "authorizationState", args: unknown[]): Promise<T> {
    const to = await this.tokenAddress();
    const result = await this.timed(this.provider.call({ to, data: tokenReads.encodeFunctionData(name, args) }));
    return tokenReads.decodeFunctionResult(name, result)[0] as T;
  }

  async isValidSignature(signer: Hex, digest: Uint8Array, signature: Uint8Array): Promise<boolean> {
    const data = erc1271.encodeFunctionData("isValidSignature", [digest, signature]);
    try {
      const result = await this.timed(this.provider.call({ to: signer, data, gasLimit: ERC1271_GAS }));
      return result.slice(0, 66).toLowerCase() === ERC1271_MAGIC;
    } catch (error) {
      // A revert (or a wallet without the function) is a refusal, as on chain.
      if (revertData(error) !== null) return false;
      throw error;
    }
  }

  async merchantBalances(merchantId: bigint): Promise<{ released: bigint; claimable: bigint }> {
    const [released, claimable] = await this.timed(this.escrowContract.merchantBalances(merchantId));
    return { released, claimable };
  }

  blockNumber(): Promise<number> {
    return this.timed(this.provider.getBlockNumber());
  }

  async chainTime(): Promise<bigint> {
    const block = await this.timed(this.provider.getBlock("latest"));
    if (!block) throw new Error("node returned no latest block");
    return BigInt(block.timestamp);
  }

  async paymentEvents(paymentId: Hex, escrowTx: Hex): Promise<PaymentChainEvent[]> {
    const receipt = await this.timed(this.provider.getTransactionReceipt(escrowTx));
    if (!receipt) return [];
    const logs = await this.timed(
      this.provider.getLogs({
        address: this.escrow,
        topics: [paymentDecoder.topics, paymentId.toLowerCase()],
        fromBlock: receipt.blockNumber,
        toBlock: "latest",
      }),
    );
    const times = new Map<number, number>();
    for (const n of new Set(logs.map((l) => l.blockNumber))) {
      const block = await this.timed(this.provider.getBlock(n));
      times.set(n, block?.timestamp ?? 0);
    }
    const out: PaymentChainEvent[] = [];
    for (const log of logs) {
      const event = paymentDecoder.decode(log);
      if (!event) continue;
      out.push({
        event,
        blockNumber: log.blockNumber,
        timestamp: times.get(log.blockNumber) ?? 0,
        txHash: log.transactionHash.toLowerCase() as Hex,
        logIndex: log.index,
      });
    }
    return out.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
  }

  forget(address: Hex): void {
    this.accounts.delete(address.toLowerCase());
  }

  private async timed<T>(call: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ApiError("chain_unavailable", `chain read timed out after ${this.callTimeoutMs} ms`)),
        this.callTimeoutMs,
      );
    });
    try {
      return await Promise.race([call, timeout]);
    } catch (error) {
      if (error instanceof ApiError || revertData(error) !== null) throw error;
      // Anything but a revert means the node is unreachable or broken. The node's error names the
      // RPC URL (and any key in it) and echoes its body: logged redacted, never sent.
      throw new ApiError("chain_unavailable", "chain read failed", undefined, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}
