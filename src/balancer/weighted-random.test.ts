import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { selectWeightedRandom } from "./weighted-random.ts";
import { candidate, firstId, idsOf, mulberry32, sorted } from "./test-support.ts";

const PICKS = 100_000;

test("weighted random: each pick's share is within ±1 percentage point of w/sum(w) over 100k seeded picks", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 1, maxLength: 8 }), fc.integer(), (weights, seed) => {
      const set = weights.map((w, i) => candidate(`d${i}`, { weight: w }));
      const random = mulberry32(seed);
      const counts = new Map<string, number>();
      for (let i = 0; i < PICKS; i++) {
        const id = firstId(selectWeightedRandom(set, random));
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      const total = weights.reduce((a, b) => a + b, 0);
      set.forEach((c, i) => {
        // all-zero: equal shares; otherwise standbys get nothing
        const expected = total === 0 ? 1 / set.length : weights[i]! / total;
        const share = (counts.get(c.id) ?? 0) / PICKS;
        assert.ok(Math.abs(share - expected) <= 0.01, `${c.id}: ${share} vs ${expected} (weights ${weights})`);
      });
    }),
    { numRuns: 8 },
  );
});

test("weighted random: the second choice is weight-proportional among the rest (±1.5 pp over 40k picks)", () => {
  const set = [candidate("a", { weight: 1 }), candidate("b", { weight: 1 }), candidate("c", { weight: 2 })];
  const random = mulberry32(42);
  let cFirst = 0;
  let aSecondGivenC = 0;
  for (let i = 0; i < 40_000; i++) {
    const ids = idsOf(selectWeightedRandom(set, random));
    if (ids[0] === "c") {
      cFirst++;
      if (ids[1] === "a") aSecondGivenC++;
    }
  }
  assert.ok(Math.abs(cFirst / 40_000 - 0.5) <= 0.015);
  assert.ok(Math.abs(aSecondGivenC / cFirst - 0.5) <= 0.015);
});

test("weighted random: the order is a permutation with every weighted candidate before every standby", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 10 }), fc.integer(), (weights, seed) => {
      const set = weights.map((w, i) => candidate(`d${i}`, { weight: w }));
      const ids = idsOf(selectWeightedRandom(set, mulberry32(seed)));
      assert.deepEqual(sorted(ids), sorted(set.map((c) => c.id)));
      const weighted = weights.filter((w) => w > 0).length;
      if (weighted > 0) ids.forEach((id, k) => assert.equal(weights[Number(id.slice(1))]! > 0, k < weighted));
    }),
  );
});

test("weighted random: empty set, invalid weights and a faulty random source", () => {
  assert.deepEqual(selectWeightedRandom([], Math.random), { kind: "no-destination" });
  const set = [candidate("nan", { weight: NaN }), candidate("neg", { weight: -3 }), candidate("ok", { weight: 1 })];
  for (let i = 0; i < 50; i++) assert.equal(firstId(selectWeightedRandom(set, Math.random)), "ok");
  for (const bad of [() => 1, () => NaN, () => -1, () => Infinity]) {
    assert.deepEqual(sorted(idsOf(selectWeightedRandom(set, bad))), ["nan", "neg", "ok"]);
  }
});
