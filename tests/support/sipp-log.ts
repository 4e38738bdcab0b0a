/**
 * Parser for sipp's message trace (`-trace_msg -message_file F`). Each entry looks like
 *
 *   ----------------------------------------------- 2026-11-23 06:47:31.595336
 *   UDP message sent (522 bytes):
 *
 *   INVITE sip:service@127.0.0.1:25070 SIP/2.0
 *   Via: ...
 *
 * or `TCP message received [305] bytes :`. The SIP text is logged as it was on the wire (CRLF line ends).
 */
import { readFile } from "node:fs/promises";

export type Direction = "sent" | "received";

export interface TracedMessage {
  readonly direction: Direction;
  /** "UDP" | "TCP" as sipp logs it. */
  readonly transport: string;
  /** Timestamp text as logged ("2026-11-23 06:47:31.595336"). */
  readonly time: string;
  readonly startLine: string;
  readonly kind: "request" | "response";
  /** Request method (requests only). */
  readonly method?: string;
  /** Request-URI (requests only). */
  readonly requestUri?: string;
  /** Status code (responses only). */
  readonly status?: number;
  /** Method from CSeq (which transaction a response belongs to). */
  readonly cseqMethod: string;
  readonly cseq: number;
  readonly callId: string;
  /** Header values by lower-case long name, in order (a comma-joined line stays one value). */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  /** The SIP message text. */
  readonly raw: string;
}

const COMPACT: Record<string, string> = {
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
};

const ENTRY_SEP = /^-{20,} (\S+ \S+)\r?\n/m;
const ENTRY_HEAD = /^(\w+) message (sent|received)\b[^\n]*\n/;

/** Parse one SIP message text (request or response). Returns undefined for text that is not one. */
export function parseSipText(text: string): Omit<TracedMessage, "direction" | "transport" | "time"> | undefined {
  const lines = text.replace(/^(\r?\n)+/, "").split(/\r?\n/);
  const startLine = lines[0]?.trim() ?? "";
  const headers = new Map<string, string[]>();
  let prevName: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (line === "") break;
    if (/^[ \t]/.test(line) && prevName !== undefined) {
      const vals = headers.get(prevName);
      if (vals && vals.length > 0) vals[vals.length - 1] = `${vals[vals.length - 1] ?? ""} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    let name = line.slice(0, colon).trim().toLowerCase();
    name = COMPACT[name] ?? name;
    const value = line.slice(colon + 1).trim();
    const vals = headers.get(name) ?? [];
    vals.push(value);
    headers.set(name, vals);
    prevName = name;
  }
  const cseqText = headers.get("cseq")?.[0] ?? "";
  const cseqMatch = /^(\d+)\s+(\S+)/.exec(cseqText);
  const callId = headers.get("call-id")?.[0] ?? "";
  const resp = /^SIP\/2\.0\s+(\d{3})\b/i.exec(startLine);
  if (resp) {
    return {
      startLine,
      kind: "response",
      status: Number(resp[1]),
      cseqMethod: cseqMatch?.[2]?.toUpperCase() ?? "",
      cseq: Number(cseqMatch?.[1] ?? NaN),
      callId,
      headers,
      raw: text,
    };
  }
  const req = /^([A-Za-z]+)\s+(\S+)\s+SIP\/2\.0$/i.exec(startLine);
  if (req) {
    return {
      startLine,
      kind: "request",
      method: req[1]?.toUpperCase() ?? "",
      requestUri: req[2] ?? "",
      cseqMethod: cseqMatch?.[2]?.toUpperCase() ?? "",
      cseq: Number(cseqMatch?.[1] ?? NaN),
      callId,
      headers,
      raw: text,
    };
  }
  return undefined;
}

export function parseSippTrace(text: string): TracedMessage[] {
  const out: TracedMessage[] = [];
  const parts = text.split(ENTRY_SEP);
  // parts: [before-first, time1, body1, time2, body2, ...]
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const time = parts[i] ?? "";
    const body = parts[i + 1] ?? "";
    const head = ENTRY_HEAD.exec(body);
    if (!head) continue;
    const sip = parseSipText(body.slice(head[0].length));
    if (!sip) continue;
    out.push({ ...sip, direction: head[2] as Direction, transport: head[1] ?? "", time });
  }
  return out;
}

/** Read and parse a trace file; a missing file is an empty trace. */
export async function readSippTrace(file: string): Promise<TracedMessage[]> {
  let text: string;
  try {
    text = await readFile(file, "latin1");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  return parseSippTrace(text);
}

export interface MessageFilter {
  readonly direction?: Direction;
  /** Request method, e.g. "INVITE". */
  readonly method?: string;
  /** Response status. */
  readonly status?: number;
  /** CSeq method (useful for responses). */
  readonly cseqMethod?: string;
}

export function select(msgs: readonly TracedMessage[], f: MessageFilter): TracedMessage[] {
  return msgs.filter(
    (m) =>
      (f.direction === undefined || m.direction === f.direction) &&
      (f.method === undefined || m.method === f.method) &&
      (f.status === undefined || m.status === f.status) &&
      (f.cseqMethod === undefined || m.cseqMethod === f.cseqMethod),
  );
}

/** Distinct Call-IDs of the messages matching `f`. */
export function callIds(msgs: readonly TracedMessage[], f: MessageFilter): Set<string> {
  return new Set(select(msgs, f).map((m) => m.callId));
}

/** Messages grouped by Call-ID, in trace order. */
export function byCallId(msgs: readonly TracedMessage[]): Map<string, TracedMessage[]> {
  const m = new Map<string, TracedMessage[]>();
  for (const msg of msgs) {
    const list = m.get(msg.callId) ?? [];
    list.push(msg);
    m.set(msg.callId, list);
  }
  return m;
}

/** One-line summary of a message ("received INVITE sip:... cid"), for assertion messages. */
export function brief(m: TracedMessage): string {
  return `${m.direction} ${m.startLine} [${m.cseq} ${m.cseqMethod}] Call-ID ${m.callId}`;
}

/** Compact per-call flow: "→INVITE ←180 ←200 →ACK" from the viewpoint of the trace's owner. */
export function flow(msgs: readonly TracedMessage[]): string {
  return msgs
    .map((m) => `${m.direction === "sent" ? "→" : "←"}${m.kind === "request" ? m.method : `${m.status}/${m.cseqMethod}`}`)
    .join(" ");
}
