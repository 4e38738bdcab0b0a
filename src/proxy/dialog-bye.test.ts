import { test } from "node:test";
import assert from "node:assert/strict";
import { dialogByes } from "./dialog-bye.ts";

test("each side gets a BYE as from its peer, with the route set between us and it (§15.1.1, §16.6 step 4)", () => {
  const { toCallee, toCaller } = dialogByes(
    {
      callId: "c1",
      caller: { nameAddr: "<sip:alice@a.example>;tag=A", contact: "sip:alice@192.0.2.1:5062" },
      callee: { nameAddr: "<sip:bob@b.example>;tag=B", contact: "sip:bob@10.0.0.5:5070" },
      // P2 (toward the callee) added last, then us, then P1 (toward the caller)
      recordRoute: ["<sip:p2;lr>", "<sip:us;lr;d=x>", "<sip:p1;lr>"],
      ours: { index: 1, count: 1 },
      callerCseq: 1,
      calleeCseq: 7,
    },
    "SIP/2.0/UDP us;branch=z9hG4bKsb1",
    "SIP/2.0/UDP us;branch=z9hG4bKsb2",
  );
  assert.equal(toCallee.startLine, "BYE sip:bob@10.0.0.5:5070 SIP/2.0");
  const get = (h: typeof toCallee.headers, name: string) => h.find((f) => f.name === name)?.value;
  assert.equal(get(toCallee.headers, "from"), "<sip:alice@a.example>;tag=A");
  assert.equal(get(toCallee.headers, "to"), "<sip:bob@b.example>;tag=B");
  assert.equal(get(toCallee.headers, "cseq"), "2 BYE");
  assert.deepEqual(toCallee.route, ["<sip:p2;lr>"]);
  assert.equal(toCaller.startLine, "BYE sip:alice@192.0.2.1:5062 SIP/2.0");
  assert.equal(get(toCaller.headers, "from"), "<sip:bob@b.example>;tag=B");
  assert.equal(get(toCaller.headers, "to"), "<sip:alice@a.example>;tag=A");
  assert.equal(get(toCaller.headers, "cseq"), "8 BYE");
  assert.deepEqual(toCaller.route, ["<sip:p1;lr>"]);
});

test("no other proxies: no Route headers at all", () => {
  const { toCallee, toCaller } = dialogByes(
    {
      callId: "c1",
      caller: { nameAddr: "<sip:a@x>;tag=A", contact: "sip:a@1.2.3.4" },
      callee: { nameAddr: "<sip:b@x>;tag=B", contact: "sip:b@5.6.7.8" },
      recordRoute: ["<sip:us;transport=tcp;lr>", "<sip:us;transport=udp;lr>"],
      ours: { index: 0, count: 2 },
      callerCseq: 1,
      calleeCseq: 0,
    },
    "v1",
    "v2",
  );
  assert.equal(toCallee.headers.some((h) => h.name === "route"), false);
  assert.equal(toCaller.headers.some((h) => h.name === "route"), false);
});
