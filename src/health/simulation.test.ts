/**
 * The defaults against the bars, end to end on a simulated clock: several gateways tick on their own
 * phases, read health from one shared store, take the probe lease, "send" OPTIONS to a destination that dies and
 * comes back, and record the results. With no tuning (DEFAULT_PROBE, DEFAULT_HEALTH_POLICY) a destination that stops
 * answering must be inactive within 30 s and one that comes back active within 30 s, with exactly one probe per
 * interval however many gateways run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { MemoryDialogState, MemoryDialogStore } from "../dialog/memory.ts";
import { dueProbes, type ScheduledDestination } from "./schedule.ts";
import type { Evidence, StateChange } from "./state.ts";

interface Scenario {
  readonly tickMs: number;
  readonly offsets: readonly number[];
  readonly deathAt: number;
  readonly downFor: number;
  readonly rttMs: number;
}

interface Outcome {
  readonly changes: Array<StateChange & { at: number }>;
  readonly sends: number[];
}

async function simulate(s: Scenario): Promise<Outcome> {
  let now = 0;
  const state = new MemoryDialogState();
  const stores = s.offsets.map(() => new MemoryDialogStore(() => now, { state }));
  const destination: ScheduledDestination = { id: "pbx", uri: "sip:10.0.0.1", probe: null, state: "active" };
  const reviveAt = s.deathAt + s.downFor;
  const alive = (t: number): boolean => t < s.deathAt || t >= reviveAt;
  const horizon = reviveAt + 45_000;
  const queue: Array<{ at: number; seq: number; run: () => Promise<void> }> = [];
  let seq = 0;
  const at = (time: number, run: () => Promise<void>): void => {
    queue.push({ at: time, seq: seq++, run });
    queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
  };
  const out: Outcome = { changes: [], sends: [] };
  const record = async (store: MemoryDialogStore, evidence: Evidence): Promise<void> => {
    const r = await store.recordEvidence("pbx", evidence);
    if (r.changed) out.changes.push({ ...r.changed, at: now });
  };
  s.offsets.forEach((offset, i) => {
    const store = stores[i] ?? assert.fail();
    const tick = async (): Promise<void> => {
      const health = await store.health(["pbx"]);
      for (const task of dueProbes([destination], health, now).due) {
        if (!(await store.acquireProbeLease(task.destinationId, `gw-${i}`, task.leaseTtlMs))) continue;
        out.sends.push(now);
        if (alive(now)) at(now + s.rttMs, () => record(store, { source: "probe", result: "reply", status: 200, latencyMs: s.rttMs }));
        else at(now + task.timeoutMs, () => record(store, { source: "probe", result: "timeout", elapsedMs: task.timeoutMs }));
      }
      if (now + s.tickMs <= horizon) at(now + s.tickMs, tick);
    };
    at(offset, tick);
  });
  while (queue.length > 0) {
    const next = queue.shift() ?? assert.fail();
    now = next.at;
    await next.run();
  }
  return out;
}

const scenario = fc.record({
  tickMs: fc.constantFrom(250, 500, 1000, 2000, 3000, 5000),
  offsets: fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 4 }),
  deathAt: fc.integer({ min: 15_000, max: 45_000 }),
  downFor: fc.integer({ min: 35_000, max: 120_000 }),
  rttMs: fc.integer({ min: 1, max: 200 }),
});

test("defaults: a dead destination is inactive within 30 s, a revived one active within 30 s, one probe per interval across gateways (ticks up to 5 s, the default SWITCHBOARD_TICK_INTERVAL)", async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const { changes, sends } = await simulate(s);
      const reviveAt = s.deathAt + s.downFor;
      assert.ok(!changes.some((c) => c.to === "inactive" && c.at < s.deathAt), "never inactive while it answers");
      const down = changes.find((c) => c.to === "inactive" && c.at >= s.deathAt) ?? assert.fail("never marked inactive");
      assert.ok(down.at - s.deathAt <= 30_000, `inactive ${down.at - s.deathAt} ms after it died`);
      const up = changes.find((c) => c.to === "active" && c.at >= reviveAt) ?? assert.fail("never active again");
      assert.ok(up.at - reviveAt <= 30_000, `active ${up.at - reviveAt} ms after it came back`);
      for (let i = 1; i < sends.length; i++) {
        const gap = (sends[i] ?? 0) - (sends[i - 1] ?? 0);
        assert.ok(gap >= 9000, `two probes ${gap} ms apart (at most one per interval, whatever the gateways)`);
        assert.ok(gap <= 10_000 + s.tickMs, `probes ${gap} ms apart (never starved)`);
      }
    }),
    { numRuns: 60 },
  );
});
