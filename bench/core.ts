/**
 * The proxy core alone: CPU per call of the gateway's own code, without sockets, sipp or the kernel.
 *
 *   npm run bench:core                      20,000 calls in batches of 20, 3 rounds; prints µs per call per round
 *   npm run bench:core -- --calls N --batch B --rounds R
 *
 * It runs bundled, as the gateway does (lib/core-bundle.ts; core-run.ts builds and starts it). To profile it:
 * `npm run bench:core` once, then `node --cpu-prof --enable-source-maps dist/bench/core.mjs`.
 *
 * `npm run bench` measures what an operator sees, but its figures move by ±10% with the state of a shared machine and
 * include Node's UDP sockets, the event loop and the kernel's UDP path (about half of the gateway's CPU): too coarse to
 * tell whether a change to the parser or the proxy saved 3%. This drives the core the gateway builds (buildProxyCore,
 * the in-process dialog store, the built-in route function over a quick-start catalog of two destinations, the real
 * clock) with the same call as the benchmark's sipp scenarios: INVITE, 100/180/200 from the destination, ACK and BYE
 * through the Record-Route, 200 to the BYE. `batch` calls are in flight at once, like concurrent calls under load.
 * Every call is checked (the caller gets its 100, 180, 200 and BYE 200; the destination its INVITE, ACK and BYE), so a
 * change that breaks the flow cannot look fast.
 *
 * Reported: CPU time (user + system) of the whole run ÷ calls, minus the time this script spent building and reading
 * messages (measured around that code), i.e. the core's CPU per call including GC. Compare runs of one machine only.
 */
import { performance } from "node:perf_hooks";
import { parseConfig } from "../src/config.ts";
import { SyntheticCalls, type SyntheticCall } from "../src/gateway/synthetic-calls.ts";
import type { Source } from "../src/gateway/transport.ts";
import { privateCore } from "../src/gateway/warmup.ts";
import { systemClock } from "../src/transaction/clock.ts";
import { applyGatewayV8Flags, restoreFastPrototypes } from "../src/gateway/v8-tuning.ts";

// The gateway's V8 settings, as `switchboard start` applies them (v8-tuning.ts).
applyGatewayV8Flags();

const argv = process.argv.slice(2);
const arg = (name: string, fallback: number): number => {
  const i = argv.indexOf(name);
  const n = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
};
const CALLS = arg("--calls", 20_000);
const BATCH = arg("--batch", 20);
const ROUNDS = arg("--rounds", 3);

const GW = 5060;
const UAC = 5062;
const UAS = [5070, 5072] as const;
const HOST = "127.0.0.1";

const parsed = parseConfig({
  SWITCHBOARD_SIP_LISTEN: `udp:${HOST}:${GW}`,
  SWITCHBOARD_LOG_LEVEL: "warn",
});
if (!parsed.ok) throw new Error(parsed.error.message);
const config = parsed.config;

let harnessMs = 0;
const timed = <T>(f: () => T): T => {
  const t0 = performance.now();
  try {
    return f();
  } finally {
    harnessMs += performance.now() - t0;
  }
};
const synthetic = new SyntheticCalls({ host: HOST, gateway: GW, caller: UAC, destinations: UAS }, { prefix: "bench-core", timed });
const { core, catalog, dialogs } = await privateCore({
  config,
  clock: systemClock,
  peers: { host: HOST, gateway: GW, caller: UAC, destinations: UAS },
  send: synthetic.send,
  name: "bench-core",
});
const feed = (data: Uint8Array, source: Source): void => core.handle(data, source);
const batch = (size: number): Promise<SyntheticCall[]> => synthetic.batch(size, feed);
function check(calls: readonly SyntheticCall[]): void {
  const problems = synthetic.incomplete(calls);
  if (problems.length > 0) throw new Error(`${problems.length} calls incomplete, e.g. ${problems[0]}`);
}

restoreFastPrototypes();
const warm = await batch(BATCH);
check(warm);
process.stdout.write(`proxy core, ${CALLS} calls per round in batches of ${BATCH} (node ${process.version})\n`);
const results: number[] = [];
for (let r = 1; r <= ROUNDS; r++) {
  harnessMs = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let done = 0; done < CALLS; done += BATCH) check(await batch(Math.min(BATCH, CALLS - done)));
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const coreUs = ((cpuMs - harnessMs) * 1000) / CALLS;
  results.push(coreUs);
  process.stdout.write(
    `round ${r}: ${coreUs.toFixed(1)} µs of core CPU per call (process ${((cpuMs * 1000) / CALLS).toFixed(1)} µs, of which this script ${((harnessMs * 1000) / CALLS).toFixed(1)} µs; wall ${(wallMs / 1000).toFixed(1)} s)\n`,
  );
}
const sorted = [...results].sort((a, b) => a - b);
const load = await dialogs.load(catalog.snapshot().destinations.map((d) => d.id));
const busy = Object.entries(load).filter(([, l]) => Object.values(l).some((n) => n !== 0));
if (busy.length > 0) throw new Error(`capacity still held after every call ended: ${JSON.stringify(load)}`);
process.stdout.write(`median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} µs of core CPU per call; every call complete, no capacity left held\n`);
process.exit(0);
