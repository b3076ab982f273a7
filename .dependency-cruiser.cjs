/**
 * Import rules of src/ (`npm run lint:deps`):
 * - the relayer's layers import downward only (the order is LAYERS below, lowest first);
 * - src/protocol imports nothing else in src/; the SDK and the relayer never import each other;
 * - src/ never imports test/, bench/ or scripts/; no import cycles;
 * - the dashboard (dashboard/, a browser page) imports nothing of src/ but the protocol's schemas.
 */

/** The relayer's layers, lowest first: a file may import its own layer and those listed before it. */
const LAYERS = [
  { name: "protocol", path: "^src/protocol/" },
  { name: "runtime", path: "^src/relayer/runtime/" },
  // Records, their storage and views, and the configuration. Two webhook files sit here: the event
  // records the store's outbox writes in the transaction of a state change (webhooks/events.ts) and
  // the webhook settings config.ts composes (webhooks/settings.ts).
  {
    name: "domain",
    path: "^src/relayer/((domain|errors|keccak|config|views)[.]ts$|store/|webhooks/(events|settings)[.]ts$)",
  },
  { name: "chain", path: "^src/relayer/chain/" },
  { name: "services", path: "^src/relayer/(intake|ledger)/|^src/relayer/webhooks/(?!(events|settings)[.]ts$)" },
  { name: "jobs", path: "^src/relayer/jobs/" },
  { name: "http", path: "^src/relayer/http/" },
  // The FX desk: quotes and two-leg payments over the served currencies' intakes (http's context).
  { name: "fx", path: "^src/relayer/fx/" },
  { name: "routes", path: "^src/relayer/routes/" },
  { name: "app", path: "^src/relayer/((app|server|main)[.]ts$|roles/)" },
];

/** A forbidden import: from files matching `from` to modules matching `to`. */
const rule = (name, comment, from, to) => ({ name, comment, severity: "error", from, to });

const upwardImports = LAYERS.slice(0, -1).map((layer, i) =>
  rule(
    `no-upward-import-from-${layer.name}`,
    `${layer.name} imports only the layers below it (${
      LAYERS.slice(0, i)
        .map((l) => l.name)
        .join(", ") || "none"
    }) and itself.`,
    { path: layer.path },
    { path: LAYERS.slice(i + 1).map((l) => l.path) },
  ),
);

const SDK_RELAYER = "The SDK and the relayer share src/protocol, not each other's files.";

module.exports = {
  forbidden: [
    ...upwardImports,
    rule(
      "relayer-files-in-a-layer",
      "Every file of src/relayer belongs to a layer of LAYERS; a new folder needs a place in it.",
      { path: "^src/relayer/", pathNot: LAYERS.map((l) => l.path) },
      {},
    ),
    rule(
      "protocol-imports-nothing-else-in-src",
      "src/protocol is imported by every part and imports none of them.",
      { path: "^src/protocol/" },
      { path: "^src/", pathNot: "^src/protocol/" },
    ),
    rule("no-relayer-from-sdk", SDK_RELAYER, { path: "^src/sdk/" }, { path: "^src/relayer/" }),
    rule("no-sdk-from-relayer", SDK_RELAYER, { path: "^src/relayer/" }, { path: "^src/sdk/" }),
    rule(
      "no-test-bench-scripts-from-src",
      "Shipped code never imports tests, benchmarks or scripts.",
      { path: "^src/" },
      { path: "^(test|bench|scripts)/" },
    ),
    rule(
      "dashboard-imports-only-schemas",
      "The dashboard runs in the browser: of src/ it takes only the API's wire types (src/protocol/schemas).",
      { path: "^dashboard/" },
      { path: "^src/", pathNot: "^src/protocol/(schemas/|states[.]ts$)" },
    ),
    rule("no-circular", "Import cycles hide which module is the lower one.", {}, { circular: true }),
    rule(
      "not-to-unresolvable",
      "An import that resolves to nothing is a typo or a missing dependency.",
      {},
      { couldNotResolve: true },
    ),
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(typechain-types|artifacts|cache)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".tsx", ".js", ".json"],
    },
  },
};
