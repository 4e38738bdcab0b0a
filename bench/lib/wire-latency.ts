/**
 * Response times measured on the wire: from a loopback capture of the caller's and the destinations' ports, per
 * call (Call-ID) and method, the kernel timestamps of
 *   a  the request leaving the caller (first transmission)
 *   b  the request reaching a destination (first copy the balancer forwarded)
 *   c  the destination's 200 (first transmission)
 *   d  the 200 reaching the caller (first copy the balancer forwarded)
 * giving the caller's response time d − a, and the balancer's share of it, (b − a) + (d − c): the time the request
 * and its 200 spent inside the balancer, without the destination's own time. Microsecond timestamps, where sipp's
 * own response-time counters count whole ticks of its main loop.
 * Pure: packets in, numbers out.
 */
import type { UdpPacket } from "./pcap.ts";

export interface WireSample {
  /** caller's response time d − a, ms */
  readonly total: number[];
  /** the balancer's share (b − a) + (d − c), ms; for a call straight to a destination this is 0 */
  readonly balancer: number[];
}

export interface WireLatencies {
  readonly invite: WireSample;
  readonly bye: WireSample;
  /** SIP packets read (requests and responses on the captured ports) */
  readonly packets: number;
  /** calls with a complete INVITE → 200 record */
  readonly calls: number;
}

interface Timing {
  a: number;
  b: number;
  c: number;
  d: number;
}

const dec = new TextDecoder("latin1");
const CRLF_CALL_ID = /\r\n(?:call-id|i)[ \t]*:[ \t]*([^\r\n]+)/i;
const CRLF_CSEQ = /\r\n(?:cseq)[ \t]*:[ \t]*\d+[ \t]+([A-Za-z]+)/i;

/** First line, Call-ID and CSeq method of a SIP message, or undefined when the payload is not one. */
export function sipSummary(payload: Uint8Array): { readonly request?: string; readonly status?: number; readonly callId: string; readonly cseqMethod: string } | undefined {
  // the headers that matter come before the body: decode at most the first 2 KiB
  const text = dec.decode(payload.subarray(0, 2048));
  const eol = text.indexOf("\r\n");
  if (eol < 0) return undefined;
  const first = text.slice(0, eol);
  const callId = CRLF_CALL_ID.exec(text)?.[1]?.trim();
  const cseqMethod = CRLF_CSEQ.exec(text)?.[1]?.toUpperCase();
  if (!callId || !cseqMethod) return undefined;
  if (first.startsWith("SIP/2.0 ")) {
    const status = Number(first.slice(8, 11));
    return Number.isInteger(status) ? { status, callId, cseqMethod } : undefined;
  }
  const sp = first.indexOf(" ");
  return sp > 0 ? { request: first.slice(0, sp).toUpperCase(), callId, cseqMethod } : undefined;
}

/**
 * Per-call INVITE → 200 and BYE → 200 times from captured packets (any order: they are sorted by timestamp).
 * `caller` is the caller's port, `destinations` the destinations' ports; the balancer is whatever sits between.
 */
export function wireLatencies(packets: Iterable<UdpPacket>, caller: number, destinations: readonly number[]): WireLatencies {
  const dests = new Set(destinations);
  const timings = new Map<string, Timing>();
  let count = 0;
  const sorted = [...packets].sort((x, y) => x.tsUs - y.tsUs);
  for (const p of sorted) {
    const sip = sipSummary(p.payload);
    if (!sip) continue;
    const method = sip.request ?? sip.cseqMethod;
    if (method !== "INVITE" && method !== "BYE") continue;
    count++;
    const key = `${method} ${sip.callId}`;
    let t = timings.get(key);
    if (!t) timings.set(key, (t = { a: NaN, b: NaN, c: NaN, d: NaN }));
    if (sip.request !== undefined) {
      if (p.srcPort === caller && Number.isNaN(t.a)) t.a = p.tsUs;
      if (dests.has(p.dstPort) && Number.isNaN(t.b)) t.b = p.tsUs;
    } else if (sip.status === 200) {
      if (dests.has(p.srcPort) && Number.isNaN(t.c)) t.c = p.tsUs;
      if (p.dstPort === caller && Number.isNaN(t.d)) t.d = p.tsUs;
    }
  }
  const invite: WireSample = { total: [], balancer: [] };
  const bye: WireSample = { total: [], balancer: [] };
  let calls = 0;
  for (const [key, t] of timings) {
    if (Number.isNaN(t.a) || Number.isNaN(t.d) || t.d < t.a) continue;
    const sample = key.startsWith("INVITE ") ? invite : bye;
    if (sample === invite) calls++;
    sample.total.push((t.d - t.a) / 1000);
    if (!Number.isNaN(t.b) && !Number.isNaN(t.c) && t.b >= t.a && t.d >= t.c) sample.balancer.push((t.b - t.a + (t.d - t.c)) / 1000);
  }
  return { invite, bye, packets: count, calls };
}
