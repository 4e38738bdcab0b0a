import { test } from "node:test";
import assert from "node:assert/strict";
import { header } from "../sip/serialize.ts";
import { buildAck, buildCancel, type SentInvite } from "./hop-requests.ts";

const invite: SentInvite = {
  uriText: "sip:bob@10.0.0.5",
  cseq: 7,
  headers: [
    header("via", "SIP/2.0/UDP gw:5060;branch=z9hG4bKsbours"),
    header("record-route", "<sip:gw;lr>"),
    header("via", "SIP/2.0/UDP alice:5060;branch=z9hG4bKtheirs"),
    header("route", "<sip:next;lr>"),
    header("from", "<sip:alice@x>;tag=a1"),
    header("to", "<sip:bob@x>"),
    header("call-id", "c1"),
    header("cseq", "7 INVITE"),
    header("content-type", "application/sdp"),
  ],
};

test("the hop-by-hop ACK copies our Via only, the Route set, and the To of the response (§17.1.1.3)", () => {
  const ack = buildAck(invite, header("to", "<sip:bob@x>;tag=b9"));
  assert.equal(ack.startLine, "ACK sip:bob@10.0.0.5 SIP/2.0");
  assert.deepEqual(
    ack.headers.map((h) => [h.name, h.value]),
    [
      ["via", "SIP/2.0/UDP gw:5060;branch=z9hG4bKsbours"],
      ["route", "<sip:next;lr>"],
      ["from", "<sip:alice@x>;tag=a1"],
      ["to", "<sip:bob@x>;tag=b9"],
      ["call-id", "c1"],
      ["cseq", "7 ACK"],
      ["max-forwards", "70"],
    ],
  );
});

test("CANCEL keeps the request's To and the same branch (§9.1)", () => {
  const cancel = buildCancel(invite);
  assert.equal(cancel.startLine, "CANCEL sip:bob@10.0.0.5 SIP/2.0");
  const to = cancel.headers.find((h) => h.name === "to");
  assert.equal(to?.value, "<sip:bob@x>");
  assert.equal(cancel.headers.filter((h) => h.name === "via").length, 1);
  assert.equal(cancel.headers.find((h) => h.name === "cseq")?.value, "7 CANCEL");
});
