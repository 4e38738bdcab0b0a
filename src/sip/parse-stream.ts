/**
 * Message framing for stream transports (TCP, TLS): RFC 3261 §18.3 — the header section ends at the first empty
 * line, the body is exactly Content-Length bytes, and Content-Length is mandatory. Between messages the peer may
 * send RFC 5626 §3.5.1 keep-alives: CRLFCRLF ("ping", to be answered with CRLF) and CRLF ("pong").
 *
 * A small state machine over an owned, amortised-growth buffer: each byte is examined a bounded number of times
 * however the stream is chunked (the header-end search resumes where it stopped), and a message that arrives whole
 * in one chunk is handed out as a view of that chunk without copying.
 */
import type { SipParseError } from "./parse.ts";
import { DEFAULT_MAX_MESSAGE_SIZE } from "./parse.ts";
import { CR, HT, LF, SP, isTokenChar } from "./chars.ts";
import { parseContentLengthBytes } from "./content-length.ts";

export type StreamFrame =
  /** Exactly one complete message, ready for parseMessage(data, { stream: true }). */
  | { type: "message"; data: Uint8Array }
  /** RFC 5626 §3.5.1 double-CRLF keep-alive: answer with a single CRLF pong. */
  | { type: "ping" }
  /** A single CRLF between messages. */
  | { type: "pong" }
  /** Unrecoverable framing error (no/invalid Content-Length, message over the limit): close the connection. */
  | { type: "error"; error: SipParseError; head?: Uint8Array };

export interface SipStreamParserOptions {
  /** Largest message (header section + body) in bytes; default 65535. */
  maxMessageSize?: number;
}

const EMPTY = new Uint8Array(0);
/** Buffers larger than this are released once drained, so one big message does not pin memory per connection. */
const KEEP_CAPACITY = 16384;

export class SipStreamParser {
  readonly #max: number;
  /** Pending bytes are #buf[#start, #end). */
  #buf: Uint8Array = EMPTY;
  #start = 0;
  #end = 0;
  /** Within the pending message: offset (from its start) where the header-end search resumes. */
  #scan = 0;
  /** Total length of the pending message once its header section is complete, else -1. */
  #need = -1;
  /** The previous push ended with a lone CRLF reported as pong: a CRLF first in the next push completes a ping. */
  #lonePong = false;
  #failed = false;

