/**
 * Merchant registry operator tasks. Each acts on the registry of deployments/<network>.json as the
 * network's first configured account (which needs REGISTRAR_ROLE for every task but merchant:show).
 *
 *   npx hardhat merchant:register --owner 0x… --payout 0x… --fee-bps 250 --min-hold 259200 --max-hold 2592000 --network localhost
 *   npx hardhat merchant:show --id 1 --network localhost
 *   npx hardhat merchant:suspend --id 1 --network localhost
 *   npx hardhat merchant:reactivate --id 1 --network localhost
 *   npx hardhat merchant:close --id 1 --network localhost
 *   npx hardhat merchant:recover-owner --id 1 --owner 0x… --network localhost   (lost owner key; executable after the delay)
 *   npx hardhat merchant:execute-recovery --id 1 --network localhost
 *   npx hardhat merchant:cancel-recovery --id 1 --network localhost
 */
import { task } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { MerchantRegistry } from "../typechain-types";
import { fail, liveDeployment, operator, parseAddress, parseMetadata, parseUint, requireRole, send } from "./common";

/** IMerchantRegistry.MerchantStatus, by value. */
export const MERCHANT_STATUS = ["None", "Active", "Suspended", "Closed"] as const;
export type MerchantStatusName = (typeof MERCHANT_STATUS)[number];

const statusName = (value: bigint | number): MerchantStatusName | `Unknown(${string})` =>
  MERCHANT_STATUS[Number(value)] ?? `Unknown(${value})`;

interface RegistryContext {
  registry: MerchantRegistry;
  label: string;
  signer: string;
}

async function registryContext(hre: HardhatRuntimeEnvironment): Promise<RegistryContext> {
  // Load the factory before the first RPC request (see the note in ./common).
  const { MerchantRegistry__factory } =
    await import("../typechain-types/factories/contracts/MerchantRegistry__factory");
  const record = await liveDeployment(hre);
  const signer = await operator(hre);
  const address = record.contracts.MerchantRegistry.address;
  return {
    registry: MerchantRegistry__factory.connect(address, signer),
    label: `MerchantRegistry ${address}`,
    signer: signer.address,
  };
}

/** The merchant's current status, failing clearly for an id that was never registered. */
async function requireMerchant(registry: MerchantRegistry, id: bigint): Promise<MerchantStatusName> {
  const [status] = await registry.terms(id);
  if (status === 0n) {
    const count = await registry.merchantCount();
    fail(
      `Merchant ${id} does not exist: the registry has ${count} merchant${count === 1n ? "" : "s"}` +
        (count > 0n ? ` (ids 1 to ${count})` : ""),
    );
  }
  return statusName(status) as MerchantStatusName;
}

task("merchant:register", "Registers an Active merchant and prints its id (signer: REGISTRAR_ROLE)")
  .addParam("owner", "Merchant owner key (signs refunds and rotations)")
  .addParam("payout", "Address settlements are paid to")
  .addParam("feeBps", "Protocol fee in basis points (0 to MAX_FEE_BPS = 1000)")
  .addParam(
    "minHold",
    "Shortest hold in seconds a payment to the merchant may ask (MIN_HOLD_PERIOD 60 to MAX_HOLD_PERIOD 15552000)",
  )
  .addParam("maxHold", "Longest hold in seconds a payment may ask (minHold to MAX_HOLD_PERIOD 15552000)")
  .addOptionalParam("metadata", "Metadata reference: a 32-byte 0x hex value, or text that is keccak256-hashed")
  .setAction(
    async (
      args: { owner: string; payout: string; feeBps: string; minHold: string; maxHold: string; metadata?: string },
      hre,
    ) => {
      const owner = parseAddress("owner", args.owner);
      const payout = parseAddress("payout", args.payout);
      const feeBps = parseUint("fee-bps", args.feeBps, 0xffffn);
      const minHold = parseUint("min-hold", args.minHold, 0xffffffffn);
      const maxHold = parseUint("max-hold", args.maxHold, 0xffffffffn);
      const metadata = parseMetadata(args.metadata);

      const { registry, label, signer } = await registryContext(hre);
      const [maxFee, shortest, longest] = await Promise.all([
        registry.MAX_FEE_BPS(),
        registry.MIN_HOLD_PERIOD(),
        registry.MAX_HOLD_PERIOD(),
      ]);
      if (feeBps > maxFee) fail(`--fee-bps ${feeBps} is above the maximum of ${maxFee}`);
      if (minHold < shortest || maxHold > longest || minHold > maxHold) {
        fail(`hold bounds [${minHold}, ${maxHold}] must satisfy ${shortest} <= --min-hold <= --max-hold <= ${longest}`);
      }
      await requireRole(registry, label, "REGISTRAR_ROLE", signer);

      const { response, receipt } = await send(
        "registerMerchant",
        () => registry.registerMerchant(owner, payout, feeBps, minHold, maxHold, metadata),
        registry.interface,
      );
      const registryAddress = (await registry.getAddress()).toLowerCase();
      const event = receipt.logs
        .filter((log) => log.address.toLowerCase() === registryAddress)
        .map((log) => registry.interface.parseLog(log))
        .find((parsed) => parsed?.name === "MerchantRegistered");
      if (!event) fail(`registerMerchant (tx ${response.hash}) emitted no MerchantRegistered event`);
      const merchantId = event.args.merchantId as bigint;
      console.log(`Registered merchant ${merchantId} (tx ${response.hash})`);
      console.log(
        `  owner ${owner}, payout ${payout}, fee ${feeBps} bps, hold ${minHold}..${maxHold} s, metadata ${metadata}`,
      );
    },
  );

