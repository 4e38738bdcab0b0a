import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { getHeader, getHeaderValues, parseMessage, type ParseResult } from "./parse.ts";
import type { SipRequest, SipResponse } from "./message.ts";
import { INVITE_LINES, SDP, invite, inviteWith, response, sipBytes } from "./test-messages.ts";

function req(r: ParseResult): SipRequest {
  assert.ok(r.ok, r.ok ? "" : `${r.error.code}: ${r.error.detail}`);
  assert.equal(r.message.type, "request");
  return r.message as SipRequest;
}
function res(r: ParseResult): SipResponse {
  assert.ok(r.ok, r.ok ? "" : `${r.error.code}: ${r.error.detail}`);
  assert.equal(r.message.type, "response");
  return r.message as SipResponse;
}
function err(r: ParseResult) {
  assert.ok(!r.ok, "expected an error");
  return r.error;
}

test("request essentials", () => {
  const m = req(parseMessage(invite()));
  assert.equal(m.method, "INVITE");
  assert.equal(m.uriText, "sip:svc@127.0.0.1");
  assert.equal(m.uri.host, "127.0.0.1");
  assert.equal(m.version, "SIP/2.0");
  assert.equal(m.callId, "a84b4c76e66710@192.0.2.10");
  assert.deepEqual(m.cseq, { seq: 314159, method: "INVITE" });
  assert.equal(m.from.displayName, "Alice");
  assert.equal(m.fromTag, "1928301774");
  assert.equal(m.toTag, undefined);
  assert.equal(m.maxForwards, 70);
  assert.equal(m.vias.length, 1);
  assert.equal(m.vias[0]!.branch, "z9hG4bK776asdhds");
  assert.equal(m.vias[0]!.rport, null);
  assert.equal(Buffer.from(m.body).toString("latin1"), SDP);
  assert.equal(m.headers.length, INVITE_LINES.length - 1);
  assert.deepEqual(m.headers[2], { name: "to", value: '"Service" <sip:svc@example.net>', raw: 'To: "Service" <sip:svc@example.net>' });
});

test("response essentials, Via order across fields", () => {
  const m = res(parseMessage(response()));
  assert.equal(m.status, 180);
  assert.equal(m.reason, "Ringing");
  assert.equal(m.toTag, "a6c85cf");
  assert.deepEqual(m.vias.map((v) => v.branch), ["z9hG4bKproxy1", "z9hG4bK776asdhds"]);
  assert.equal(m.vias[1]!.rport, 5060);
  assert.equal(m.body.length, 0);
});

test("compact forms and case-insensitive names", () => {
  const m = req(parseMessage(sipBytes([
    "OPTIONS sip:svc@127.0.0.1 SIP/2.0",
    "v: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1",
    "MAX-FORWARDS: 10",
    "t: <sip:svc@example.net>",
    "F: <sip:alice@example.com>;tag=9",
    "i: compact@192.0.2.10",
    "cSeQ: 2 OPTIONS",
    "k: path, gruu",
    "l: 0",
  ])));
  assert.equal(m.callId, "compact@192.0.2.10");
  assert.equal(m.fromTag, "9");
  assert.equal(m.maxForwards, 10);
  assert.deepEqual(m.headers.map((h) => h.name), ["via", "max-forwards", "to", "from", "call-id", "cseq", "supported", "content-length"]);
  assert.equal(getHeader(m, "Supported"), "path, gruu");
  assert.equal(getHeader(m, "k"), "path, gruu");
  assert.deepEqual(getHeaderValues(m, "supported"), ["path", "gruu"]);
  assert.equal(getHeader(m, "Subject"), undefined);
});

test("line folding is unfolded into value, raw keeps the wire text", () => {
  const m = req(parseMessage(sipBytes([
    "OPTIONS sip:svc@127.0.0.1 SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.10",
    " ;branch=z9hG4bK1",
    "Max-Forwards: 70",
    "To: <sip:svc@example.net>",
    "From: <sip:alice@example.com>",
    "\t;tag=77",
    "Call-ID: fold@192.0.2.10",
    "CSeq: 5",
    "   OPTIONS",
    "Subject: I know you're there,",
    "         pick up the phone   ",
    "         and talk to me!",
    "Content-Length: 0",
  ])));
  assert.equal(getHeader(m, "subject"), "I know you're there, pick up the phone and talk to me!");
  assert.equal(m.headers.find((h) => h.name === "subject")!.raw, "Subject: I know you're there,\r\n         pick up the phone   \r\n         and talk to me!");
  assert.equal(m.fromTag, "77");
  assert.equal(m.vias[0]!.branch, "z9hG4bK1");
  assert.deepEqual(m.cseq, { seq: 5, method: "OPTIONS" });
});

