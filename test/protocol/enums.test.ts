/**
 * The protocol's mirrors of the contracts' enums (src/protocol/enums.ts) against the compiled
 * contracts: member names and order from the compiler's AST, and one value of each seen on chain.
 */
import { expect } from "chai";
import { artifacts } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  ESCROW_PAYMENT_STATUS_NAMES,
  EscrowPaymentStatus,
  MERCHANT_STATUS_NAMES,
  MerchantStatus,
  ONCHAIN_REJECT_REASONS,
  REJECT_REASON_NAMES,
  REJECT_REASONS,
  encodeBatch,
} from "../../src/protocol";
import { buildPayment, deployEscrowFixture, escrowOne, idOf, signPayment } from "../escrow/fixtures";

interface AstNode {
  nodeType?: string;
  name?: string;
  members?: { name: string }[];
  nodes?: AstNode[];
}

/** Member names of `contract.enumName` as the compiler saw them, in declaration order. */
async function enumMembers(source: string, contract: string, enumName: string): Promise<string[]> {
  const buildInfo = await artifacts.getBuildInfo(`${source}:${contract}`);
  if (!buildInfo) throw new Error(`no build info for ${source}:${contract} (compile first)`);
  const ast = buildInfo.output.sources[source].ast as AstNode;
  const owner = ast.nodes?.find((n) => n.nodeType === "ContractDefinition" && n.name === contract);
  const found = owner?.nodes?.find((n) => n.nodeType === "EnumDefinition" && n.name === enumName);
  if (!found?.members) throw new Error(`enum ${contract}.${enumName} not found in ${source}`);
  return found.members.map((m) => m.name);
}

const ESCROW = "contracts/interfaces/IPaymentEscrow.sol";
const REGISTRY = "contracts/interfaces/IMerchantRegistry.sol";

/** "NonceUnavailable" -> "nonce_unavailable". */
const snake = (name: string) => name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();

describe("protocol: contract enums (src/protocol/enums.ts) against the compiled contracts", function () {
  it("RejectReason: names, order and the API's snake_case codes", async function () {
    const members = await enumMembers(ESCROW, "IPaymentEscrow", "RejectReason");
    expect([...REJECT_REASON_NAMES]).to.deep.equal(members);
    expect([...ONCHAIN_REJECT_REASONS]).to.deep.equal(members.map(snake));
    expect(REJECT_REASONS).to.deep.equal([...members.map(snake), "simulation_failed"]);
  });

  it("PaymentStatus: names, order and values", async function () {
    const members = await enumMembers(ESCROW, "IPaymentEscrow", "PaymentStatus");
    expect([...ESCROW_PAYMENT_STATUS_NAMES]).to.deep.equal(members);
    expect(Object.entries(EscrowPaymentStatus)).to.deep.equal(members.map((name, i) => [name, i]));
  });

  it("MerchantStatus: names, order and values", async function () {
    const members = await enumMembers(REGISTRY, "IMerchantRegistry", "MerchantStatus");
    expect([...MERCHANT_STATUS_NAMES]).to.deep.equal(members);
    expect(Object.entries(MerchantStatus)).to.deep.equal(members.map((name, i) => [name, i]));
  });

  it("on chain: a reused nonce is rejected with nonce_unavailable, a registered merchant is Active", async function () {
    const f = await loadFixture(deployEscrowFixture);
    const payer = f.customers[0];
    const first = await escrowOne(f, payer);
    const again = await buildPayment(f, payer, { nonce: first.payment.nonce });
    const signature = await signPayment(f, payer, again);
    const id = await idOf(f, again);
    await expect(f.escrow.connect(f.relayer).payBatch(encodeBatch([{ payment: again, signature }])))
      .to.emit(f.escrow, "PaymentRejected")
      .withArgs(id, payer.address, ONCHAIN_REJECT_REASONS.indexOf("nonce_unavailable"));

    const [status] = await f.registry.terms(f.merchants[0].id);
    expect(status).to.equal(BigInt(MerchantStatus.Active));
    const [unknown] = await f.registry.terms((1n << 64n) - 1n);
    expect(unknown).to.equal(BigInt(MerchantStatus.None));
  });
});
