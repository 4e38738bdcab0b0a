/**
 * SIP message parser (RFC 3261 §7, grammar §25; robustness per RFC 4475 and RFC 5118).
 *
 * One pass: the header section is located with native byte searches, decoded once as latin1 (identity on bytes, so
 * untouched fields relay byte for byte, UTF-8 included), split into fields, and only the essentials a proxy needs
 * (§16.3: Via, Max-Forwards, CSeq, Call-ID, From/To, Content-Length) are parsed eagerly. Never throws: every problem
 * becomes a SipParseError, with a ready reply for requests that still carry what §8.2.6 needs to answer.
 *
 * Leniency (§2 "be liberal"), each deliberate:
 * - bare LF line ends are accepted like CRLF; leading CRLFs before the start line are skipped (§7.5);
 * - a datagram whose header section ends with its last line but lacks the empty line is accepted (no body);
 * - identical repetitions of a single-value header are tolerated; differing ones are rejected;
 * - a response without reason phrase and without the SP before it ("SIP/2.0 200") is accepted.
 * The Request-Line is held to its exact grammar (single SP, no trailing SP): RFC 4475 §3.1.2.9-10 expect 400.
 */
import { Buffer } from "node:buffer";
import type { CSeq, HeaderField, SipMessage, SipRequest, SipResponse, SipUri, Via } from "./message.ts";
import { CR, HT, LF, SP, isDigit, isToken, isTokenChar, isWsp, parseDecimal } from "./chars.ts";
import { parseContentLength } from "./content-length.ts";
import { canonicalHeaderName, isMultiValueHeader, splitHeaderValues } from "./header-values.ts";
import { parseNameAddr } from "./name-addr.ts";
import { parseUri, uriScheme } from "./uri.ts";
import { parseVia } from "./via.ts";

export interface SipParseError {
  /** Machine category, kebab-case: "bad-via", "missing-header", ... */
  code: string;
  /** Short printable-ASCII text naming the problem; doubles as the reason phrase of the reply. */
  detail: string;
  /**
   * Present when the input is a request with enough intact to answer (§8.2.6: a Via, From, To, Call-ID and CSeq
   * field; never for ACK, which is not answered). `headers` are exactly the request fields to copy into the response
   * (every Via, then the first From, To, Call-ID, CSeq): pass them to buildResponse with a To tag of your choosing.
   * The top Via may itself be the malformed part: send such replies to the packet source (§18.2.2 rport behaviour).
   */
  reply?: { status: number; reason: string; headers: readonly HeaderField[] };
}

export type ParseResult = { ok: true; message: SipMessage } | { ok: false; error: SipParseError };

export interface ParseOptions {
  /** Largest accepted message in bytes, default 65535; larger requests get 513 Message Too Large (§18.1.1). */
  maxSize?: number;
  /** True when framing came from a stream transport: Content-Length is then mandatory (§18.3, §20.14). */
  stream?: boolean;
}

export const DEFAULT_MAX_MESSAGE_SIZE = 65535;

/**
 * Parses one complete message. The returned body is a view into `data` (no copy): do not reuse the buffer while the
 * message is alive. Header strings are latin1: one char per byte.
 */
export function parseMessage(data: Uint8Array, options?: ParseOptions): ParseResult {
  try {
    return parse(data, options?.maxSize ?? DEFAULT_MAX_MESSAGE_SIZE, options?.stream === true);
  } catch {
    // Unreachable by design (the fuzz tests hunt for it); a parser bug must cost one message, never the process.
    return { ok: false, error: { code: "parser-failure", detail: "Parser Failure" } };
  }
}

/** First value of the named header (any spelling or compact form), the whole field value; undefined if absent. */
export function getHeader(msg: { headers: readonly HeaderField[] }, name: string): string | undefined {
  const canonical = canonicalHeaderName(name);
  for (const f of msg.headers) if (f.name === canonical) return f.value;
  return undefined;
}

/**
 * Every value of the named header across all its fields, in order; list headers (Via, Route, Contact, Supported,
 * ...) are split at top-level commas (§7.3.1), other headers give one value per field.
 */
export function getHeaderValues(msg: { headers: readonly HeaderField[] }, name: string): string[] {
  const canonical = canonicalHeaderName(name);
  const split = isMultiValueHeader(canonical);
  const out: string[] = [];
  for (const f of msg.headers) {
    if (f.name !== canonical) continue;
    if (split) for (const v of splitHeaderValues(f.value)) out.push(v);
    else out.push(f.value);
  }
  return out;
}