test("multiple Via values in one field and across fields", () => {
  const m = req(parseMessage(inviteWith((l) =>
    l.startsWith("Via:")
      ? "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa, SIP/2.0/TCP [2001:db8::2]:5070;branch=z9hG4bKb\r\nv: SIP/2.0/UDP c.example.com;branch=z9hG4bKc"
      : l)));
  assert.deepEqual(m.vias.map((v) => v.host), ["a.example.com", "[2001:db8::2]", "c.example.com"]);
  assert.equal(m.vias[1]!.port, 5070);
  assert.deepEqual(getHeaderValues(m, "via").length, 3);
  assert.equal(m.vias[1]!.raw, "SIP/2.0/TCP [2001:db8::2]:5070;branch=z9hG4bKb");
});

test("raw bytes survive, UTF-8 display names included (latin1 identity)", () => {
  const lines = [
    "MESSAGE sip:svc@127.0.0.1 SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKu",
    "Max-Forwards: 70",
    'From: "Zoë Ångström 日本" <sip:zoe@example.com>;tag=1',
    "To: Renée à <sip:svc@example.net>",
    "Call-ID: utf8@192.0.2.10",
    "CSeq: 1 MESSAGE",
    "X-Odd:    spaced\t value\t ",
    "Content-Length: 0",
  ];
  const wire = Buffer.concat([Buffer.from(lines.join("\r\n"), "utf8"), Buffer.from("\r\n\r\n")]);
  const m = req(parseMessage(wire));
  assert.equal(Buffer.from(m.from.displayName!, "latin1").toString("utf8"), "Zoë Ångström 日本");
  assert.equal(Buffer.from(m.to.displayName!, "latin1").toString("utf8"), "Renée à", "0xA0 byte of 'à' not trimmed");
  const rebuilt = Buffer.from(m.headers.map((h) => h.raw).join("\r\n"), "latin1");
  assert.ok(wire.includes(rebuilt), "raw fields are the exact wire bytes");
  assert.equal(getHeader(m, "x-odd"), "spaced\t value");
});

test("Content-Length framing: truncation of extra bytes, mismatch, absence", () => {
  const extra = Buffer.concat([invite(), Buffer.from("TRAILING JUNK")]);
  assert.equal(Buffer.from(req(parseMessage(extra)).body).toString("latin1"), SDP, "§18.3 extra bytes discarded");

  const short = invite().subarray(0, invite().length - 5);
  const e = err(parseMessage(short));
  assert.equal(e.code, "body-length-mismatch");
  assert.equal(e.reply?.status, 400);
  assert.equal(e.reply?.reason, "Content-Length Mismatch");

  const noCl = inviteWith((l) => (l.startsWith("Content-Length") ? undefined : l));
  assert.equal(Buffer.from(req(parseMessage(noCl)).body).toString("latin1"), SDP, "datagram: body is the rest");
  const se = err(parseMessage(noCl, { stream: true }));
  assert.equal(se.code, "missing-header");
  assert.equal(se.detail, "Missing Content-Length");

  for (const bad of ["-1", "abc", "1 2", "99999999999999999999", "+5", ""]) {
    const r = err(parseMessage(inviteWith((l) => (l.startsWith("Content-Length") ? `Content-Length: ${bad}` : l))));
    assert.equal(r.code, "bad-content-length", bad);
  }
});

test("body is a view of the input (no copy)", () => {
  const data = invite();
  const m = req(parseMessage(data));
  assert.equal(m.body.buffer, data.buffer);
  const u8 = new Uint8Array(data);
  assert.equal(Buffer.from(req(parseMessage(u8)).body).toString("latin1"), SDP, "plain Uint8Array accepted");
});

