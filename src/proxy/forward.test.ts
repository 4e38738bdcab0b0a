import { test } from "node:test";
import assert from "node:assert/strict";
import type { HeaderField } from "../sip/message.ts";
import { header } from "../sip/serialize.ts";
import { forwardHeaders, stripTopVia } from "./forward.ts";

const raw = (name: string, text: string): HeaderField => ({ name, value: text.slice(text.indexOf(":") + 1).trim(), raw: text });

const received: HeaderField[] = [
  raw("via", "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa"),
  raw("max-forwards", "Max-Forwards: 70"),
  raw("route", "Route: <sip:gw;lr;d=1>, <sip:other;lr>"),
  raw("x-custom", "X-Custom:   keep   exactly  "),
  raw("call-id", "i: abc"),
];

test("forwarding puts our Via on top, adds Record-Route, decrements Max-Forwards and pops our Route", () => {
  const out = forwardHeaders(received, { via: "SIP/2.0/UDP gw:5060;branch=z9hG4bKsbx", recordRoute: ["<sip:gw;lr>"], popRoutes: 1, maxForwards: 70 });
  assert.deepEqual(
    out.map((h) => [h.name, h.value]),
    [
      ["via", "SIP/2.0/UDP gw:5060;branch=z9hG4bKsbx"],
      ["record-route", "<sip:gw;lr>"],
      ["via", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa"],
      ["max-forwards", "69"],
      ["route", "<sip:other;lr>"],
      ["x-custom", "keep   exactly"],
      ["call-id", "abc"],
    ],
  );
  // fields we do not own are the very same objects: relayed byte for byte
  assert.equal(out[5], received[3]);
  assert.equal(out[6], received[4]);
});

test("a missing Max-Forwards becomes 70 (§16.6 step 3); routes split across fields pop in order", () => {
  const headers = [raw("route", "Route: <sip:a;lr>"), raw("route", "Route: <sip:b;lr>, <sip:c;lr>")];
  const out = forwardHeaders(headers, { via: "v", popRoutes: 2, maxForwards: undefined });
  assert.deepEqual(out.map((h) => [h.name, h.value]), [["via", "v"], ["max-forwards", "70"], ["route", "<sip:c;lr>"]]);
});

test("stripTopVia removes only the first Via value, also inside a multi-value field", () => {
  const headers = [raw("via", "Via: SIP/2.0/UDP gw;branch=z9hG4bK1, SIP/2.0/UDP ua;branch=z9hG4bK2"), header("to", "<sip:b@x>")];
  assert.deepEqual(stripTopVia(headers).map((h) => [h.name, h.value]), [["via", "SIP/2.0/UDP ua;branch=z9hG4bK2"], ["to", "<sip:b@x>"]]);
  assert.deepEqual(stripTopVia([raw("via", "Via: SIP/2.0/UDP gw;branch=z9hG4bK1"), raw("via", "Via: SIP/2.0/UDP ua")]).map((h) => h.value), ["SIP/2.0/UDP ua"]);
});
