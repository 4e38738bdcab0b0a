import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Probe } from "../destination/destination.ts";
import { DEFAULT_PROBE, DEFAULT_PROBE_TIMEOUT_MS, dueProbes, hashFraction, nextProbeAt, probeTiming, type ScheduledDestination } from "./schedule.ts";
import { applyEvidence, initialHealth, type HealthRecord } from "./state.ts";

function dest(id: string, probe: Probe | null, state: ScheduledDestination["state"] = "active"): ScheduledDestination {
  return { id, uri: `sip:${id}.example.test`, probe, state };
}

const inactive: HealthRecord = { ...initialHealth(), state: "inactive", failures: 2 };
const probing: HealthRecord = { ...initialHealth(), state: "probing", failures: 1 };
const probedAt = (r: HealthRecord, at: number): HealthRecord => ({ ...r, lastProbeAt: at });
const noJitter = { jitterOf: () => 0 };

test("mode never: never due, whatever the state", () => {
  const d = dest("a", { mode: "never", aliveCodes: [200], intervalMs: 5000 });
  assert.deepEqual(dueProbes([d], { a: inactive }, 1e12), { due: [], nextDueAt: null });
});

test("mode when-inactive: only while not active; due at once when never probed, then every interval", () => {
  const d = dest("a", { mode: "when-inactive", aliveCodes: [200, 404], intervalMs: 5000 });
  assert.deepEqual(dueProbes([d], {}, 1000), { due: [], nextDueAt: null }, "unknown = active: not probed");
  assert.deepEqual(dueProbes([d], { a: initialHealth() }, 1000).due, []);
  assert.deepEqual(dueProbes([d], { a: probing }, 1000, noJitter).due, [
    { destinationId: "a", uri: "sip:a.example.test", aliveCodes: [200, 404], timeoutMs: 2500, leaseTtlMs: 4500 },
  ]);
  assert.deepEqual(dueProbes([d], { a: probedAt(inactive, 1000) }, 5999, noJitter), { due: [], nextDueAt: 6000 });
  assert.equal(dueProbes([d], { a: probedAt(inactive, 1000) }, 6000, noJitter).due.length, 1);
});

test("mode always and the default for destinations without probe settings: every interval whatever the state", () => {
  const own = dest("a", { mode: "always", aliveCodes: [200], intervalMs: 30_000 });
  const dflt = dest("b", null);
  const health = { a: probedAt(initialHealth(), 0), b: probedAt(initialHealth(), 0) };
  assert.deepEqual(dueProbes([own, dflt], health, 9999, noJitter), { due: [], nextDueAt: 10_000 });
  const r = dueProbes([own, dflt], health, 10_000, noJitter);
  assert.deepEqual(r.due.map((t) => t.destinationId), ["b"]);
  assert.equal(r.nextDueAt, 30_000);
  assert.equal(r.due[0]?.timeoutMs, DEFAULT_PROBE_TIMEOUT_MS);
  const custom = dueProbes([dflt], health, 5000, { ...noJitter, defaultProbe: { mode: "always", aliveCodes: [200], intervalMs: 5000 } });
  assert.equal(custom.due.length, 1, "the deployment's default applies to destinations without their own");
});

test("disabled destinations are not probed; draining ones are", () => {
  const p = DEFAULT_PROBE;
  assert.deepEqual(dueProbes([dest("a", p, "disabled")], {}, 0), { due: [], nextDueAt: null });
  assert.equal(dueProbes([dest("a", p, "draining")], {}, 0).due.length, 1);
});

test("jitter brings a probe early by at most the jitter fraction, the same for every gateway and every tick", () => {
  const d = dest("a", { mode: "always", aliveCodes: [200], intervalMs: 10_000 });
  const h = probedAt(initialHealth(), 50_000);
  assert.equal(nextProbeAt(d, h, { jitterOf: () => 0 }), 60_000);
  assert.equal(nextProbeAt(d, h, { jitterOf: () => 0.5 }), 59_500);
  assert.equal(nextProbeAt(d, h, { jitterOf: () => 0.5, jitter: 0 }), 60_000);
  assert.equal(nextProbeAt(d, h), nextProbeAt(d, h), "deterministic");
  fc.assert(
    fc.property(fc.string(), fc.integer({ min: 0, max: 2 ** 45 }), (id, at) => {
      const u = hashFraction(`${id}@${at}`);
      assert.ok(u >= 0 && u < 1);
      const next = nextProbeAt(dest(id, DEFAULT_PROBE), probedAt(initialHealth(), at)) ?? assert.fail("not scheduled");
      assert.ok(next >= at + 9000 && next <= at + 10_000, `${next - at}`);
    }),
  );
});

test("property: the lease outlasts the probe timeout and never the shortest spacing between probes", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1000, max: 3_600_000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (intervalMs, jitter, u) => {
      const probe: Probe = { mode: "always", aliveCodes: [200], intervalMs };
      const { leaseTtlMs, timeoutMs } = probeTiming(probe, { jitter });
      const spacing = (nextProbeAt(dest("a", probe), probedAt(initialHealth(), 0), { jitter, jitterOf: () => u }) ?? 0) - 0;
      assert.ok(timeoutMs < leaseTtlMs, `timeout ${timeoutMs} < lease ${leaseTtlMs}`);
      assert.ok(leaseTtlMs <= spacing, `lease ${leaseTtlMs} <= spacing ${spacing}`);
    }),
  );
});

test("the recorded send time drives the schedule (a probe that timed out is not re-sent early)", () => {
  const d = dest("a", DEFAULT_PROBE);
  const r = applyEvidence(undefined, { source: "probe", result: "timeout", elapsedMs: 4000 }, undefined, 14_000).record;
  assert.equal(r.lastProbeAt, 10_000);
  assert.deepEqual(dueProbes([d], { a: r }, 14_000, noJitter), { due: [], nextDueAt: 20_000 });
});
