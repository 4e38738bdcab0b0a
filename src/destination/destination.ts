/**
 * A destination: one SIP server behind the balancer (kamailio dispatcher "destination", OpenSIPS load_balancer
 * "destination"). The URI says where to send (`;transport=tcp` selects TCP; the port defaults to 5060, §19.1.2).
 * It belongs to one set, offers capacities per resource, and has an administrative state; health (probing,
 * inactive) is tracked apart, in the store, so every gateway agrees on it.
 */
import * as v from "valibot";
import { strictObject } from "../routing/strict-object.ts";
import { parseUri } from "../sip/uri.ts";
import type { SipUri } from "../sip/message.ts";
import type { Target } from "../proxy/route-token.ts";
import { CapacitiesSchema } from "../routing/resources.ts";
import { NameSchema } from "../routing/set.ts";

/**
 * Administrative state. `draining`: no new calls, calls in progress go on (kamailio dispatcher "disabled" for new
 * calls only, OpenSIPS lb_status 0 while dialogs last). `disabled`: no new calls either; kept for symmetry with
 * kamailio `ds_set_state("d")`.
 */
export const DESTINATION_STATES = ["active", "disabled", "draining"] as const;
export type DestinationState = (typeof DESTINATION_STATES)[number];

/**
 * When to send OPTIONS (kamailio dispatcher `ds_probing_mode`: 0 "when-inactive", 1 "always"; `ds_ping_reply_codes`
 * for `aliveCodes`; `ds_ping_interval` for `intervalMs`). Null on a destination: the deployment's default.
 */
export const PROBE_MODES = ["never", "when-inactive", "always"] as const;
export type ProbeMode = (typeof PROBE_MODES)[number];

export interface Probe {
  readonly mode: ProbeMode;
  /** Replies that count as alive (200 always does in practice; add e.g. 404 or 403 for servers that refuse OPTIONS). */
  readonly aliveCodes: readonly number[];
  readonly intervalMs: number;
}

export type AttributeValue = string | number | boolean;

