/**
 * V8 settings for a gateway process, applied by `switchboard start` before the gateway starts (they are process-wide,
 * so the gateway's worker threads get them too).
 *
 * `--no-allocation-site-pretenuring`. V8 watches each allocation site at every minor GC and, when nearly all of a
 * site's objects are still alive, allocates that site's objects straight in the old generation from then on. A proxy
 * fools it: a request's structures (header fields, the decoded header text, transaction entries) are all alive for the
 * few milliseconds their transaction is in flight, so the sites that build them are judged long-lived whenever a
 * minor GC lands among calls in flight. From then on they die in the old generation, and until the next full GC each
 * dead one keeps the young objects it points to alive: the scavenger copies them twice and promotes them, so minor
 * GCs get longer and full GCs more frequent. Measured on the gateway under sipp at 500 calls/s (`--trace-gc-nvp`,
 * about 80 scavenges each): 1,058 KB promoted per scavenge and 5.1 ms mean pause with pretenuring, 231 KB and 2.3 ms
 * (at most 3.7 ms) without. What is truly long-lived (dialogs) is a few hundred bytes per call, and retired
 * transactions live outside the heap (retired.ts), so copying it through the young generation costs far less than
 * the mistakes.
 *
 * `--no-flush-bytecode`. V8 throws away the bytecode (and with it the optimised code) of functions that have not run
 * for a few full GCs. A gateway in a lull still runs full GCs (its memory reducer, timers), so after a minute without
 * calls the whole SIP path was gone, and the next burst ran it in the interpreter and recompiled it while calls
 * queued. Measured with `npm run bench -- --rates 1000,2000 --duration 10 --systems switchboard,kamailio --no-hold
 * --no-direct --no-retry --no-verify` (the gateway idles ~40 s during Kamailio's steps): at 2,000/s p99 INVITE→200
 * 17.5 ms without (4.1 ms once the first second is left out), 4.4 ms with the flag on the command line and 3.8 ms
 * set at run time as here. The price is the bytecode of code that ran once (start-up, configuration), a few MB.
 *
 * Node honours these flags set at run time (v8-tuning.test.ts checks that pretenuring still is, so a Node upgrade
 * that stops honouring run-time flags fails the suite); Deno takes them on its command line (`--v8-flags`,
 * deno.json), and a runtime that refuses them is left as it is.
 */
import v8 from "node:v8";

export const GATEWAY_V8_FLAGS: readonly string[] = ["--no-allocation-site-pretenuring", "--no-flush-bytecode"];

/** Applies GATEWAY_V8_FLAGS to this process; returns the flags applied (none when the runtime refuses them). */
export function applyGatewayV8Flags(setFlags: (flag: string) => void = v8.setFlagsFromString): readonly string[] {
  try {
    for (const flag of GATEWAY_V8_FLAGS) setFlags(flag);
    return GATEWAY_V8_FLAGS;
  } catch {
    return [];
  }
}

/**
 * V8 heap settings for the gateway's command line: a young generation of a fixed 16 MB per semi-space, and room
 * for the old generation to grow before the first full GC.
 *
 * V8 sizes the young generation (where every message's short-lived objects go) to the allocation rate it sees. It
 * starts at 1 MB and grows it under load, and its memory reducer shrinks it back to that starting size once the process
 * has allocated little for about ten seconds. A gateway is idle between bursts, so each burst after a lull began with
 * a young generation of 1 MB: at 1,500 calls/s a minor GC then ran every few milliseconds until V8 had grown it again,
 * and the calls of that first part of a second made the tail. Fixed at 16 MB (the most V8 grows it to by itself on
 * 64-bit Node 20), every burst finds the size a busy gateway ends up with. Measured on the gateway under sipp,
 * `npm run bench -- --rates 1500 --duration 10 --systems switchboard --no-hold --no-direct --no-retry --no-verify`,
 * the flags given on the gateway's command line for the experiment:
 * - without them, four runs: INVITE→200 p99 5.46, 5.71, 5.03 and 5.93 ms, 331–347 µs of CPU per call; the calls
 *   slower than the p99 were gathered in the first second of the step and around full GCs;
 * - with them, two runs (after a 500/s step and the idle time between steps): 4.25 and 4.13 ms, 281 and 287 µs;
 * - 4 MB: 4.86 and 4.45 ms, 321 and 295 µs (minor GCs twice as often); 8 MB: 3.96 and 3.82 ms, 299 and 297 µs;
 *   32 MB: 5.56 and 5.01 ms, 291 and 285 µs (each minor GC copies twice as many live objects: 2.8 ms median pause
 *   against 1.7 ms).
 *
 * `--initial-old-space-size=128`: the old generation (what outlives two minor GCs) may reach 128 MB before V8's
 * first full GC, after which V8 sizes it from what that GC found alive. Without it, V8 lowers that first limit to a
 * few megabytes above what is alive at start-up, and its memory reducer lowers it again after each lull: with the
 * retired transactions out of the heap (retired.ts) a gateway's live old generation is only ~18 MB, so a burst ran
 * a full GC (a 3–7 ms pause) every 1.5–2 s at 2,000 calls/s: 5 and 4 of them in a 10 s step, p99 9.7, 10.1, 7.7
 * and 9.2 ms in four runs; with it, 1 and 0 full GCs, and over a 30 s step at 2,000/s two, 24 s apart
 * (`npm run bench -- --rates 1000,2000 --duration 10 --systems switchboard ...`, `--trace-gc` on the gateway).
 *
 * V8 reads these when it creates the heap, so they cannot be set at run time like GATEWAY_V8_FLAGS (node refuses them
 * in NODE_OPTIONS too): every launcher passes them on the command line (package.json `start`, deno.json,
 * infra/switchboard.service, the benchmark, the end-to-end tests; v8-tuning.test.ts checks each), the `switchboard`
 * command (bin/switchboard.js, `npx switchboard start`) re-runs node with them when they are missing, and the gateway
 * warns when it was started without them all the same (missingHeapFlags).
 */