/** Header fields a proxy needs, located during the single pass over the header section. */
interface Essentials {
  via: HeaderField[];
  from?: HeaderField;
  to?: HeaderField;
  callId?: HeaderField;
  cseq?: HeaderField;
  contentLength?: HeaderField;
  maxForwards?: HeaderField;
  /** Canonical name of the first single-value header repeated with a different value. */
  duplicate?: string;
  /** First syntactically broken header line. */
  lineError?: string;
}

class Failure {
  constructor(
    readonly code: string,
    readonly detail: string,
    readonly status: number,
  ) {}
}

const BAD_REQUEST = 400;

function parse(data: Uint8Array, maxSize: number, stream: boolean): ParseResult {
  const len = data.length;
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);

  // §7.5: ignore CRLFs before the start line.
  let start = 0;
  while (start < len && (buf[start] === CR || buf[start] === LF)) start++;
  if (start === len) return error("empty", "Empty Message");

  // Locate the empty line ending the header section, searching at most maxSize bytes.
  const limit = Math.min(len, start + maxSize);
  let headEnd = -1; // end of the last header line (exclusive, before its line break)
  let bodyStart = -1;
  let lastLineEnd = -1; // index just past the last complete line
  let nl = buf.indexOf(LF, start);
  while (nl >= 0 && nl < limit) {
    lastLineEnd = nl + 1;
    const n1 = buf[nl + 1];
    if (n1 === LF) {
      bodyStart = nl + 2;
    } else if (n1 === CR && buf[nl + 2] === LF) {
      bodyStart = nl + 3;
    }
    if (bodyStart >= 0) {
      headEnd = nl;
      break;
    }
    nl = buf.indexOf(LF, nl + 1);
  }
  let noHeaderEnd: Failure | undefined;
  if (bodyStart < 0) {
    if (len > maxSize) noHeaderEnd = new Failure("too-large", "Message Too Large", 513);
    else if (lastLineEnd === len && !stream) {
      // Datagram ends right after a complete header line: tolerate the missing empty line, no body.
      headEnd = len - 1;
      bodyStart = len;
    } else noHeaderEnd = new Failure("no-header-end", "Incomplete Header", BAD_REQUEST);
    if (noHeaderEnd !== undefined) headEnd = lastLineEnd > 0 ? lastLineEnd - 1 : start;
  }
  if (headEnd > start && buf[headEnd - 1] === CR) headEnd--;

  const head = buf.toString("latin1", start, Math.max(start, headEnd));
  const firstBreak = head.indexOf("\n");
  let startLine = firstBreak < 0 ? head : head.slice(0, firstBreak);
  if (startLine.charCodeAt(startLine.length - 1) === CR) startLine = startLine.slice(0, -1);
  const ess: Essentials = { via: [] };
  const fields = firstBreak < 0 ? [] : scanFields(head, firstBreak + 1, ess);

  // Start line: response if the first word is a SIP-Version, else a request.
  const sp1 = startLine.indexOf(" ");
  const first = sp1 < 0 ? startLine : startLine.slice(0, sp1);
  const isResponse = first.indexOf("/") >= 0;
  const looksLikeRequest = !isResponse && sp1 > 0 && isToken(first);

  const fail = (f: Failure): ParseResult => {
    const err: SipParseError = { code: f.code, detail: f.detail };
    if (looksLikeRequest && first !== "ACK") {
      const h = replyHeaders(ess);
      if (h !== undefined) err.reply = { status: f.status, reason: f.detail, headers: h };
    }
    return { ok: false, error: err };
  };

  if (noHeaderEnd !== undefined) return fail(noHeaderEnd);
  if (len - start > maxSize) return fail(new Failure("too-large", "Message Too Large", 513));

  let request: { method: string; uriText: string; uri: SipUri } | undefined;
  let status = 0;
  let reason = "";
  if (isResponse) {
    const f = parseStatusLine(startLine, sp1);
    if (f instanceof Failure) return fail(f);
    status = f.status;
    reason = f.reason;
  } else {
    if (!looksLikeRequest) return fail(new Failure("bad-start-line", "Bad Start Line", BAD_REQUEST));
    const r = parseRequestLine(startLine, sp1, first);
    if (r instanceof Failure) return fail(r);
    request = r;
  }

  // Essentials (§8.1.1 mandatory fields; §16.3 request validation).
  if (ess.lineError !== undefined) return fail(new Failure("bad-header", ess.lineError, BAD_REQUEST));
  if (ess.duplicate !== undefined) {
    return fail(new Failure("duplicate-header", `Duplicate ${displayOf(ess.duplicate)}`, BAD_REQUEST));
  }
  if (ess.via.length === 0) return fail(missing("Via"));
  if (ess.from === undefined) return fail(missing("From"));
  if (ess.to === undefined) return fail(missing("To"));
  if (ess.callId === undefined) return fail(missing("Call-ID"));
  if (ess.cseq === undefined) return fail(missing("CSeq"));

  const vias: Via[] = [];
  for (const field of ess.via) {
    const values = splitHeaderValues(field.value);
    if (values.length === 0) return fail(new Failure("bad-via", "Bad Via", BAD_REQUEST));
    for (const v of values) {
      const via = parseVia(v);
      if (via === undefined) return fail(new Failure("bad-via", "Bad Via", BAD_REQUEST));
      vias.push(via);
    }
  }
  const from = parseNameAddr(ess.from.value, ANY_SCHEME);
  if (from === undefined) return fail(new Failure("bad-header", "Bad From", BAD_REQUEST));
  const to = parseNameAddr(ess.to.value, ANY_SCHEME);
  if (to === undefined) return fail(new Failure("bad-header", "Bad To", BAD_REQUEST));
  const callId = ess.callId.value;
  if (!isCallId(callId)) return fail(new Failure("bad-header", "Bad Call-ID", BAD_REQUEST));
  const cseq = parseCSeq(ess.cseq.value);
  if (cseq === undefined) return fail(new Failure("bad-cseq", "Bad CSeq", BAD_REQUEST));
  if (request !== undefined && cseq.method !== request.method) {
    return fail(new Failure("cseq-method-mismatch", "CSeq Method Mismatch", BAD_REQUEST));
  }
  let maxForwards: number | undefined;
  if (ess.maxForwards !== undefined) {
    const v = ess.maxForwards.value;
    maxForwards = parseDecimal(v, 0, v.length, 255);
    if (maxForwards === undefined) return fail(new Failure("bad-header", "Bad Max-Forwards", BAD_REQUEST));
  }

  // Body framing (§18.3): Content-Length bytes after the empty line; extra datagram bytes are discarded.
  let body: Uint8Array;
  if (ess.contentLength !== undefined) {
    const cl = parseContentLength(ess.contentLength.value);
    if (cl === undefined) return fail(new Failure("bad-content-length", "Bad Content-Length", BAD_REQUEST));
    if (bodyStart + cl > len) {
      return fail(new Failure("body-length-mismatch", "Content-Length Mismatch", BAD_REQUEST));
    }
    body = buf.subarray(bodyStart, bodyStart + cl);
  } else if (stream) {
    return fail(missing("Content-Length"));
  } else {
    body = buf.subarray(bodyStart, len);
  }

  const fromTag = from.params.get("tag");
  const toTag = to.params.get("tag");
  if (request !== undefined) {
    const msg: SipRequest = {
      type: "request",
      method: request.method,
      uriText: request.uriText,
      uri: request.uri,
      version: SIP_2_0,
      headers: fields,
      body,
      callId,
      cseq,
      from,
      to,
      fromTag,
      toTag,
      vias,
      maxForwards,
    };
    return { ok: true, message: msg };
  }
  const msg: SipResponse = {
    type: "response",
    status,
    reason,
    version: SIP_2_0,
    headers: fields,
    body,
    callId,
    cseq,
    from,
    to,
    fromTag,
    toTag,
    vias,
  };
  return { ok: true, message: msg };
}

