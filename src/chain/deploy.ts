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

export interface DeployOptions {
  /** Account that receives the admin role of all three contracts (operator roles: scripts/deploy.ts). */
  admin: string;
  feeRecipient: string;
  tokenName?: string;
  tokenSymbol?: string;
  /** Delay of the two-step admin transfer on all three contracts (seconds). */
  adminDelay?: bigint;
  disputeTimeout?: bigint;
  /** Use an existing USDC-like token instead of deploying a SettlementToken. */
  existingToken?: string;
}

export interface DeployedContracts {
  token: SettlementToken;
  registry: MerchantRegistry;
  escrow: PaymentEscrow;
  libraries: { customerFunds: string; paymentLifecycle: string; settlement: string };
  /** Hashes of every deployment transaction, by contract name. */
  transactions: Record<string, string>;
  constructorArgs: Record<string, unknown[]>;
}

export const DEFAULT_ADMIN_DELAY = 3n * 24n * 3600n;
export const DEFAULT_DISPUTE_TIMEOUT = 30n * 24n * 3600n;

/**
 * Deploys the token (unless an existing one is given), the merchant registry, the escrow's linked
 * libraries and the escrow. Shared by scripts/deploy.ts, the tests and the benchmarks so that all
 * three exercise the same wiring. Operator roles are granted by the deploy script, not here.
 */
export async function deployStablePay(deployer: Signer, options: DeployOptions): Promise<DeployedContracts> {
  const adminDelay = options.adminDelay ?? DEFAULT_ADMIN_DELAY;
  const disputeTimeout = options.disputeTimeout ?? DEFAULT_DISPUTE_TIMEOUT;
  const transactions: Record<string, string> = {};
  const constructorArgs: Record<string, unknown[]> = {};

  let token: SettlementToken;
  if (options.existingToken) {
    token = SettlementToken__factory.connect(options.existingToken, deployer);
  } else {
    const args = [
      options.tokenName ?? "StablePay USD",
      options.tokenSymbol ?? "spUSD",
      adminDelay,
      options.admin,
    ] as const;
    token = await new SettlementToken__factory(deployer).deploy(...args);
    await token.waitForDeployment();
    transactions.SettlementToken = token.deploymentTransaction()!.hash;
    constructorArgs.SettlementToken = [...args];
  }

  const registryArgs = [adminDelay, options.admin] as const;
  const registry = await new MerchantRegistry__factory(deployer).deploy(...registryArgs);
  await registry.waitForDeployment();
  transactions.MerchantRegistry = registry.deploymentTransaction()!.hash;
  constructorArgs.MerchantRegistry = [...registryArgs];

  const customerFunds = await new CustomerFunds__factory(deployer).deploy();
  const paymentLifecycle = await new PaymentLifecycle__factory(deployer).deploy();
  const settlement = await new Settlement__factory(deployer).deploy();
  for (const [name, lib] of Object.entries({
    CustomerFunds: customerFunds,
    PaymentLifecycle: paymentLifecycle,
    Settlement: settlement,
  })) {
    await lib.waitForDeployment();
    transactions[name] = lib.deploymentTransaction()!.hash;
  }
  const libraries = {
    customerFunds: await customerFunds.getAddress(),
    paymentLifecycle: await paymentLifecycle.getAddress(),
    settlement: await settlement.getAddress(),
  };

  const escrowArgs = [
    await token.getAddress(),
    await registry.getAddress(),
    options.feeRecipient,
    disputeTimeout,
    adminDelay,
    options.admin,
  ] as const;
  const escrow = await new PaymentEscrow__factory(
    {
      "contracts/libraries/CustomerFunds.sol:CustomerFunds": libraries.customerFunds,
      "contracts/libraries/PaymentLifecycle.sol:PaymentLifecycle": libraries.paymentLifecycle,
      "contracts/libraries/Settlement.sol:Settlement": libraries.settlement,
    },
    deployer,
  ).deploy(...escrowArgs);
  await escrow.waitForDeployment();
  transactions.PaymentEscrow = escrow.deploymentTransaction()!.hash;
  constructorArgs.PaymentEscrow = [...escrowArgs];

  return { token, registry, escrow, libraries, transactions, constructorArgs };
}
