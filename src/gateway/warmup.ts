/**
 * JIT warm-up of a starting gateway. A fresh V8 runs the proxy's code in its interpreter until enough calls have gone
 * through for the optimising compiler to step in; measured on the benchmark (bench/RESULTS.md), a gateway that took
 * 600 calls/s straight after its start spent its first ~1.5 s at full CPU with a backlog, and the calls of that
 * second and a half set the step's p99 INVITE → 200 (30–40 ms against 4–5 ms once warm). A gateway restarted or
 * scaled out into a busy cluster meets exactly that.
 *
 * So a starting gateway (and every worker thread: each has its own V8) drives a few thousand synthetic calls through a
 * core of its own: same code, same configuration, but its own in-memory dialog store, its own catalog of two
 * destinations that exist nowhere, its own counters, no logs, and a send port that only records. Nothing reaches the
 * network, the shared store or the operator's counters. It runs in small batches between real traffic (one batch
 * holds the event loop a few milliseconds), so the gateway serves from its first moment; the warm-up core is disposed
 * (timers cleared) at the end.
 *
 * Optimised code is only as good as its fit to the real traffic: whatever the real core hands the hot path that the
 * warm-up's never did (an object of another V8 map, another function behind a port, a branch never taken) throws the
 * optimised code away on the first real call, and the functions involved run unoptimised until traffic is heavy
 * enough to compile them again, the first seconds of the next burst. With --trace-deopt, the first real calls after
 * the warm-up deoptimised 32 functions (parser, transaction, routing and forwarding code); now about five, all small
 * or inside Node's timers. What closed the gap, each where it is done: the parser's records have one shape (uri.ts,
 * via.ts, name-addr.ts, the core's entries and forwarding plans); the warm-up's catalog is the gateway's kind
 * (SQL, in memory), its route function and logger come from the gateway's factories, its port functions come in two
 * flavours (portClosures), its source addresses and datagrams are of the socket's kind (synthetic-calls.ts), its
 * calls are written in two common ways, its cores are probed as the gateway probes destinations, its catalog is
 * reloaded now and then, and it goes through one lull; timer settings are one record per process (timerSettings);
 * SlotMap.clear empties its arrays in place. The UDP path, which no private core reaches, is warmed after the calls
 * (warmup-udp.ts).
 */
import { localRoute } from "../../functions/route.ts";
import { headerNames } from "../routing/rules.ts";
import type { Config } from "../config.ts";
import type { Catalog } from "../db/catalog.ts";
import { SqlCatalog } from "../db/catalog-sql.ts";
import { seedQuickStart } from "../db/quick-start.ts";
import { MemoryDialogStore } from "../dialog/memory.ts";
import { IdMint } from "../proxy/ids.ts";
import type { Clock } from "../transaction/clock.ts";
import { OurAddresses } from "./addresses.ts";
import { buildProxyCore } from "./core-build.ts";
import { Counters } from "./counters.ts";
import { jsonLogger, type Logger } from "./log.ts";
import type { ProxyCore } from "./proxy-core.ts";
import { SyntheticCalls, type SyntheticPeers } from "./synthetic-calls.ts";
import { warmUpUdp } from "./warmup-udp.ts";
import type { Target } from "../proxy/route-token.ts";

export interface WarmUpOptions {
  readonly config: Config;
  readonly clock: Clock;
  readonly calls: number;
  /** calls in flight at once (default 20) */
  readonly batch?: number;
  /** stop early (the gateway is shutting down) */
  readonly stopped?: () => boolean;
}

export interface WarmUpReport {
  readonly calls: number;
  readonly ms: number;
  /** calls that did not complete: the warm-up's own check, a sign the core is broken */
  readonly incomplete: number;
  readonly firstProblem?: string;
  /** datagrams bounced over loopback to warm the UDP path (warmup-udp.ts); 0 when loopback was not usable */
  readonly datagrams: number;
}

