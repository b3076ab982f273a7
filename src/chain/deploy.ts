import type { Signer } from "ethers";
import {
  CustomerFunds__factory,
  MerchantRegistry__factory,
  PaymentEscrow__factory,
  PaymentLifecycle__factory,
  Settlement__factory,
  SettlementToken__factory,
  type MerchantRegistry,
  type PaymentEscrow,
  type SettlementToken,
} from "../../typechain-types";

/** Roles by name, as the contracts define them (keccak256 of the name). */
export const ROLES = {
  DEFAULT_ADMIN: "0x0000000000000000000000000000000000000000000000000000000000000000",
} as const;

/** One currency to deploy: a SettlementToken of our own, or an existing USDC-like token. */
export interface CurrencyOptions {
  /** Its code ("USD", "EUR"; docs/CURRENCIES.md). */
  code: string;
  /** Our token's name and symbol (default "StablePay <code>", "sp<code>"). */
  tokenName?: string;
  tokenSymbol?: string;
  /** Use this existing token instead of deploying a SettlementToken. */
  existingToken?: string;
}

export interface DeployOptions {
  /** Account that receives the admin role of every contract (operator roles: scripts/deploy.ts). */
  admin: string;
  feeRecipient: string;
  /** The currencies: one escrow over each token, all sharing one registry (default: USD alone). */
  currencies?: CurrencyOptions[];
  /** Delay of the two-step admin transfer on every contract (seconds). */
  adminDelay?: bigint;
  disputeTimeout?: bigint;
}

/** One deployed currency: its token and its escrow. */
export interface DeployedCurrency {
  code: string;
  token: SettlementToken;
  escrow: PaymentEscrow;
  /** True when the token existed before (not deployed here). */
  external: boolean;
  /** Hashes of its deployment transactions (no token entry when the token is external). */
  transactions: { token?: string; escrow: string };
  constructorArgs: { token?: unknown[]; escrow: unknown[] };
}

export interface DeployedContracts {
  /** The first currency's token and escrow (what single-currency callers use). */
  token: SettlementToken;
  escrow: PaymentEscrow;
  registry: MerchantRegistry;
  currencies: DeployedCurrency[];
  libraries: { customerFunds: string; paymentLifecycle: string; settlement: string };
  /** Hashes of the shared contracts' deployment transactions, by contract name. */
  transactions: Record<"MerchantRegistry" | "CustomerFunds" | "PaymentLifecycle" | "Settlement", string>;
  constructorArgs: { MerchantRegistry: unknown[] };
}

export const DEFAULT_ADMIN_DELAY = 3n * 24n * 3600n;
export const DEFAULT_DISPUTE_TIMEOUT = 30n * 24n * 3600n;
export const DEFAULT_CURRENCIES: readonly CurrencyOptions[] = [{ code: "USD" }];

/**
 * Deploys the merchant registry and the escrow's linked libraries once, then for each currency its
 * token (unless an existing one is given) and an escrow over it. Shared by scripts/deploy.ts, the
 * tests and the benchmarks so that all of them exercise the same wiring. Operator roles are granted
 * by the deploy script, not here.
 */
export async function deployStablePay(deployer: Signer, options: DeployOptions): Promise<DeployedContracts> {
  const adminDelay = options.adminDelay ?? DEFAULT_ADMIN_DELAY;
  const disputeTimeout = options.disputeTimeout ?? DEFAULT_DISPUTE_TIMEOUT;
  const currencies = options.currencies ?? DEFAULT_CURRENCIES;
  if (currencies.length === 0) throw new Error("deployStablePay: at least one currency");
  if (new Set(currencies.map((c) => c.code)).size !== currencies.length) {
    throw new Error(`deployStablePay: currency codes repeat (${currencies.map((c) => c.code).join(", ")})`);
  }

  const registryArgs = [adminDelay, options.admin] as const;
  const registry = await new MerchantRegistry__factory(deployer).deploy(...registryArgs);
  await registry.waitForDeployment();

  const customerFunds = await new CustomerFunds__factory(deployer).deploy();
  const paymentLifecycle = await new PaymentLifecycle__factory(deployer).deploy();
  const settlement = await new Settlement__factory(deployer).deploy();
  const transactions = {
    MerchantRegistry: registry.deploymentTransaction()!.hash,
  } as DeployedContracts["transactions"];
  for (const [name, lib] of Object.entries({
    CustomerFunds: customerFunds,
    PaymentLifecycle: paymentLifecycle,
    Settlement: settlement,
  }) as [
    keyof DeployedContracts["transactions"],
    { waitForDeployment(): Promise<unknown>; deploymentTransaction(): { hash: string } | null },
  ][]) {
    await lib.waitForDeployment();
    transactions[name] = lib.deploymentTransaction()!.hash;
  }
  const libraries = {
    customerFunds: await customerFunds.getAddress(),
    paymentLifecycle: await paymentLifecycle.getAddress(),
    settlement: await settlement.getAddress(),
  };
  const escrowFactory = new PaymentEscrow__factory(
    {
      "contracts/libraries/CustomerFunds.sol:CustomerFunds": libraries.customerFunds,
      "contracts/libraries/PaymentLifecycle.sol:PaymentLifecycle": libraries.paymentLifecycle,
      "contracts/libraries/Settlement.sol:Settlement": libraries.settlement,
    },
    deployer,
  );

  const deployed: DeployedCurrency[] = [];
  for (const currency of currencies) {
    let token: SettlementToken;
    const txs: DeployedCurrency["transactions"] = { escrow: "" };
    const args: DeployedCurrency["constructorArgs"] = { escrow: [] };
    if (currency.existingToken) {
      token = SettlementToken__factory.connect(currency.existingToken, deployer);
    } else {
      const tokenArgs = [
        currency.tokenName ?? `StablePay ${currency.code}`,
        currency.tokenSymbol ?? `sp${currency.code}`,
        adminDelay,
        options.admin,
      ] as const;
      token = await new SettlementToken__factory(deployer).deploy(...tokenArgs);
      await token.waitForDeployment();
      txs.token = token.deploymentTransaction()!.hash;
      args.token = [...tokenArgs];
    }
    const escrowArgs = [
      await token.getAddress(),
      await registry.getAddress(),
      options.feeRecipient,
      disputeTimeout,
      adminDelay,
      options.admin,
    ] as const;
    const escrow = await escrowFactory.deploy(...escrowArgs);
    await escrow.waitForDeployment();
    txs.escrow = escrow.deploymentTransaction()!.hash;
    args.escrow = [...escrowArgs];
    deployed.push({
      code: currency.code,
      token,
      escrow,
      external: currency.existingToken !== undefined,
      transactions: txs,
      constructorArgs: args,
    });
  }

  return {
    token: deployed[0].token,
    escrow: deployed[0].escrow,
    registry,
    currencies: deployed,
    libraries,
    transactions,
    constructorArgs: { MerchantRegistry: [...registryArgs] },
  };
}
