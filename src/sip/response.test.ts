import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { parseMessage } from "./parse.ts";
import { buildResponse, statusReason } from "./response.ts";
import { header } from "./serialize.ts";
import type { SipRequest, SipResponse } from "./message.ts";
import { invite, inviteWith, sipBytes } from "./test-messages.ts";

function parsedRequest(data: Uint8Array): SipRequest {
  const r = parseMessage(data);
  assert.ok(r.ok);
  return r.message as SipRequest;
}
function parsedResponse(data: Uint8Array): SipResponse {
  const r = parseMessage(data);
  assert.ok(r.ok, r.ok ? "" : r.error.detail);
  return r.message as SipResponse;
}

test("copies Via (raw, in order), From, To, Call-ID, CSeq; adds To tag and Content-Length (§8.2.6.2)", () => {
  const req = parsedRequest(inviteWith((l) =>
    l.startsWith("Via:") ? `${l}\r\nv: SIP/2.0/TCP  [2001:db8::1]:5070 ;branch=z9hG4bK2` : l));
  const wire = buildResponse(req.headers, 486, "Busy Here", { toTag: "lb-8f3a" });
  const text = Buffer.from(wire).toString("latin1");
  assert.equal(text, [
    "SIP/2.0 486 Busy Here",
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport",
    "v: SIP/2.0/TCP  [2001:db8::1]:5070 ;branch=z9hG4bK2",
    'From: "Alice" <sip:alice@example.com>;tag=1928301774',
    'To: "Service" <sip:svc@example.net>;tag=lb-8f3a',
    "Call-ID: a84b4c76e66710@192.0.2.10",
    "CSeq: 314159 INVITE",
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n"));
  const res = parsedResponse(wire);
  assert.equal(res.status, 486);
  assert.equal(res.toTag, "lb-8f3a");
  assert.equal(res.vias.length, 2);
  assert.deepEqual(res.cseq, req.cseq);
});

test("existing To tag is kept, 100 Trying gets no tag but copies Timestamp (§8.2.6.1)", () => {
  const tagged = parsedRequest(inviteWith((l) => (l.startsWith("To:") ? "t: <sip:svc@example.net>;tag=dlg1" : l.startsWith("Contact") ? `${l}\r\nTimestamp: 54.3 0.2` : l)));
  const final = Buffer.from(buildResponse(tagged.headers, 200, "OK", { toTag: "other" })).toString("latin1");
  assert.ok(final.includes("\r\nt: <sip:svc@example.net>;tag=dlg1\r\n"));
  assert.ok(!final.includes("Timestamp"));
  const trying = Buffer.from(buildResponse(parsedRequest(invite()).headers, 100, "Trying", { toTag: "x" })).toString("latin1");
  assert.ok(trying.includes('\r\nTo: "Service" <sip:svc@example.net>\r\n'));
  const tryingTs = Buffer.from(buildResponse(tagged.headers, 100, "Trying")).toString("latin1");
  assert.ok(tryingTs.includes("\r\nTimestamp: 54.3 0.2\r\n"));
});

test("tag appended to a To that does not parse (error replies)", () => {
  const headers = [header("Via", "SIP/2.0/UDP h;branch=z9hG4bK1"), { name: "to", value: '"open <sip:a@b>', raw: 'To: "open <sip:a@b>' }, header("CSeq", "1 INVITE")];
  const text = Buffer.from(buildResponse(headers, 400, "Bad To", { toTag: "t1" })).toString("latin1");
  assert.ok(text.includes('\r\nTo: "open <sip:a@b>;tag=t1\r\n'));
});

test("extra headers and body", () => {
  const req = parsedRequest(invite());
  const body = Buffer.from("oops");
  const wire = buildResponse(req.headers, 503, "Service Unavailable", {
    toTag: "t",
    extraHeaders: [header("Retry-After", "5"), header("Content-Type", "text/plain")],
    body,
  });
  const res = parsedResponse(wire);
  assert.deepEqual(res.headers.slice(-3).map((h) => h.name), ["retry-after", "content-type", "content-length"]);
  assert.equal(Buffer.from(res.body).toString(), "oops");
});

test("duplicates in a broken request: only the first of each single-value field", () => {
  const wire = sipBytes(["INVITE sip:a@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP h;branch=z9hG4bK1", "Call-ID: one", "Call-ID: two", "To: <sip:a@b>", "From: <sip:c@d>;tag=1", "CSeq: 1 INVITE", "Content-Length: 0"]);
  const r = parseMessage(wire);
  assert.ok(!r.ok);
  assert.ok(r.error.reply);
  const text = Buffer.from(buildResponse(r.error.reply.headers, r.error.reply.status, r.error.reply.reason, { toTag: "x" })).toString("latin1");
  assert.ok(text.startsWith("SIP/2.0 400 Duplicate Call-ID\r\n"));
  assert.ok(text.includes("Call-ID: one\r\n") && !text.includes("two"));
});

test("statusReason", () => {
  const expected: Record<number, string> = {
    100: "Trying", 180: "Ringing", 183: "Session Progress", 200: "OK", 400: "Bad Request", 403: "Forbidden",
    404: "Not Found", 408: "Request Timeout", 416: "Unsupported URI Scheme", 480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist", 482: "Loop Detected", 483: "Too Many Hops", 487: "Request Terminated",
    500: "Server Internal Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Server Time-out",
    505: "Version Not Supported", 513: "Message Too Large", 603: "Decline",
  };
  for (const [code, reason] of Object.entries(expected)) assert.equal(statusReason(Number(code)), reason);
  assert.equal(statusReason(499), "Client Error");
  assert.equal(statusReason(299), "Success");
  assert.equal(statusReason(999), "Unknown");
});
