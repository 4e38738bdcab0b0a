import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { selectLeastLoaded } from "./least-loaded.ts";
import { candidate, firstId, idsOf, mulberry32, sorted } from "./test-support.ts";
import type { Candidate, Requested } from "./types.ts";

const RESOURCES = ["pstn", "transcoding", "recording"] as const;
type Resource = (typeof RESOURCES)[number];

const arbitraryPool = fc.array(
  fc.record({
    weight: fc.integer({ min: 0, max: 2 }),
    capacity: fc.record(
      { pstn: fc.integer({ min: 0, max: 6 }), transcoding: fc.integer({ min: 0, max: 6 }), recording: fc.integer({ min: 0, max: 6 }) },
      { requiredKeys: [] },
    ),
  }),
  { minLength: 1, maxLength: 6 },
);

const arbitraryAction = fc.oneof(
  fc.record({
    kind: fc.constant("pick" as const),
    need: fc.uniqueArray(fc.record({ name: fc.constantFrom(...RESOURCES), units: fc.integer({ min: 1, max: 2 }) }), {
      minLength: 1,
      maxLength: 3,
      selector: (n) => n.name,
    }),
    asList: fc.boolean(),
    relative: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("release" as const), index: fc.nat() }),
);

test("least-loaded: capacity is never exceeded over pick/release sequences; no-capacity exactly when no candidate has room in every requested resource", () => {
  fc.assert(
    fc.property(arbitraryPool, fc.array(arbitraryAction, { minLength: 1, maxLength: 60 }), fc.integer(), (pool, actions, seed) => {
      const random = mulberry32(seed);
      const used = pool.map(() => new Map<Resource, number>());
      const calls: { at: number; need: { name: Resource; units: number }[] }[] = [];
      const snapshot = (): Candidate[] =>
        pool.map((spec, i) => {
          const resources: Record<string, { capacity: number; used: number }> = {};
          for (const name of RESOURCES) {
            const capacity = spec.capacity[name];
            if (capacity !== undefined) resources[name] = { capacity, used: used[i]!.get(name) ?? 0 };
          }
          return candidate(`d${i}`, { weight: spec.weight, resources });
        });
      for (const action of actions) {
        if (action.kind === "release") {
          if (calls.length === 0) continue;
          const [call] = calls.splice(action.index % calls.length, 1);
          for (const { name, units } of call!.need) used[call!.at]!.set(name, used[call!.at]!.get(name)! - units);
          continue;
        }
        const set = snapshot();
        const requested: Requested = action.asList
          ? action.need.flatMap(({ name, units }) => Array<string>(units).fill(name))
          : Object.fromEntries(action.need.map(({ name, units }) => [name, units]));
        const room = (c: Candidate, name: Resource, units: number): boolean => {
          const r = c.resources?.[name];
          return r !== undefined && r.capacity - r.used >= units;
        };
        const score = (c: Candidate): number =>
          Math.min(
            ...action.need.map(({ name }) => {
              const r = c.resources![name]!;
              return action.relative ? (r.capacity - r.used) / r.capacity : r.capacity - r.used;
            }),
          );
        const qualifying = set.filter((c) => action.need.every(({ name, units }) => room(c, name, units)));
        const selection = selectLeastLoaded(set, random, { requested, relative: action.relative });
        if (qualifying.length === 0) {
          assert.equal(selection.kind, "no-capacity");
          if (selection.kind !== "no-capacity") return;
          const exhausted = action.need.find(({ name, units }) => !set.some((c) => room(c, name, units)));
          assert.equal(selection.resource, exhausted?.name);
          continue;
        }
        assert.equal(selection.kind, "ordered");
        if (selection.kind !== "ordered") return;
        const order = selection.order;
        // failover order = a permutation of the qualifying candidates: weighted ones first, each tier by score
        assert.deepEqual(sorted(order.map((c) => c.id)), sorted(qualifying.map((c) => c.id)));
        const weighted = qualifying.filter((c) => c.weight > 0).length;
        order.forEach((c, k) => weighted > 0 && assert.equal(c.weight > 0, k < weighted));
        for (let k = 1; k < order.length; k++) {
          if (k !== weighted) assert.ok(score(order[k - 1]!) >= score(order[k]!), "score order");
        }
        // reserve on the pick
        const at = Number(order[0]!.id.slice(1));
        for (const { name, units } of action.need) {
          const now = (used[at]!.get(name) ?? 0) + units;
          assert.ok(now <= pool[at]!.capacity[name]!, `over capacity: ${name} ${now}/${pool[at]!.capacity[name]}`);
          used[at]!.set(name, now);
        }
        calls.push({ at, need: action.need });
      }
    }),
    { numRuns: 200 },
  );
});

