/**
 * SIP, SIPS (RFC 3261 §19.1, grammar §25.1, IPv6 per RFC 5118) and tel (RFC 3966) URI parsing.
 *
 * Components are validated against the grammar but kept exactly as written: escapes are not decoded (§19.1.4 compares
 * URIs after unescaping; that is the comparer's job, a proxy forwards what it got), hosts keep their case and IPv6
 * brackets. Malformed input yields undefined, never an exception.
 */
import type { SipUri } from "./message.ts";
import {
  isAlpha,
  isDigit,
  isHex,
  isHostChar,
  isParamText,
  isPasswordText,
  isUriHeadersText,
  isUserText,
  lowerAscii,
  parseDecimal,
} from "./chars.ts";

const NO_PARAMS: ReadonlyMap<string, string> = new Map();

/**
 * The scheme of an absolute URI, lower-cased, for any scheme (mailto, urn, http, ...): scheme = ALPHA *(ALPHA /
 * DIGIT / "+" / "-" / "."). Undefined when text does not start with a scheme and a colon.
 */
export function uriScheme(text: string): string | undefined {
  const colon = text.indexOf(":");
  if (colon < 1 || !isAlpha(text.charCodeAt(0))) return undefined;
  for (let i = 1; i < colon; i++) {
    const c = text.charCodeAt(i);
    if (!isAlpha(c) && !isDigit(c) && c !== 0x2b && c !== 0x2d && c !== 0x2e) return undefined;
  }
  return lowerAscii(text.slice(0, colon));
}

/** Parses a sip:, sips: or tel: URI; undefined for any other scheme or malformed text. */
export function parseUri(text: string): SipUri | undefined {
  const scheme = uriScheme(text);
  if (scheme === "sip" || scheme === "sips") return parseSipUri(text, scheme);
  if (scheme === "tel") return parseTelUri(text);
  return undefined;
}

/** host[:port] with IPv6 references bracketed (§25.1 hostport); brackets are added when missing. */
export function formatHostPort(host: string, port?: number): string {
  const h = host.indexOf(":") >= 0 && host.charCodeAt(0) !== 0x5b ? `[${host}]` : host;
  return port === undefined ? h : `${h}:${port}`;
}

/**
 * SIP-URI = "sip:" [ userinfo ] hostport uri-parameters [ headers ] (§25.1).
 * userinfo ends at the first "@": neither user nor password may hold an unescaped "@", while the user part may hold
 * ";", "?" and "=" (RFC 4475 §3.1.1.9 semicolons in the user part), so "@" is the only reliable delimiter.
 */
function parseSipUri(text: string, scheme: "sip" | "sips"): SipUri | undefined {
  const end = text.length;
  let i = scheme.length + 1;
  let user: string | undefined;
  let password: string | undefined;
  const at = text.indexOf("@", i);
  if (at >= 0) {
    const colon = text.indexOf(":", i);
    const userEnd = colon >= 0 && colon < at ? colon : at;
    if (!isUserText(text, i, userEnd)) return undefined;
    user = text.slice(i, userEnd);
    if (userEnd < at) {
      if (!isPasswordText(text, userEnd + 1, at)) return undefined;
      password = text.slice(userEnd + 1, at);
    }
    i = at + 1;
  }

  const hp = scanHostPort(text, i, end);
  if (hp === undefined) return undefined;
  i = hp.next;

  let params: Map<string, string> | undefined;
  while (i < end && text.charCodeAt(i) === 0x3b) {
    const start = i + 1;
    let j = start;
    let eq = -1;
    for (; j < end; j++) {
      const c = text.charCodeAt(j);
      if (c === 0x3b || c === 0x3f) break;
      if (c === 0x3d && eq < 0) eq = j;
    }
    const nameEnd = eq < 0 ? j : eq;
    if (nameEnd === start || !isParamText(text, start, nameEnd)) return undefined;
    if (eq >= 0 && (eq + 1 === j || !isParamText(text, eq + 1, j))) return undefined;
    const name = lowerAscii(text.slice(start, nameEnd));
    params ??= new Map();
    if (!params.has(name)) params.set(name, eq < 0 ? "" : text.slice(eq + 1, j));
    i = j;
  }

  let headers: string | undefined;
  if (i < end) {
    if (text.charCodeAt(i) !== 0x3f || !isUriHeadersText(text, i + 1, end)) return undefined;
    headers = text.slice(i + 1);
  }

  return sipUri(scheme, user, password, hp.host, hp.port, params ?? NO_PARAMS, headers);
}

export interface HostPort {
  readonly host: string;
  readonly port: number | undefined;
  /** Index just past the host[:port]. */
  readonly next: number;
}

/**
 * hostport = host [ ":" port ] starting at text[i] (§25.1). Stops at the first char that cannot continue it, which
 * the caller must check. IPv6 references are validated (RFC 5118 §4.2: an unbracketed IPv6 address is invalid,
 * and fails here because its second group is not a port).
 */
export function scanHostPort(text: string, i: number, end: number, allowSpaceBeforePort = false): HostPort | undefined {
  let host: string;
  if (text.charCodeAt(i) === 0x5b) {
    const close = text.indexOf("]", i);
    if (close < 0 || close >= end || !isIpv6(text, i + 1, close)) return undefined;
    host = text.slice(i, close + 1);
    i = close + 1;
  } else {
    const start = i;
    while (i < end && isHostChar(text.charCodeAt(i))) i++;
    if (!isHostname(text, start, i)) return undefined;
    host = text.slice(start, i);
  }
  let port: number | undefined;
  let j = i;
  if (allowSpaceBeforePort) while (j < end && (text.charCodeAt(j) === 0x20 || text.charCodeAt(j) === 0x09)) j++;
  if (j < end && text.charCodeAt(j) === 0x3a) {
    j++;
    if (allowSpaceBeforePort) while (j < end && (text.charCodeAt(j) === 0x20 || text.charCodeAt(j) === 0x09)) j++;
    const ps = j;
    while (j < end && isDigit(text.charCodeAt(j))) j++;
    port = j - ps <= 5 ? parseDecimal(text, ps, j, 65535) : undefined;
    if (port === undefined) return undefined;
    i = j;
  }
  return { host, port, next: i };
}

