import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { roundRobin } from "./round-robin.ts";

test("round robin rotates the candidates so each turn starts one further", () => {
  assert.deepEqual(roundRobin(["a", "b", "c"], 0), ["a", "b", "c"]);
  assert.deepEqual(roundRobin(["a", "b", "c"], 1), ["b", "c", "a"]);
  assert.deepEqual(roundRobin(["a", "b", "c"], 5), ["c", "a", "b"]);
  assert.deepEqual(roundRobin([], 3), []);
});

test("round robin is exactly fair over whole cycles and keeps every candidate for failover", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 1_000_000 }), (n, offset) => {
      const candidates = Array.from({ length: n }, (_, i) => i);
      const firsts = new Map<number, number>();
      for (let turn = offset; turn < offset + n * 50; turn++) {
        const order = roundRobin(candidates, turn);
        assert.equal(order.length, n);
        assert.deepEqual([...order].sort((a, b) => a - b), candidates);
        firsts.set(order[0]!, (firsts.get(order[0]!) ?? 0) + 1);
      }
      for (const count of firsts.values()) assert.equal(count, 50);
      assert.equal(firsts.size, n);
    }),
  );
});
