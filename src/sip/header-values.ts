/**
 * Header value helpers: comma lists (§7.3.1), generic parameters (§25.1 generic-param), quoted strings, and header
 * name canonicalisation including compact forms (§7.3.3 and the RFCs that registered further ones).
 */
import {
  isGenValueChar,
  isTokenChar,
  lowerAscii,
  scanQuoted,
  skipLws,
  trimLws,
  unescapeQuoted,
} from "./chars.ts";

/**
 * Splits a header value holding several comma-separated values (§7.3.1: `Via: a, b` equals two Via lines). Commas
 * inside quoted strings (with backslash escapes) or inside <...> do not split. Empty elements are dropped, each
 * element is LWS-trimmed. Only meaningful for headers whose grammar is a list: see isMultiValueHeader.
 */
export function splitHeaderValues(value: string): string[] {
  if (value.indexOf(",") < 0) {
    const v = trimLws(value);
    return v === "" ? [] : [v];
  }
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c) i++;
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) quoted = true;
    else if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === 0x2c && !angle) {
      const v = trimLws(value.slice(start, i));
      if (v !== "") out.push(v);
      start = i + 1;
    }
  }
  const v = trimLws(value.slice(start));
  if (v !== "") out.push(v);
  return out;
}

/**
 * Parses generic parameters `;a=b;c;d="q"` (§25.1: SEMI generic-param, LWS allowed around ";" and "="), leniently:
 * a leading ";" is optional, malformed segments are skipped. Names are lower-cased, quoted values unquoted, a
 * parameter without value maps to "", the first occurrence of a name wins.
 */
export function parseParams(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = skipLws(text, 0);
  if (i < text.length && text.charCodeAt(i) !== 0x3b) i = readParam(text, i, text.length, out, true);
  while (i < text.length) {
    if (text.charCodeAt(i) !== 0x3b) i = nextSemicolon(text, i + 1);
    else i = readParam(text, i + 1, text.length, out, true);
  }
  return out;
}

/**
 * Strict variant used for Via and name-addr header parameters: text[start, end) must be empty/LWS or a sequence of
 * SEMI generic-param. Returns undefined on any syntax error (empty name, missing value after "=", stray text).
 */
export function parseParamsStrict(text: string, start = 0, end = text.length): Map<string, string> | undefined {
  const out = new Map<string, string>();
  let i = skipLws(text, start, end);
  while (i < end) {
    if (text.charCodeAt(i) !== 0x3b) return undefined;
    i = readParam(text, i + 1, end, out, false);
    if (i < 0) return undefined;
  }
  return out;
}

/** Reads `LWS name [LWS = LWS value] LWS` from i; returns the index of the following ";" / end, or -1 (strict). */
function readParam(text: string, i: number, end: number, out: Map<string, string>, lenient: boolean): number {
  i = skipLws(text, i, end);
  const ns = i;
  while (i < end && isTokenChar(text.charCodeAt(i))) i++;
  if (i === ns) return lenient ? nextSemicolon(text, i, end) : -1;
  const name = lowerAscii(text.slice(ns, i));
  i = skipLws(text, i, end);
  let value = "";
  if (i < end && text.charCodeAt(i) === 0x3d) {
    i = skipLws(text, i + 1, end);
    if (i < end && text.charCodeAt(i) === 0x22) {
      const q = scanQuoted(text, i, end);
      if (q < 0) return lenient ? end : -1;
      value = unescapeQuoted(text, i + 1, q - 1);
      i = q;
    } else {
      const vs = i;
      while (i < end && isGenValueChar(text.charCodeAt(i))) i++;
      if (i === vs) return lenient ? nextSemicolon(text, i, end) : -1;
      value = text.slice(vs, i);
    }
    i = skipLws(text, i, end);
  }
  if (i < end && text.charCodeAt(i) !== 0x3b) return lenient ? nextSemicolon(text, i, end) : -1;
  if (!out.has(name)) out.set(name, value);
  return i;
}

/** Next ";" at or after i that is not inside a quoted string, or end. */
function nextSemicolon(text: string, i: number, end = text.length): number {
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3b) return i;
    if (c === 0x22) {
      const q = scanQuoted(text, i, end);
      if (q < 0) return end;
      i = q - 1;
    }
  }
  return end;
}

/** `"a \"b\""` → `a "b"`; anything not fully quoted is returned unchanged (after LWS trim). */
export function unquote(s: string): string {
  const t = trimLws(s);
  if (t.length >= 2 && t.charCodeAt(0) === 0x22 && scanQuoted(t, 0) === t.length) {
    return unescapeQuoted(t, 1, t.length - 1);
  }
  return t;
}

/**
 * Compact forms: RFC 3261 §7.3.3 (i m e l c f s k t v), RFC 3515 (r Refer-To), RFC 3892 (b Referred-By),
 * RFC 6665 (o Event, u Allow-Events), RFC 4028 (x Session-Expires), RFC 8224 (y Identity),
 * RFC 3841 (a Accept-Contact, j Reject-Contact, d Request-Disposition).
 */