// Addresses of the warm-up's make-believe peers: TEST-NET-1 (RFC 5737), never routed, never sent to (the send port
// only records), chosen so no real destination of the catalog can be mistaken for one of them.
const HOST = "192.0.2.1";
const PEERS = { host: HOST, gateway: 5060, caller: 5062, destinations: [5070, 5072] } as const;
const PROBE = { from: `<sip:warm-up@${HOST}>`, maxForwards: 70, timeoutMs: 1000 } as const;

/**
 * A proxy core of its own, the gateway's code and configuration but nothing shared: an in-memory catalog routing
 * round robin to `peers.destinations`, an in-memory dialog store, fresh counters, no logs, and `send` for a transport.
 * The warm-up and `npm run bench:core` drive their synthetic calls through one.
 *
 * Built as the gateway builds its own wherever V8 could tell the two apart: the same kind of catalog, the route
 * function from the same factory (localRoute), a logger from the same factory; the closures it calls through its
 * ports come in one of two `flavour`s (portClosures).
 */
export async function privateCore(options: {
  readonly config: Config;
  readonly clock: Clock;
  readonly peers: SyntheticPeers;
  readonly send: (target: Target, data: Uint8Array) => void;
  readonly name: string;
  readonly flavour?: 0 | 1;
}): Promise<{ readonly core: ProxyCore; readonly catalog: Catalog; readonly dialogs: MemoryDialogStore }> {
  const { host, gateway, destinations } = options.peers;
  const config: Config = {
    ...options.config,
    destinations: destinations.map((port) => `sip:${host}:${port}`),
    sipListen: [{ transport: "udp", host, port: gateway }],
  };
  // The gateway's own kind of catalog (SQL), in memory: its snapshot's records and strings have the V8 maps the real
  // catalog's have (a MemoryCatalog's, built from literals, had others, and routing code optimised on them was
  // deoptimised by the first real call).
  const catalog = await SqlCatalog.open(":memory:");
  try {
    await seedQuickStart(catalog, config.destinations);
  } catch (error) {
    await catalog.close();
    throw error;
  }
  const dialogs = new MemoryDialogStore(Date.now);
  const ports = portClosures(options.flavour ?? 0, options.send, catalog);
  const { route } = localRoute({ catalog, dialogs, routable: ports.routable, noRoute: { status: 404, reason: "No Route" } });
  const core = buildProxyCore({
    config,
    secret: `${options.name}-secret-never-used-for-real-calls`,
    clock: options.clock,
    addresses: new OurAddresses(host, [{ transport: "udp", host, port: gateway }]),
    ids: new IdMint(),
    dialogs,
    gatewayId: options.name,
    log: jsonLogger("error", () => {}),
    counters: new Counters(),
    route,
    eventHeaders: ports.eventHeaders,
    evidence: ports.evidence,
    send: ports.send,
  });
  return { core, catalog, dialogs };
}

/**
 * What a private core calls through its ports, the same behaviour written as two sets of function literals (two
 * "flavours"). The warm-up alternates its batches between a core of each, so every call site through a port has
 * met two functions before the optimiser compiles it and calls through it without inlining either. With one set,
 * the optimiser inlined the warm-up's functions, and the gateway's own (a third) deoptimised the core's send,
 * reply and response paths on the first real call (`wrong call target`, seen with --trace-deopt).
 */
function portClosures(flavour: 0 | 1, send: (target: Target, data: Uint8Array) => void, catalog: Catalog) {
  return flavour === 0
    ? {
        send: (target: Target, data: Uint8Array): void => send(target, data),
        evidence: (): void => {},
        eventHeaders: (): readonly string[] => headerNames(catalog.snapshot()),
        routable: (): boolean => true,
      }
    : {
        send: (target: Target, data: Uint8Array): void => send(target, data),
        evidence: (): void => {},
        eventHeaders: (): readonly string[] => headerNames(catalog.snapshot()),
        routable: (): boolean => true,
      };
}

/**
 * Start the warm-up in the background and account for it: `warmup.calls` (and `warmup.incomplete`) on the gateway's
 * counters, one log line. Never rejects: a failed warm-up costs speed, not service.
 */
