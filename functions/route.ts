/**
 * The route function: request event in, decision out. Decision code over injected ports plus a Hono app exposing it
 * over HTTP, so the same logic runs in-process in the gateway (the embedded default, no HTTP hop) or as a remote
 * function on Node, Deno or Workers.
 *
 * rule (first match by priority) → set → its active destinations → the set's algorithm → an ordered list: the pick
 * first, the rest as the serial failover order. Each destination carries its capacities and the decision the units
 * the call takes, so the gateway can reserve atomically in the store before it sends (a decision is advice about
 * load; the reservation is what guarantees capacity is never exceeded, across any number of gateways).
 */
import { Hono } from "hono";
import { tokenAuth } from "./token.ts";
import { select, STATEFUL, type AlgorithmName, type Candidate } from "../src/balancer/index.ts";
import { hashKeyFor } from "../src/balancer/hash.ts";
import type { CatalogSnapshot, DestinationView } from "../src/db/catalog.ts";
import type { Load } from "../src/dialog/dialog.ts";
import { RequestEventSchema, type RequestEvent, type RouteDecision } from "../src/events/route.ts";
import { routingRequest } from "../src/routing/match.ts";
import { DEFAULT_NO_ROUTE, selectRule, type NoRoute } from "../src/routing/rules.ts";
import { validBody } from "./http-body.ts";

export interface RoutePorts {
  /** The catalog snapshot (in memory; never a query per call). */
  snapshot(): CatalogSnapshot;
  /** Current use per resource of these destinations (one store round trip); only least-loaded and call-load ask. */
  load(destinationIds: readonly string[]): Promise<Record<string, Load>>;
  /** Where stateful algorithms (round robin, smooth WRR) keep their state per set between picks. */
  readonly state: { get(set: string): unknown; set(set: string, state: unknown): void };
  /** Uniform in [0, 1); injected so tests are deterministic. */
  random(): number;
  /**
   * Health: may new calls go to this destination now (not inactive, not paused by Retry-After)? Default: yes.
   * Admin state (disabled, draining) is checked here before this is asked.
   */
  readonly routable?: (destination: DestinationView) => boolean;
  /** The answer when no rule matches (default 404 No Route). */
  readonly noRoute?: NoRoute;
}

/** A resource a destination does not list is not limited there (its doc); the balancer needs a number. */
const UNLIMITED = 1e9;
const NEEDS_LOAD: ReadonlySet<AlgorithmName> = new Set(["least-loaded", "call-load"]);

/** Capacities the gateway reserves against: the destination's resources, `calls` capped by maxCalls. */
export function capacitiesOf(destination: DestinationView): Record<string, number> {
  const capacities: Record<string, number> = { ...destination.resources };
  if (destination.maxCalls !== null) capacities.calls = Math.min(capacities.calls ?? Infinity, destination.maxCalls);
  return capacities;
}

interface RouteCandidate extends Candidate {
  readonly destination: DestinationView;
}

function candidate(destination: DestinationView, resourceNames: readonly string[], load: Load | undefined): RouteCandidate {
  const capacities = capacitiesOf(destination);
  const resources: Record<string, { capacity: number; used: number }> = {};
  for (const name of resourceNames) resources[name] = { capacity: capacities[name] ?? UNLIMITED, used: load?.[name] ?? 0 };
  return {
    id: destination.id,
    weight: destination.weight,
    priority: destination.priority,
    resources,
    activeCalls: load?.calls ?? 0,
    ...(destination.maxCalls !== null ? { maxCalls: destination.maxCalls } : {}),
    destination,
  };
}