test("leading CRLFs skipped, bare LF accepted, missing final empty line tolerated on datagrams", () => {
  req(parseMessage(Buffer.concat([Buffer.from("\r\n\r\n"), invite()])));
  const lfBody = SDP.replaceAll("\r\n", "\n");
  const lf = Buffer.from(`${INVITE_LINES.join("\n").replace("{CL}", String(lfBody.length))}\n\n${lfBody}`, "latin1");
  const m = req(parseMessage(lf));
  assert.equal(Buffer.from(m.body).toString("latin1"), lfBody);
  assert.equal(m.headers[0]!.raw, INVITE_LINES[1]);
  const noEmpty = Buffer.from(INVITE_LINES.join("\r\n").replace("{CL}", "0") + "\r\n");
  assert.equal(req(parseMessage(noEmpty)).body.length, 0);
  assert.equal(err(parseMessage(noEmpty, { stream: true })).code, "no-header-end");
});

test("start line errors and their statuses", () => {
  const withStart = (s: string) => inviteWith((l) => (l.startsWith("INVITE ") ? s : l));
  const cases: [string, string, number | undefined][] = [
    ["INVITE sip:svc@127.0.0.1 SIP/3.0", "bad-version", 505],
    ["INVITE sip:svc@127.0.0.1 SIP/2.0 ", "bad-start-line", 400],
    ["INVITE  sip:svc@127.0.0.1 SIP/2.0", "bad-start-line", 400],
    ["INVITE sip:svc@127.0.0.1", "bad-start-line", 400],
    ["INVITE urn:service:sos SIP/2.0", "unsupported-uri-scheme", 416],
    ["INVITE http://example.com SIP/2.0", "unsupported-uri-scheme", 416],
    ["INVITE <sip:svc@127.0.0.1> SIP/2.0", "bad-request-uri", 400],
    ["INVITE sip:svc@127.0.0.1?X=y SIP/2.0", "bad-request-uri", 400],
    ["INV:ITE sip:svc@127.0.0.1 SIP/2.0", "bad-start-line", undefined],
    ["hello", "bad-start-line", undefined],
  ];
  for (const [line, code, status] of cases) {
    const e = err(parseMessage(withStart(line)));
    assert.equal(e.code, code, line);
    assert.equal(e.reply?.status, status, line);
  }
});

test("status line checks", () => {
  const withStart = (s: string) => sipBytes([s, ...["Via: SIP/2.0/UDP h;branch=z9hG4bK1", "To: <sip:a@b>;tag=1", "From: <sip:c@d>;tag=2", "Call-ID: x", "CSeq: 1 INVITE", "Content-Length: 0"]]);
  assert.equal(res(parseMessage(withStart("SIP/2.0 200 OK"))).status, 200);
  assert.equal(res(parseMessage(withStart("SIP/2.0 699 "))).reason, "");
  assert.equal(res(parseMessage(withStart("sip/2.0 200 OK"))).version, "SIP/2.0");
  for (const [line, code] of [
    ["SIP/2.0 700 Nope", "bad-status"],
    ["SIP/2.0 099 Nope", "bad-status"],
    ["SIP/2.0 20 OK", "bad-status"],
    ["SIP/2.0 2000 OK", "bad-status"],
    ["SIP/2.0 200OK", "bad-status"],
    ["SIP/1.0 200 OK", "bad-version"],
    ["HTTP/1.1 200 OK", "bad-start-line"],
  ] as const) {
    const e = err(parseMessage(withStart(line)));
    assert.equal(e.code, code, line);
    assert.equal(e.reply, undefined, "responses are never answered");
  }
});

