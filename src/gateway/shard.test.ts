import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { IdMint, branchShard, branchLoopHash } from "../proxy/ids.ts";
import { sipBytes, SDP } from "../sip/test-messages.ts";
import { shardOf, shardOfCallId } from "./shard.ts";

const request = (callId: string, callIdLine = `Call-ID: ${callId}`, method = "INVITE") =>
  sipBytes(
    [
      `${method} sip:svc@127.0.0.1 SIP/2.0`,
      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport",
      "Max-Forwards: 70",
      "To: <sip:svc@example.net>",
      "From: <sip:alice@example.com>;tag=1928301774",
      callIdLine,
      `CSeq: 1 ${method}`,
      "Content-Length: {CL}",
    ],
    method === "INVITE" ? SDP : "",
  );

const response = (callId: string, topVia: string) =>
  sipBytes([
    "SIP/2.0 200 OK",
    topVia,
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport",
    "To: <sip:svc@example.net>;tag=abc",
    "From: <sip:alice@example.com>;tag=1928301774",
    `Call-ID: ${callId}`,
    "CSeq: 1 INVITE",
    "Content-Length: 0",
  ]);

test("one shard: everything is shard 0", () => {
  assert.equal(shardOf(request("x@y"), 1), 0);
  assert.equal(shardOf(new Uint8Array([1, 2, 3]), 1), 0);
});

test("every request of a call, in any header spelling, goes to the shard of its Call-ID", () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[A-Za-z0-9.@_-]{1,40}$/), fc.integer({ min: 2, max: 32 }), (callId, shards) => {
      const expected = shardOfCallId(callId, shards);
      assert.ok(expected >= 0 && expected < shards);
      for (const [line, method] of [
        [`Call-ID: ${callId}`, "INVITE"],
        [`call-id:${callId}`, "ACK"],
        [`CALL-ID :   ${callId}  `, "CANCEL"],
        [`i: ${callId}`, "BYE"],
        [`I:${callId}`, "OPTIONS"],
      ] as const) {
        assert.equal(shardOf(request(callId, line, method), shards), expected, `${line} (${method})`);
      }
    }),
  );
});

test("Call-IDs spread over the shards", () => {
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[shardOf(request(`${i}-call@192.0.2.10`), 4)]!++;
  for (const n of counts) assert.ok(n > 800 && n < 1200, `uneven: ${counts.join(", ")}`);
});

test("a response goes to the shard tagged in our top Via branch, whatever its Call-ID", () => {
  for (let shard = 0; shard < 8; shard++) {
    const ids = IdMint.forShard(shard);
    const branch = ids.branch("abc");
    assert.equal(branchShard(branch), shard);
    assert.equal(branchLoopHash(branch), "abc", "the loop part is unchanged by the tag");
    const via = `Via: SIP/2.0/UDP 127.0.0.1:5060;branch=${branch};rport=5060;received=127.0.0.1`;
    for (const callId of ["probe-1", "a", "some-other-call@host"]) assert.equal(shardOf(response(callId, via), 8), shard);
    assert.equal(shardOf(response("z", `v: SIP/2.0/UDP 127.0.0.1;branch=${branch}`), 8), shard, "compact Via");
  }
});

test("a response without a tagged branch of ours falls back to its Call-ID", () => {
  const untagged = new IdMint().branch("abc");
  assert.equal(branchShard(untagged), undefined);
  const foreign = "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKforeign";
  assert.equal(shardOf(response("call-7", foreign), 5), shardOfCallId("call-7", 5));
  // Our tagged branch on a later Via value of the same line is not the top Via.
  const later = `Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx, SIP/2.0/UDP 127.0.0.1;branch=${IdMint.forShard(3).branch("h")}`;
  assert.equal(shardOf(response("call-7", later), 5), shardOfCallId("call-7", 5));
  // A tag naming a shard this gateway does not have (restarted with fewer workers).
  const high = `Via: SIP/2.0/UDP 127.0.0.1;branch=${IdMint.forShard(9).branch("h")}`;
  assert.equal(shardOf(response("call-7", high), 4), shardOfCallId("call-7", 4));
});

test("what cannot be read is handled where it arrived (-1), and never throws", () => {
  assert.equal(shardOf(new Uint8Array(0), 4), -1);
  assert.equal(shardOf(Buffer.from("garbage without lines"), 4), -1);
  assert.equal(shardOf(request("", "Call-ID:   "), 4), -1, "empty Call-ID");
  assert.equal(shardOf(Buffer.from("INVITE sip:a SIP/2.0\r\nVia: x\r\n\r\nCall-ID: in-the-body\r\n"), 4), -1, "Call-ID past the header section");
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 2, max: 32 }), (bytes, shards) => {
      const shard = shardOf(bytes, shards);
      assert.ok(shard >= -1 && shard < shards);
    }),
  );
});

test("shard tags: 0-35, in ids that stay valid tokens and dialog ids", () => {
  assert.throws(() => IdMint.forShard(36), RangeError);
  assert.throws(() => IdMint.forShard(-1), RangeError);
  const id = IdMint.forShard(35).next();
  assert.match(id, /^[A-Za-z0-9_-]{1,64}$/);
});