const SIP_2_0 = "SIP/2.0";
const ANY_SCHEME = { anyScheme: true } as const;

function error(code: string, detail: string): ParseResult {
  return { ok: false, error: { code, detail } };
}

function missing(display: string): Failure {
  return new Failure("missing-header", `Missing ${display}`, BAD_REQUEST);
}

const ESSENTIAL_DISPLAY: Readonly<Record<string, string>> = {
  from: "From",
  to: "To",
  "call-id": "Call-ID",
  cseq: "CSeq",
  "content-length": "Content-Length",
  "max-forwards": "Max-Forwards",
};

function displayOf(canonical: string): string {
  return ESSENTIAL_DISPLAY[canonical] ?? canonical;
}

/**
 * Splits head[pos..] (header lines, no empty line) into fields, unfolding continuation lines (§7.3.1), and records
 * the essentials. Line ends may be CRLF or bare LF; a bare CR inside a line is rejected (it would be a line break to
 * some downstream parsers: smuggling risk).
 */
function scanFields(head: string, pos: number, ess: Essentials): HeaderField[] {
  const fields: HeaderField[] = [];
  const end = head.length;
  let fStart = -1;
  let fEnd = -1;
  let folded = false;
  let nextCr = -2; // cached position of the next CR at or after pos; -1 = none left
  while (pos < end) {
    let nl = head.indexOf("\n", pos);
    const next = nl < 0 ? end : nl + 1;
    if (nl < 0) nl = end;
    const lineEnd = nl > pos && head.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
    if (nextCr !== -1 && nextCr < pos) nextCr = head.indexOf("\r", pos);
    if (nextCr >= 0 && nextCr < lineEnd) ess.lineError ??= "Bad Header Line";
    const c = head.charCodeAt(pos);
    if (c === SP || c === HT) {
      if (fStart < 0) ess.lineError ??= "Bad Header Folding";
      else {
        fEnd = lineEnd;
        folded = true;
      }
    } else if (lineEnd > pos) {
      if (fStart >= 0) addField(head, fStart, fEnd, folded, fields, ess);
      fStart = pos;
      fEnd = lineEnd;
      folded = false;
    }
    pos = next;
  }
  if (fStart >= 0) addField(head, fStart, fEnd, folded, fields, ess);
  return fields;
}

