import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runNativesScript } from "../testing/natives-script.ts";
import {
  GATEWAY_HEAP_FLAGS,
  GATEWAY_V8_FLAGS,
  GATEWAY_YOUNG_GENERATION_BYTES,
  applyGatewayV8Flags,
  missingHeapFlags,
} from "./v8-tuning.ts";
import { gatewayCommand } from "../../bench/lib/systems.ts";

const V8_TUNING = new URL("./v8-tuning.ts", import.meta.url).href;

/**
 * Counts minor GCs in a fresh plain-Node process (no tsx: its loader changes what V8 decides) while one allocation
 * site's objects all survive for a while, the pattern V8 pretenures: its objects then go straight to the old
 * generation and fewer minor GCs run. `flags` are set at run time first, as applyGatewayV8Flags does.
 */
function minorGcs(dir: string, flags: readonly string[]): number {
  const file = join(dir, "workload.mjs");
  writeFileSync(file, `
    import v8 from "node:v8";
    import { PerformanceObserver, constants } from "node:perf_hooks";
    for (const flag of ${JSON.stringify(flags)}) v8.setFlagsFromString(flag);
    let minor = 0;
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    });
    obs.observe({ entryTypes: ["gc"] });
    function make(i) { return { i, s: "x" + i, next: null }; }
    const keep = [];
    for (let round = 0; round < 120; round++) {
      for (let i = 0; i < 20000; i++) keep.push(make(i));
      if (keep.length > 400000) keep.length = 0;
    }
    setTimeout(() => { obs.disconnect(); console.log(minor); }, 50);
  `);
  return Number(execFileSync(process.execPath, [file], { encoding: "utf8" }).trim());
}

test("applyGatewayV8Flags sets every gateway flag and reports them; a runtime that refuses gets none", () => {
  const set: string[] = [];
  assert.deepEqual(applyGatewayV8Flags((flag) => void set.push(flag)), GATEWAY_V8_FLAGS);
  assert.deepEqual(set, GATEWAY_V8_FLAGS);
  assert.ok(set.includes("--no-allocation-site-pretenuring"));
  assert.ok(set.includes("--no-flush-bytecode"));
  assert.deepEqual(applyGatewayV8Flags(() => { throw new Error("not implemented"); }), []);
});

