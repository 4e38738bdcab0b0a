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
