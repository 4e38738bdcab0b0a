/**
 * Building the header list of a forwarded request (RFC 3261 §16.6 steps 3-8) in one pass, leaving every field we do
 * not own untouched (raw) so it is relayed byte for byte.
 */
import type { HeaderField, SipResponse } from "../sip/message.ts";
import { splitHeaderValues } from "../sip/header-values.ts";
import { header, serializeMessage } from "../sip/serialize.ts";

export interface ForwardPlan {
  /** Value of the Via we insert on top (§16.6 step 8). */
  readonly via: string;
  /** Record-Route values to insert above any existing ones, topmost first (§16.6 step 4). */
  readonly recordRoute?: readonly string[];
  /** How many Route values to remove from the top: our own entries (§16.4, §16.12). */
  readonly popRoutes?: number;
  /** Replacement for the received top Via value (stamped with received/rport, RFC 3581 §4). */
  readonly topVia?: string;
  /** Max-Forwards of the received request (absent → 70 is added, §16.6 step 3). */
  readonly maxForwards: number | undefined;
}

/** The default when a request arrives without Max-Forwards (§8.1.1.6). */
export const DEFAULT_MAX_FORWARDS = 70;

export function forwardHeaders(headers: readonly HeaderField[], plan: ForwardPlan): HeaderField[] {
  const out: HeaderField[] = [header("via", plan.via)];
  for (const value of plan.recordRoute ?? []) out.push(header("record-route", value));
  let toPop = plan.popRoutes ?? 0;
  let sawMaxForwards = false;
  let topVia = plan.topVia;
  for (const field of headers) {
    switch (field.name) {
      case "via":
        if (topVia !== undefined) {
          const values = splitHeaderValues(field.value);
          values[0] = topVia;
          topVia = undefined;
          out.push(header("via", values.join(", ")));
          continue;
        }
        out.push(field);
        continue;
      case "max-forwards":
        if (sawMaxForwards) continue; // a duplicate would have been refused by the parser; keep one
        sawMaxForwards = true;
        out.push(header("max-forwards", String(Math.max(0, (plan.maxForwards ?? DEFAULT_MAX_FORWARDS + 1) - 1))));
        continue;
      case "route":
        if (toPop > 0) {
          const values = splitHeaderValues(field.value);
          const keep = values.slice(Math.min(toPop, values.length));
          toPop -= values.length - keep.length;
          if (keep.length > 0) out.push(header("route", keep.join(", ")));
          continue;
        }
        out.push(field);
        continue;
      default:
        out.push(field);
    }
  }
  if (!sawMaxForwards) out.splice(1 + (plan.recordRoute?.length ?? 0), 0, header("max-forwards", String(DEFAULT_MAX_FORWARDS)));
  return out;
}

/**
 * Remove the topmost Via value (ours) from a response before relaying it upstream (§16.7 step 3). A field holding
 * several comma-separated values keeps the others.
 */
export function stripTopVia(headers: readonly HeaderField[]): HeaderField[] {
  const out: HeaderField[] = [];
  let done = false;
  for (const field of headers) {
    if (!done && field.name === "via") {
      done = true;
      const values = splitHeaderValues(field.value);
      if (values.length > 1) out.push(header("via", values.slice(1).join(", ")));
      continue;
    }
    out.push(field);
  }
  return out;
}

/**
 * A response as relayed upstream (§16.7 steps 3 and 9): our Via gone, everything else as received. `status` and
 * `reason` replace the status line when the proxy relays it as another code (a 503 relayed as 500, §16.7 step 6).
 */
export function relayedResponse(response: SipResponse, status = response.status, reason = response.reason): Uint8Array {
  return serializeMessage(`SIP/2.0 ${status} ${reason}`, stripTopVia(response.headers), response.body);
}
