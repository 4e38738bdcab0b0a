/**
 * Character classes of the RFC 3261 §25.1 grammar as 128-entry lookup tables, plus the few scanning helpers every
 * SIP parser module needs. One array read per character instead of regular expressions keeps the hot path linear
 * and allocation free. All strings handled here are latin1 ("binary") strings, one char per wire byte.
 */

const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

function table(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") (§25.1). */
const TOKEN = table(ALNUM + "-.!%*_+`'~");
/** unreserved = alphanum / mark (§25.1, RFC 2396). */
const UNRESERVED = ALNUM + "-_.!~*'()";
/**
 * user = 1*(unreserved / escaped / user-unreserved) (§25.1). "#" is not in the grammar but is sent unescaped by many
 * deployed PBXs in dial strings ("*67#123"); a proxy relays URIs as written, so we accept it (be liberal, §2).
 */
const USER = table(UNRESERVED + "&=+$,;?/#");
/** password = *(unreserved / escaped / "&" / "=" / "+" / "$" / ",") */
const PASSWORD = table(UNRESERVED + "&=+$,");
/** paramchar = param-unreserved / unreserved / escaped; param-unreserved = "[" / "]" / "/" / ":" / "&" / "+" / "$" */
const PARAM = table(UNRESERVED + "[]/:&+$");
/** hname / hvalue chars: hnv-unreserved / unreserved / escaped, plus the "=" and "&" separators. */
const URI_HEADERS = table(UNRESERVED + "[]/?:+$=&");
/** Characters of a hostname, IPv4 address (§25.1 hostname). "_" is tolerated: it appears in deployed host names. */
const HOST = table(ALNUM + "-._");
/** Unquoted generic-param value: token / host (IPv6 reference included), §25.1 gen-value. */
const GEN_VALUE = table(ALNUM + "-.!%*_+`'~[]:");

export const SP = 0x20;
export const HT = 0x09;
export const CR = 0x0d;
export const LF = 0x0a;

export function isTokenChar(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}

/** True when text[start, end) is a non-empty token. */
export function isToken(text: string, start = 0, end = text.length): boolean {
  if (start >= end) return false;
  for (let i = start; i < end; i++) if (!isTokenChar(text.charCodeAt(i))) return false;
  return true;
}

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

export function isAlpha(c: number): boolean {
  return (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
}

/** SP or HT: the WSP of §25.1. */
export function isWsp(c: number): boolean {
  return c === SP || c === HT;
}

/** WSP or a line break: what remains of LWS inside a value that still holds its folding. */
export function isLws(c: number): boolean {
  return c === SP || c === HT || c === CR || c === LF;
}

export function isHostChar(c: number): boolean {
  return c < 128 && HOST[c] === 1;
}

export function isGenValueChar(c: number): boolean {
  return c < 128 && GEN_VALUE[c] === 1;
}

/** Checks text[start, end) against a class table, accepting "%" HEXDIG HEXDIG escapes (§25.1 escaped). */
function escapedRun(text: string, start: number, end: number, t: Uint8Array): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25) {
      if (i + 2 >= end || !isHex(text.charCodeAt(i + 1)) || !isHex(text.charCodeAt(i + 2))) return false;
      i += 2;
    } else if (c >= 128 || t[c] !== 1) return false;
  }
  return true;
}

export const isUserText = (s: string, a: number, b: number): boolean => a < b && escapedRun(s, a, b, USER);
export const isPasswordText = (s: string, a: number, b: number): boolean => escapedRun(s, a, b, PASSWORD);
export const isParamText = (s: string, a: number, b: number): boolean => escapedRun(s, a, b, PARAM);
export const isUriHeadersText = (s: string, a: number, b: number): boolean => escapedRun(s, a, b, URI_HEADERS);

/**
 * Trims SP, HT, CR and LF only. String.prototype.trim must not be used on latin1 strings: it also strips U+00A0,
 * which here is the byte 0xA0, the tail of many UTF-8 sequences ("à" is C3 A0).
 */
export function trimLws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isLws(s.charCodeAt(a))) a++;
  while (b > a && isLws(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** Index of the first non-LWS char at or after i (or end). */
export function skipLws(s: string, i: number, end = s.length): number {
  while (i < end && isLws(s.charCodeAt(i))) i++;
  return i;
}

/**
 * Parses text[start, end) as 1*DIGIT not exceeding max. Leading zeros are allowed ("0068", RFC 4475 §3.1.1.1);
 * overflow is detected without ever leaving exact integer range.
 */
export function parseDecimal(text: string, start: number, end: number, max: number): number | undefined {
  if (start >= end) return undefined;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    n = n * 10 + (c - 0x30);
    if (n > max) return undefined;
  }
  return n;
}

/**
 * Scans a quoted-string (§25.1) whose opening quote is at text[start]. Returns the index just past the closing quote,
 * or -1 when unterminated. quoted-pair escapes any char but CR/LF.
 */
export function scanQuoted(text: string, start: number, end = text.length): number {
  for (let i = start + 1; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) {
      i++;
      if (i >= end) return -1;
      const e = text.charCodeAt(i);
      if (e === CR || e === LF) return -1;
    } else if (c === 0x22) return i + 1;
  }
  return -1;
}

/** The content of a quoted-string (quotes excluded) with quoted-pairs resolved. */
export function unescapeQuoted(text: string, start: number, end: number): string {
  const inner = text.slice(start, end);
  if (inner.indexOf("\\") < 0) return inner;
  let out = "";
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (c === "\\" && i + 1 < inner.length) {
      out += inner[i + 1];
      i++;
    } else out += c;
  }
  return out;
}

/** Lower-cases ASCII letters only, leaving latin1 bytes >= 0x80 intact (toLowerCase would change 0xC0-0xDE). */
export function lowerAscii(s: string): string {
  let upper = false;
  let high = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) upper = true;
    else if (c >= 0x80) high = true;
  }
  if (!upper) return s;
  return high ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s.toLowerCase();
}
