/**
 * bench/core.ts bundled the way `npm run build` bundles the gateway (esbuild, one ESM file, packages external), so
 * that bench:core measures the code the gateway runs. Run through tsx instead, every use of an imported binding
 * (the parser's character constants and helpers) goes through a module-namespace getter: measured on one parse of
 * a sipp INVITE, 10.7 µs under tsx against 5.3 µs bundled.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { GATEWAY_HEAP_FLAGS } from "../../src/gateway/v8-tuning.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const CORE_BUNDLE = join(REPO, "dist", "bench", "core.mjs");

/** Builds dist/bench/core.mjs from bench/core.ts; returns its path. */
export async function bundleCore(): Promise<string> {
  await build({
    entryPoints: [join(REPO, "bench", "core.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: true,
    logLevel: "warning",
    outfile: CORE_BUNDLE,
  });
  return CORE_BUNDLE;
}

/** node's arguments to run the bundle with `args`, with the gateway's heap flags (src/gateway/v8-tuning.ts). */
export function coreNodeArgs(bundle: string, args: readonly string[]): string[] {
  return [...GATEWAY_HEAP_FLAGS, "--enable-source-maps", bundle, ...args];
}
