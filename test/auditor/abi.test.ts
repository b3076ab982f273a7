/**
 * The auditor's hand-written ABIs (src/auditor/abi.ts, kept free of build output) must describe the
 * compiled contracts exactly: every event of each contract (the escrow's libraries' included, as
 * they log at the escrow's address) with the same types and indexed flags, and every view the
 * auditor calls with the same inputs and outputs.
 */
import { expect } from "chai";
import { artifacts } from "hardhat";
import type { Abi, AbiEvent, AbiFunction, AbiParameter } from "viem";
import { escrowAbi, registryAbi, tokenAbi } from "../../src/auditor/abi";

const eventText = (e: AbiEvent): string =>
  `${e.name}(${e.inputs.map((i) => `${i.type}${i.indexed ? " indexed" : ""}`).join(",")})`;
/** A parameter's canonical type, tuples spelled out (struct names differ between the two ABIs). */
const typeOf = (p: AbiParameter): string =>
  "components" in p && p.type.startsWith("tuple")
    ? `(${p.components.map(typeOf).join(",")})${p.type.slice(5)}`
    : p.type;
const functionText = (f: AbiFunction): string =>
  `${f.name}(${f.inputs.map(typeOf).join(",")}) ${f.stateMutability} returns (${f.outputs.map(typeOf).join(",")})`;

describe("auditor: ABIs match the compiled contracts", function () {
  const cases: [string, Abi, string[]][] = [
    ["SettlementToken", tokenAbi, []],
    ["MerchantRegistry", registryAbi, []],
    ["PaymentEscrow", escrowAbi, ["CustomerFunds", "PaymentLifecycle", "Settlement"]],
  ];
  for (const [name, abi, libraries] of cases) {
    it(`${name}: every event and every view the auditor reads`, async function () {
      const compiled = (await artifacts.readArtifact(name)).abi as Abi;
      const compiledEvents = compiled.filter((x): x is AbiEvent => x.type === "event").map(eventText);
      for (const library of libraries) {
        const libAbi = (await artifacts.readArtifact(library)).abi as Abi;
        for (const e of libAbi.filter((x): x is AbiEvent => x.type === "event"))
          expect(compiledEvents, `${library} event ${e.name}`).to.include(eventText(e));
      }
      const ours = abi.filter((x): x is AbiEvent => x.type === "event").map(eventText);
      expect([...ours].sort()).to.deep.equal([...compiledEvents].sort());

      const compiledFunctions = compiled.filter((x): x is AbiFunction => x.type === "function").map(functionText);
      for (const f of abi.filter((x): x is AbiFunction => x.type === "function")) {
        expect(compiledFunctions, `${name}.${f.name}`).to.include(functionText(f));
      }
    });
  }
});