  constructor(options?: SipStreamParserOptions) {
    this.#max = options?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** Bytes held while waiting for the rest of a message. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Feeds bytes, returns the frames they complete. Message frames may be views of `chunk`: do not modify a chunk
   * after pushing it. After an error frame the parser ignores all further input.
   */
  push(chunk: Uint8Array): StreamFrame[] {
    const out: StreamFrame[] = [];
    if (this.#failed || chunk.length === 0) return out;
    const owned = this.#end > this.#start;
    let data: Uint8Array;
    let pos: number;
    if (owned) {
      this.#append(chunk);
      data = this.#buf.subarray(0, this.#end);
      pos = this.#start;
    } else {
      data = chunk;
      pos = 0;
    }
    const end = data.length;
    let lonePong = this.#lonePong;
    this.#lonePong = false;

    while (pos < end) {
      if (this.#need < 0 && this.#scan === 0) {
        // Between messages: keep-alives, stray line breaks.
        const c = data[pos]!;
        if (c === LF) {
          pos++; // bare LF between messages: ignored (§7.5 leniency)
          lonePong = false;
          continue;
        }
        if (c === CR) {
          if (pos + 1 >= end) {
            this.#lonePong = lonePong; // need the LF; a pending ping half stays pending
            break;
          }
          if (data[pos + 1] !== LF) {
            pos++; // stray CR: ignored
            lonePong = false;
            continue;
          }
          if (lonePong) {
            out.push({ type: "ping" }); // second half of a ping split across pushes (first half reported as pong)
            lonePong = false;
            pos += 2;
            continue;
          }
          if (pos + 2 === end) {
            out.push({ type: "pong" });
            this.#lonePong = true;
            pos += 2;
            continue;
          }
          if (data[pos + 2] === CR) {
            if (pos + 3 >= end) break; // CRLF CR: wait to tell ping from pong
            if (data[pos + 3] === LF) {
              out.push({ type: "ping" });
              pos += 4;
              continue;
            }
          }
          out.push({ type: "pong" });
          pos += 2;
          continue;
        }
        lonePong = false;
      }

      if (this.#need < 0) {
        const headLen = this.#findHeaderEnd(data, pos, end);
        if (headLen < 0) {
          if (end - pos > this.#max) return this.#fail(out, "too-large", "Message Too Large");
          break;
        }
        const cl = contentLength(data, pos, pos + headLen);
        if (typeof cl === "string") {
          const code = cl === "missing" ? "missing-header" : cl === "duplicate" ? "duplicate-header" : "bad-content-length";
          const detail = cl === "missing"
            ? "Missing Content-Length"
            : cl === "duplicate"
              ? "Duplicate Content-Length"
              : "Bad Content-Length";
          return this.#fail(out, code, detail, data.slice(pos, pos + headLen));
        }
        if (headLen + cl > this.#max) return this.#fail(out, "too-large", "Message Too Large", data.slice(pos, pos + headLen));
        this.#need = headLen + cl;
      }
      if (end - pos < this.#need) break;
      const msgEnd = pos + this.#need;
      out.push({ type: "message", data: owned ? data.slice(pos, msgEnd) : data.subarray(pos, msgEnd) });
      pos = msgEnd;
      this.#need = -1;
      this.#scan = 0;
    }

    this.#keep(data, pos, end, owned);
    return out;
  }

  /**
   * Looks for the empty line ending the header section of the message starting at `start`. CRLFCRLF, and leniently
   * LFLF / LFCRLF (parseMessage accepts bare LF too). Returns the header section length including the empty line,
   * or -1, remembering where to resume.
   */
  #findHeaderEnd(data: Uint8Array, start: number, end: number): number {
    let nl = data.indexOf(LF, start + this.#scan);
    while (nl >= 0) {
      if (nl + 1 >= end || (nl + 2 >= end && data[nl + 1] === CR)) {
        this.#scan = nl - start; // undecided: re-examine this LF when more bytes arrive
        return -1;
      }
      const n1 = data[nl + 1];
      if (n1 === LF) return nl + 2 - start;
      if (n1 === CR && data[nl + 2] === LF) return nl + 3 - start;
      nl = data.indexOf(LF, nl + 1);
    }
    this.#scan = end - start;
    return -1;
  }

  /** Keeps data[pos, end) for the next push. */
  #keep(data: Uint8Array, pos: number, end: number, owned: boolean): void {
    if (owned) {
      this.#start = pos;
      if (pos === end) {
        this.#start = this.#end = 0;
        if (this.#buf.length > KEEP_CAPACITY) this.#buf = EMPTY;
      }
      return;
    }
    const rest = end - pos;
    if (rest === 0) return;
    if (this.#buf.length < rest) this.#buf = new Uint8Array(Math.max(rest * 2, 4096));
    this.#buf.set(data.subarray(pos, end), 0);
    this.#start = 0;
    this.#end = rest;
  }

  /** Appends to the owned buffer: compact when the live part fits in half the capacity, else grow x2. */
  #append(chunk: Uint8Array): void {
    const live = this.#end - this.#start;
    if (this.#end + chunk.length > this.#buf.length) {
      const needed = live + chunk.length;
      if (needed <= this.#buf.length >> 1) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        const next = new Uint8Array(Math.max(this.#buf.length * 2, needed, 4096));
        next.set(this.#buf.subarray(this.#start, this.#end), 0);
        this.#buf = next;
      }
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** `head`: the complete header section when known, so the caller can still answer (e.g. 513) before closing. */
  #fail(out: StreamFrame[], code: string, detail: string, head?: Uint8Array): StreamFrame[] {
    this.#failed = true;
    this.#buf = EMPTY;
    this.#start = this.#end = 0;
    out.push(head ? { type: "error", error: { code, detail }, head } : { type: "error", error: { code, detail } });
    return out;
  }
}

const CONTENT_LENGTH = "content-length";

/**
 * Content-Length of the header section data[start, end), straight from the bytes: the field named
 * "Content-Length" or "l" (any case, §7.3.1/§7.3.3), value possibly folded. The start line is skipped.
 */
function contentLength(data: Uint8Array, start: number, end: number): number | "missing" | "bad" | "duplicate" {
  let found: number | undefined;
  let line = data.indexOf(LF, start) + 1; // skip the start line
  while (line > 0 && line < end) {
    let nl = data.indexOf(LF, line);
    if (nl < 0 || nl >= end) nl = end;
    const c = data[line]!;
    if (c !== SP && c !== HT && c !== CR && c !== LF) {
      let i = line;
      while (i < nl && isTokenChar(data[i]!)) i++;
      const nameLen = i - line;
      if ((nameLen === 1 && (c | 0x20) === 0x6c) || (nameLen === 14 && matchesLower(data, line, CONTENT_LENGTH))) {
        while (i < nl && (data[i] === SP || data[i] === HT)) i++;
        if (data[i] === 0x3a) {
          // value runs to the end of the field: continuation lines start with SP/HT
          let vEnd = nl;
          while (vEnd + 1 < end && (data[vEnd + 1] === SP || data[vEnd + 1] === HT)) {
            const n = data.indexOf(LF, vEnd + 1);
            vEnd = n < 0 || n >= end ? end : n;
          }
          const n = parseContentLengthBytes(data, i + 1, vEnd);
          if (n === undefined) return "bad";
          if (found !== undefined && found !== n) return "duplicate";
          found = n;
          nl = vEnd;
        }
      }
    }
    line = nl + 1;
  }
  return found ?? "missing";
}

function matchesLower(data: Uint8Array, at: number, lower: string): boolean {
  for (let k = 0; k < lower.length; k++) if ((data[at + k]! | 0x20) !== lower.charCodeAt(k)) return false;
  return true;
}
