import { test } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import fc from "fast-check";
import { RetiredTable, type RetiredCodec } from "./retired.ts";

const text: RetiredCodec<string> = { encode: (v) => v, decode: (t) => t };
const json = <T>(): RetiredCodec<T> => ({ encode: (v) => JSON.stringify(v), decode: (t) => JSON.parse(t) as T });

test("RetiredTable: records live exactly their lifetime, oldest first", () => {
  const t = new RetiredTable(1000, text);
  t.add("a", "A", 0);
  t.add("b", "B", 400);
  assert.equal(t.nextExpiry, 1000);
  assert.equal(t.sweep(999), 0);
  assert.equal(t.get("a"), "A");
  assert.equal(t.sweep(1000), 1);
  assert.equal(t.get("a"), undefined);
  assert.equal(t.get("b"), "B");
  assert.equal(t.nextExpiry, 1400);
  assert.equal(t.sweep(5000), 1);
  assert.equal(t.size, 0);
  assert.equal(t.nextExpiry, undefined);
});

test("RetiredTable: a key added again lives its new lifetime; the older slot does not remove it", () => {
  const t = new RetiredTable(1000, json<{ n: number }>());
  t.add("k", { n: 1 }, 0);
  t.add("k", { n: 2 }, 500);
  assert.equal(t.size, 1);
  assert.equal(t.sweep(1000), 0, "the first slot expired, but the record is the newer one");
  assert.deepEqual(t.get("k"), { n: 2 });
  assert.equal(t.sweep(1500), 1);
  assert.equal(t.size, 0);
});

test("RetiredTable: a long run holds only the records still alive, through growth and wrap-around", () => {
  const t = new RetiredTable(100, json<number>());
  for (let i = 0; i < 50_000; i++) {
    t.add(`k${i}`, i, i);
    t.sweep(i);
    assert.ok(t.size <= 101);
  }
  assert.equal(t.size, 100);
  assert.equal(t.get("k49999"), 49_999);
  assert.equal(t.get("k49899"), undefined);
});

test("RetiredTable: bytes follow the records alive: chunks whose records all expired are given back", () => {
  const t = new RetiredTable(1000, text);
  const final = "SIP/2.0 200 OK\r\n".padEnd(500, "x");
  for (let i = 0; i < 20_000; i++) t.add(`k${i}`, final, i);
  const peak = t.bytesHeld;
  assert.ok(peak >= 20_000 * 500, `bytes held at the peak: ${peak}`);
  // Steady state: 1,000 records alive (a lifetime's worth), about 0.5 MB, whatever was held before.
  for (let i = 20_000; i < 200_000; i++) {
    t.add(`k${i}`, final, i);
    t.sweep(i);
  }
  assert.equal(t.size, 1000);
  assert.ok(t.bytesHeld <= 4 * 256 * 1024, `bytes held at steady state: ${t.bytesHeld}`);
  assert.equal(t.get("k199999"), final);
  assert.equal(t.sweep(1e9), 1000);
  assert.ok(t.bytesHeld <= 256 * 1024);
  // A record larger than a chunk gets a chunk of its own.
  const huge = "y".repeat(300 * 1024);
  t.add("huge", huge, 0);
  assert.equal(t.get("huge"), huge);
});

test("RetiredTable: keys and values are bytes, latin1 round trip (a final's CRLFs and UTF-8 bytes included)", () => {
  const t = new RetiredTable(10, text);
  const final = Buffer.from("SIP/2.0 200 OK\r\nTo: \"Zoë\" <sip:z@x>;tag=9\r\n\r\n", "utf8").toString("latin1");
  t.add("z9hG4bK.é|1.2.3.4:5060|BYE", final, 0);
  t.add("", "empty key", 0);
  t.add("empty value", "", 0);
  assert.equal(t.get("z9hG4bK.é|1.2.3.4:5060|BYE"), final);
  assert.equal(t.get(""), "empty key");
  assert.equal(t.get("empty value"), "");
  assert.equal(t.get("z9hG4bK.e|1.2.3.4:5060|BYE"), undefined);
});

test("RetiredTable behaves like a map with first-in-first-out expiry under any sequence of adds, gets and sweeps", () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant("add" as const), key: fc.integer({ min: 0, max: 40 }), size: fc.integer({ min: 0, max: 3000 }), dt: fc.integer({ min: 0, max: 30 }) }),
    fc.record({ kind: fc.constant("get" as const), key: fc.integer({ min: 0, max: 40 }) }),
    fc.record({ kind: fc.constant("sweep" as const), dt: fc.integer({ min: 0, max: 120 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const lifetime = 100;
      const t = new RetiredTable(lifetime, text);
      const model = new Map<string, { value: string; expiry: number }>();
      let now = 0;
      let serial = 0;
      for (const o of ops) {
        if (o.kind === "add") {
          now += o.dt;
          const key = `key-${o.key}-${"x".repeat(o.key % 7)}`;
          const value = `${serial++}:${"v".repeat(o.size)}`;
          t.add(key, value, now);
          model.set(key, { value, expiry: now + lifetime });
        } else if (o.kind === "get") {
          const key = `key-${o.key}-${"x".repeat(o.key % 7)}`;
          assert.equal(t.get(key), model.get(key)?.value);
        } else {
          now += o.dt;
          let expected = 0;
          for (const [k, r] of model) {
            if (r.expiry <= now) {
              model.delete(k);
              expected++;
            }
          }
          assert.equal(t.sweep(now), expected);
        }
        assert.equal(t.size, model.size);
      }
      for (const [k, r] of model) assert.equal(t.get(k), r.value);
    }),
    { numRuns: 300 },
  );
});

test("RetiredTable: records live outside the JavaScript heap (what the young-generation collector must copy)", () => {
  v8.setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const t = new RetiredTable(1e9, text);
  const final = "SIP/2.0 200 OK\r\n".padEnd(400, "x");
  // Grow the rings to their size first: then only the records' own cost remains.
  for (let i = 0; i < 100_000; i++) t.add(`z9hG4bK-${i}-warm|127.0.0.1:5060|BYE`, final, 0);
  t.sweep(2e9);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 100_000; i++) t.add(`z9hG4bK-${i}-1-0|127.0.0.1:5060|BYE`, final, 0);
  gc();
  const perRecord = (process.memoryUsage().heapUsed - before) / 100_000;
  assert.equal(t.size, 100_000);
  // As JavaScript strings and Map entries these were about 550 bytes each.
  assert.ok(perRecord < 16, `JavaScript heap per record: ${perRecord.toFixed(1)} bytes`);
});
