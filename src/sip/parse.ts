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
import { CR, LF, isDigit, isToken, isWsp, parseDecimal } from "./chars.ts";
import { parseContentLength } from "./content-length.ts";
import { BAD_REQUEST, Failure } from "./failure.ts";
import { type Essentials, scanFields } from "./header-fields.ts";
import { canonicalHeaderName, isMultiValueHeader, splitHeaderValues } from "./header-values.ts";
import { parseNameAddr } from "./name-addr.ts";
import { parseRequestLine, parseStatusLine } from "./start-line.ts";
import { parseVia } from "./via.ts";
import { memoize } from "./memo.ts";

export interface SipParseError {
  /** Machine category, kebab-case: "bad-via", "missing-header", ... */
  code: string;
  /** Short printable-ASCII text naming the problem; doubles as the reason phrase of the reply. */
  detail: string;
  /**
   * Present when the input is a request with enough intact to answer (§8.2.6): at least a Via and a CSeq field, the
   * pair a client transaction matches responses on (§17.1.3); never for ACK, which is not answered. `headers` are
   * exactly the request fields to copy into the response (every Via, then the first From, To, Call-ID, CSeq that
   * exist): pass them to buildResponse with a To tag of your choosing.
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
    if (len - start > maxSize) noHeaderEnd = new Failure("too-large", "Message Too Large", 513);
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

  // Only requests are answered, and never ACK (§17.1.1.3: no response to ACK).
  const answer = looksLikeRequest && first !== "ACK" ? ess : undefined;

  if (noHeaderEnd !== undefined) return failure(answer, noHeaderEnd);
  if (len - start > maxSize) return failure(answer, new Failure("too-large", "Message Too Large", 513));

  let request: { method: string; uriText: string; uri: SipUri } | undefined;
  let status = 0;
  let reason = "";
  if (isResponse) {
    const f = parseStatusLine(startLine, sp1);
    if (f instanceof Failure) return failure(answer, f);
    status = f.status;
    reason = f.reason;
  } else {
    if (!looksLikeRequest) return failure(answer, new Failure("bad-start-line", "Bad Start Line", BAD_REQUEST));
    const r = parseRequestLine(startLine, sp1, first);
    if (r instanceof Failure) return failure(answer, r);
    request = r;
  }

  // Essentials (§8.1.1 mandatory fields; §16.3 request validation).
  if (ess.lineError !== undefined) return failure(answer, new Failure("bad-header", ess.lineError, BAD_REQUEST));
  if (ess.duplicate !== undefined) {
    return failure(answer, new Failure("duplicate-header", `Duplicate ${displayOf(ess.duplicate)}`, BAD_REQUEST));
  }
  if (ess.via.length === 0) return failure(answer, missing("Via"));
  if (ess.from === undefined) return failure(answer, missing("From"));
  if (ess.to === undefined) return failure(answer, missing("To"));
  if (ess.callId === undefined) return failure(answer, missing("Call-ID"));
  if (ess.cseq === undefined) return failure(answer, missing("CSeq"));

  const vias: Via[] = [];
  for (const field of ess.via) {
    const values = splitHeaderValues(field.value);
    if (values.length === 0) return failure(answer, new Failure("bad-via", "Bad Via", BAD_REQUEST));
    for (const v of values) {
      const via = parseViaValue(v);
      if (via === undefined) return failure(answer, new Failure("bad-via", "Bad Via", BAD_REQUEST));
      vias.push(via);
    }
  }
  const from = parseFromTo(ess.from.value);
  if (from === undefined) return failure(answer, new Failure("bad-header", "Bad From", BAD_REQUEST));
  const to = parseFromTo(ess.to.value);
  if (to === undefined) return failure(answer, new Failure("bad-header", "Bad To", BAD_REQUEST));
  const callId = ess.callId.value;
  if (!isCallId(callId)) return failure(answer, new Failure("bad-header", "Bad Call-ID", BAD_REQUEST));
  const cseq = parseCSeq(ess.cseq.value);
  if (cseq === undefined) return failure(answer, new Failure("bad-cseq", "Bad CSeq", BAD_REQUEST));
  if (request !== undefined && cseq.method !== request.method) {
    return failure(answer, new Failure("cseq-method-mismatch", "CSeq Method Mismatch", BAD_REQUEST));
  }
  let maxForwards: number | undefined;
  if (ess.maxForwards !== undefined) {
    const v = ess.maxForwards.value;
    maxForwards = parseDecimal(v, 0, v.length, 255);
    if (maxForwards === undefined) return failure(answer, new Failure("bad-header", "Bad Max-Forwards", BAD_REQUEST));
  }

  // Body framing (§18.3): Content-Length bytes after the empty line; extra datagram bytes are discarded.
  let body: Uint8Array;
  if (ess.contentLength !== undefined) {
    const cl = parseContentLength(ess.contentLength.value);
    if (cl === undefined) return failure(answer, new Failure("bad-content-length", "Bad Content-Length", BAD_REQUEST));
    if (bodyStart + cl > len) {
      return failure(answer, new Failure("body-length-mismatch", "Content-Length Mismatch", BAD_REQUEST));
    }
    body = buf.subarray(bodyStart, bodyStart + cl);
  } else if (stream) {
    return failure(answer, missing("Content-Length"));
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

// Every message of a call repeats its From, To and Vias (memo.ts): each distinct value is parsed once.
const parseFromTo = memoize((text: string) => parseNameAddr(text, ANY_SCHEME));
const parseViaValue = memoize(parseVia);

/** The error result; `answerable` holds the request's fields when it may be answered. */
function failure(answerable: Essentials | undefined, f: Failure): ParseResult {
  const err: SipParseError = { code: f.code, detail: f.detail };
  const h = answerable === undefined ? undefined : replyHeaders(answerable);
  if (h !== undefined) err.reply = { status: f.status, reason: f.detail, headers: h };
  return { ok: false, error: err };
}

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
 * CSeq = 1*DIGIT LWS Method (§20.16). The number must be expressible as 32-bit unsigned (§8.1.1.5). The "< 2**31"
 * there binds the UAC's initial choice; in-dialog increments (§12.2.1.1) may pass it, so receivers accept the full
 * 32-bit range.
 */
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

/**
 * The fields to copy into an error response (§8.2.6.2): every Via, then the first From, To, Call-ID, CSeq present.
 * Via and CSeq are required: they are what the client transaction matches a response on (§17.1.3), so answering
 * stops its retransmissions even when From, To or Call-ID are missing (then not copied).
 */
function replyHeaders(ess: Essentials): HeaderField[] | undefined {
  if (ess.via.length === 0 || ess.cseq === undefined) return undefined;
  const out = [...ess.via];
  if (ess.from) out.push(ess.from);
  if (ess.to) out.push(ess.to);
  if (ess.callId) out.push(ess.callId);
  out.push(ess.cseq);
  return out;
}