/** A destination as stored. */
export interface Destination {
  readonly id: string;
  readonly uri: string;
  /** The set it belongs to (kamailio dispatcher setid, OpenSIPS load_balancer group id). */
  readonly set: string;
  /** Share for the weighted algorithms; 0 = only when no weighted peer can take the call. */
  readonly weight: number;
  /** Lower first, for the priority algorithm (kamailio dispatcher "priority"; there higher goes first). */
  readonly priority: number;
  /**
   * Concurrent units of each resource it takes, e.g. { calls: 30, pstn: 30 } (OpenSIPS load_balancer "resources").
   * A resource not listed here is not limited on this destination.
   */
  readonly resources: Readonly<Record<string, number>>;
  /** Cap on concurrent calls whatever the resources say (kamailio dispatcher `maxload` attribute); null = none. */
  readonly maxCalls: number | null;
  readonly probe: Probe | null;
  /** Free-form attributes for functions and operators (kamailio dispatcher "attrs"). */
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly state: DestinationState;
  /** Epoch ms. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A destination in the routing snapshot: the URI already resolved to where packets go. */
export interface DestinationView extends Destination {
  readonly target: Target;
}

export const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const ID = v.pipe(v.string("must be a string"), v.regex(ID_PATTERN, "must be 1-64 characters of [A-Za-z0-9._-]"));

const uri = v.pipe(
  v.string("must be a string"),
  v.maxLength(512, "at most 512 characters"),
  v.check((text) => destinationTarget(text) !== undefined, "must be a sip: URI with a host, transport udp or tcp"),
);
const weight = v.pipe(v.number("must be a number"), v.integer("must be a whole number"), v.minValue(0, "must be at least 0"), v.maxValue(1_000_000, "must be at most 1000000"));
const priority = v.pipe(v.number("must be a number"), v.integer("must be a whole number"), v.minValue(-1_000_000, "must be at least -1000000"), v.maxValue(1_000_000, "must be at most 1000000"));
const maxCalls = v.nullable(v.pipe(v.number("must be a number"), v.integer("must be a whole number"), v.minValue(0, "must be at least 0"), v.maxValue(1_000_000_000, "must be at most 1000000000")));
const state = v.picklist(DESTINATION_STATES, "must be active, disabled or draining");

export const ProbeSchema = strictObject({
  mode: v.picklist(PROBE_MODES, "must be never, when-inactive or always"),
  aliveCodes: v.optional(
    v.pipe(
      v.array(v.pipe(v.number("must be a number"), v.integer("must be a whole number"), v.minValue(100, "must be a SIP status code"), v.maxValue(699, "must be a SIP status code"))),
      v.minLength(1, "at least one code"),
      v.maxLength(32, "at most 32 codes"),
    ),
    () => [200],
  ),
  intervalMs: v.optional(v.pipe(v.number("must be a number"), v.integer("must be a whole number"), v.minValue(1000, "must be at least 1000"), v.maxValue(3_600_000, "must be at most 3600000")), 10_000),
});

const attributes = v.pipe(
  v.record(
    v.pipe(v.string(), v.regex(/^[A-Za-z][A-Za-z0-9._-]{0,63}$/, "attribute names start with a letter, then up to 63 of [A-Za-z0-9._-]")),
    v.union([v.pipe(v.string(), v.maxLength(1024)), v.number(), v.boolean()], "must be a string, number or boolean"),
  ),
  v.check((r) => Object.keys(r).length <= 64, "at most 64 attributes"),
);

export const NewDestinationSchema = strictObject({
  id: v.optional(ID),
  uri,
  /** Omitted: the "default" set (created round robin when missing). */
  set: v.optional(NameSchema),
  weight: v.optional(weight, 1),
  priority: v.optional(priority, 0),
  resources: v.optional(CapacitiesSchema, () => ({})),
  maxCalls: v.optional(maxCalls, null),
  probe: v.optional(v.nullable(ProbeSchema), null),
  attributes: v.optional(attributes, () => ({})),
  state: v.optional(state, "active"),
});
export type NewDestination = v.InferInput<typeof NewDestinationSchema>;
export type NewDestinationValue = v.InferOutput<typeof NewDestinationSchema>;

export const DestinationPatchSchema = strictObject({
  uri: v.optional(uri),
  set: v.optional(NameSchema),
  weight: v.optional(weight),
  priority: v.optional(priority),
  resources: v.optional(CapacitiesSchema),
  maxCalls: v.optional(maxCalls),
  probe: v.optional(v.nullable(ProbeSchema)),
  attributes: v.optional(attributes),
  state: v.optional(state),
});
export type DestinationPatch = v.InferOutput<typeof DestinationPatchSchema>;

export const StateChangeSchema = strictObject({ state });

/** Resolve a destination URI to a transport target; undefined for what we cannot reach (sips, tls, no host). */
export function destinationTarget(uriText: string): Target | undefined {
  const uri = parseUri(uriText);
  return uri === undefined ? undefined : uriTarget(uri);
}

/** Where a sip: URI points (§19.1.2: default port 5060, `transport` parameter); undefined for what we cannot reach. */
export function uriTarget(uri: SipUri): Target | undefined {
  if (uri.scheme !== "sip" || uri.host === "") return undefined;
  const transport = (uri.params.get("transport") ?? "udp").toLowerCase();
  if (transport !== "udp" && transport !== "tcp") return undefined;
  const host = uri.host.startsWith("[") ? uri.host.slice(1, -1) : uri.host;
  return { transport, host, port: uri.port ?? 5060 };
}

/**
 * A readable id derived from the URI, stable across restarts: "sip:10.0.0.5:5060;transport=tcp" → "10.0.0.5-5060-tcp".
 * Callers add a suffix when another URI already took it.
 */
export function idFromUri(uriText: string): string {
  const target = destinationTarget(uriText);
  const base = target ? `${target.host}-${target.port}${target.transport === "tcp" ? "-tcp" : ""}` : uriText.replace(/^sips?:/i, "");
  const slug = base.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 56);
  return slug === "" ? "d" : slug;
}
