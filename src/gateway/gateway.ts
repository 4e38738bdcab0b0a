/**
 * Assembles one gateway process: SIP transports, the proxy core, the in-process route function, the dialog store and
 * the admin/function HTTP server. Used by the CLI (main.ts) and by tests that want a gateway in-process.
 */
import { createServer, type Server } from "node:http";
import { availableParallelism } from "node:os";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import type { Config } from "../config.ts";
import { createAdminApp } from "../../functions/admin.ts";
import { createRouteApp, localRoute } from "../../functions/route.ts";
import { headerNames } from "../routing/rules.ts";
import { createTimersApp, tick } from "../../functions/timers.ts";
import type { Catalog } from "../db/catalog.ts";
import { SqlCatalog } from "../db/catalog-sql.ts";
import { seedQuickStart } from "../db/quick-start.ts";
import type { DestinationView } from "../destination/destination.ts";
import { DEFAULT_SET } from "../routing/set.ts";
import type { DialogStore } from "../dialog/dialog.ts";
import { MemoryDialogStore } from "../dialog/memory.ts";
import { RedisDialogStore } from "../dialog/redis.ts";
import { ResilientDialogStore } from "../dialog/resilient.ts";
import { isHealthStore } from "../dialog/health.ts";
import { DEFAULT_HEALTH_POLICY } from "../health/state.ts";
import { WebhookSender } from "../webhook/sender.ts";
import { HealthMonitor } from "./health-monitor.ts";
import type { TrafficEvidence } from "../health/state.ts";
import type { Target } from "../proxy/route-token.ts";
import { IdMint } from "../proxy/ids.ts";
import { statusReason } from "../sip/response.ts";
import { systemClock, type Clock } from "../transaction/clock.ts";
import { OurAddresses, pickAdvertisedHost } from "./addresses.ts";
import { Counters } from "./counters.ts";
import type { Logger } from "./log.ts";
import type { ProxyCore, RouteHandler } from "./proxy-core.ts";
import { buildProxyCore, supervision } from "./core-build.ts";
import { ShardPool } from "./shard-pool.ts";
import { shardOfCallId } from "./shard.ts";
import { remoteRoute } from "./remote-route.ts";
import type { Transport } from "./transport.ts";
import { restoreFastPrototypes } from "./v8-tuning.ts";
import { startWarmUp } from "./warmup.ts";
import { TcpTransport } from "./transport-tcp.ts";
import { assertUdpPortFree, UdpTransport } from "./transport-udp.ts";

export interface GatewayDeps {
  readonly config: Config;
  readonly secret: string;
  readonly adminToken: string;
  readonly log: Logger;
  readonly clock?: Clock;
  readonly dialogs?: DialogStore;
  /** The catalog (sets, destinations, rules); default: SqlCatalog on config.databaseUrl. */
  readonly catalog?: Catalog;
  /** Replace the in-process route function (remote mode, tests). */
  readonly route?: RouteHandler;
}

export interface Gateway {
  readonly transports: readonly Transport[];
  readonly httpPort: number;
  readonly catalog: Catalog;
  /** The destinations the route function balances over: the "default" set of the catalog snapshot. */
  readonly destinations: { snapshot(): readonly DestinationView[] };
  readonly counters: Counters;
  readonly core: ProxyCore;
  /** Threads sharing the SIP work (1: the main thread alone). */
  readonly shards: number;
  /** Graceful stop: no new calls, wait (bounded) for transactions in flight, then close everything. */
  stop(graceMs?: number): Promise<void>;
}