test("missing, duplicate and malformed essentials", () => {
  const drop = (name: string) => inviteWith((l) => (l.startsWith(name) ? undefined : l));
  const e1 = err(parseMessage(drop("Call-ID")));
  assert.deepEqual([e1.code, e1.detail, e1.reply?.status, e1.reply?.reason], ["missing-header", "Missing Call-ID", 400, "Missing Call-ID"]);
  assert.equal(err(parseMessage(drop("Via"))).reply, undefined, "no Via: nowhere to answer");
  assert.equal(err(parseMessage(drop("CSeq"))).reply, undefined, "no CSeq: unmatchable answer");
  assert.equal(err(parseMessage(drop("To"))).detail, "Missing To");
  assert.equal(req(parseMessage(drop("Max-Forwards"))).maxForwards, undefined, "Max-Forwards optional to parse");

  const add = (extra: string) => inviteWith((l) => (l.startsWith("Contact") ? `${l}\r\n${extra}` : l));
  assert.equal(err(parseMessage(add("Call-ID: other@x"))).detail, "Duplicate Call-ID");
  assert.equal(err(parseMessage(add("CSeq: 2 INVITE"))).detail, "Duplicate CSeq");
  assert.equal(err(parseMessage(add("l: 7"))).detail, "Duplicate Content-Length");
  assert.equal(err(parseMessage(add("t: <sip:other@example.org>"))).detail, "Duplicate To");
  req(parseMessage(add("i: a84b4c76e66710@192.0.2.10")));

  const set = (prefix: string, line: string) => inviteWith((l) => (l.startsWith(prefix) ? line : l));
  const checks: [string, string, string, string][] = [
    ["CSeq", "CSeq: 4294967296 INVITE", "bad-cseq", "Bad CSeq"],
    ["CSeq", "CSeq: 1", "bad-cseq", "Bad CSeq"],
    ["CSeq", "CSeq: 1 INV ITE", "bad-cseq", "Bad CSeq"],
    ["CSeq", "CSeq: 1 invite", "cseq-method-mismatch", "CSeq Method Mismatch"],
    ["Max-Forwards", "Max-Forwards: 256", "bad-header", "Bad Max-Forwards"],
    ["Max-Forwards", "Max-Forwards: -1", "bad-header", "Bad Max-Forwards"],
    ["Via", "Via: SIP/2.0/UDP", "bad-via", "Bad Via"],
    ["Via", "Via: ,", "bad-via", "Bad Via"],
    ["From", "From: <sip:alice@example.com", "bad-header", "Bad From"],
    ["To", 'To: "open <sip:svc@example.net>', "bad-header", "Bad To"],
    ["Call-ID", "Call-ID: has space", "bad-header", "Bad Call-ID"],
    ["Contact", "Contact <sip:x@y>", "bad-header", "Bad Header Line"],
    ["Via", " folded-first: x", "bad-header", "Bad Header Folding"],
  ];
  for (const [prefix, line, code, detail] of checks) {
    const e = err(parseMessage(set(prefix, line)));
    assert.deepEqual([e.code, e.detail], [code, detail], line);
  }
  assert.deepEqual(req(parseMessage(set("CSeq", "CSeq: 4294967295 INVITE"))).cseq.seq, 4294967295);
  assert.equal(req(parseMessage(set("Max-Forwards", "Max-Forwards: 0"))).maxForwards, 0);
});

test("reply carries the fields to copy, none for ACK", () => {
  const e = err(parseMessage(inviteWith((l) => (l.startsWith("Max-Forwards") ? "Max-Forwards: x" : l))));
  assert.deepEqual(e.reply?.headers.map((h) => h.name), ["via", "from", "to", "call-id", "cseq"]);
  assert.equal(e.reply?.headers[0]!.raw, INVITE_LINES[1]);
  const ack = inviteWith((l) => (l.startsWith("INVITE") ? "ACK sip:svc@127.0.0.1 SIP/2.0" : l.startsWith("CSeq") ? "CSeq: 314159 ACK" : l.startsWith("Max-Forwards") ? "Max-Forwards: 300" : l));
  assert.equal(err(parseMessage(ack)).reply, undefined);
});

test("size limit: 513 with a reply for requests", () => {
  const big = inviteWith((l) => l, "x".repeat(70000));
  const e = err(parseMessage(big));
  assert.equal(e.code, "too-large");
  assert.equal(e.reply?.status, 513);
  assert.equal(e.reply?.reason, "Message Too Large");
  assert.ok(req(parseMessage(big, { maxSize: 100000 })));
  assert.equal(err(parseMessage(invite(), { maxSize: 100 })).code, "too-large");
  const noEnd = Buffer.alloc(70000, 0x41);
  assert.equal(err(parseMessage(noEnd)).code, "too-large");
});

test("garbage and empty input", () => {
  assert.equal(err(parseMessage(new Uint8Array(0))).code, "empty");
  assert.equal(err(parseMessage(Buffer.from("\r\n\r\n"))).code, "empty");
  assert.equal(err(parseMessage(Buffer.from([0, 1, 2, 3, 255]))).code, "no-header-end");
  assert.equal(err(parseMessage(Buffer.from("\x00\x01\r\n\r\n", "latin1"))).reply, undefined);
});

test("bare CR inside a header line is rejected", () => {
  const e = err(parseMessage(inviteWith((l) => (l.startsWith("Contact") ? "Subject: a\rInjected: b" : l))));
  assert.deepEqual([e.code, e.reply?.status], ["bad-header", 400]);
});
