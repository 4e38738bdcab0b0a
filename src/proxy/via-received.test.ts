import { test } from "node:test";
import assert from "node:assert/strict";
import { parseVia } from "../sip/via.ts";
import { stampVia } from "./via-received.ts";

function stamp(text: string, address: string, port: number): string | undefined {
  const via = parseVia(text);
  assert.ok(via, text);
  return stampVia(via, address, port);
}

test("rport asked for: filled with the source port and received added even when the host matches (RFC 3581 §4)", () => {
  assert.equal(stamp("SIP/2.0/UDP 10.0.0.1:5062;rport;branch=z9hG4bKx", "10.0.0.1", 40000), "SIP/2.0/UDP 10.0.0.1:5062;rport=40000;branch=z9hG4bKx;received=10.0.0.1");
  assert.equal(stamp("SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx;rport", "192.0.2.9", 1024), "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx;rport=1024;received=192.0.2.9");
});

test("received is added when sent-by differs from the source, and not otherwise (§18.2.1)", () => {
  assert.equal(stamp("SIP/2.0/UDP pc33.example.com;branch=z9hG4bKx", "192.0.2.4", 5060), "SIP/2.0/UDP pc33.example.com;branch=z9hG4bKx;received=192.0.2.4");
  assert.equal(stamp("SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKx", "192.0.2.4", 5060), undefined);
  assert.equal(stamp("SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bKx", "2001:db8::9", 5060), undefined);
});

test("a received the client put there itself is replaced, not duplicated", () => {
  assert.equal(stamp("SIP/2.0/UDP a.example;received=1.1.1.1;branch=z9hG4bKx", "192.0.2.4", 5060), "SIP/2.0/UDP a.example;branch=z9hG4bKx;received=192.0.2.4");
});