/** Allowed source statuses of each registrar status change, as the registry enforces them. */
const TRANSITIONS = {
  suspend: { from: ["Active"], to: "Suspended" },
  reactivate: { from: ["Suspended"], to: "Active" },
  close: { from: ["Active", "Suspended"], to: "Closed" },
} as const satisfies Record<string, { from: readonly MerchantStatusName[]; to: MerchantStatusName }>;

for (const [action, { from, to }] of Object.entries(TRANSITIONS) as [
  keyof typeof TRANSITIONS,
  (typeof TRANSITIONS)[keyof typeof TRANSITIONS],
][]) {
  task(`merchant:${action}`, `Moves a merchant to ${to} (from ${from.join(" or ")}; signer: REGISTRAR_ROLE)`)
    .addParam("id", "Merchant id")
    .setAction(async (args: { id: string }, hre) => {
      const id = parseUint("id", args.id);
      const { registry, label, signer } = await registryContext(hre);
      const current = await requireMerchant(registry, id);
      if (!(from as readonly string[]).includes(current)) {
        fail(`Merchant ${id} is ${current}: cannot ${action} it (only from ${from.join(" or ")})`);
      }
      await requireRole(registry, label, "REGISTRAR_ROLE", signer);
      const { response } = await send(`${action} of merchant ${id}`, () => registry[action](id), registry.interface);
      console.log(`Merchant ${id}: ${current} -> ${to} (tx ${response.hash})`);
    });
}

task(
  "merchant:recover-owner",
  "Starts replacing a lost owner key: executable after OWNER_RECOVERY_DELAY, cancellable meanwhile by the current owner key (signer: REGISTRAR_ROLE)",
)
  .addParam("id", "Merchant id")
  .addParam("owner", "The new owner key")
  .setAction(async (args: { id: string; owner: string }, hre) => {
    const id = parseUint("id", args.id);
    const owner = parseAddress("owner", args.owner);
    const { registry, label, signer } = await registryContext(hre);
    const status = await requireMerchant(registry, id);
    if (status === "Closed") fail(`Merchant ${id} is Closed: its owner key is frozen`);
    await requireRole(registry, label, "REGISTRAR_ROLE", signer);
    const { response } = await send(
      `owner recovery of merchant ${id}`,
      () => registry.proposeOwnerRecovery(id, owner),
      registry.interface,
    );
    const { executableAt } = await registry.ownerRecovery(id);
    console.log(
      `Owner recovery of merchant ${id} to ${owner} proposed (tx ${response.hash}); executable from ` +
        `${new Date(Number(executableAt) * 1000).toISOString()} unless the current owner key cancels it`,
    );
  });

task("merchant:execute-recovery", "Executes a pending owner recovery after its delay (signer: REGISTRAR_ROLE)")
  .addParam("id", "Merchant id")
  .setAction(async (args: { id: string }, hre) => {
    const id = parseUint("id", args.id);
    const { registry, label, signer } = await registryContext(hre);
    await requireMerchant(registry, id);
    await requireRole(registry, label, "REGISTRAR_ROLE", signer);
    const { response } = await send(
      `owner recovery of merchant ${id}`,
      () => registry.executeOwnerRecovery(id),
      registry.interface,
    );
    console.log(`Merchant ${id} owner key is now ${(await registry.getMerchant(id)).owner} (tx ${response.hash})`);
  });

task(
  "merchant:cancel-recovery",
  "Cancels a pending owner recovery (signer: REGISTRAR_ROLE or the merchant's owner key)",
)
  .addParam("id", "Merchant id")
  .setAction(async (args: { id: string }, hre) => {
    const id = parseUint("id", args.id);
    const { registry } = await registryContext(hre);
    await requireMerchant(registry, id);
    const { response } = await send(
      `cancelling the owner recovery of merchant ${id}`,
      () => registry.cancelOwnerRecovery(id),
      registry.interface,
    );
    console.log(`Owner recovery of merchant ${id} cancelled (tx ${response.hash})`);
  });

task("merchant:show", "Prints a merchant's record as JSON")
  .addParam("id", "Merchant id")
  .setAction(async (args: { id: string }, hre) => {
    const id = parseUint("id", args.id);
    const { registry } = await registryContext(hre);
    await requireMerchant(registry, id);
    const m = await registry.getMerchant(id);
    const view = {
      id: Number(id),
      status: statusName(m.status),
      owner: m.owner,
      payout: m.payout,
      feeBps: Number(m.feeBps),
      minHold: Number(m.minHold),
      maxHold: Number(m.maxHold),
      metadata: m.metadata,
    };
    console.log(JSON.stringify(view, null, 2));
  });
