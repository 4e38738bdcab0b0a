/**
 * A destination: one SIP server behind the balancer (kamailio dispatcher "destination", OpenSIPS load_balancer
 * "destination"). The URI says where to send (`;transport=tcp` selects TCP; the port defaults to 5060, §19.1.2).
 */
import * as v from "valibot";
import { parseUri } from "../sip/uri.ts";
import type { Target } from "../proxy/route-token.ts";

export type DestinationState = "active" | "disabled";

export interface Destination {
  readonly id: string;
  readonly uri: string;
  readonly target: Target;
  readonly state: DestinationState;
}

const ID = v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 characters of [A-Za-z0-9._-]"));

export const NewDestinationSchema = v.object({
  id: v.optional(ID),
  uri: v.pipe(
    v.string("must be a string"),
    v.check((uri) => destinationTarget(uri) !== undefined, "must be a sip: URI with a host, transport udp or tcp"),
  ),
  state: v.optional(v.picklist(["active", "disabled"], "must be active or disabled"), "active"),
});
export type NewDestination = v.InferInput<typeof NewDestinationSchema>;

/** Resolve a destination URI to a transport target; undefined for what we cannot reach (sips, tls, no host). */
export function destinationTarget(uriText: string): Target | undefined {
  const uri = parseUri(uriText);
  if (!uri || uri.scheme !== "sip" || uri.host === "") return undefined;
  const transport = (uri.params.get("transport") ?? "udp").toLowerCase();
  if (transport !== "udp" && transport !== "tcp") return undefined;
  const host = uri.host.startsWith("[") ? uri.host.slice(1, -1) : uri.host;
  return { transport, host, port: uri.port ?? 5060 };
}
