/**
 * Robustness properties (RFC 4475 §1: "parsers must not break"): parseMessage never throws and never reaches its
 * internal safety net, on arbitrary bytes or on mutations of valid messages; and whatever parses re-serialises to
 * something that parses to the same essentials.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { parseMessage, type ParseResult } from "./parse.ts";
import { serializeMessage } from "./serialize.ts";
import { invite, response } from "./test-messages.ts";

function check(r: ParseResult): void {
  if (!r.ok) {
    assert.notEqual(r.error.code, "parser-failure");
    assert.match(r.error.detail, /^[\x20-\x7e]+$/);
    return;
  }
  const m = r.message;
  const start = m.type === "request" ? `${m.method} ${m.uriText} ${m.version}` : `${m.version} ${m.status} ${m.reason}`;
  const again = parseMessage(serializeMessage(start, m.headers, m.body), { stream: true, maxSize: 1 << 20 });
  assert.ok(again.ok, again.ok ? "" : `re-parse failed: ${again.error.code}`);
  assert.equal(again.message.callId, m.callId);
  assert.deepEqual(again.message.cseq, m.cseq);
  assert.deepEqual(again.message.vias.map((v) => v.raw), m.vias.map((v) => v.raw));
  assert.deepEqual(Buffer.from(again.message.body), Buffer.from(m.body));
}

const dir = fileURLToPath(new URL("./torture/", import.meta.url));
const seeds = [
  invite(),
  response(),
  ...readdirSync(dir).filter((f) => f.endsWith(".sip") && f !== "too-large.sip").map((f) => readFileSync(dir + f)),
];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.constantFrom(..."\r\n|\n| |\t|:|;|,|\"|<|>|@|[|]|\\|\r\n\r\n|\r\n |%|=".split("|")).map((s) => Buffer.from(s)),
  }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
);

interface Mutation {
  kind: "flip" | "insert" | "delete" | "truncate";
  at: number;
  byte?: number;
  bytes?: Uint8Array;
  len?: number;
}

function mutate(base: Buffer, ms: readonly Mutation[]): Buffer {
  let b = Buffer.from(base);
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    if (m.kind === "flip" && at < b.length) b[at] = m.byte!;
    else if (m.kind === "insert") b = Buffer.concat([b.subarray(0, at), m.bytes!, b.subarray(at)]);
    else if (m.kind === "delete") b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len!)]);
    else if (m.kind === "truncate") b = b.subarray(0, at);
  }
  return b;
}

test("never throws on arbitrary bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), fc.boolean(), (bytes, stream) => {
      check(parseMessage(bytes, { stream }));
    }),
    { numRuns: 2000 },
  );
});

test("never throws on SIP-shaped text", () => {
  const piece = fc.constantFrom(
    "INVITE", "SIP/2.0", " ", "\r\n", "\n", ":", ";", ",", "sip:", "tel:", "@", "[", "]", "::", "<", ">", "\"", "\\",
    "Via", "v", "From", "To", "Call-ID", "CSeq", "l", "Content-Length", "Max-Forwards", "tag=", "branch=", "1", "65536",
    "z9hG4bK", "127.0.0.1", "2001:db8::1", "%", "%41", "\t", "\r\n ", "\r\n\r\n", "SIP/2.0/UDP", "200", "OK",
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 120 }), (parts) => {
      check(parseMessage(Buffer.from(parts.join(""), "latin1")));
    }),
    { numRuns: 3000 },
  );
});

test("never throws on mutated valid messages; what parses re-serialises consistently", () => {
  fc.assert(
    fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.boolean(), (seed, ms, stream) => {
      check(parseMessage(mutate(seed, ms), { stream }));
    }),
    { numRuns: 4000 },
  );
});

test("every valid seed passes the consistency check unmutated", () => {
  for (const s of seeds) check(parseMessage(s));
});
