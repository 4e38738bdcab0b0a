import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  parseSmoothWeightedState,
  selectSmoothWeighted,
  type SmoothWeightedState,
} from "./weighted-round-robin.ts";
import { candidate, firstId, idsOf, sorted } from "./test-support.ts";
import type { Candidate } from "./types.ts";

function picks(set: readonly Candidate[], count: number, state?: SmoothWeightedState): { seq: string[]; state?: SmoothWeightedState } {
  const seq: string[] = [];
  for (let i = 0; i < count; i++) {
    const result = selectSmoothWeighted(set, state);
    seq.push(firstId(result.selection));
    state = result.state;
  }
  return { seq, state };
}

test("smooth WRR interleaves like nginx: 3:1 -> a a b a, 5:1:1 -> a a b a c a a", () => {
  assert.deepEqual(picks([candidate("a", { weight: 3 }), candidate("b", { weight: 1 })], 8).seq, [
    "a", "a", "b", "a", "a", "a", "b", "a",
  ]);
  assert.deepEqual(
    picks([candidate("a", { weight: 5 }), candidate("b", { weight: 1 }), candidate("c", { weight: 1 })], 7).seq,
    ["a", "a", "b", "a", "c", "a", "a"],
  );
});

test("smooth WRR: exact per window of sum(weights) picks over 100k picks (tolerance 0), runs <= ceil(wmax/wmin)+1", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 2, maxLength: 6 }), (weights) => {
      const set = weights.map((w, i) => candidate(`d${i}`, { weight: w }));
      const total = weights.reduce((a, b) => a + b, 0);
      const bound = Math.ceil(Math.max(...weights) / Math.min(...weights)) + 1;
      const count = Math.ceil(100_000 / total) * total;
      const { seq } = picks(set, count);
      // Any window of `total` consecutive picks (not only whole cycles) holds each candidate exactly weight times.
      const window = new Map<string, number>();
      for (let i = 0; i < seq.length; i++) {
        window.set(seq[i]!, (window.get(seq[i]!) ?? 0) + 1);
        if (i >= total) window.set(seq[i - total]!, window.get(seq[i - total]!)! - 1);
        if (i >= total - 1 && (i < 4 * total || i % 997 === 0)) {
          set.forEach((c) => assert.equal(window.get(c.id) ?? 0, c.weight, `window ending at ${i}`));
        }
      }
      let run = 1;
      for (let i = 1; i < seq.length; i++) {
        run = seq[i] === seq[i - 1] ? run + 1 : 1;
        assert.ok(run <= bound, `run of ${run} ${seq[i]} > ${bound} for weights ${weights}`);
      }
    }),
    { numRuns: 6 },
  );
});

test("smooth WRR: the failover order is a permutation, weighted first, then standbys", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 8 }), fc.nat(50), (weights, warm) => {
      const set = weights.map((w, i) => candidate(`d${i}`, { weight: w }));
      const { state } = picks(set, warm);
      const { selection } = selectSmoothWeighted(set, state);
      const ids = idsOf(selection);
      assert.deepEqual(sorted(ids), sorted(set.map((c) => c.id)));
      const weighted = weights.filter((w) => w > 0).length;
      if (weighted > 0) ids.forEach((id, k) => assert.equal(set[Number(id.slice(1))]!.weight > 0, k < weighted));
    }),
  );
});

test("smooth WRR: weight-0 standbys are never picked while a weighted one exists; all-zero is plain rotation", () => {
  const mixed = [candidate("s", { weight: 0 }), candidate("a", { weight: 2 }), candidate("b", { weight: 1 })];
  const { seq } = picks(mixed, 300);
  assert.ok(!seq.includes("s"));
  assert.equal(seq.filter((id) => id === "a").length, 200);
  const zeros = [candidate("a", { weight: 0 }), candidate("b", { weight: 0 }), candidate("c", { weight: 0 })];
  assert.deepEqual(picks(zeros, 6).seq, ["a", "b", "c", "a", "b", "c"]);
});

test("smooth WRR: state survives a JSON round trip (store) and a malformed state restarts", () => {
  const set = [candidate("a", { weight: 5 }), candidate("__proto__", { weight: 2 }), candidate("c", { weight: 1 })];
  const direct = picks(set, 80).seq;
  let stored: unknown = undefined;
  const viaStore: string[] = [];
  for (let i = 0; i < 80; i++) {
    const result = selectSmoothWeighted(set, parseSmoothWeightedState(stored));
    viaStore.push(firstId(result.selection));
    stored = JSON.parse(JSON.stringify(result.state));
  }
  assert.deepEqual(viaStore, direct);
  for (const bad of [null, 1, "x", {}, { current: null }, { current: [] }, { current: { a: "1" } }, { current: { a: null } }]) {
    assert.deepEqual(parseSmoothWeightedState(bad), { current: {} });
  }
  assert.deepEqual(selectSmoothWeighted([], { current: { a: 3 } }), {
    selection: { kind: "no-destination" },
    state: { current: {} },
  });
});

test("smooth WRR: after a destination is removed or added or weights change, counts over 50 cycles stay within ±2 of weight×50", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 2, maxLength: 6 }),
      fc.nat(100),
      fc.nat(),
      fc.integer({ min: 1, max: 10 }),
      fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 6, maxLength: 6 }),
      (weights, warm, dropAt, added, reweights) => {
        const set = weights.map((w, i) => candidate(`d${i}`, { weight: w }));
        const { state } = picks(set, warm);
        const drop = dropAt % set.length;
        const reweighted = set.map((c, i) => ({ ...c, weight: reweights[i]! }));
        for (const next of [set.filter((_, i) => i !== drop), [...set, candidate("new", { weight: added })], reweighted]) {
          const total = next.reduce((a, c) => a + c.weight, 0);
          const { seq } = picks(next, total * 50, state);
          for (const c of next) {
            const got = seq.filter((id) => id === c.id).length;
            assert.ok(Math.abs(got - c.weight * 50) <= 2, `${c.id}: ${got} vs ${c.weight * 50}`);
          }
        }
      },
    ),
    { numRuns: 100 },
  );
});
