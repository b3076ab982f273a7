// Operator tasks, registered from their own files. Each reads deployments/<network>.json
// (see src/chain/deployments.ts and docs/DEPLOY.md) and imports typechain-types lazily, so the
// config loads before anything is compiled.
import "./token";
import "./merchant";
import "./escrow";
