import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { hasCallRoom, selectCallLoad } from "./call-load.ts";
import { candidate, idsOf, mulberry32, sorted } from "./test-support.ts";
import type { Candidate } from "./types.ts";

const arbitrarySet = fc
  .array(
    fc.record({
      weight: fc.integer({ min: 0, max: 3 }),
      activeCalls: fc.integer({ min: 0, max: 10 }),
      maxCalls: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 10 },
  )
  .map((specs) => specs.map((spec, i): Candidate => candidate(`d${i}`, spec)));

test("call-load picks a minimum of active calls; the failover order is a permutation of the candidates with room", () => {
  fc.assert(
    fc.property(arbitrarySet, fc.integer(), (set, seed) => {
      const random = mulberry32(seed);
      const withRoom = set.filter((c) => c.maxCalls === undefined || c.activeCalls! < c.maxCalls);
      const selection = selectCallLoad(set, random);
      if (withRoom.length === 0) {
        assert.deepEqual(selection, { kind: "no-capacity" });
        return;
      }
      assert.equal(selection.kind, "ordered");
      if (selection.kind !== "ordered") return;
      const order = selection.order;
      assert.deepEqual(sorted(order.map((c) => c.id)), sorted(withRoom.map((c) => c.id)));
      const weighted = withRoom.filter((c) => c.weight > 0);
      const tier = weighted.length > 0 ? weighted : withRoom;
      assert.equal(order[0]!.activeCalls, Math.min(...tier.map((c) => c.activeCalls!)));
      for (let k = 1; k < order.length; k++) {
        if (k === weighted.length) continue; // the standby tier restarts the ordering
        assert.ok(order[k - 1]!.activeCalls! <= order[k]!.activeCalls!, "fewest calls first");
      }
    }),
    { numRuns: 300 },
  );
});

test("call-load: simulated picks and hang-ups never exceed maxCalls; no-capacity exactly when all are full", () => {
  fc.assert(
    fc.property(
      fc.array(fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.oneof(fc.constant(-1), fc.nat()), { minLength: 1, maxLength: 80 }),
      fc.integer(),
      (limits, actions, seed) => {
        const random = mulberry32(seed);
        const active = limits.map(() => 0);
        for (const action of actions) {
          if (action >= 0) {
            const busy = active.flatMap((n, i) => (n > 0 ? [i] : []));
            if (busy.length > 0) active[busy[action % busy.length]!]!--;
            continue;
          }
          const set = limits.map((maxCalls, i) => candidate(`d${i}`, { activeCalls: active[i]!, maxCalls }));
          const selection = selectCallLoad(set, random);
          const anyRoom = set.some(hasCallRoom);
          assert.equal(selection.kind, anyRoom ? "ordered" : "no-capacity");
          if (selection.kind !== "ordered") continue;
          const at = Number(selection.order[0]!.id.slice(1));
          active[at]!++;
          const max = limits[at];
          assert.ok(max === undefined || active[at]! <= max, `d${at}: ${active[at]} > ${max}`);
        }
      },
    ),
    { numRuns: 200 },
  );
});

test("call-load: ties are random (each of 4 within ±1.5 pp of 1/4 over 40k picks); maxCalls 0 drains; standbys last", () => {
  const random = mulberry32(3);
  const set = ["a", "b", "c", "d"].map((id) => candidate(id, { activeCalls: 2, maxCalls: 10 }));
  const counts = new Map<string, number>();
  for (let i = 0; i < 40_000; i++) {
    const id = idsOf(selectCallLoad(set, random))[0]!;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  for (const [id, n] of counts) assert.ok(Math.abs(n / 40_000 - 0.25) <= 0.015, `${id}: ${n}`);
  const drained = candidate("drained", { activeCalls: 0, maxCalls: 0 });
  const standby = candidate("standby", { weight: 0, activeCalls: 0 });
  const busy = candidate("busy", { activeCalls: 50 });
  assert.deepEqual(idsOf(selectCallLoad([drained, standby, busy], random)), ["busy", "standby"]);
  assert.deepEqual(selectCallLoad([drained], random), { kind: "no-capacity" });
  assert.deepEqual(selectCallLoad([], random), { kind: "no-destination" });
});
