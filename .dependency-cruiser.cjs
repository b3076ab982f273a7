/**
 * Import rules of src/ (`npm run lint:deps`):
 * - the relayer's layers import downward only (the order is LAYERS below, lowest first);
 * - src/protocol imports nothing else in src/; the SDK and the relayer never import each other;
 * - src/ never imports test/, bench/ or scripts/; no import cycles.
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
  { name: "routes", path: "^src/relayer/routes/" },
  { name: "app", path: "^src/relayer/(app|server|main)[.]ts$" },
];

const upwardImports = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `no-upward-import-from-${layer.name}`,
  comment: `${layer.name} imports only the layers below it (${
    LAYERS.slice(0, i)
      .map((l) => l.name)
      .join(", ") || "none"
  }) and itself.`,
  severity: "error",
  from: { path: layer.path },
  to: { path: LAYERS.slice(i + 1).map((l) => l.path) },
}));

module.exports = {
  forbidden: [
    ...upwardImports,
    {
      name: "relayer-files-in-a-layer",
      comment: "Every file of src/relayer belongs to a layer of LAYERS; a new folder needs a place in it.",
      severity: "error",
      from: { path: "^src/relayer/", pathNot: LAYERS.map((l) => l.path) },
      to: {},
    },
    {
      name: "protocol-imports-nothing-else-in-src",
      comment: "src/protocol is imported by every part and imports none of them.",
      severity: "error",
      from: { path: "^src/protocol/" },
      to: { path: "^src/", pathNot: "^src/protocol/" },
    },
    {
      name: "no-relayer-from-sdk",
      comment: "The SDK and the relayer share src/protocol, not each other's files.",
      severity: "error",
      from: { path: "^src/sdk/" },
      to: { path: "^src/relayer/" },
    },
    {
      name: "no-sdk-from-relayer",
      comment: "The SDK and the relayer share src/protocol, not each other's files.",
      severity: "error",
      from: { path: "^src/relayer/" },
      to: { path: "^src/sdk/" },
    },
    {
      name: "no-test-bench-scripts-from-src",
      comment: "Shipped code never imports tests, benchmarks or scripts.",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench|scripts)/" },
    },
    {
      name: "no-circular",
      comment: "Import cycles hide which module is the lower one.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "not-to-unresolvable",
      comment: "An import that resolves to nothing is a typo or a missing dependency.",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(typechain-types|artifacts|cache)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".json"],
    },
  },
};