export async function startGateway(deps: GatewayDeps): Promise<Gateway> {
  const { config, log } = deps;
  const clock = deps.clock ?? systemClock;
  const counters = new Counters();
  const ownCatalog = deps.catalog ? undefined : await SqlCatalog.open(config.databaseUrl);
  const catalog = deps.catalog ?? ownCatalog!;
  try {
    await seedQuickStart(catalog, config.destinations);
  } catch (error) {
    await ownCatalog?.close();
    throw error;
  }
  const destinations = { snapshot: (): readonly DestinationView[] => catalog.snapshot().bySet.get(DEFAULT_SET) ?? [] };
  // The store: Redis shared by every gateway when configured (with the local-counters outage policy), else in-process.
  // Stores keep wall-clock (epoch) times: other gateways and operators read them.
  const memoryStore = deps.dialogs || config.redisUrl ? undefined : new MemoryDialogStore(Date.now);
  const dialogs: DialogStore =
    deps.dialogs ??
    (config.redisUrl
      ? new ResilientDialogStore(new RedisDialogStore({ url: config.redisUrl }), {
          onOutage: (error) => {
            counters.inc("store.outages");
            log.log("error", "dialog store unreachable: calls in progress go on, new calls reserve on local counters", { error: String(error) });
          },
          onRecovery: () => log.log("info", "dialog store reachable again: new calls reserve in the shared store"),
          onLocalReservation: () => counters.inc("store.local-reservations"),
        }, Date.now)
      : memoryStore!);

  // Gateway workers: config 0 ("auto") is one per core; more than one shares each UDP port between threads.
  const shards = Math.min(config.workers === 0 ? availableParallelism() : config.workers, 32);
  if (shards > 1) {
    for (const spec of config.sipListen) if (spec.transport === "udp") await assertUdpPortFree(spec.host, spec.port);
  }
  const transports: Transport[] = config.sipListen.map((spec) =>
    spec.transport === "udp"
      ? new UdpTransport(spec.host, spec.port, { shared: shards > 1 })
      : new TcpTransport(spec.host, spec.port, { maxMessageSize: config.maxMessageSize }),
  );
  const byKind = new Map(transports.map((t) => [t.kind, t] as const));

  let monitor: HealthMonitor | undefined;
  const { ports: routePorts, route: local } = localRoute({
    catalog,
    dialogs,
    routable: (destination) => monitor?.effective(destination).routable ?? true,
    noRoute: { status: config.noRouteStatus, reason: config.noRouteStatus === 404 ? "No Route" : statusReason(config.noRouteStatus) },
  });
  const route: RouteHandler =
    deps.route ??
    (config.routeUrl
      ? remoteRoute({
          url: config.routeUrl,
          deadlineMs: config.routeDeadlineMs,
          fallback: local,
          counters,
          log,
          ...(config.routeToken ? { token: config.routeToken } : {}),
        })
      : local);

  const gatewayId = new IdMint().next();
  let core: ProxyCore | undefined;
  let pool: ShardPool | undefined;
  const started = transports.map((transport) => transport.start(
      (data, source) => (pool ? pool.receive(data, source) : core?.handle(data, source)),
      (head, status, reason, source) => core?.rejectFrame(head, status, reason, source),
    ));
  await Promise.all(started);
  const listens = transports.map((t) => t.local);
  const addresses = new OurAddresses(pickAdvertisedHost(config.advertise, listens), listens);

  const eventHeaders = () => headerNames(catalog.snapshot());
  const evidence = (destinationId: string, e: TrafficEvidence) => monitor?.traffic(destinationId, e);
  const send = (target: Target, data: Uint8Array, onError?: (error: Error) => void, connectionId?: number) => {
    const transport = byKind.get(target.transport);
    if (!transport) {
      onError?.(new Error(`no ${target.transport} transport configured`));
      return;
    }
    transport.send(target.host, target.port, data, onError, connectionId);
  };
  core = buildProxyCore({
    config,
    secret: deps.secret,
    clock,
    addresses,
    ids: shards > 1 ? IdMint.forShard(0) : new IdMint(),
    dialogs,
    gatewayId,
    log,
    counters,
    route,
    eventHeaders,
    evidence,
    send,
  });
  const proxy = core;
  if (shards > 1) {
    try {
      pool = await ShardPool.start({
        shards,
        worker: { config, secret: deps.secret, gatewayId, advertisedHost: addresses.advertisedHost, listens, eventHeaders: eventHeaders() },
        core: proxy,
        store: dialogs,
        route,
        eventHeaders,
        evidence,
        send,
        log,
      });
    } catch (error) {
      await Promise.all(transports.map((t) => t.close()));
      await ownCatalog?.close();
      throw error;
    }
  }
  const workers = pool;

  // Health: OPTIONS probes on the timer, evidence from calls, state changes logged, counted and posted.
  const webhooks =
    config.webhookUrls.length > 0 && config.webhookSecret
      ? new WebhookSender({
          endpoints: config.webhookUrls.map((url) => ({ url, secret: config.webhookSecret! })),
          onOutcome: (outcome) => counters.inc(`webhooks.${outcome.outcome}`),
        })
      : undefined;
  monitor = isHealthStore(dialogs)
    ? new HealthMonitor({
        store: dialogs,
        snapshot: () => catalog.snapshot(),
        probe: (target, uri, options) => proxy.probe(target, uri, options),
        now: Date.now,
        policy: DEFAULT_HEALTH_POLICY,
        gatewayId,
        probeFrom: config.probeFrom ?? `<sip:switchboard@${addresses.hostPort("udp")}>`,
        probeMaxForwards: config.probeMaxForwards,
        log,
        counters,
        ...(webhooks ? { webhooks } : {}),
      })
    : undefined;
  const health = monitor;

  // The timers function, in-process on our own clock: catalog reload and load reconciliation.
  let ticking = false;
  const ticker = setInterval(() => {
    if (ticking) return;
    ticking = true;
    memoryStore?.sweep();
    tick({ catalog, store: dialogs })
      .then(async (result) => {
        if (result.expired > 0) counters.inc("reconcile.expired", result.expired);
        if (result.failed > 0) counters.inc("reconcile.failed", result.failed);
        await health?.apply(result.health, result.probes);
        await Promise.all([proxy.superviseDialogs(supervision(config)), workers?.tick(supervision(config))]);
      })
      .catch((error) => {
        counters.inc("tick.errors");
        log.log("warn", "timer tick failed", { error: String(error) });
      })
      .finally(() => (ticking = false));
  }, config.tickIntervalMs).unref();

  /** End a call on the shard that supervises it (its Call-ID's), so that shard forgets it too. */
  const endDialog = async (id: string): Promise<"ended" | "not-found"> => {
    if (!workers) return proxy.endDialog(id);
    const dialog = await dialogs.get(id).catch(() => undefined);
    if (dialog) {
      const shard = shardOfCallId(dialog.callId, shards);
      return shard === 0 ? proxy.endDialog(id) : workers.endDialog(id, shard);
    }
    for (let shard = 0; shard < shards; shard++) {
      if ((await (shard === 0 ? proxy.endDialog(id) : workers.endDialog(id, shard))) === "ended") return "ended";
    }
    return "not-found";
  };

  const app = new Hono();
  app.route(
    "/",
    createAdminApp({
      token: deps.adminToken,
      catalog,
      dialogs,
      load: (ids) => dialogs.load(ids),
      endDialog: (id) => endDialog(id),
      onInternalError: (error, request) => {
        counters.inc("errors.admin-internal");
        log.log("error", "admin API request failed", { ...request, error: String((error as Error)?.stack ?? error) });
      },
      ...(health
        ? {
            health: (destination) => {
              const view = health.effective(destination);
              const record = health.record(destination.id);
              return {
                state: view.state,
                routable: view.routable,
                ...(view.pausedUntil !== undefined ? { pausedUntil: new Date(view.pausedUntil).toISOString() } : {}),
                lastProbe: record?.lastProbeAt
                  ? { at: new Date(record.lastProbeAt).toISOString(), result: record.lastProbeResult, status: record.lastProbeStatus, latencyMs: record.lastLatencyMs }
                  : null,
                latencyMs: record?.avgLatencyMs ?? null,
              };
            },
          }
        : {}),
      status: async () => {
        const all: Record<string, number> = { ...counters.snapshot(), "transactions.pending": proxy.pending };
        const add = (key: string, value: number) => (all[key] = (all[key] ?? 0) + value);
        for (const t of transports) for (const [k, v] of Object.entries(t.counters)) add(`transport.${k}`, v);
        if (workers) {
          add("workers.forwarded", workers.forwarded);
          all["workers.0.messages"] = counters.get("messages.received");
          for (const shard of await workers.status()) {
            add(`workers.${shard.shard}.messages`, shard.counters["messages.received"] ?? 0);
            for (const [k, v] of Object.entries(shard.counters)) add(k, v);
            for (const [k, v] of Object.entries(shard.transports)) add(`transport.${k}`, v);
            add("transactions.pending", shard.pending);
            add("workers.forwarded", shard.forwarded);
          }
          all["workers"] = shards;
        }
        return { ready: true, draining: proxy.draining, counters: Object.fromEntries(Object.entries(all).sort(([a], [b]) => a.localeCompare(b))) };
      },
    }),
  );
  // The route function is reachable over HTTP too (same code as the in-process default).
  app.route("/functions", createRouteApp(routePorts, { token: deps.adminToken }));
  app.route("/functions", createTimersApp({ catalog, store: dialogs }, { token: deps.adminToken }));
  const http: Server = createServer(getRequestListener(app.fetch));
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(config.httpListen.port, config.httpListen.host, () => {
      http.off("error", reject);
      resolve();
    });
  });
  const httpAddress = http.address();
  const httpPort = httpAddress && typeof httpAddress === "object" ? httpAddress.port : config.httpListen.port;

  // Every module is loaded now (the Redis store's among them): undo what their subclassing of builtins did to V8's
  // prototypes before the warm-up compiles the hot path against them (v8-tuning.ts).
  restoreFastPrototypes();
  // JIT warm-up on a private core, in small batches between real traffic: the gateway serves from now on (warmup.ts).
  let stopping = false;
  const warming =
    config.warmupCalls > 0
      ? startWarmUp({ config, clock, calls: config.warmupCalls, stopped: () => stopping }, { counters, log })
      : Promise.resolve();

  return {
    transports,
    httpPort,
    catalog,
    destinations,
    counters,
    core: proxy,
    shards,
    async stop(graceMs = config.shutdownGraceMs) {
      stopping = true;
      proxy.drain();
      workers?.drain();
      const inFlight = async () => proxy.inFlight + (workers ? (await workers.status()).reduce((n, s) => n + s.inFlight, 0) : 0);
      const deadline = Date.now() + graceMs;
      while ((await inFlight()) > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await warming;
      await workers?.stop();
      proxy.dispose();
      clearInterval(ticker);
      await webhooks?.drain(1000);
      await Promise.all(transports.map((t) => t.close()));
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await dialogs.close();
      await ownCatalog?.close();
    },
  };
}

