import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { hashKeyFor, pairHash, selectHash } from "./hash.ts";
import { candidate, firstId, idsOf, sorted } from "./test-support.ts";
import type { Candidate } from "./types.ts";

const KEYS = 20_000;

function keys(prefix: string): string[] {
  // Call-ID-like keys that differ only in a counter: a weak input set for a poor hash.
  return Array.from({ length: KEYS }, (_, i) => `${prefix}${i}@pc33.atlanta.example.com`);
}

function destinations(n: number, weight: (i: number) => number = () => 1): Candidate[] {
  return Array.from({ length: n }, (_, i) => candidate(`gw-${i}.example.net`, { weight: weight(i) }));
}

function assignment(set: readonly Candidate[], keyList: readonly string[]): string[] {
  return keyList.map((key) => firstId(selectHash(set, key)));
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const copy = [...items];
  let s = seed >>> 0;
  for (let i = copy.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

test("hash is sticky: same key -> same full order, whatever the candidate order", () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 40 }),
      fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/), { minLength: 1, maxLength: 10 }),
      fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 10, maxLength: 10 }),
      fc.nat(),
      (key, ids, weights, seed) => {
        const set = ids.map((id, i) => candidate(id, { weight: weights[i]! }));
        const order = idsOf(selectHash(set, key));
        assert.deepEqual(sorted(order), sorted(ids));
        assert.deepEqual(idsOf(selectHash(shuffled(set, seed), key)), order);
        assert.deepEqual(idsOf(selectHash(set, key)), order);
      },
    ),
  );
});

test("hash: equal weights share 20k keys evenly (each within ±2 pp of 1/N)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 10 }), fc.string({ maxLength: 8 }), (n, prefix) => {
      const set = destinations(n);
      const counts = new Map<string, number>();
      for (const id of assignment(set, keys(prefix))) counts.set(id, (counts.get(id) ?? 0) + 1);
      for (const c of set) assert.ok(Math.abs((counts.get(c.id) ?? 0) / KEYS - 1 / n) <= 0.02, `${c.id}: ${counts.get(c.id)}`);
    }),
    { numRuns: 8 },
  );
});

test("hash: weighted rendezvous gives each destination w/sum(w) of 20k keys (±2 pp)", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 6 }), fc.string({ maxLength: 8 }), (weights, prefix) => {
      const set = destinations(weights.length, (i) => weights[i]!);
      const total = weights.reduce((a, b) => a + b, 0);
      const counts = new Map<string, number>();
      for (const id of assignment(set, keys(prefix))) counts.set(id, (counts.get(id) ?? 0) + 1);
      set.forEach((c, i) => {
        const share = (counts.get(c.id) ?? 0) / KEYS;
        assert.ok(Math.abs(share - weights[i]! / total) <= 0.02, `${c.id}: ${share} vs ${weights[i]! / total}`);
      });
    }),
    { numRuns: 8 },
  );
});

test("hash: removing one of N moves only its own keys, spread evenly over the rest (each within ±25% of an even split)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 3, max: 8 }), fc.nat(), fc.string({ maxLength: 8 }), (n, which, prefix) => {
      const set = destinations(n);
      const removed = set[which % n]!;
      const rest = set.filter((c) => c !== removed);
      const keyList = keys(prefix);
      const before = assignment(set, keyList);
      const after = assignment(rest, keyList);
      const moved = new Map<string, number>();
      let movedTotal = 0;
      before.forEach((id, k) => {
        if (id !== removed.id) assert.equal(after[k], id, "a key not on the removed destination moved");
        else {
          movedTotal++;
          moved.set(after[k]!, (moved.get(after[k]!) ?? 0) + 1);
        }
      });
      const even = movedTotal / (n - 1);
      for (const c of rest) {
        const got = moved.get(c.id) ?? 0;
        assert.ok(Math.abs(got - even) <= 0.25 * even, `${c.id} took ${got} of ${movedTotal} (even ${even})`);
      }
    }),
    { numRuns: 10 },
  );
});

test("hash: adding a destination to N moves only keys onto it, 1/(N+1) of them (±10% relative)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 8 }), fc.string({ maxLength: 8 }), (n, prefix) => {
      const set = destinations(n);
      const grown = [...set, candidate("new.example.net")];
      const keyList = keys(prefix);
      const before = assignment(set, keyList);
      const after = assignment(grown, keyList);
      let moved = 0;
      before.forEach((id, k) => {
        if (after[k] !== id) {
          assert.equal(after[k], "new.example.net", "a key moved between old destinations");
          moved++;
        }
      });
      const expected = KEYS / (n + 1);
      assert.ok(Math.abs(moved - expected) <= 0.1 * expected, `moved ${moved}, expected ~${expected}`);
    }),
    { numRuns: 8 },
  );
});

test("hash: the failover order is where the key goes when the pick is removed (failover agrees with re-hashing)", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 30 }), fc.integer({ min: 2, max: 8 }), fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 8, maxLength: 8 }), (key, n, weights) => {
      const set = destinations(n, (i) => weights[i]!);
      const order = idsOf(selectHash(set, key));
      const without = set.filter((c) => c.id !== order[0]);
      assert.deepEqual(idsOf(selectHash(without, key)), order.slice(1));
    }),
  );
});

test("hash: weight-0 standbys only take keys when no weighted destination exists", () => {
  const set = [candidate("s", { weight: 0 }), candidate("a", { weight: 1 }), candidate("b", { weight: 3 })];
  for (const key of keys("x").slice(0, 2000)) {
    const ids = idsOf(selectHash(set, key));
    assert.equal(ids[2], "s");
  }
  assert.deepEqual(selectHash([], "k"), { kind: "no-destination" });
  const zeros = [candidate("a", { weight: 0 }), candidate("b", { weight: 0 })];
  const firsts = new Set(keys("z").slice(0, 200).map((key) => firstId(selectHash(zeros, key))));
  assert.deepEqual(sorted([...firsts]), ["a", "b"]);
});

test("hash: the pair hash separates key and id (no 'ab'+'c' = 'a'+'bc' collision) and is stable", () => {
  assert.notEqual(pairHash("ab", "c"), pairHash("a", "bc"));
  assert.equal(pairHash("call-1", "gw-1"), pairHash("call-1", "gw-1"));
  assert.ok(Number.isInteger(pairHash("", "")) && pairHash("", "") >= 0 && pairHash("", "") < 2 ** 32);
  assert.equal(hashKeyFor("call-id", { "call-id": "abc@host" }), "abc@host");
  assert.equal(hashKeyFor("from-uri", { "call-id": "abc@host" }), undefined);
  assert.equal(hashKeyFor("source", { source: "" }), undefined);
});
