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
import { jsonPost, PostTimeout, type JsonPost, type PostReply } from "./json-post.ts";

export interface RemoteRouteOptions {
  readonly url: string;
  readonly token?: string;
  readonly deadlineMs: number;
  readonly fallback: RouteHandler;
  readonly counters: Counters;
  readonly log: Logger;
  /** The HTTP transport; default: node:http(s) with kept-alive connections (json-post.ts). */
  readonly post?: JsonPost;
}

export function remoteRoute(options: RemoteRouteOptions): RouteHandler {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const post = options.post ?? jsonPost(options.url, headers);
  const fallback = (event: RequestEvent, why: string, detail?: unknown): RouteDecision | Promise<RouteDecision> => {
    options.counters.inc(`route.remote.fallback.${why}`);
    options.log.log("warn", "route function unavailable, deciding in-process", { why, detail: detail === undefined ? undefined : String(detail) });
    return options.fallback(event);
  };
  return async (event) => {
    let reply: PostReply;
    try {
      reply = await post(JSON.stringify(event), options.deadlineMs);
    } catch (error) {
      return fallback(event, error instanceof PostTimeout ? "timeout" : "unreachable", error);
    }
    if (reply.status < 200 || reply.status > 299) return fallback(event, "status", reply.status);
    let body: unknown;
    try {
      body = JSON.parse(reply.body);
    } catch (error) {
      return fallback(event, "invalid", error);
    }
    const parsed = v.safeParse(RouteDecisionSchema, body);
    if (!parsed.success) return fallback(event, "invalid", describeIssues(parsed.issues).join("; "));
    options.counters.inc("route.remote.ok");
    return parsed.output;
  };
}
