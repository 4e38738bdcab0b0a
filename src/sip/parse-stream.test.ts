import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { SipStreamParser, type StreamFrame } from "./parse-stream.ts";
import { parseMessage } from "./parse.ts";
import { invite, inviteWith, response, sipBytes } from "./test-messages.ts";

const PING = Buffer.from("\r\n\r\n");
const PONG = Buffer.from("\r\n");
const types = (frames: StreamFrame[]) => frames.map((f) => f.type);
const messages = (frames: StreamFrame[]) =>
  frames.flatMap((f) => (f.type === "message" ? [Buffer.from(f.data).toString("latin1")] : []));

function feed(p: SipStreamParser, chunks: Uint8Array[]): StreamFrame[] {
  return chunks.flatMap((c) => p.push(c));
}

test("one message in one chunk is handed out without copying", () => {
  const p = new SipStreamParser();
  const data = invite();
  const frames = p.push(data);
  assert.deepEqual(types(frames), ["message"]);
  const f = frames[0]!;
  assert.ok(f.type === "message");
  assert.equal(f.data.buffer, data.buffer);
  assert.equal(f.data.length, data.length);
  assert.equal(p.buffered, 0);
  const r = parseMessage(f.data, { stream: true });
  assert.ok(r.ok);
});

test("several messages and keep-alives in one chunk", () => {
  const p = new SipStreamParser();
  const frames = p.push(Buffer.concat([PING, invite(), PONG, response(), PING, invite()]));
  assert.deepEqual(types(frames), ["ping", "message", "pong", "message", "ping", "message"]);
  assert.deepEqual(messages(frames), [invite(), response(), invite()].map((b) => b.toString("latin1")));
});

test("split at every byte position, including inside CRLFCRLF", () => {
  const stream = Buffer.concat([invite(), response()]);
  for (let i = 1; i < stream.length; i++) {
    const p = new SipStreamParser();
    const frames = feed(p, [stream.subarray(0, i), stream.subarray(i)]);
    assert.deepEqual(messages(frames), [invite().toString("latin1"), response().toString("latin1")], `split at ${i}`);
    assert.equal(p.buffered, 0);
  }
});

test("byte-by-byte feeding", () => {
  const p = new SipStreamParser();
  const stream = Buffer.concat([invite(), PING, response()]);
  const frames = feed(p, [...stream].map((b) => Uint8Array.of(b)));
  assert.deepEqual(types(frames), ["message", "pong", "ping", "message"], "a ping split in halves reads as pong then ping");
  assert.deepEqual(messages(frames), [invite().toString("latin1"), response().toString("latin1")]);
});

test("keep-alive pushes on their own", () => {
  let p = new SipStreamParser();
  assert.deepEqual(types(p.push(PING)), ["ping"]);
  assert.deepEqual(types(p.push(PONG)), ["pong"]);
  assert.deepEqual(types(p.push(PONG)), ["ping"], "a CRLF right after a lone pong completes a ping split in two");
  p = new SipStreamParser();
  assert.deepEqual(types(p.push(Buffer.from("\r\n\r"))), [], "CRLF CR: undecided");
  assert.equal(p.buffered, 3);
  assert.deepEqual(types(p.push(Buffer.from("\n"))), ["ping"]);
  assert.deepEqual(types(p.push(Buffer.from("\r"))), []);
  assert.deepEqual(types(p.push(Buffer.from("\n\r\n"))), ["ping"]);
  assert.deepEqual(types(p.push(Buffer.from("\r\n\r\n\r\n"))), ["ping", "pong"]);
  assert.equal(p.buffered, 0);
});

test("bare LF line ends frame like CRLF", () => {
  const lf = Buffer.from(invite().toString("latin1").replace(/\r\n/g, (m, off: number, s: string) => (off < s.indexOf("\r\n\r\n") + 2 ? "\n" : m)), "latin1");
  const p = new SipStreamParser();
  const frames = feed(p, [lf.subarray(0, 50), lf.subarray(50)]);
  assert.deepEqual(messages(frames), [lf.toString("latin1")]);
});

