import { test } from "node:test";
import assert from "node:assert/strict";
import { runNativesScript } from "../testing/natives-script.ts";

const module = (name: string) => JSON.stringify(new URL(`./${name}`, import.meta.url).href);

// The parser's records carry every field, undefined when absent, so that V8 gives them one map whatever the peer
// sent: code optimised on one peer's messages is not deoptimised by another's (uri.ts, via.ts, name-addr.ts).
test("parsed URIs, Vias and name-addrs have one V8 map whatever fields the text has", () => {
  const r = runNativesScript<Record<string, boolean>>(
    "sip-shape",
    `
      import { parseUri } from ${module("uri.ts")};
      import { parseVia } from ${module("via.ts")};
      import { parseNameAddr } from ${module("name-addr.ts")};
      const sameMap = new Function("a", "b", "return %HaveSameMap(a, b)");
      const all = (xs) => xs.every((x) => x !== undefined && sameMap(x, xs[0]));
      console.log(JSON.stringify({
        uris: all(["sip:example.com", "sip:alice:secret@192.0.2.1:5070;transport=tcp?subject=x", "sips:bob@example.com", "tel:+15551234;phone-context=example.com"].map((t) => parseUri(t))),
        vias: all([
          "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1;rport",
          "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-2",
          "SIP/2.0/TCP host.example.com:5061;branch=z9hG4bK-3;received=192.0.2.9;rport=5070",
          "SIP/2.0/UDP [2001:db8::1]",
        ].map((t) => parseVia(t))),
        nameAddrs: all(["<sip:a@example.com>;tag=1", '"Alice" <sip:alice@example.com>', "sip:b@example.com", "Bob <sip:bob@example.com:5060>"].map((t) => parseNameAddr(t))),
        control: sameMap({ a: 1 }, { a: 1, b: 2 }),
      }));
    `,
  );
  assert.equal(r.control, false, "objects with other fields have other maps (else this test proves nothing)");
  assert.equal(r.uris, true, "URIs with and without user, password, port, parameters, headers");
  assert.equal(r.vias, true, "Vias with and without port, branch, received, rport");
  assert.equal(r.nameAddrs, true, "name-addrs with and without display name");
});