export const GATEWAY_HEAP_FLAGS: readonly string[] = [
  "--min-semi-space-size=16",
  "--max-semi-space-size=16",
  "--initial-old-space-size=128",
];

/** The young generation's size V8 reports for a fresh heap started with GATEWAY_HEAP_FLAGS (1 MB without them). */
export const GATEWAY_YOUNG_GENERATION_BYTES = 16 * 1024 * 1024;

/**
 * The GATEWAY_HEAP_FLAGS a node process was started without (any value of a flag counts as given: an operator may
 * choose another size), from its `process.execArgv`. Asking V8 is no use: loading the modules alone grows the young
 * generation past its starting size. Deno keeps its V8 flags out of execArgv, so it is not asked (deno.json has them).
 */
export function missingHeapFlags(
  execArgv: readonly string[],
  runtime: { readonly deno?: string } = process.versions as { readonly deno?: string },
): string[] {
  if (runtime.deno !== undefined) return [];
  const given = new Set(execArgv.map((a) => a.split("=")[0]!.replaceAll("_", "-")));
  return GATEWAY_HEAP_FLAGS.filter((flag) => !given.has(flag.split("=")[0]!));
}

/**
 * The builtin prototypes whose methods the hot path calls, by name: strings (the parser scans header text with
 * charCodeAt, indexOf, slice), arrays, maps and sets, byte buffers, promises. tests/support/prototype-probe.ts reports
 * on these same ones in a running gateway.
 */
export const HOT_PROTOTYPES: Readonly<Record<string, object>> = {
  String: String.prototype,
  Array: Array.prototype,
  Object: Object.prototype,
  Function: Function.prototype,
  Map: Map.prototype,
  Set: Set.prototype,
  Number: Number.prototype,
  Promise: Promise.prototype,
  Uint8Array: Uint8Array.prototype,
  TypedArray: Object.getPrototypeOf(Uint8Array.prototype) as object,
};

/**
 * Gives the builtin prototypes back their fast property layout after the modules have loaded.
 *
 * A class that extends a builtin (`class VerbatimString extends String` in ioredis 6's RESP decoder, which every
 * gateway loads: src/dialog/redis.ts is imported whatever the store) makes V8 switch that builtin's prototype to
 * dictionary mode, expecting more properties to be added; V8 switches it back the first time a property lookup goes
 * through an object whose prototype chain holds it. Strings are not such objects: a `s.charCodeAt(i)` looks its method
 * up from a primitive, so String.prototype stayed in dictionary mode for the life of the process. The optimising
 * compiler cannot fold a method lookup on a dictionary-mode prototype, so every string method call of the parser went
 * through the generic load handler. Measured with `perf record` on the gateway under sipp at 1,500 calls/s: 18% of the
 * gateway's CPU in V8's Builtins_LoadIC, called from scanFields, scanHostPort, splitHeaderValues, parseSipUri and the
 * other parsers; with this call, the CPU per call went from 362 and 366 to 329 and 306 µs at 1,500/s and from 358 and
 * 295 to 237 and 239 µs at 2,500/s (`npm run bench -- --rates 1500,2500 --duration 10 --systems switchboard`, two
 * rounds each, the call switched on and off by an environment variable for the experiment).
 *
 * A lookup through an object made from each prototype does that switch. It runs in a function with its own
 * feedback (top-level code that runs once has none, and then V8 does not switch back), enough times to pass the lazy
 * feedback allocation. v8-tuning.test.ts checks it against V8, and tests/e2e/v8-prototypes.test.ts checks the
 * running gateway after traffic; call it after every module is loaded and before the warm-up compiles the hot path.
 */
export function restoreFastPrototypes(): void {
  for (const prototype of Object.values(HOT_PROTOTYPES)) {
    const probe: unknown = Object.create(prototype);
    for (let i = 0; i < 32; i++) lookUpThrough(probe);
  }
}

function lookUpThrough(o: unknown): unknown {
  return (o as { constructor?: unknown }).constructor;
}
