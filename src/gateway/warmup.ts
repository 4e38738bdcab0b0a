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
 */
import { decideRoute, localState } from "../../functions/route.ts";
import type { Config } from "../config.ts";
import { MemoryCatalog } from "../db/catalog-memory.ts";
import { seedQuickStart } from "../db/quick-start.ts";
import { MemoryDialogStore } from "../dialog/memory.ts";
import { IdMint } from "../proxy/ids.ts";
import type { Clock } from "../transaction/clock.ts";
import { OurAddresses } from "./addresses.ts";
import { buildProxyCore } from "./core-build.ts";
import { Counters } from "./counters.ts";
import type { Logger } from "./log.ts";
import type { ProxyCore } from "./proxy-core.ts";
import { SyntheticCalls, type SyntheticPeers } from "./synthetic-calls.ts";
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
}

// Addresses of the warm-up's make-believe peers: TEST-NET-1 (RFC 5737), never routed, never sent to (the send port
// only records), chosen so no real destination of the catalog can be mistaken for one of them.
const HOST = "192.0.2.1";
const PEERS = { host: HOST, gateway: 5060, caller: 5062, destinations: [5070, 5072] } as const;

/**
 * A proxy core of its own, the gateway's code and configuration but nothing shared: an in-memory catalog routing
 * round robin to `peers.destinations`, an in-memory dialog store, fresh counters, no logs, and `send` for a transport.
 * The warm-up and `npm run bench:core` drive their synthetic calls through one.
 */
export async function privateCore(options: {
  readonly config: Config;
  readonly clock: Clock;
  readonly peers: SyntheticPeers;
  readonly send: (target: Target, data: Uint8Array) => void;
  readonly name: string;
}): Promise<{ readonly core: ProxyCore; readonly catalog: MemoryCatalog; readonly dialogs: MemoryDialogStore }> {
  const { host, gateway, destinations } = options.peers;
  const config: Config = {
    ...options.config,
    destinations: destinations.map((port) => `sip:${host}:${port}`),
    sipListen: [{ transport: "udp", host, port: gateway }],
  };
  const catalog = new MemoryCatalog();
  await seedQuickStart(catalog, config.destinations);
  const dialogs = new MemoryDialogStore(Date.now);
  const routePorts = {
    snapshot: () => catalog.snapshot(),
    routable: () => true,
    load: (ids: readonly string[]) => dialogs.load(ids),
    state: localState(),
    random: Math.random,
    noRoute: { status: 404, reason: "No Route" },
  };
  const core = buildProxyCore({
    config,
    secret: `${options.name}-secret-never-used-for-real-calls`,
    clock: options.clock,
    addresses: new OurAddresses(host, [{ transport: "udp", host, port: gateway }]),
    ids: new IdMint(),
    dialogs,
    gatewayId: options.name,
    log: { enabled: () => false, log: () => {} },
    counters: new Counters(),
    route: (event) => decideRoute(event, routePorts),
    eventHeaders: () => [],
    evidence: () => {},
    send: options.send,
  });
  return { core, catalog, dialogs };
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
        report.log.log("info", "warm-up done", { ...fields, calls: r.calls, ms: Math.round(r.ms) });
      }
    })
    .catch((error) => report.log.log("error", "warm-up failed", { ...fields, error: String((error as Error)?.stack ?? error) }));
}

export async function warmUp(options: WarmUpOptions): Promise<WarmUpReport> {
  const started = options.clock.now();
  const batchSize = Math.max(1, options.batch ?? 20);
  const synthetic = new SyntheticCalls(PEERS, { prefix: "warm-up" });
  const { core } = await privateCore({ config: options.config, clock: options.clock, peers: PEERS, send: synthetic.send, name: "warm-up" });
  let done = 0;
  let incomplete = 0;
  let firstProblem: string | undefined;
  try {
    while (done < options.calls && !options.stopped?.()) {
      const calls = await synthetic.batch(Math.min(batchSize, options.calls - done), (data, source) => core.handle(data, source));
      done += calls.length;
      const problems = synthetic.incomplete(calls);
      incomplete += problems.length;
      firstProblem ??= problems[0];
    }
  } finally {
    core.dispose();
  }
  return { calls: done, ms: options.clock.now() - started, incomplete, ...(firstProblem ? { firstProblem } : {}) };
}
