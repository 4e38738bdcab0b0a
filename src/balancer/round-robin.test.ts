import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { roundRobin, selectRoundRobin, parseRoundRobinState, type RoundRobinState } from "./round-robin.ts";
import { candidate, firstId, idsOf, sorted } from "./test-support.ts";

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

test("selectRoundRobin: rotation, state threading, empty set", () => {
  const set = [candidate("a"), candidate("b"), candidate("c")];
  let state: RoundRobinState | undefined;
  const firsts: string[] = [];
  for (let i = 0; i < 4; i++) {
    const result = selectRoundRobin(set, state);
    firsts.push(firstId(result.selection));
    state = result.state;
  }
  assert.deepEqual(firsts, ["a", "b", "c", "a"]);
  assert.deepEqual(idsOf(selectRoundRobin(set, { turn: 1 }).selection), ["b", "c", "a"]);
  const empty = selectRoundRobin([], { turn: 7 });
  assert.deepEqual(empty.selection, { kind: "no-destination" });
  assert.deepEqual(empty.state, { turn: 8 });
  assert.deepEqual(selectRoundRobin(set, { turn: Number.MAX_SAFE_INTEGER }).state, { turn: 0 });
});

test("selectRoundRobin: malformed stored state restarts at turn 0", () => {
  for (const bad of [undefined, null, 3, "x", {}, { turn: -1 }, { turn: 1.5 }, { turn: "2" }, { turn: NaN }]) {
    assert.deepEqual(parseRoundRobinState(bad), { turn: 0 });
  }
  assert.deepEqual(parseRoundRobinState(JSON.parse(JSON.stringify({ turn: 41 }))), { turn: 41 });
});

test("selectRoundRobin: exact per cycle over 100k picks (tolerance 0), weight-0 standbys never first, orders are permutations", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 0, max: 3 }),
      fc.nat({ max: 1_000_000 }),
      (n, standbys, start) => {
        const set = [
          ...Array.from({ length: n }, (_, i) => candidate(`d${i}`, { weight: 1 + (i % 3) })),
          ...Array.from({ length: standbys }, (_, i) => candidate(`s${i}`, { weight: 0 })),
        ];
        const all = sorted(set.map((c) => c.id));
        const cycles = Math.ceil(100_000 / n);
        const counts = new Map<string, number>();
        let state: RoundRobinState = { turn: start };
        for (let cycle = 0; cycle < cycles; cycle++) {
          for (let i = 0; i < n; i++) {
            const { selection, state: next } = selectRoundRobin(set, state);
            state = next;
            assert.equal(selection.kind, "ordered");
            if (selection.kind !== "ordered") return;
            const first = selection.order[0]!.id;
            counts.set(first, (counts.get(first) ?? 0) + 1);
            if (cycle < 3) {
              assert.deepEqual(sorted(selection.order.map((c) => c.id)), all);
              // weighted ones first, standbys after
              selection.order.forEach((c, k) => assert.equal(c.weight > 0, k < n));
            }
          }
          // exact after every whole cycle
          for (let i = 0; i < n; i++) assert.equal(counts.get(`d${i}`), cycle + 1);
        }
        assert.equal(counts.size, n);
      },
    ),
    { numRuns: 10 },
  );
});

test("selectRoundRobin: when every candidate has weight 0 they rotate as equals", () => {
  const set = [candidate("a", { weight: 0 }), candidate("b", { weight: 0 })];
  assert.deepEqual(idsOf(selectRoundRobin(set, { turn: 0 }).selection), ["a", "b"]);
  assert.deepEqual(idsOf(selectRoundRobin(set, { turn: 1 }).selection), ["b", "a"]);
});