test("least-loaded: absolute scores by free units, relative (OpenSIPS 'r') by free fraction; the minimum over requested resources counts", () => {
  const big = candidate("big", { resources: { pstn: { capacity: 100, used: 50 }, transcoding: { capacity: 10, used: 9 } } });
  const small = candidate("small", { resources: { pstn: { capacity: 10, used: 0 }, transcoding: { capacity: 4, used: 0 } } });
  const random = mulberry32(1);
  assert.deepEqual(idsOf(selectLeastLoaded([small, big], random, { requested: ["pstn"] })), ["big", "small"]);
  assert.deepEqual(idsOf(selectLeastLoaded([big, small], random, { requested: ["pstn"], relative: true })), ["small", "big"]);
  // big has 50 pstn free but only 1 transcoding: min(50, 1) = 1 < min(10, 4) = 4
  assert.deepEqual(idsOf(selectLeastLoaded([big, small], random, { requested: { pstn: 1, transcoding: 1 } })), ["small", "big"]);
  // 2 transcoding units: big has no room
  assert.deepEqual(idsOf(selectLeastLoaded([big, small], random, { requested: { transcoding: 2 } })), ["small"]);
  assert.deepEqual(selectLeastLoaded([big, small], random, { requested: { transcoding: 5 } }), {
    kind: "no-capacity",
    resource: "transcoding",
  });
  // each resource has room somewhere, but no single candidate has room in both
  const onlyPstn = candidate("p", { resources: { pstn: { capacity: 1, used: 0 } } });
  const onlyTc = candidate("t", { resources: { transcoding: { capacity: 1, used: 0 } } });
  assert.deepEqual(selectLeastLoaded([onlyPstn, onlyTc], random, { requested: ["pstn", "transcoding"] }), { kind: "no-capacity" });
  assert.deepEqual(selectLeastLoaded([], random, { requested: ["pstn"] }), { kind: "no-destination" });
});

test("least-loaded: random among equal scores (each of 3 ties within ±1.5 pp of 1/3 over 30k picks)", () => {
  const set = ["a", "b", "c"].map((id) => candidate(id, { resources: { pstn: { capacity: 30, used: 10 } } }));
  const worse = candidate("worse", { resources: { pstn: { capacity: 30, used: 11 } } });
  const random = mulberry32(99);
  const counts = new Map<string, number>();
  for (let i = 0; i < 30_000; i++) {
    const ids = idsOf(selectLeastLoaded([...set, worse], random, { requested: { pstn: 1 } }));
    assert.equal(ids[3], "worse");
    counts.set(ids[0]!, (counts.get(ids[0]!) ?? 0) + 1);
  }
  for (const id of ["a", "b", "c"]) assert.ok(Math.abs((counts.get(id) ?? 0) / 30_000 - 1 / 3) <= 0.015, `${id}: ${counts.get(id)}`);
});

test("least-loaded: no request means 1 unit of each resource the candidate declares; invalid numbers give no room", () => {
  const random = mulberry32(5);
  const a = candidate("a", { resources: { pstn: { capacity: 5, used: 1 }, tc: { capacity: 2, used: 0 } } });
  const b = candidate("b", { resources: { pstn: { capacity: 3, used: 0 } } });
  const none = candidate("none");
  const broken = candidate("broken", { resources: { pstn: { capacity: NaN, used: 0 } } });
  assert.deepEqual(idsOf(selectLeastLoaded([a, b, none, broken], random)), ["b", "a"]);
  assert.deepEqual(selectLeastLoaded([none, broken], random), { kind: "no-capacity" });
  const s = candidate("standby", { weight: 0, resources: { pstn: { capacity: 100, used: 0 } } });
  assert.equal(firstId(selectLeastLoaded([s, b], random, { requested: ["pstn"] })), "b");
  const fullB = candidate("b", { resources: { pstn: { capacity: 3, used: 3 } } });
  assert.equal(firstId(selectLeastLoaded([s, fullB], random, { requested: ["pstn"] })), "standby");
});