function addField(
  head: string,
  start: number,
  end: number,
  folded: boolean,
  fields: HeaderField[],
  ess: Essentials,
): void {
  let i = start;
  while (i < end && isTokenChar(head.charCodeAt(i))) i++;
  const nameEnd = i;
  while (i < end && isWsp(head.charCodeAt(i))) i++;
  if (nameEnd === start || i >= end || head.charCodeAt(i) !== 0x3a) {
    ess.lineError ??= "Bad Header Line";
    return;
  }
  const name = canonicalHeaderName(head.slice(start, nameEnd));
  const value = folded ? unfold(head, i + 1, end) : trimmedSlice(head, i + 1, end);
  const field: HeaderField = { name, value, raw: head.slice(start, end) };
  fields.push(field);
  switch (name) {
    case "via":
      ess.via.push(field);
      break;
    case "from":
    case "to":
    case "call-id":
    case "cseq":
    case "content-length":
    case "max-forwards": {
      const key = KEY[name]!;
      const prev = ess[key];
      if (prev === undefined) ess[key] = field;
      else if (prev.value !== value) ess.duplicate ??= name;
      break;
    }
  }
}

const KEY: Readonly<Record<string, "from" | "to" | "callId" | "cseq" | "contentLength" | "maxForwards">> = {
  from: "from",
  to: "to",
  "call-id": "callId",
  cseq: "cseq",
  "content-length": "contentLength",
  "max-forwards": "maxForwards",
};

function trimmedSlice(s: string, a: number, b: number): string {
  while (a < b && isWsp(s.charCodeAt(a))) a++;
  while (b > a && isWsp(s.charCodeAt(b - 1))) b--;
  return s.slice(a, b);
}

/** §7.3.1: each line break plus surrounding whitespace becomes a single SP. */
function unfold(s: string, a: number, b: number): string {
  let out = "";
  while (a < b) {
    let nl = s.indexOf("\n", a);
    if (nl < 0 || nl > b) nl = b;
    const seg = trimmedSlice(s, a, nl > a && s.charCodeAt(nl - 1) === CR ? nl - 1 : nl);
    if (seg !== "") out = out === "" ? seg : `${out} ${seg}`;
    a = nl + 1;
  }
  return out;
}

/** Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2). */
function parseStatusLine(line: string, sp1: number): { status: number; reason: string } | Failure {
  if (sp1 < 0 || !isSip20(line.slice(0, sp1))) {
    return new Failure(sp1 > 0 && isSipVersion(line.slice(0, sp1)) ? "bad-version" : "bad-start-line", "Bad Status Line", BAD_REQUEST);
  }
  const cs = sp1 + 1;
  let i = cs;
  while (i < line.length && isDigit(line.charCodeAt(i))) i++;
  if (i - cs !== 3 || (i < line.length && line.charCodeAt(i) !== SP)) {
    return new Failure("bad-status", "Bad Status Code", BAD_REQUEST);
  }
  const status = parseDecimal(line, cs, i, 699);
  if (status === undefined || status < 100) return new Failure("bad-status", "Bad Status Code", BAD_REQUEST);
  return { status, reason: i < line.length ? line.slice(i + 1) : "" };
}

/** Request-Line = Method SP Request-URI SP SIP-Version (§7.1), exact single spaces. */
function parseRequestLine(
  line: string,
  sp1: number,
  method: string,
): { method: string; uriText: string; uri: SipUri } | Failure {
  const sp2 = line.indexOf(" ", sp1 + 1);
  if (sp2 <= sp1 + 1) return new Failure("bad-start-line", "Bad Request Line", BAD_REQUEST);
  const version = line.slice(sp2 + 1);
  if (!isSip20(version)) {
    if (isSipVersion(version)) return new Failure("bad-version", "Version Not Supported", 505);
    return new Failure("bad-start-line", "Bad Request Line", BAD_REQUEST);
  }
  const uriText = line.slice(sp1 + 1, sp2);
  const scheme = uriScheme(uriText);
  if (scheme === undefined) return new Failure("bad-request-uri", "Bad Request-URI", BAD_REQUEST);
  if (scheme !== "sip" && scheme !== "sips" && scheme !== "tel") {
    return new Failure("unsupported-uri-scheme", "Unsupported URI Scheme", 416);
  }
  const uri = parseUri(uriText);
  // §19.1.1 table: headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11).
  if (uri === undefined || uri.headers !== undefined) {
    return new Failure("bad-request-uri", "Bad Request-URI", BAD_REQUEST);
  }
  return { method, uriText, uri };
}

/** "SIP/2.0", the protocol name compared case-insensitively (§25: literal strings are case-insensitive). */
function isSip20(v: string): boolean {
  return v.length === 7 && (v.charCodeAt(0) | 0x20) === 0x73 && (v.charCodeAt(1) | 0x20) === 0x69 &&
    (v.charCodeAt(2) | 0x20) === 0x70 && v.endsWith("/2.0");
}

/** SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (§25.1). */
function isSipVersion(v: string): boolean {
  if (v.length < 7 || (v.charCodeAt(0) | 0x20) !== 0x73 || (v.charCodeAt(1) | 0x20) !== 0x69) return false;
  if ((v.charCodeAt(2) | 0x20) !== 0x70 || v.charCodeAt(3) !== 0x2f) return false;
  const dot = v.indexOf(".", 4);
  if (dot < 5 || dot === v.length - 1) return false;
  for (let i = 4; i < v.length; i++) if (i !== dot && !isDigit(v.charCodeAt(i))) return false;
  return true;
}

/** CSeq = 1*DIGIT LWS Method (§20.16); the number must fit 32 bits unsigned (§8.1.1.5). */
function parseCSeq(value: string): CSeq | undefined {
  let i = 0;
  while (i < value.length && isDigit(value.charCodeAt(i))) i++;
  const seq = i <= 10 ? parseDecimal(value, 0, i, 0xffffffff) : undefined;
  if (seq === undefined || i >= value.length || !isWsp(value.charCodeAt(i))) return undefined;
  while (i < value.length && isWsp(value.charCodeAt(i))) i++;
  if (!isToken(value, i)) return undefined;
  return { seq, method: value.slice(i) };
}

/** callid = word [ "@" word ] (§25.1): printable ASCII, no LWS, non-empty. */
function isCallId(v: string): boolean {
  if (v.length === 0) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/** The fields to copy into an error response (§8.2.6.2), when all are present. */
function replyHeaders(ess: Essentials): HeaderField[] | undefined {
  if (ess.via.length === 0 || !ess.from || !ess.to || !ess.callId || !ess.cseq) return undefined;
  return [...ess.via, ess.from, ess.to, ess.callId, ess.cseq];
}

