import { test } from "node:test";
import assert from "node:assert/strict";
import { RetiredTable } from "./retired.ts";

test("RetiredTable: records live exactly their lifetime, oldest first", () => {
  const t = new RetiredTable<string>(1000);
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
  const t = new RetiredTable<object>(1000);
  const first = {};
  const second = {};
  t.add("k", first, 0);
  t.add("k", second, 500);
  assert.equal(t.sweep(1000), 0, "the first slot expired, but the record is the newer one");
  assert.equal(t.get("k"), second);
  assert.equal(t.sweep(1500), 1);
  assert.equal(t.size, 0);
});

test("RetiredTable: a long run holds only the records still alive", () => {
  const t = new RetiredTable<number>(100);
  for (let i = 0; i < 50_000; i++) {
    t.add(`k${i}`, i, i);
    t.sweep(i);
    assert.ok(t.size <= 101);
  }
  assert.equal(t.size, 100);
  assert.equal(t.get("k49999"), 49_999);
  assert.equal(t.get("k49899"), undefined);
});
