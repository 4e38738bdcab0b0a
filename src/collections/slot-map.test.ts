import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { SlotMap } from "./slot-map.ts";

test("SlotMap: behaves as a Map for get, set, has, delete, size, and iterates in insertion order", () => {
  const m = new SlotMap<{ n: number }>();
  const a = { n: 1 };
  m.set("a", a).set("b", { n: 2 }).set("c", { n: 3 });
  assert.equal(m.size, 3);
  assert.equal(m.get("a"), a);
  assert.equal(m.has("b"), true);
  assert.equal(m.get("zz"), undefined);
  m.set("b", { n: 20 });
  assert.equal(m.size, 3, "set on a present key replaces the value");
  assert.deepEqual([...m].map(([k, v]) => `${k}=${v.n}`), ["a=1", "b=20", "c=3"]);
  assert.equal(m.delete("b"), true);
  assert.equal(m.delete("b"), false);
  assert.equal(m.has("b"), false);
  assert.deepEqual([...m.keys()], ["a", "c"]);
  assert.deepEqual([...m.values()].map((v) => v.n), [1, 3]);
  m.clear();
  assert.equal(m.size, 0);
  assert.deepEqual([...m.entries()], []);
});

test("SlotMap: deleting while iterating is safe, and churn past the peak keeps every value right", () => {
  const m = new SlotMap<number>();
  for (let i = 0; i < 10; i++) m.set(`k${i}`, i);
  const seen: number[] = [];
  for (const [key, value] of m) {
    seen.push(value);
    m.delete(key);
  }
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(m.size, 0);
  // churn far past the peak: values stay right, and a stale slot never answers for a new key
  for (let round = 0; round < 100; round++) {
    for (let i = 0; i < 10; i++) m.set(`r${round}-${i}`, round * 10 + i);
    for (let i = 0; i < 10; i += 2) m.delete(`r${round}-${i}`);
    for (let i = 1; i < 10; i += 2) assert.equal(m.get(`r${round}-${i}`), round * 10 + i);
    for (let i = 1; i < 10; i += 2) m.delete(`r${round}-${i}`);
    assert.equal(m.get(`r${round}-0`), undefined);
  }
  assert.equal(m.size, 0);
});

test("SlotMap behaves like a Map under any sequence of sets, gets, deletes and iterations", () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant("set" as const), key: fc.integer({ min: 0, max: 60 }), value: fc.integer() }),
    fc.record({ kind: fc.constant("get" as const), key: fc.integer({ min: 0, max: 60 }) }),
    fc.record({ kind: fc.constant("delete" as const), key: fc.integer({ min: 0, max: 60 }) }),
    fc.record({ kind: fc.constant("iterate" as const) }),
    fc.record({ kind: fc.constant("clear" as const) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 500 }), (ops) => {
      const m = new SlotMap<number>();
      const model = new Map<string, number>();
      for (const o of ops) {
        if (o.kind === "iterate") assert.deepEqual([...m], [...model]);
        else if (o.kind === "clear") {
          m.clear();
          model.clear();
        } else {
          const key = `z9hG4bK-${o.key}`;
          if (o.kind === "set") {
            m.set(key, o.value);
            model.set(key, o.value);
          } else if (o.kind === "get") {
            assert.equal(m.get(key), model.get(key));
            assert.equal(m.has(key), model.has(key));
          } else assert.equal(m.delete(key), model.delete(key));
        }
        assert.equal(m.size, model.size);
      }
      assert.deepEqual([...m.keys()], [...model.keys()]);
    }),
    { numRuns: 300 },
  );
});
