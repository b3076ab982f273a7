import type { FastifyInstance } from "fastify";
import type { RelayerConfig } from "../config";
import type { Hex } from "../domain";
import type { RelayerMetrics } from "../runtime/metrics";
import type { RelayerStore } from "../store/types";
import type { ChainView } from "../chain/chainView";
import type { CurrencyAddresses } from "../chain/client";
import type { ChainWriter } from "../chain/chainWriter";
import type { EscrowDigester } from "../../protocol/digest";
import type { GroupCommitWriter } from "../intake/groupCommit";
import type { Intake } from "../intake/intake";
import type { Readiness } from "../runtime/readiness";
import type { PayerAccounts } from "../ledger/payerAccounts";
import type { InclusionProver } from "./inclusion";
import type { MerchantReports } from "./merchantReports";
import type { RetentionPruner } from "./retention";
import type { FailureLimiter, RequestLimiter } from "./rateLimit";
import type { RelayQuota } from "./relayQuota";
import type { FxPaymentSubmission, FxPaymentView, FxQuoteRequest, FxQuoteView } from "../../protocol/schemas";

/** Who a request acts as, set by the auth hook. */
export type Principal =
  { kind: "merchant"; merchantId: bigint; keyId: string } | { kind: "admin" } | { kind: "public"; ip: string };

declare module "fastify" {
  interface FastifyContextConfig {
    /** Who may call the route: anyone (default), a merchant API key, or the operator's admin token. */
    auth?: "public" | "merchant" | "admin";
    /** Creates something: honours Idempotency-Key. Defaults to true for POST. */
    idempotent?: boolean;
    /** Counts against the caller's token bucket. Defaults to true. */
    rateLimited?: boolean;
    /**
     * Top-level fields of the response that hold a secret shown once (an API key, a webhook secret):
     * the idempotency layer stores the response without them and never replays them.
     */
    secretFields?: readonly string[];
  }
  interface FastifyInstance {
    /** Deletes expired idempotency records and payment requests (on a timer; `prune()` for one pass). */
    retention: RetentionPruner;
  }
  interface FastifyRequest {
    /** The undecoded JSON body (for the idempotency fingerprint). */
    rawBody: Buffer | null;
    principal: Principal;
  }
}

/**
 * A currency intake serves: its escrow's reads, its store view and the parts that judge its payers'
 * signed operations (payments, withdrawals) and relay the signed actions on its payments.
 */
export interface ServedCurrency {
  /** Its entry in the deployment (code, token, escrow). */
  currency: CurrencyAddresses;
  /** Reads of its escrow and token. */
  chain: ChainView;
  /** `store.forCurrency(code)`: its payments, payment requests and relay requests only. */
  store: RelayerStore;
  /** EIP-712 digests under its escrow's domain. */
  digester: EscrowDigester;
  intake: Intake;
  /**
   * Its payer state: the one view intake admits payments against, which the account endpoint shows
   * and withdrawals are checked and reserved against.
   */
  accounts: PayerAccounts;
  /** Sends its escrow's signed operations; absent → those routes answer 503. */
  writer: ChainWriter | null;
}

/** Everything a route handler may use; built once per app by buildApp. */
export interface RouteContext {
  config: RelayerConfig;
  /** The unscoped store: every currency's rows (reads by id, merchants' listings). */
  store: RelayerStore;
  /** Reads every currency shares: the registry, the chain id and its clock (and the first served escrow's). */
  chain: ChainView;
  /** The deployment's currencies, in its order. */
  currencies: readonly CurrencyAddresses[];
  /**
   * The currencies intake serves, by code, in RELAYER_CURRENCIES' order: the first is the one a
   * request naming no currency (no `escrow` in its body, no `currency` parameter) is in.
   */
  served: ReadonlyMap<string, ServedCurrency>;
  /** The FX desk (cross-currency quotes and payments); null when its settings are unset. */
  fx: FxDeskService | null;
  /** Merchants' report events and credit records, read from the store's report index. */
  reports: MerchantReports;
  /** One group commit for every currency's payments: one durable commit serves them all. */
  groupCommit: GroupCommitWriter;
  inclusion: InclusionProver;
  metrics: RelayerMetrics;
  /** Conditions reported by the jobs and the store that make GET /ready answer 503. */
  readiness: Readiness;
  /** Milliseconds since the epoch. */
  clock: () => number;
  limits: {
    /** Requests per caller (see rateLimitKey in app.ts); a batch is charged per item. */
    requests: RequestLimiter;
    /** Failed authentications per client IP. */
    authFailures: FailureLimiter;
    /** API keys created per merchant. */
    apiKeyCreation: RequestLimiter;
  };
  /** Relayed withdrawals and deposits per payer per day. */
  relayQuota: RelayQuota;
}

/** The FX desk as the routes use it (src/relayer/fx/desk.ts implements it). */
export interface FxDeskService {
  quote(ctx: RouteContext, request: FxQuoteRequest): Promise<FxQuoteView>;
  pay(ctx: RouteContext, body: FxPaymentSubmission): Promise<FxPaymentView>;
}

export type App = FastifyInstance;

/** A route module: registers exactly one route. */
export type RouteModule = (app: App, ctx: RouteContext) => void;

export const merchantOf = (principal: Principal): { merchantId: bigint; keyId: string } => {
  if (principal.kind !== "merchant") throw new Error("route is not merchant-authenticated");
  return principal;
};

export type { Hex };
