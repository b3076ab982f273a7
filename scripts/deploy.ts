/**
 * Deploys StablePay and grants its operator roles, then records the deployment in
 * deployments/<network>.json. See docs/DEPLOY.md; the library is src/chain/deployToNetwork.ts.
 *
 *   npx hardhat run scripts/deploy.ts --network localhost
 *
 * Environment (all optional; role holders default to the deployer):
 *   MASTER_MINTER, PAUSER, BLOCKLISTER, RESCUER  SettlementToken roles
 *   REGISTRAR                                    MerchantRegistry REGISTRAR_ROLE
 *   ARBITER                                      PaymentEscrow ARBITER_ROLE
 *   FEE_RECIPIENT                                receiver of protocol fees
 *   EXISTING_TOKEN    use this USDC-like token (6 decimals) instead of deploying a SettlementToken
 *   FORCE_REDEPLOY    "true": deploy even if the recorded deployment is live on the chain
 *   DEPLOYMENTS_DIR   where deployment records live (default: deployments/)
 *   SAVE_DEPLOYMENT   "true": also write a record for the in-process `hardhat` network
 */
import { deploy, optionsFromEnv } from "../src/chain/deployToNetwork";

async function main(): Promise<void> {
  const hre = (await import("hardhat")).default;
  await deploy(hre, optionsFromEnv(process.env));
}

main().catch((e: unknown) => {
  console.error(`Deployment failed: ${e instanceof Error ? e.message : String(e)}`);
  if (process.env.HARDHAT_SHOW_STACK_TRACES === "true" && e instanceof Error) console.error(e.stack);
  process.exitCode = 1;
});
