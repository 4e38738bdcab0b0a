/**
 * bench/core.ts bundled the way `npm run build` bundles the gateway (esbuild, one ESM file, packages external), so
 * that bench:core measures the code the gateway runs. Run through tsx instead, every use of an imported binding
 * (the parser's character constants and helpers) goes through a module-namespace getter: measured on one parse of
 * a sipp INVITE, 10.7 µs under tsx against 5.3 µs bundled.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

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
