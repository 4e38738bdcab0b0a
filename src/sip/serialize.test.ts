import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { parseMessage } from "./parse.ts";
import { header, serializeMessage, serializeRequest, serializeResponse } from "./serialize.ts";
import type { SipRequest, SipResponse } from "./message.ts";
import { invite, inviteWith, response, sipBytes } from "./test-messages.ts";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const text = (b: Uint8Array) => Buffer.from(b).toString("latin1");

test("serialize(parse(x)) is x for canonical messages", () => {
  const r = parseMessage(invite());
  assert.ok(r.ok);
  assert.deepEqual(Buffer.from(serializeRequest(r.message as SipRequest)), invite());
  const s = parseMessage(response());
  assert.ok(s.ok);
  assert.deepEqual(Buffer.from(serializeResponse(s.message as SipResponse)), response());
});

test("odd but valid spellings survive byte for byte (compact forms, folding, UTF-8, spacing)", () => {
  const wire = Buffer.concat([
    Buffer.from([
      "MESSAGE sip:svc@127.0.0.1 SIP/2.0",
      "v:  SIP / 2.0 / UDP 192.0.2.10 ;branch=z9hG4bKodd",
      "f: \"Zoë\" <sip:z@example.com>;tag=1",
      "t:<sip:svc@example.net>",
      "i: odd@192.0.2.10",
      "CSEQ:    1\r\n  MESSAGE",
      "Subject: folded,\r\n\tcontinued",
      "l: 5",
      "",
      "hello",
    ].join("\r\n"), "utf8"),
  ]);
  const r = parseMessage(wire);
  assert.ok(r.ok);
  assert.deepEqual(Buffer.from(serializeRequest(r.message as SipRequest)), wire);
});

test("torture files that are canonical roundtrip exactly", () => {
  const dir = fileURLToPath(new URL("./torture/", import.meta.url));
  for (const f of ["wsinv.sip", "esc01.sip", "intmeth.sip", "utf8-names.sip", "multi-via-line.sip", "mpart01.sip", "unreason.sip", "noreason.sip"]) {
    const wire = readFileSync(dir + f);
    const r = parseMessage(wire);
    assert.ok(r.ok, f);
    const m = r.message;
    const out = m.type === "request" ? serializeRequest(m) : serializeResponse(m);
    assert.deepEqual(Buffer.from(out), wire, f);
  }
});

test("Content-Length: kept when right, replaced in place when wrong, added when missing, duplicates dropped", () => {
  const body = Buffer.from("abc");
  const right = serializeMessage("OPTIONS sip:a@b SIP/2.0", [{ name: "content-length", value: "3", raw: "l:3" }, header("X-A", "1")], body);
  assert.equal(text(right), "OPTIONS sip:a@b SIP/2.0\r\nl:3\r\nX-A: 1\r\n\r\nabc");
  const wrong = serializeMessage("OPTIONS sip:a@b SIP/2.0", [{ name: "content-length", value: "9", raw: "Content-Length: 9" }, header("X-A", "1")], body);
  assert.equal(text(wrong), "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 3\r\nX-A: 1\r\n\r\nabc");
  const missing = serializeMessage("SIP/2.0 200 OK", [header("x-a", "1")], new Uint8Array(0));
  assert.equal(text(missing), "SIP/2.0 200 OK\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n");
  const dup = serializeMessage("SIP/2.0 200 OK", [header("Content-Length", "0"), header("l", "0")], new Uint8Array(0));
  assert.equal(text(dup), "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n");
});

test("a proxy-style edit: new top Via, decremented Max-Forwards, other fields untouched", () => {
  const r = parseMessage(invite());
  assert.ok(r.ok);
  const m = r.message as SipRequest;
  const headers = [
    header("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKlb1"),
    ...m.headers.map((h) => (h.name === "max-forwards" ? header("Max-Forwards", String(m.maxForwards! - 1)) : h)),
  ];
  const out = text(serializeRequest({ ...m, headers }));
  const expected = invite().toString("latin1")
    .replace("Via:", "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKlb1\r\nVia:")
    .replace("Max-Forwards: 70", "Max-Forwards: 69");
  assert.equal(out, expected);
  const again = parseMessage(Buffer.from(out, "latin1"));
  assert.ok(again.ok);
  assert.equal(again.message.vias.length, 2);
});

test("body change fixes Content-Length", () => {
  const r = parseMessage(inviteWith((l) => l));
  assert.ok(r.ok);
  const out = serializeRequest({ ...(r.message as SipRequest), body: Buffer.from("v=0\r\n") });
  assert.ok(text(out).includes("\r\nContent-Length: 5\r\n\r\nv=0\r\n"));
});

test("header() canonicalises and refuses injection", () => {
  assert.deepEqual(header("Call-ID", "x"), { name: "call-id", value: "x" });
  assert.deepEqual(header("i", "x"), { name: "call-id", value: "x" });
  assert.throws(() => header("X-A", "a\r\nInjected: 1"), TypeError);
  assert.throws(() => header("X A", "a"), TypeError);
  assert.throws(() => header("", "a"), TypeError);
  assert.equal(text(serializeMessage("SIP/2.0 200 OK", [header("i", "x")], new Uint8Array(0))), "SIP/2.0 200 OK\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n");
});

test("binary bodies are copied verbatim", () => {
  const body = Buffer.from([0, 1, 2, 0x0d, 0x0a, 0x0d, 0x0a, 0xff]);
  const wire = sipBytes(["SIP/2.0 200 OK", "Via: SIP/2.0/UDP h;branch=z9hG4bK1", "To: <sip:a@b>;tag=1", "From: <sip:c@d>;tag=2", "Call-ID: x", "CSeq: 1 INFO", "Content-Length: {CL}"], body.toString("latin1"));
  const r = parseMessage(wire);
  assert.ok(r.ok);
  assert.deepEqual(Buffer.from(r.message.body), body);
  assert.deepEqual(Buffer.from(serializeResponse(r.message as SipResponse)), wire);
});
