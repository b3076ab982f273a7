import type { FastifyInstance } from "fastify";
import type { RelayerConfig } from "../config";
import type { Hex } from "../domain";
import type { RelayerMetrics } from "../runtime/metrics";
import type { RelayerStore } from "../store/types";
import type { ChainView } from "../chain/chainView";
import type { CurrencyAddresses } from "../chain/client";
import type { ChainWriter } from "../chain/chainWriter";
import type { EscrowDigester } from "../intake/digest";
import type { GroupCommitWriter } from "../intake/groupCommit";
import type { Intake } from "../intake/intake";
import type { Readiness } from "../runtime/readiness";
import type { PayerAccounts } from "../ledger/payerAccounts";
import type { InclusionProver } from "./inclusion";
import type { MerchantReports } from "./merchantReports";
import type { RetentionPruner } from "./retention";
import type { FailureLimiter, RequestLimiter } from "./rateLimit";
import type { RelayQuota } from "./relayQuota";

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

/** Everything a route handler may use; built once per app by buildApp. */
export interface RouteContext {
  config: RelayerConfig;
  store: RelayerStore;
  chain: ChainView;
  /** The deployment's currencies, in its order: the first is the default, the one `chain` reads. */
  currencies: readonly CurrencyAddresses[];
  /** Sends signed single-payment and balance operations; absent → those routes answer 503. */
  writer: ChainWriter | null;
  digester: EscrowDigester;
  /** Merchants' report events and credit records, read from the store's report index. */
  reports: MerchantReports;
  intake: Intake;
  /**
   * Payer state: the one view intake admits payments against, which the account endpoint shows and
   * withdrawals are checked and reserved against.
   */
  accounts: PayerAccounts;
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

export type App = FastifyInstance;

/** A route module: registers exactly one route. */
export type RouteModule = (app: App, ctx: RouteContext) => void;

export const merchantOf = (principal: Principal): { merchantId: bigint; keyId: string } => {
  if (principal.kind !== "merchant") throw new Error("route is not merchant-authenticated");
  return principal;
};

export type { Hex };