const COMPACT: Readonly<Record<string, string>> = {
  i: "call-id",
  m: "contact",
  e: "content-encoding",
  l: "content-length",
  c: "content-type",
  f: "from",
  s: "subject",
  k: "supported",
  t: "to",
  v: "via",
  r: "refer-to",
  b: "referred-by",
  o: "event",
  u: "allow-events",
  x: "session-expires",
  y: "identity",
  a: "accept-contact",
  j: "reject-contact",
  d: "request-disposition",
};

/** Canonical header name: lower-cased (names are case-insensitive, §7.3.1), compact forms expanded. */
export function canonicalHeaderName(name: string): string {
  const lower = lowerAscii(name);
  return lower.length === 1 ? (COMPACT[lower] ?? lower) : lower;
}

/**
 * Canonical names of the header fields seen in nearly every message, by a hash of their lower-cased spelling: the
 * scan of a header section (header-fields.ts) finds a field's name here without cutting it out of the text and
 * lower-casing it, two strings per field that every message would otherwise leave for the garbage collector.
 */
const KNOWN_NAMES = new Map<number, { readonly spelling: string; readonly canonical: string }>();
for (const [spelling, canonical] of [
  ...Object.entries(COMPACT),
  ...[
    ...new Set(Object.values(COMPACT)),
    "cseq", "max-forwards", "record-route", "route", "user-agent", "server", "allow", "require", "proxy-require",
    "unsupported", "expires", "min-expires", "accept", "accept-encoding", "accept-language", "date", "timestamp",
    "min-se", "p-asserted-identity", "p-preferred-identity", "privacy", "remote-party-id", "diversion",
    "authorization", "proxy-authorization", "www-authenticate", "proxy-authenticate", "authentication-info",
    "organization", "content-disposition", "content-language", "mime-version", "reason", "retry-after",
    "warning", "rseq", "rack", "path",
  ].map((name) => [name, name] as const),
]) {
  const key = nameHash(spelling, 0, spelling.length);
  if (!KNOWN_NAMES.has(key)) KNOWN_NAMES.set(key, { spelling, canonical });
}

/** FNV-1a over the name with ASCII letters folded to lower case (token characters only, §25.1). */
function nameHash(text: string, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ (text.charCodeAt(i) | 0x20), 0x01000193);
  return hash;
}

/**
 * canonicalHeaderName(text.slice(start, end)) for a token name, allocating nothing when the name is a known one
 * (in any letter case, compact forms included).
 */
export function canonicalHeaderNameAt(text: string, start: number, end: number): string {
  const known = KNOWN_NAMES.get(nameHash(text, start, end));
  if (known !== undefined && known.spelling.length === end - start) {
    let i = 0;
    for (; i < known.spelling.length; i++) {
      const c = text.charCodeAt(start + i);
      if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== known.spelling.charCodeAt(i)) break;
    }
    if (i === known.spelling.length) return known.canonical;
  }
  return canonicalHeaderName(text.slice(start, end));
}

/** Spellings that the Title-Case rule gets wrong. */
const DISPLAY: Readonly<Record<string, string>> = {
  "call-id": "Call-ID",
  cseq: "CSeq",
  "www-authenticate": "WWW-Authenticate",
  "mime-version": "MIME-Version",
  rack: "RAck",
  rseq: "RSeq",
  "sip-etag": "SIP-ETag",
  "sip-if-match": "SIP-If-Match",
  "content-id": "Content-ID",
  "session-id": "Session-ID",
};

const displayCache = new Map<string, string>();

/** The conventional spelling of a canonical header name: "via" → "Via", "call-id" → "Call-ID", "x-foo" → "X-Foo". */
export function headerDisplayName(canonical: string): string {
  const known = DISPLAY[canonical];
  if (known !== undefined) return known;
  let cached = displayCache.get(canonical);
  if (cached === undefined) {
    cached = canonical.replace(/(^|-)([a-z])/g, (_m, sep: string, ch: string) => sep + ch.toUpperCase());
    if (displayCache.size < 1024) displayCache.set(canonical, cached);
  }
  return cached;
}

/**
 * Headers whose grammar is a comma-separated list (`Header: 1#value`), so that splitting on top-level commas is
 * meaningful. Not listed on purpose: authentication headers (commas separate auth-params, §25.1), Date, and every
 * single-value header. Unknown headers are not split: their commas may be content.
 */
const MULTI_VALUE: ReadonlySet<string> = new Set([
  "via",
  "route",
  "record-route",
  "contact",
  "path",
  "service-route",
  "allow",
  "allow-events",
  "supported",
  "require",
  "proxy-require",
  "unsupported",
  "accept",
  "accept-encoding",
  "accept-language",
  "accept-contact",
  "reject-contact",
  "request-disposition",
  "content-encoding",
  "content-language",
  "alert-info",
  "call-info",
  "error-info",
  "in-reply-to",
  "warning",
  "reason",
  "history-info",
  "diversion",
  "p-asserted-identity",
  "p-preferred-identity",
  "p-associated-uri",
  "security-client",
  "security-server",
  "security-verify",
]);

/** True for headers whose value is a comma-separated list (canonical name). */
export function isMultiValueHeader(canonical: string): boolean {
  return MULTI_VALUE.has(canonical);
}