export function decideRoute(event: RequestEvent, ports: RoutePorts): RouteDecision | Promise<RouteDecision> {
  const snapshot = ports.snapshot();
  const ruled = selectRule(snapshot, routingRequest(event, event.headers), ports.noRoute ?? DEFAULT_NO_ROUTE);
  if (!ruled.ok) return { action: "reply", status: ruled.status, reason: ruled.reason };
  const { set, rule } = ruled;
  // Draining and disabled destinations take no new calls (existing calls go on: in-dialog routing needs no snapshot).
  const routable = ports.routable;
  const active = (snapshot.bySet.get(set.name) ?? []).filter((d) => d.state === "active" && (routable === undefined || routable(d)));
  if (active.length === 0) return { action: "reply", status: rule.replyNoMatch ?? 503, reason: "No Destination Available" };
  const units = rule.resources;
  const resourceNames = [...new Set([...set.resources, ...Object.keys(units)])];
  const decide = (loads: Record<string, Load> | undefined): RouteDecision => {
    const candidates = active.map((d) => candidate(d, resourceNames, loads?.[d.id]));
    const hashKey = set.algorithm === "hash" ? hashKeyFor(set.hashKey, hashFields(event)) : undefined;
    const stateful = STATEFUL[set.algorithm];
    const result = select(set.algorithm, candidates, {
      random: ports.random,
      requested: units,
      relative: set.relative,
      ...(hashKey !== undefined ? { hashKey } : {}),
      ...(stateful ? { state: ports.state.get(set.name) } : {}),
    });
    if (stateful) ports.state.set(set.name, result.state);
    const selection = result.selection;
    if (selection.kind === "no-destination") return { action: "reply", status: rule.replyNoMatch ?? 503, reason: "No Destination Available" };
    if (selection.kind === "no-capacity") return { action: "reply", status: rule.replyNoMatch ?? 503, reason: "No Capacity" };
    return {
      action: "relay",
      destinations: selection.order.map((c) => ({ id: c.id, uri: c.destination.uri, capacities: capacitiesOf(c.destination) })),
      ...(Object.keys(units).length > 0 ? { units: { ...units } } : {}),
      ...(rule.maxDurationS !== null ? { maxDurationS: rule.maxDurationS } : {}),
    };
  };
  if (!NEEDS_LOAD.has(set.algorithm)) return decide(undefined);
  return ports.load(active.map((d) => d.id)).then(decide);
}

function hashFields(event: RequestEvent) {
  return {
    "call-id": event.callId,
    "from-uri": event.from.uri,
    "to-uri": event.to.uri,
    "request-uri": event.requestUri,
    source: event.source.address,
  };
}

/**
 * The route function in-process over a catalog and a dialog store: the gateway routes with it when no route URL is
 * set (and falls back to it when the URL fails), and its JIT warm-up routes with it too. Both build it here, so the
 * ports object and its closures have one V8 shape: a warm-up with ports of its own (another object literal) had
 * routing code optimised on a map the gateway's first real call did not have, and it was deoptimised then
 * (`--trace-deopt`, src/gateway/warmup.ts).
 */
export function localRoute(o: {
  readonly catalog: { snapshot(): CatalogSnapshot };
  readonly dialogs: { load(destinationIds: readonly string[]): Promise<Record<string, Load>> };
  readonly routable: (destination: DestinationView) => boolean;
  readonly noRoute: NoRoute;
}): { readonly ports: RoutePorts; readonly route: (event: RequestEvent) => RouteDecision | Promise<RouteDecision> } {
  const ports: RoutePorts = {
    snapshot: () => o.catalog.snapshot(),
    routable: o.routable,
    load: (ids) => o.dialogs.load(ids),
    state: localState(),
    random: Math.random,
    noRoute: o.noRoute,
  };
  return { ports, route: (event) => decideRoute(event, ports) };
}

/** Balancer state kept in this process (the embedded default). */
export function localState(): RoutePorts["state"] {
  const states = new Map<string, unknown>();
  return { get: (set) => states.get(set), set: (set, state) => void states.set(set, state) };
}

/** `token`: when set, callers must send `Authorization: Bearer <token>` (the gateway does in remote mode). */
export function createRouteApp(ports: RoutePorts, options: { token?: string } = {}): Hono {
  const app = new Hono();
  if (options.token) app.use("/v1/route", tokenAuth(options.token));
  app.post("/v1/route", async (c) => {
    const event = await validBody(c, RequestEventSchema);
    if (!event.ok) return event.response;
    return c.json(await decideRoute(event.value, ports));
  });
  return app;
}
