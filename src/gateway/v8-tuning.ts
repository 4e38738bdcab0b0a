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
 * (at most 3.7 ms) without. What is truly long-lived (dialogs, retired transactions) is a few hundred bytes per call, so copying it
 * through the young generation costs far less than the mistakes.
 *
 * Node honours this flag set at run time (v8-tuning.test.ts checks that it still does, so a Node upgrade that stops
 * honouring it fails the suite); Deno takes it on its command line (`--v8-flags`, deno.json), and a runtime that
 * refuses it is left as it is.
 */
import v8 from "node:v8";

export const GATEWAY_V8_FLAGS: readonly string[] = ["--no-allocation-site-pretenuring"];

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
