import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { ALGORITHMS, AlgorithmNameSchema, STATEFUL, isAlgorithmName, select, type AlgorithmName } from "./index.ts";
import { candidate, firstId, idsOf, mulberry32 } from "./test-support.ts";

test("registry: the algorithm names the admin API uses", () => {
  assert.deepEqual(
    [...ALGORITHMS],
    ["round-robin", "weighted-round-robin", "weighted-random", "hash", "priority", "least-loaded", "call-load"],
  );
  assert.ok(isAlgorithmName("hash"));
  assert.ok(!isAlgorithmName("random"));
  assert.ok(v.safeParse(AlgorithmNameSchema, "call-load").success);
  assert.ok(!v.safeParse(AlgorithmNameSchema, "Hash").success);
  assert.throws(() => select("nope" as AlgorithmName, [], { random: Math.random }), RangeError);
});

test("select: every algorithm returns no-destination for an empty set and an ordered permutation otherwise", () => {
  const set = [
    candidate("a", { weight: 2, priority: 1, activeCalls: 1, resources: { pstn: { capacity: 5, used: 1 } } }),
    candidate("b", { weight: 1, priority: 2, activeCalls: 0, resources: { pstn: { capacity: 5, used: 0 } } }),
  ];
  for (const name of ALGORITHMS) {
    const input = { random: mulberry32(1), hashKey: "call-1@host", requested: { pstn: 1 } };
    assert.deepEqual(select(name, [], input).selection, { kind: "no-destination" }, name);
    const { selection, state } = select(name, set, input);
    assert.deepEqual(idsOf(selection).sort(), ["a", "b"], name);
    assert.equal(state === null, !STATEFUL[name], name);
  }
});

test("select: state threads through a store (JSON) for the stateful algorithms; foreign state is ignored", () => {
  const set = [candidate("a", { weight: 3 }), candidate("b", { weight: 1 })];
  const run = (name: AlgorithmName, initial: unknown): string[] => {
    let stored: unknown = initial;
    const picks: string[] = [];
    for (let i = 0; i < 8; i++) {
      const { selection, state } = select(name, set, { random: Math.random, state: stored });
      picks.push(firstId(selection));
      stored = JSON.parse(JSON.stringify(state));
    }
    return picks;
  };
  assert.deepEqual(run("round-robin", undefined), ["a", "b", "a", "b", "a", "b", "a", "b"]);
  assert.deepEqual(run("weighted-round-robin", undefined), ["a", "a", "b", "a", "a", "a", "b", "a"]);
  // a round-robin state handed to weighted-round-robin (algorithm changed by the admin) restarts cleanly
  assert.deepEqual(run("weighted-round-robin", { turn: 5 }), ["a", "a", "b", "a", "a", "a", "b", "a"]);
  assert.deepEqual(run("round-robin", { current: { a: 1 } }), ["a", "b", "a", "b", "a", "b", "a", "b"]);
});

test("select: hash without a key still routes (weighted random); with a key it is sticky", () => {
  const set = [candidate("a"), candidate("b"), candidate("c")];
  const random = mulberry32(11);
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) seen.add(firstId(select("hash", set, { random }).selection));
  assert.equal(seen.size, 3);
  const sticky = firstId(select("hash", set, { random, hashKey: "abc" }).selection);
  for (let i = 0; i < 20; i++) assert.equal(firstId(select("hash", set, { random, hashKey: "abc" }).selection), sticky);
});

test("select: least-loaded honours requested and relative; no-capacity is distinct from no-destination", () => {
  const set = [
    candidate("big", { resources: { pstn: { capacity: 100, used: 60 } } }),
    candidate("small", { resources: { pstn: { capacity: 10, used: 1 } } }),
  ];
  const random = mulberry32(2);
  assert.equal(firstId(select("least-loaded", set, { random, requested: { pstn: 1 } }).selection), "big");
  assert.equal(firstId(select("least-loaded", set, { random, requested: { pstn: 1 }, relative: true }).selection), "small");
  assert.deepEqual(select("least-loaded", set, { random, requested: { pstn: 50 } }).selection, {
    kind: "no-capacity",
    resource: "pstn",
  });
});