export function startWarmUp(
  options: WarmUpOptions,
  report: { readonly counters: Counters; readonly log: Logger; readonly fields?: Record<string, unknown> },
): Promise<void> {
  const fields = report.fields ?? {};
  return warmUp(options)
    .then((r) => {
      report.counters.inc("warmup.calls", r.calls);
      if (r.incomplete > 0) {
        report.counters.inc("warmup.incomplete", r.incomplete);
        report.log.log("error", "warm-up calls did not complete: the proxy core is broken", { ...fields, incomplete: r.incomplete, first: r.firstProblem });
      } else {
        report.log.log("info", "warm-up done", { ...fields, calls: r.calls, datagrams: r.datagrams, ms: Math.round(r.ms) });
      }
    })
    .catch((error) => report.log.log("error", "warm-up failed", { ...fields, error: String((error as Error)?.stack ?? error) }));
}

export async function warmUp(options: WarmUpOptions): Promise<WarmUpReport> {
  const started = options.clock.now();
  const batchSize = Math.max(1, options.batch ?? 20);
  const synthetic = new SyntheticCalls(PEERS, { prefix: "warm-up" });
  // Two cores, one of each flavour of port closures, taking turns batch by batch (portClosures says why).
  let built: Awaited<ReturnType<typeof privateCore>>[] = [];
  const build = async () => {
    built = [];
    for (const flavour of [0, 1] as const) {
      built.push(await privateCore({ config: options.config, clock: options.clock, peers: PEERS, send: synthetic.send, name: "warm-up", flavour }));
    }
  };
  const dispose = async () => {
    for (const { core, catalog } of built) {
      core.dispose();
      await catalog.close();
    }
    built = [];
  };
  let done = 0;
  let incomplete = 0;
  let firstProblem: string | undefined;
  let lulled = false;
  try {
    await build();
    for (let turn = 0; done < options.calls && !options.stopped?.(); turn++) {
      // Half-way, a lull: both cores are disposed of (every timer cleared), the warm-up waits past T1 for Node's
      // timers to settle, and goes on with new cores. A gateway meets this after every idle spell: the first timer
      // armed then is the process's earliest, and Node schedules it afresh (node:internal/timers `insert`), a path
      // the transaction engine never took while the warm-up kept timers pending. Its first real call after the
      // warm-up deoptimised the engine's timer code (`Insufficient type feedback`, --trace-deopt), and the
      // transaction steps it had inlined ran unoptimised until the next burst of traffic compiled them again.
      if (!lulled && done * 2 >= options.calls) {
        lulled = true;
        await dispose();
        await new Promise((resolve) => setTimeout(resolve, options.config.t1Ms + 100));
        await build();
      }
      // A new snapshot now and then, as the gateway's timer reloads its catalog: the routing code then has been
      // through its cache misses (rules compiled per snapshot) before real calls come.
      if (turn % 16 === 15) await Promise.all(built.map((b) => b.catalog.reload()));
      const core = built[turn % built.length]!.core;
      // A health probe every other turn of each core, answered 200 by its destination in the batch: the gateway
      // probes its destinations all the time, and code optimised on calls alone was deoptimised by the first probe's
      // answer (another client callback) and by the probe's own headers.
      if (turn % 4 < 2) {
        const port = PEERS.destinations[(turn >> 2) % PEERS.destinations.length]!;
        void core.probe({ transport: "udp", host: HOST, port }, `sip:${HOST}:${port}`, PROBE);
      }
      const calls = await synthetic.batch(Math.min(batchSize, options.calls - done), (data, source) => core.handle(data, source));
      done += calls.length;
      const problems = synthetic.incomplete(calls);
      incomplete += problems.length;
      firstProblem ??= problems[0];
    }
  } finally {
    await dispose();
  }
  // Then the UDP path, twice as many datagrams as calls (a call is about eight datagrams through the gateway, and
  // the UDP path is short). A failure here (no loopback) costs speed, not the warm-up.
  const udp = await warmUpUdp({ datagrams: 2 * done, ...(options.stopped ? { stopped: options.stopped } : {}) }).catch(() => ({ datagrams: 0 }));
  return { calls: done, ms: options.clock.now() - started, incomplete, ...(firstProblem ? { firstProblem } : {}), datagrams: udp.datagrams };
}
