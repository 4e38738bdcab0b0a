import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { selectPriority } from "./priority.ts";
import { candidate, firstId, idsOf, mulberry32, sorted } from "./test-support.ts";
import type { Candidate } from "./types.ts";

const arbitrarySet = fc
  .array(fc.record({ priority: fc.integer({ min: 0, max: 3 }), weight: fc.integer({ min: 0, max: 5 }) }), {
    minLength: 1,
    maxLength: 10,
  })
  .map((specs) => specs.map((spec, i): Candidate => candidate(`d${i}`, spec)));

test("priority: never picks a higher priority number while a lower one is available; failover exhausts each level in order", () => {
  fc.assert(
    fc.property(arbitrarySet, fc.integer(), (set, seed) => {
      const random = mulberry32(seed);
      const lowest = Math.min(...set.map((c) => c.priority));
      for (let round = 0; round < 20; round++) {
        const selection = selectPriority(set, random);
        assert.equal(selection.kind, "ordered");
        if (selection.kind !== "ordered") return;
        const order = selection.order;
        assert.equal(order[0]!.priority, lowest);
        assert.deepEqual(sorted(order.map((c) => c.id)), sorted(set.map((c) => c.id)));
        for (let k = 1; k < order.length; k++) {
          const [prev, cur] = [order[k - 1]!, order[k]!];
          assert.ok(prev.priority <= cur.priority, "priority order");
          // within a level, standbys (weight 0) come after the weighted ones
          if (prev.priority === cur.priority) assert.ok(!(prev.weight === 0 && cur.weight > 0), "standby before weighted");
        }
      }
    }),
  );
});

test("priority: weighted random among equal priority (shares within ±1 pp over 100k seeded picks)", () => {
  const set = [
    candidate("backup", { priority: 10, weight: 100 }),
    candidate("a", { priority: 1, weight: 1 }),
    candidate("b", { priority: 1, weight: 3 }),
    candidate("c", { priority: 1, weight: 6 }),
    candidate("standby", { priority: 1, weight: 0 }),
  ];
  const random = mulberry32(1234);
  const counts = new Map<string, number>();
  for (let i = 0; i < 100_000; i++) {
    const id = firstId(selectPriority(set, random));
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  assert.equal(counts.get("backup"), undefined);
  assert.equal(counts.get("standby"), undefined);
  for (const [id, share] of [["a", 0.1], ["b", 0.3], ["c", 0.6]] as const) {
    assert.ok(Math.abs((counts.get(id) ?? 0) / 100_000 - share) <= 0.01, `${id}: ${counts.get(id)}`);
  }
});

test("priority: a level of only standbys is used as equals; NaN priority is least preferred; empty set", () => {
  const set = [
    candidate("nan", { priority: NaN }),
    candidate("z1", { priority: 0, weight: 0 }),
    candidate("z2", { priority: 0, weight: 0 }),
    candidate("low", { priority: 5 }),
  ];
  const random = mulberry32(7);
  const firsts = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const ids = idsOf(selectPriority(set, random));
    firsts.add(ids[0]!);
    assert.deepEqual(ids.slice(2), ["low", "nan"]);
  }
  assert.deepEqual(sorted([...firsts]), ["z1", "z2"]);
  assert.deepEqual(selectPriority([], random), { kind: "no-destination" });
});
