import { test } from "node:test";
import assert from "node:assert/strict";
import { presenceCodec, replyPathCodec, retiredServerCodec, type ReplyPath, type RetiredServer } from "./retired-records.ts";

const paths: ReplyPath[] = [
  { transport: "udp", host: "192.0.2.7", port: 5060 },
  { transport: "udp", host: "2001:db8::1", port: 5062 },
  { transport: "tcp", host: "198.51.100.9", port: 40_123 },
  { transport: "tcp", host: "::1", port: 5060, connectionId: 0 },
  { transport: "tcp", host: "203.0.113.5", port: 5061, connectionId: 123_456 },
];

test("reply paths survive their codec: UDP and TCP, IPv6, with and without a connection id", () => {
  for (const p of paths) assert.deepEqual(replyPathCodec.decode(replyPathCodec.encode(p)), p);
});

test("retired server records survive their codec: a To tag, or a reply path with a final holding line breaks", () => {
  const final = Buffer.from("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nTo: \"Zoë\" <sip:z@x>;tag=T|F\r\n\r\n", "utf8").toString("latin1");
  const records: RetiredServer[] = ["as8d7f6", "", "F|T\n", ...paths.map((reply) => ({ reply, final }))];
  for (const r of records) assert.deepEqual(retiredServerCodec.decode(retiredServerCodec.encode(r)), r);
  assert.equal(presenceCodec.decode(presenceCodec.encode(true)), true);
});
