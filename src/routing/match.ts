/**
 * The match of a routing rule: which initial requests it takes. Every field given must hold (AND); an empty match
 * takes every request. kamailio spreads the same over dialplan/drouting prefixes, `permissions` address groups and
 * script tests on headers; OpenSIPS drouting matches a prefix of the Request-URI user plus a source group.
 *
 * - `requestUserPrefix` / `fromUserPrefix`: the user part (as on the wire, escapes not decoded; a tel: URI's number)
 *   starts with this text. Case-sensitive, like a user part (RFC 3261 §19.1.4). "" matches any URI with a user part.
 * - `requestDomain` / `fromDomain`: the host equals this, case-insensitively (§19.1.4), IPv6 with or without brackets.
 *   Exact: "example.com" does not take "pbx.example.com".
 * - `source`: the address the request came from (its socket, not its Via) is this address or lies in this network:
 *   "10.0.0.0/8", "192.0.2.7", "2001:db8::/32". An IPv4 source seen on a dual-stack socket as ::ffff:a.b.c.d counts
 *   as IPv4.
 * - `header`: some value of the named header (name case-insensitive; each header field line a value) is `exact`ly
 *   the text (case-sensitive), starts with it (`prefix`), or matches the `regex` (JavaScript syntax, unanchored: write
 *   ^ and $ to anchor; at most 256 characters, written by the operator, never by callers). A missing header never
 *   matches.
 */
import * as v from "valibot";
import { strictObject } from "./strict-object.ts";
import { parseUri } from "../sip/uri.ts";
import type { RequestEvent } from "../events/route.ts";
import { cidrContains, parseCidr, parseIp, type Cidr } from "./cidr.ts";

export const HEADER_OPS = ["exact", "prefix", "regex"] as const;
export type HeaderOp = (typeof HEADER_OPS)[number];

const userPrefix = v.pipe(v.string("must be a string"), v.maxLength(128, "at most 128 characters"), v.regex(/^[^\s@]*$/, "must not hold spaces or @"));
const domain = v.pipe(
  v.string("must be a string"),
  v.regex(/^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*|[A-Za-z0-9.-]{1,253})$/, "must be a host name or IP address"),
);

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

const HeaderMatchSchema = v.pipe(
  strictObject({
    name: v.pipe(v.string("must be a string"), v.regex(/^[A-Za-z0-9.!%*_+`'~-]{1,64}$/, "must be a header name token")),
    op: v.optional(v.picklist(HEADER_OPS, "must be exact, prefix or regex"), "exact"),
    value: v.pipe(v.string("must be a string"), v.maxLength(256, "at most 256 characters")),
  }),
  v.forward(
    v.check((h) => h.op !== "regex" || compiles(h.value), "must be a valid regular expression"),
    ["value"],
  ),
);

export const MatchSchema = strictObject({
  requestUserPrefix: v.optional(userPrefix),
  requestDomain: v.optional(domain),
  fromUserPrefix: v.optional(userPrefix),
  fromDomain: v.optional(domain),
  source: v.optional(
    v.pipe(v.string("must be a string"), v.check((s) => parseCidr(s) !== undefined, "must be an IPv4/IPv6 address or network (10.0.0.0/8, 2001:db8::/32)")),
  ),
  header: v.optional(HeaderMatchSchema),
});
export type Match = v.InferOutput<typeof MatchSchema>;

/** What rules look at in an initial request. The gateway builds it from the request event (plus headers). */
export interface RoutingRequest {
  readonly requestUri: string;
  readonly fromUri: string;
  /** The socket address the request came from. */
  readonly sourceAddress: string;
  /** Header values by lower-case name, one entry per header field line. Only needed by header matches. */
  readonly headers?: Readonly<Record<string, readonly string[]>>;
}

/** A request with its URIs parsed once, however many rules look at it. */
export interface PreparedRequest {
  readonly requestUser: string | undefined;
  readonly requestHost: string | undefined;
  readonly fromUser: string | undefined;
  readonly fromHost: string | undefined;
  readonly source: ReturnType<typeof parseIp>;
  readonly headers: Readonly<Record<string, readonly string[]>> | undefined;
}

const normalHost = (host: string) => host.replace(/^\[(.*)\]$/, "$1").toLowerCase();

function userAndHost(uriText: string): [string | undefined, string | undefined] {
  const uri = parseUri(uriText.trim().replace(/^<(.*)>$/, "$1"));
  if (!uri) return [undefined, undefined];
  return [uri.user, uri.host === "" ? undefined : normalHost(uri.host)];
}

export function prepareRequest(request: RoutingRequest): PreparedRequest {
  const [requestUser, requestHost] = userAndHost(request.requestUri);
  const [fromUser, fromHost] = userAndHost(request.fromUri);
  return { requestUser, requestHost, fromUser, fromHost, source: parseIp(request.sourceAddress), headers: request.headers };
}

export type CompiledMatch = (request: PreparedRequest) => boolean;

function headerTest(op: HeaderOp, value: string): (candidate: string) => boolean {
  if (op === "prefix") return (candidate) => candidate.startsWith(value);
  if (op === "regex") {
    const re = new RegExp(value);
    return (candidate) => re.test(candidate);
  }
  return (candidate) => candidate === value;
}

/** Turn a (validated) match into a predicate: regexes compiled and networks parsed once, not per call. */
export function compileMatch(match: Match): CompiledMatch {
  const tests: CompiledMatch[] = [];
  const { requestUserPrefix, requestDomain, fromUserPrefix, fromDomain, source, header } = match;
  if (requestUserPrefix !== undefined) tests.push((r) => r.requestUser !== undefined && r.requestUser.startsWith(requestUserPrefix));
  if (requestDomain !== undefined) {
    const host = normalHost(requestDomain);
    tests.push((r) => r.requestHost === host);
  }
  if (fromUserPrefix !== undefined) tests.push((r) => r.fromUser !== undefined && r.fromUser.startsWith(fromUserPrefix));
  if (fromDomain !== undefined) {
    const host = normalHost(fromDomain);
    tests.push((r) => r.fromHost === host);
  }
  if (source !== undefined) {
    const network: Cidr | undefined = parseCidr(source);
    tests.push((r) => network !== undefined && r.source !== undefined && cidrContains(network, r.source));
  }
  if (header !== undefined) {
    const name = header.name.toLowerCase();
    const test = headerTest(header.op, header.value);
    tests.push((r) => {
      const values = r.headers && Object.hasOwn(r.headers, name) ? r.headers[name] : undefined;
      return values !== undefined && values.some(test);
    });
  }
  return (r) => tests.every((t) => t(r));
}

/** One-off convenience (tests, tools); the route path uses compiled rules. */
export function matches(match: Match, request: RoutingRequest): boolean {
  return compileMatch(match)(prepareRequest(request));
}

/** The routing view of a request event (headers come separately until the event carries them). */
export function routingRequest(
  event: Pick<RequestEvent, "requestUri" | "from" | "source">,
  headers?: Readonly<Record<string, readonly string[]>>,
): RoutingRequest {
  return { requestUri: event.requestUri, fromUri: event.from.uri, sourceAddress: event.source.address, ...(headers ? { headers } : {}) };
}
