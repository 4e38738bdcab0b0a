/**
 * `npm run bench:core -- ARGS`: bundles bench/core.ts (lib/core-bundle.ts says why) and runs the bundle with ARGS,
 * with the exit status of that run.
 */
import { spawnSync } from "node:child_process";
import { bundleCore } from "./lib/core-bundle.ts";

const bundle = await bundleCore();
const run = spawnSync(process.execPath, ["--enable-source-maps", bundle, ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(run.status ?? 1);