test("folded and compact Content-Length", () => {
  const body = "hello";
  const a = sipBytes(["MESSAGE sip:a@127.0.0.1 SIP/2.0", "l: {CL}"], body);
  const b = sipBytes(["MESSAGE sip:a@127.0.0.1 SIP/2.0", "CONTENT-LENGTH :", "  {CL}"], body);
  const p = new SipStreamParser();
  assert.deepEqual(messages(p.push(Buffer.concat([a, b]))), [a.toString("latin1"), b.toString("latin1")]);
});

test("framing errors stop the parser", () => {
  const cases: [Buffer, string][] = [
    [inviteWith((l) => (l.startsWith("Content-Length") ? undefined : l)), "missing-header"],
    [inviteWith((l) => (l.startsWith("Content-Length") ? "Content-Length: -3" : l)), "bad-content-length"],
    [inviteWith((l) => (l.startsWith("Content-Length") ? "Content-Length: 3\r\nl: 4" : l)), "duplicate-header"],
    [inviteWith((l) => (l.startsWith("Content-Length") ? "Content-Length: 999999" : l)), "too-large"],
  ];
  for (const [data, code] of cases) {
    const p = new SipStreamParser();
    const frames = p.push(data);
    assert.equal(frames.length, 1);
    const f = frames[0]!;
    assert.ok(f.type === "error");
    assert.equal(f.error.code, code);
    assert.deepEqual(p.push(invite()), [], "dead after an error");
    assert.equal(p.buffered, 0);
  }
  const p = new SipStreamParser({ maxMessageSize: 1000 });
  let out: StreamFrame[] = [];
  for (let i = 0; i < 20 && out.length === 0; i++) out = p.push(Buffer.from(`X-Header-${i}: ${"v".repeat(100)}\r\n`));
  assert.deepEqual(types(out), ["error"], "header section over the limit without an end");
});

test("partial message is buffered; duplicate identical Content-Length accepted", () => {
  const p = new SipStreamParser();
  const data = inviteWith((l) => (l.startsWith("Content-Length") ? `${l}\r\nl: {CL}` : l));
  assert.deepEqual(p.push(data.subarray(0, 100)), []);
  assert.equal(p.buffered, 100);
  assert.deepEqual(types(p.push(data.subarray(100))), ["message"]);
});

test("large message fed in tiny chunks stays linear", () => {
  const big = inviteWith((l) => l, "a".repeat(60000));
  const p = new SipStreamParser();
  const started = process.hrtime.bigint();
  let frames: StreamFrame[] = [];
  for (let i = 0; i < big.length; i += 7) frames = frames.concat(p.push(big.subarray(i, i + 7)));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.deepEqual(messages(frames), [big.toString("latin1")]);
  assert.ok(ms < 1500, `took ${ms} ms`);
});

test("property: any chunking yields the same messages and pings", () => {
  const pool = [invite(), response(), sipBytes(["OPTIONS sip:a@127.0.0.1 SIP/2.0", "Content-Length: 0"])];
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constantFrom(0, 1, 2), fc.constant("ping" as const)), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 30 }),
      (items, sizes) => {
        const parts = items.map((i) => (i === "ping" ? PING : pool[i]!));
        const stream = Buffer.concat(parts);
        const chunks: Buffer[] = [];
        let off = 0;
        for (let k = 0; off < stream.length; k++) {
          const n = sizes[k % sizes.length]!;
          chunks.push(stream.subarray(off, off + n));
          off += n;
        }
        const p = new SipStreamParser();
        const frames = feed(p, chunks);
        const expected = items.flatMap((i) => (i === "ping" ? [] : [pool[i]!.toString("latin1")]));
        assert.deepEqual(messages(frames), expected);
        assert.equal(frames.filter((f) => f.type === "ping").length, items.filter((i) => i === "ping").length);
        assert.ok(!frames.some((f) => f.type === "error"));
        assert.equal(p.buffered, 0);
      },
    ),
    { numRuns: 300 },
  );
});

test("property: arbitrary bytes never throw", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }), (chunks) => {
      const p = new SipStreamParser({ maxMessageSize: 2000 });
      for (const c of chunks) {
        for (const f of p.push(c)) if (f.type === "message") parseMessage(f.data, { stream: true });
      }
    }),
    { numRuns: 500 },
  );
});
