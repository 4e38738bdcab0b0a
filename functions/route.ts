/**
 * The route function: request event in, decision out. Pure decision code plus a Hono app exposing it over HTTP, so
 * the same logic runs in-process in the gateway (the embedded default, no HTTP hop) or as a remote function.
 *
 * Policy of the foundation: round robin over the active destinations, the rest of the rotation as the serial
 * failover list (the gateway moves on after 408/5xx/transport error/no answer). The balancing engine replaces it.
 */
import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { roundRobin } from "../src/balancer/round-robin.ts";
import type { Destination } from "../src/destination/destination.ts";
import { validBody } from "./http-body.ts";
import { RequestEventSchema, type RequestEvent, type RouteDecision } from "../src/events/route.ts";

export interface RoutePorts {
  /** The current destination snapshot (in memory; never a query per call). */
  destinations(): readonly Pick<Destination, "id" | "uri" | "state">[];
  /** The next round-robin turn (a local counter in-process, a store counter for stateless deployments). */
  turn(): number;
}

export function decideRoute(_event: RequestEvent, ports: RoutePorts): RouteDecision {
  const active = ports.destinations().filter((d) => d.state === "active");
  if (active.length === 0) return { action: "reply", status: 503, reason: "No Destination Available" };
  return { action: "relay", destinations: roundRobin(active, ports.turn()).map((d) => ({ id: d.id, uri: d.uri })) };
}

/** A local round-robin counter. */
export function localTurns(): () => number {
  let turn = 0;
  return () => turn++;
}

/** `token`: when set, callers must send `Authorization: Bearer <token>` (the gateway does in remote mode). */
export function createRouteApp(ports: RoutePorts, options: { token?: string } = {}): Hono {
  const app = new Hono();
  if (options.token) app.use("/v1/route", bearerAuth({ token: options.token }));
  app.post("/v1/route", async (c) => {
    const event = await validBody(c, RequestEventSchema);
    if (!event.ok) return event.response;
    return c.json(decideRoute(event.value, ports));
  });
  return app;
}