test("the gateway's V8 flags take effect when set at run time: surviving objects go through the young generation", () => {
  const dir = mkdtempSync(join(tmpdir(), "v8-tuning-"));
  try {
    // Pretenured, the surviving objects skip the young generation: about half the minor GCs (15 against 29 here).
    // Were the flags ignored, both counts would be the same. V8 decides to pretenure from feedback its concurrent
    // work gathers, so an untuned process under the suite's parallel load now and then decides late (29 once, in a
    // full run): the fewest of three runs each side is what V8 does when it gets to decide, and with the flags it
    // never may.
    const fewest = (flags: readonly string[]): number => Math.min(...[0, 1, 2].map(() => minorGcs(dir, flags)));
    const untuned = fewest([]);
    const tuned = fewest(GATEWAY_V8_FLAGS);
    assert.ok(untuned > 0, "the workload causes minor GCs");
    assert.ok(tuned > untuned * 1.4, `minor GCs with the flags ${tuned}, without ${untuned}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("restoreFastPrototypes gives the builtin prototypes that subclassing left in dictionary mode their fast layout back", () => {
  // What ioredis 6 does on load (class VerbatimString extends String), for every builtin the hot path uses.
  const { before, after } = runNativesScript<Record<string, Record<string, boolean>>>(
    "v8-prototypes",
    `
      import { restoreFastPrototypes } from ${JSON.stringify(V8_TUNING)};
      const fast = new Function("o", "return %HasFastProperties(o)");
      const prototypes = { String, Array, Object, Function, Map, Set, Number, Promise, Uint8Array };
      const subclasses = [class extends String {}, class extends Array {}, class extends Map {}, class extends Set {},
        class extends Number {}, class extends Promise {}, class extends Uint8Array {}];
      const state = () => Object.fromEntries(Object.entries(prototypes).map(([name, c]) => [name, fast(c.prototype)]));
      const before = state();
      restoreFastPrototypes();
      console.log(JSON.stringify({ subclasses: subclasses.length, before, after: state() }));
    `,
  );
  // The slow state is real (else this test proves nothing): a subclassed String.prototype is in dictionary mode.
  assert.equal(before!.String, false, `String.prototype after subclassing: ${JSON.stringify(before)}`);
  for (const [name, isFast] of Object.entries(after!)) assert.equal(isFast, true, `${name}.prototype still in dictionary mode`);
});

/** The young generation's size a fresh `node` reports, started with `flags`. */
function youngGenerationOf(flags: readonly string[]): number {
  const script = `console.log(require("node:v8").getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size)`;
  return Number(execFileSync(process.execPath, [...flags, "-e", script], { encoding: "utf8" }).trim());
}

test("the heap flags give a fresh process the young generation a busy gateway has; V8 alone starts at 1 MB", () => {
  const tuned = youngGenerationOf(GATEWAY_HEAP_FLAGS);
  const untuned = youngGenerationOf([]);
  assert.ok(tuned >= GATEWAY_YOUNG_GENERATION_BYTES, `young generation with the flags: ${tuned} bytes`);
  // V8's own starting size: what the memory reducer also shrinks an idle process back to.
  assert.ok(untuned < GATEWAY_YOUNG_GENERATION_BYTES, `young generation without the flags: ${untuned} bytes`);
});

test("missingHeapFlags names the heap flags a node process lacks; any value counts; Deno is not asked", () => {
  assert.deepEqual(missingHeapFlags(["--enable-source-maps"], {}), [...GATEWAY_HEAP_FLAGS]);
  assert.deepEqual(missingHeapFlags([...GATEWAY_HEAP_FLAGS, "--enable-source-maps"], {}), []);
  assert.deepEqual(missingHeapFlags(["--min_semi_space_size=8", "--max-semi-space-size=32", "--initial-old-space-size=256"], {}), []);
  assert.deepEqual(missingHeapFlags(["--max-semi-space-size=16", "--initial-old-space-size=64"], {}), ["--min-semi-space-size=16"]);
  assert.deepEqual(missingHeapFlags([], { deno: "2.5.0" }), []);
  // This test process runs without them.
  assert.deepEqual(missingHeapFlags(process.execArgv), [...GATEWAY_HEAP_FLAGS]);
});

test("every way of starting the gateway passes the heap flags (they cannot be set at run time); `switchboard start` re-runs node with them", () => {
  const repo = new URL("../../", import.meta.url);
  const read = (path: string) => readFileSync(new URL(path, repo), "utf8");
  const npmStart = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts.start!;
  const denoStart = (JSON.parse(read("deno.json")) as { tasks: Record<string, string> }).tasks.start!;
  const unit = read("infra/switchboard.service").split("\n").find((l) => l.startsWith("ExecStart="))!;
  // bin/switchboard.js is plain JavaScript (no TypeScript import): its own copy must stay equal.
  const binList = /const HEAP_FLAGS = (\[[^\]]*\]);/.exec(read("bin/switchboard.js"))?.[1];
  assert.deepEqual(binList === undefined ? undefined : JSON.parse(binList), [...GATEWAY_HEAP_FLAGS], "bin/switchboard.js HEAP_FLAGS");
  const denoFlags = /--v8-flags=(\S+)/.exec(denoStart)?.[1]?.split(",") ?? [];
  for (const flag of GATEWAY_V8_FLAGS) assert.ok(denoFlags.includes(flag), `deno task start lacks ${flag}: ${denoStart}`);
  for (const flag of GATEWAY_HEAP_FLAGS) {
    assert.ok(npmStart.split(" ").includes(flag), `npm start lacks ${flag}: ${npmStart}`);
    assert.ok(denoFlags.includes(flag), `deno task start lacks ${flag}: ${denoStart}`);
    assert.ok(unit.split(" ").includes(flag), `systemd unit lacks ${flag}: ${unit}`);
    assert.ok(gatewayCommand("dist").includes(flag) && gatewayCommand("tsx").includes(flag), `the benchmark's gateway lacks ${flag}`);
  }
  assert.ok(npmStart.indexOf(GATEWAY_HEAP_FLAGS[0]!) < npmStart.indexOf("dist/gateway/main.mjs"), "node flags go before the script");
});
