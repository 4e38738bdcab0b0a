import { test } from "node:test";
import assert from "node:assert/strict";
import { parseVia } from "./via.ts";

test("typical Via with branch, rport and received", () => {
  const v = parseVia("SIP/2.0/UDP pc33.example.com:5066;branch=z9hG4bK776asdhds;rport=5070;received=192.0.2.1");
  assert.ok(v);
  assert.equal(v.protocol, "SIP/2.0");
  assert.equal(v.transport, "UDP");
  assert.equal(v.host, "pc33.example.com");
  assert.equal(v.port, 5066);
  assert.equal(v.branch, "z9hG4bK776asdhds");
  assert.equal(v.rport, 5070);
  assert.equal(v.received, "192.0.2.1");
  assert.equal(v.raw, "SIP/2.0/UDP pc33.example.com:5066;branch=z9hG4bK776asdhds;rport=5070;received=192.0.2.1");
});

test("rport without value is null, absent is undefined (RFC 3581)", () => {
  assert.equal(parseVia("SIP/2.0/UDP h;rport;branch=z9hG4bK1")?.rport, null);
  assert.equal(parseVia("SIP/2.0/UDP h;branch=z9hG4bK1")?.rport, undefined);
  assert.equal(parseVia("SIP/2.0/UDP h;rport=x"), undefined);
  assert.equal(parseVia("SIP/2.0/UDP h;rport=70000"), undefined);
});

test("whitespace around '/', ':' and parameters (RFC 4475 §3.1.1.1)", () => {
  const v = parseVia("  SIP  /   2.0 /tcp   spindle.example.com : 5070  ;  branch  =   z9hG4bK9ikj8 ; ttl=3 ");
  assert.ok(v);
  assert.equal(v.transport, "TCP", "transport upper-cased");
  assert.equal(v.host, "spindle.example.com");
  assert.equal(v.port, 5070);
  assert.equal(v.branch, "z9hG4bK9ikj8");
  assert.equal(v.params.get("ttl"), "3");
});

test("IPv6 sent-by and received (RFC 5118 §4.5)", () => {
  const v = parseVia("SIP/2.0/UDP [2001:db8::9:1]:5060;received=[2001:db8::9:255];branch=z9hG4bKas3");
  assert.equal(v?.host, "[2001:db8::9:1]");
  assert.equal(v?.port, 5060);
  assert.equal(v?.received, "[2001:db8::9:255]");
  assert.equal(parseVia("SIP/2.0/UDP 192.0.2.1;received=2001:db8::9:255")?.received, "2001:db8::9:255");
  assert.equal(parseVia("SIP/2.0/UDP 2001:db8::9:1;branch=z9hG4bK1"), undefined, "unbracketed IPv6 sent-by");
});

test("unknown transports and extension parameters", () => {
  assert.equal(parseVia("SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en")?.transport, "UNKNOWN");
  assert.equal(parseVia('SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKnashds7;x="a;b"')?.params.get("x"), "a;b");
});

test("malformed Via values", () => {
  for (const bad of [
    "",
    "SIP/2.0/UDP",
    "SIP/2.0 UDP host",
    "SIP/2.0/UDP",
    "SIP//UDP host",
    "SIP/2.0/UDPhost",
    "SIP/2.0/UDP host:port",
    "SIP/2.0/UDP host;;",
    "SIP/2.0/UDP 192.0.2.15;;",
    "SIP/2.0/UDP host;branch=",
    "SIP/2.0/UDP host extra",
    "SIP/2.0/UDP [2001:db8::1",
    "SIP/2.0/UDP host;ttl=256",
  ]) {
    assert.equal(parseVia(bad), undefined, bad);
  }
});
