/**
 * The contract between the gateway and the route function (versioned, validated both ways).
 *
 * The gateway turns each new initial request into a `RequestEvent` and asks for a `RouteDecision`. In-process calls
 * skip validation (the types already hold); anything crossing HTTP goes through these schemas, so a route function
 * written elsewhere (or a webhook) can never hand the gateway a decision it does not understand.
 */
import * as v from "valibot";

export const EVENT_VERSION = 1;

const Transport = v.picklist(["udp", "tcp"]);

export const RequestEventSchema = v.object({
  type: v.literal("request"),
  version: v.literal(EVENT_VERSION),
  method: v.pipe(v.string(), v.regex(/^[A-Za-z0-9.!%*_+`'~-]+$/, "must be a SIP method token")),
  requestUri: v.pipe(v.string(), v.minLength(1), v.maxLength(2048)),
  callId: v.pipe(v.string(), v.minLength(1), v.maxLength(512)),
  from: v.object({ uri: v.string(), tag: v.optional(v.string()) }),
  to: v.object({ uri: v.string() }),
  source: v.object({ transport: Transport, address: v.string(), port: v.pipe(v.number(), v.integer()) }),
  /** Gateway that received the request (its id), for functions that keep per-gateway statistics. */
  gateway: v.optional(v.string()),
  /** Header values by lower-case name, only for the headers routing rules look at. */
  headers: v.optional(v.record(v.string(), v.array(v.string()))),
});
export type RequestEvent = v.InferOutput<typeof RequestEventSchema>;

export const DestinationRefSchema = v.object({
  /** Stable destination id (the admin API's), carried in our signed Record-Route. */
  id: v.pipe(v.string(), v.minLength(1), v.maxLength(64), v.regex(/^[A-Za-z0-9._-]+$/, "must be [A-Za-z0-9._-]")),
  /** Where to send: a sip: URI, `;transport=tcp` selects TCP. */
  uri: v.pipe(v.string(), v.regex(/^sips?:\S+$/i, "must be a sip: URI")),
  /** Capacity per resource (OpenSIPS load_balancer resources); the gateway reserves against it before sending. */
  capacities: v.optional(v.record(v.string(), v.pipe(v.number(), v.minValue(0)))),
});
export type DestinationRef = v.InferOutput<typeof DestinationRefSchema>;

export const RouteDecisionSchema = v.variant("action", [
  v.object({
    action: v.literal("relay"),
    /** Ordered: the first is tried first; the next one on 408/5xx/transport error/no answer (serial failover). */
    destinations: v.pipe(v.array(DestinationRefSchema), v.minLength(1, "relay needs at least one destination"), v.maxLength(16)),
    /** Units of each resource the call takes on whichever destination ends up taking it (default: none reserved). */
    units: v.optional(v.record(v.string(), v.pipe(v.number(), v.integer(), v.minValue(1)))),
    /** Hard maximum duration of the call (s): the gateway ends it with a BYE to both sides. */
    maxDurationS: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  }),
  v.object({
    action: v.literal("reply"),
    status: v.pipe(v.number(), v.integer(), v.minValue(300), v.maxValue(699)),
    reason: v.optional(v.pipe(v.string(), v.regex(/^[\x20-\x7e]{0,128}$/, "must be printable ASCII"))),
  }),
  v.object({ action: v.literal("drop") }),
]);
export type RouteDecision = v.InferOutput<typeof RouteDecisionSchema>;

/** Format valibot issues as "path: message" lines, every one of them. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string[] {
  return issues.map((issue) => {
    const path = issue.path?.map((item) => String(item.key)).join(".");
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}
