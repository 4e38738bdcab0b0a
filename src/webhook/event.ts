/**
 * What switchboard posts to webhooks. One type for now: a destination's health changed state.
 *
 *   { "id": "…uuid…", "type": "destination.state", "destination": "pbx-1", "from": "active", "to": "probing",
 *     "reason": "probe timeout (1 consecutive)", "at": "2025-01-01T12:00:00.000Z" }
 *
 * `id` is unique per event and stays the same across retries (receivers deduplicate on it); `at` is when the change
 * happened (ISO 8601, UTC), not when this delivery was attempted.
 */
import * as v from "valibot";
import type { StateChange } from "../health/state.ts";

export interface DestinationStateEvent {
  readonly id: string;
  readonly type: "destination.state";
  readonly destination: string;
  readonly from: StateChange["from"];
  readonly to: StateChange["to"];
  readonly reason: string;
  readonly at: string;
}

export type WebhookEvent = DestinationStateEvent;

/** The event for a transition returned by `HealthStore.recordEvidence`. */
export function destinationStateEvent(destination: string, change: StateChange, atMs: number, id: string = globalThis.crypto.randomUUID()): DestinationStateEvent {
  return { id, type: "destination.state", destination, from: change.from, to: change.to, reason: change.reason, at: new Date(atMs).toISOString() };
}

/** One configured receiver. */
export interface WebhookEndpoint {
  /** http(s) URL the events are POSTed to. */
  readonly url: string;
  /** HMAC key of the signature (at least 16 characters); several while rotating: each signs, receivers accept any. */
  readonly secret: string | readonly string[];
}

const secret = v.pipe(v.string("must be a string"), v.minLength(16, "must be at least 16 characters"));

/** A webhook endpoint as configuration or the admin API gives it. */
export const WebhookEndpointSchema = v.strictObject({
  url: v.pipe(v.string("must be a string"), v.url("must be an http(s) URL"), v.regex(/^https?:\/\//i, "must be an http(s) URL")),
  secret: v.union([secret, v.pipe(v.array(secret), v.minLength(1, "at least one secret"), v.maxLength(4, "at most 4 secrets"))], "must be a secret of at least 16 characters, or a list of them"),
});
