/**
 * Remote mode of the route function: POST the event to a function over HTTP (Node, Deno, Workers), validate the
 * decision, and fall back to the in-process copy of the same code when the function is slow, down or answers
 * nonsense. SIP's T1 is 500 ms, so the deadline is tens of milliseconds: a call is never lost because the edge is
 * unreachable.
 */
import * as v from "valibot";
import { describeIssues, RouteDecisionSchema, type RequestEvent, type RouteDecision } from "../events/route.ts";
import type { Counters } from "./counters.ts";
import type { Logger } from "./log.ts";
import type { RouteHandler } from "./proxy-core.ts";

export interface RemoteRouteOptions {
  readonly url: string;
  readonly token?: string;
  readonly deadlineMs: number;
  readonly fallback: RouteHandler;
  readonly counters: Counters;
  readonly log: Logger;
  readonly fetch?: typeof fetch;
}

export function remoteRoute(options: RemoteRouteOptions): RouteHandler {
  const doFetch = options.fetch ?? fetch;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const fallback = (event: RequestEvent, why: string, detail?: unknown): RouteDecision | Promise<RouteDecision> => {
    options.counters.inc(`route.remote.fallback.${why}`);
    options.log.log("warn", "route function unavailable, deciding in-process", { why, detail: detail === undefined ? undefined : String(detail) });
    return options.fallback(event);
  };
  return async (event) => {
    let response: Response;
    try {
      response = await doFetch(options.url, {
        method: "POST",
        headers,
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(options.deadlineMs),
      });
    } catch (error) {
      return fallback(event, (error as Error)?.name === "TimeoutError" ? "timeout" : "unreachable", error);
    }
    if (!response.ok) {
      await response.body?.cancel();
      return fallback(event, "status", response.status);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      return fallback(event, "invalid", error);
    }
    const parsed = v.safeParse(RouteDecisionSchema, body);
    if (!parsed.success) return fallback(event, "invalid", describeIssues(parsed.issues).join("; "));
    options.counters.inc("route.remote.ok");
    return parsed.output;
  };
}
