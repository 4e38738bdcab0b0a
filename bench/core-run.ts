/**
 * `npm run bench:core -- ARGS`: bundles bench/core.ts (lib/core-bundle.ts says why) and runs the bundle with ARGS and
 * the gateway's heap flags (src/gateway/v8-tuning.ts), with the exit status of that run.
 */
import { spawnSync } from "node:child_process";
import { bundleCore, coreNodeArgs } from "./lib/core-bundle.ts";

const bundle = await bundleCore();
const run = spawnSync(process.execPath, coreNodeArgs(bundle, process.argv.slice(2)), { stdio: "inherit" });
process.exit(run.status ?? 1);
