/**
 * Sample messages shared by the SIP tests (not part of the runtime): built from lines so CRLFs are explicit and
 * Content-Length is always right.
 */
import { Buffer } from "node:buffer";

/** Lines joined with CRLF, an empty line, then the body; "{CL}" in a line becomes the body length. */
export function sipBytes(lines: readonly string[], body = ""): Buffer {
  const b = Buffer.from(body, "latin1");
  const head = lines.join("\r\n").replaceAll("{CL}", String(b.length)) + "\r\n\r\n";
  return Buffer.concat([Buffer.from(head, "latin1"), b]);
}

export const SDP = [
  "v=0",
  "o=alice 2890844526 2890844526 IN IP4 192.0.2.10",
  "s=-",
  "c=IN IP4 192.0.2.10",
  "t=0 0",
  "m=audio 49170 RTP/AVP 0",
  "a=rtpmap:0 PCMU/8000",
  "",
].join("\r\n");

export const INVITE_LINES = [
  "INVITE sip:svc@127.0.0.1 SIP/2.0",
  "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport",
  "Max-Forwards: 70",
  'To: "Service" <sip:svc@example.net>',
  'From: "Alice" <sip:alice@example.com>;tag=1928301774',
  "Call-ID: a84b4c76e66710@192.0.2.10",
  "CSeq: 314159 INVITE",
  "Contact: <sip:alice@192.0.2.10:5060>",
  "Content-Type: application/sdp",
  "Content-Length: {CL}",
] as const;

export const invite = (): Buffer => sipBytes(INVITE_LINES, SDP);

export const RESPONSE_LINES = [
  "SIP/2.0 180 Ringing",
  "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKproxy1",
  "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;received=192.0.2.10;rport=5060",
  "To: <sip:svc@example.net>;tag=a6c85cf",
  "From: <sip:alice@example.com>;tag=1928301774",
  "Call-ID: a84b4c76e66710@192.0.2.10",
  "CSeq: 314159 INVITE",
  "Content-Length: 0",
] as const;

export const response = (): Buffer => sipBytes(RESPONSE_LINES);

/** Request with every line altered by `edit` (return undefined to drop a line). */
export function inviteWith(edit: (line: string) => string | undefined, body = SDP): Buffer {
  const lines: string[] = [];
  for (const l of INVITE_LINES) {
    const e = edit(l);
    if (e !== undefined) lines.push(e);
  }
  return sipBytes(lines, body);
}