/**
 * hostname = *( domainlabel "." ) toplabel [ "." ], or an IPv4address when the text is all digits and dots.
 * Labels are alphanumerics and inner "-" (plus "_", tolerated); an all-numeric dotted name must be a valid IPv4.
 */
function isHostname(text: string, start: number, end: number): boolean {
  if (start >= end) return false;
  let numeric = true;
  let labelStart = start;
  for (let i = start; i <= end; i++) {
    const c = i < end ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (i === labelStart) return i === end && i > start; // empty label: only a trailing dot is allowed
      if (text.charCodeAt(labelStart) === 0x2d || text.charCodeAt(i - 1) === 0x2d) return false;
      labelStart = i + 1;
    } else if (!isDigit(c)) numeric = false;
  }
  return numeric ? isIpv4(text, start, end) : true;
}

/** IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT, each at most 255. */
export function isIpv4(text: string, start = 0, end = text.length): boolean {
  let parts = 0;
  let i = start;
  while (parts < 4) {
    const s = i;
    while (i < end && isDigit(text.charCodeAt(i))) i++;
    if (i - s < 1 || i - s > 3 || parseDecimal(text, s, i, 255) === undefined) return false;
    parts++;
    if (parts < 4) {
      if (i >= end || text.charCodeAt(i) !== 0x2e) return false;
      i++;
    }
  }
  return i === end;
}

/**
 * IPv6address (RFC 4291 §2.2 text forms, as used by RFC 3261 §25.1 and corrected by RFC 5118 §4.10): eight groups
 * of 1-4 hex digits, at most one "::" standing for one or more zero groups, optionally ending in an IPv4 address
 * worth two groups. Zone indexes are not part of SIP.
 */
export function isIpv6(text: string, start = 0, end = text.length): boolean {
  if (end - start < 2) return false;
  let i = start;
  let groups = 0;
  let compressed = false;
  if (text.charCodeAt(i) === 0x3a) {
    if (text.charCodeAt(i + 1) !== 0x3a) return false;
    compressed = true;
    i += 2;
    if (i === end) return true;
  }
  while (i < end) {
    const s = i;
    while (i < end && i - s < 5 && isHex(text.charCodeAt(i))) i++;
    if (i < end && text.charCodeAt(i) === 0x2e) {
      if (!isIpv4(text, s, end)) return false;
      groups += 2;
      break;
    }
    if (i - s < 1 || i - s > 4) return false;
    groups++;
    if (i === end) break;
    if (text.charCodeAt(i) !== 0x3a) return false;
    i++;
    if (i < end && text.charCodeAt(i) === 0x3a) {
      if (compressed) return false;
      compressed = true;
      i++;
    } else if (i === end) return false;
  }
  return compressed ? groups <= 7 : groups === 8;
}

/**
 * telephone-uri = "tel:" telephone-subscriber (RFC 3966 §3). The number (global "+1-201-555-0123" or local
 * "7042;phone-context=example.com") becomes `user`, visual separators kept; params follow as in SIP URIs.
 * RFC 3966 requires phone-context on local numbers; deployed equipment often omits it, so that is not enforced.
 */
function parseTelUri(text: string): SipUri | undefined {
  const end = text.length;
  const start = 4;
  let i = start;
  const global = text.charCodeAt(i) === 0x2b;
  if (global) i++;
  let digits = 0;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3b) break;
    if (c === 0x2d || c === 0x2e || c === 0x28 || c === 0x29) continue; // visual-separator
    if (global ? isDigit(c) : isHex(c) || c === 0x2a || c === 0x23) digits++;
    else return undefined;
  }
  if (digits === 0) return undefined;
  const user = text.slice(start, i);
  let params: Map<string, string> | undefined;
  while (i < end) {
    // here text[i] === ";"
    const ps = i + 1;
    let j = ps;
    let eq = -1;
    for (; j < end; j++) {
      const c = text.charCodeAt(j);
      if (c === 0x3b) break;
      if (c === 0x3d && eq < 0) eq = j;
    }
    const nameEnd = eq < 0 ? j : eq;
    if (nameEnd === ps) return undefined;
    for (let k = ps; k < nameEnd; k++) {
      const c = text.charCodeAt(k);
      if (!isAlpha(c) && !isDigit(c) && c !== 0x2d) return undefined; // pname = 1*( alphanum / "-" )
    }
    if (eq >= 0 && (eq + 1 === j || !isParamText(text, eq + 1, j))) return undefined;
    params ??= new Map();
    const name = lowerAscii(text.slice(ps, nameEnd));
    if (!params.has(name)) params.set(name, eq < 0 ? "" : text.slice(eq + 1, j));
    i = j;
  }
  return sipUri("tel", user, undefined, "", undefined, params ?? NO_PARAMS, undefined);
}

/**
 * A URI record with every field present (undefined when absent) in one order: one V8 object shape for every URI, with
 * or without user, port or headers, so the code reading them stays monomorphic whatever the peers send.
 */
export function sipUri(
  scheme: SipUri["scheme"],
  user: string | undefined,
  password: string | undefined,
  host: string,
  port: number | undefined,
  params: ReadonlyMap<string, string>,
  headers: string | undefined,
): SipUri {
  return { scheme, user, password, host, port, params, headers };
}
