import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  applyEvidence,
  checkPolicy,
  classify,
  DEFAULT_HEALTH_POLICY,
  effectiveState,
  initialHealth,
  isAlive,
  successMatters,
  type Evidence,
  type HealthPolicy,
  type HealthRecord,
} from "./state.ts";
import { arbitraryEvidence, arbitraryPolicy } from "./test-support.ts";

const timeout: Evidence = { source: "probe", result: "timeout", elapsedMs: 4000 };
const ok: Evidence = { source: "probe", result: "reply", status: 200, latencyMs: 12 };

function run(evidence: readonly Evidence[], policy: HealthPolicy = DEFAULT_HEALTH_POLICY, from?: HealthRecord): HealthRecord {
  let r = from;
  let now = 1000;
  for (const e of evidence) r = applyEvidence(r, e, policy, (now += 1000)).record;
  return r ?? initialHealth();
}

test("isAlive: any 2xx, plus the destination's listed codes; never a provisional or out-of-range status", () => {
  assert.equal(isAlive(200), true);
  assert.equal(isAlive(299), true);
  assert.equal(isAlive(404), false);
  assert.equal(isAlive(404, [404, 405]), true);
  assert.equal(isAlive(100, [100]), false, "provisional never ends the transaction");
  assert.equal(isAlive(503), false);
  assert.equal(isAlive(700, [700]), false);
  assert.equal(isAlive(200.5), false);
});

test("classify: timeouts, transport errors and 503 are failures; 503 with Retry-After is a capped pause", () => {
  assert.equal(classify(timeout).outcome, "failure");
  assert.equal(classify({ source: "probe", result: "transport-error", elapsedMs: 3 }).outcome, "failure");
  assert.equal(classify({ source: "probe", result: "reply", status: 503, latencyMs: 3 }).outcome, "failure");
  assert.equal(classify({ source: "probe", result: "reply", status: 405, latencyMs: 3, aliveCodes: [405] }).outcome, "success");
  assert.equal(classify({ source: "traffic", result: "timeout" }).outcome, "failure");
  assert.equal(classify({ source: "traffic", result: "transport-error" }).outcome, "failure");
  assert.equal(classify({ source: "traffic", result: "503" }).outcome, "failure");
  assert.equal(classify({ source: "traffic", result: "503", retryAfterS: 0 }).outcome, "failure", "Retry-After 0 asks for no pause");
  assert.deepEqual(classify({ source: "traffic", result: "503", retryAfterS: 20 }), { outcome: "pause", cause: "call 503 Retry-After 20", pauseMs: 20_000 });
  assert.equal(classify({ source: "traffic", result: "503", retryAfterS: 1e9 }).pauseMs, DEFAULT_HEALTH_POLICY.maxPauseMs);
  assert.equal(classify({ source: "traffic", result: "503", retryAfterS: 20 }, { ...DEFAULT_HEALTH_POLICY, maxPauseMs: 0 }).outcome, "failure");
  assert.equal(classify({ source: "traffic", result: "success" }).outcome, "success");
  const bad = classify({ source: "probe", result: "reply", status: 200, latencyMs: Number.NaN });
  assert.equal(bad.probe?.latencyMs, 0, "a malformed latency is clamped, the result still counts");
});

test("defaults: active → probing on the first failure, inactive on the second, active again after two successes", () => {
  let now = 0;
  const step = (r: HealthRecord | undefined, e: Evidence) => applyEvidence(r, e, DEFAULT_HEALTH_POLICY, (now += 10_000));
  const a = step(undefined, timeout);
  assert.deepEqual(a.changed, { from: "active", to: "probing", reason: "probe timeout (1 consecutive)" });
  const b = step(a.record, { source: "traffic", result: "transport-error" });
  assert.deepEqual(b.changed, { from: "probing", to: "inactive", reason: "call transport error (2 consecutive)" });
  assert.equal(b.record.changedAt, 20_000);
  const c = step(b.record, ok);
  assert.equal(c.changed, undefined);
  assert.equal(c.record.state, "inactive");
  const d = step(c.record, ok);
  assert.deepEqual(d.changed, { from: "inactive", to: "active", reason: "probe 200 (2 consecutive)" });
  assert.equal(d.record.failures, 0);
  assert.equal(d.record.lastProbeAt, 40_000 - 12);
  assert.equal(d.record.avgLatencyMs, 12);
});

test("checkPolicy lists every bad field and refuses thresholds that would flap", () => {
  const r = checkPolicy({ failuresToInactive: 1, successesToActive: 0, latencyAlpha: 2, bogus: 1 });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.ok(r.issues.some((i) => i.startsWith("failuresToInactive")), r.issues.join("; "));
  assert.ok(r.issues.some((i) => i.startsWith("successesToActive")));
  assert.ok(r.issues.some((i) => i.startsWith("latencyAlpha")));
  assert.ok(r.issues.some((i) => i.includes("bogus")));
  const p = checkPolicy({ failuresToProbing: 3, failuresToInactive: 2 });
  assert.equal(p.ok, false);
  assert.deepEqual(checkPolicy({}), { ok: true, policy: DEFAULT_HEALTH_POLICY });
});

/** Outcomes that touch the counters (pauses do not), newest last. */
function outcomes(evidence: readonly Evidence[], policy: HealthPolicy): Array<"success" | "failure"> {
  return evidence.map((e) => classify(e, policy).outcome).filter((o): o is "success" | "failure" => o !== "pause");
}

function tailIs(list: readonly string[], value: string, n: number): boolean {
  return list.length >= n && list.slice(-n).every((x) => x === value);
}

test("property: inactive exactly when failuresToInactive consecutive failures came, active again exactly after successesToActive successes", () => {
  fc.assert(
    fc.property(arbitraryPolicy, fc.array(arbitraryEvidence, { maxLength: 60 }), (policy, seq) => {
      let r: HealthRecord | undefined;
      const seen: Evidence[] = [];
      let now = 0;
      for (const e of seq) {
        const res = applyEvidence(r, e, policy, (now += 500));
        seen.push(e);
        const past = outcomes(seen, policy);
        const wasInactive = (r ?? initialHealth()).state === "inactive";
        r = res.record;
        // Never deactivated without N failures in a row; N failures in a row always deactivate.
        if (res.changed?.to === "inactive") assert.ok(tailIs(past, "failure", policy.failuresToInactive), "deactivated without N consecutive failures");
        if (tailIs(past, "failure", policy.failuresToInactive)) assert.equal(r.state, "inactive");
        // Never back without M successes in a row; M successes in a row always bring it back.
        if (res.changed?.to === "active") assert.ok(tailIs(past, "success", policy.successesToActive));
        if (tailIs(past, "success", policy.successesToActive)) assert.equal(r.state, "active");
        // A single failure never deactivates (N >= 2): after a success, one failure leaves it routable.
        if (past.at(-1) === "failure" && past.at(-2) === "success" && !wasInactive) assert.notEqual(r.state, "inactive");
        // A success resets the failure count, a failure the success count.
        if (classify(e, policy).outcome === "success") assert.equal(r.failures, 0);
        if (classify(e, policy).outcome === "failure") assert.equal(r.successes, 0);
        // Counters are the length of the current run.
        const last = past.at(-1);
        let run = 0;
        for (let i = past.length - 1; i >= 0 && past[i] === last; i--) run++;
        if (last === "failure") assert.equal(r.failures, run);
        if (last === "success") assert.equal(r.successes, run);
        // inactive → probing never happens; probing only comes from active.
        if (res.changed?.to === "probing") assert.equal(res.changed.from, "active");
        if (res.changed) assert.notEqual(res.changed.from, res.changed.to);
      }
    }),
    { numRuns: 500 },
  );
});

test("property: from active, exactly N consecutive failures are needed, and probing comes at failuresToProbing", () => {
  fc.assert(
    fc.property(arbitraryPolicy, fc.integer({ min: 1, max: 10 }), (policy, k) => {
      const r = run(Array.from({ length: k }, () => timeout), policy);
      const want = k >= policy.failuresToInactive ? "inactive" : k >= policy.failuresToProbing ? "probing" : "active";
      assert.equal(r.state, want);
    }),
  );
});

test("property: the latency average stays within the range of the samples and ignores timeouts", () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.double({ min: 0, max: 2000, noNaN: true }), fc.constant(-1)), { minLength: 1, maxLength: 30 }), (samples) => {
      const evidence: Evidence[] = samples.map((s) => (s < 0 ? timeout : { source: "probe", result: "reply", status: 200, latencyMs: s }));
      const r = run(evidence);
      const real = samples.filter((s) => s >= 0);
      if (real.length === 0) return assert.equal(r.avgLatencyMs, null);
      const avg = r.avgLatencyMs ?? assert.fail("no average");
      assert.ok(avg >= Math.min(...real) - 0.05 * real.length && avg <= Math.max(...real) + 0.05 * real.length, `${avg} within samples`);
    }),
  );
});

test("a pause never counts as a failure and never shortens; it ends on its own", () => {
  const pause = (s: number): Evidence => ({ source: "traffic", result: "503", retryAfterS: s });
  const a = applyEvidence(undefined, pause(60), DEFAULT_HEALTH_POLICY, 1000);
  assert.deepEqual(a.paused, { until: 61_000 });
  const b = applyEvidence(a.record, pause(10), DEFAULT_HEALTH_POLICY, 2000);
  assert.equal(b.paused, undefined);
  assert.equal(b.record.pausedUntil, 61_000);
  assert.equal(b.record.failures, 0);
  assert.deepEqual(effectiveState("active", b.record, 60_999), { state: "active", routable: false, pausedUntil: 61_000 });
  assert.deepEqual(effectiveState("active", b.record, 61_000), { state: "active", routable: true });
});

test("effectiveState: admin state wins; probing is routable, inactive is not", () => {
  const probing = run([timeout]);
  const inactive = run([timeout, timeout]);
  assert.deepEqual(effectiveState("active", undefined, 0), { state: "active", routable: true });
  assert.deepEqual(effectiveState("active", probing, 0), { state: "probing", routable: true });
  assert.deepEqual(effectiveState("active", inactive, 0), { state: "inactive", routable: false });
  assert.deepEqual(effectiveState("disabled", initialHealth(), 0), { state: "disabled", routable: false });
  assert.deepEqual(effectiveState("draining", inactive, 0), { state: "draining", routable: false });
});

test("effectiveState: an unprobed inactive destination is retried with calls once unprobedRetryMs passed since its last failure", () => {
  const inactive = run([{ source: "traffic", result: "timeout" }, { source: "traffic", result: "timeout" }]);
  const last = inactive.lastFailureAt ?? assert.fail("no failure time");
  const opts = { probeMode: "never" as const };
  assert.equal(effectiveState("active", inactive, last + 29_999, opts).routable, false);
  assert.deepEqual(effectiveState("active", inactive, last + 30_000, opts), { state: "probing", routable: true });
  assert.equal(effectiveState("active", inactive, last + 30_000, { probeMode: "always" }).routable, false, "probed destinations wait for their probes");
  const failedAgain = applyEvidence(inactive, { source: "traffic", result: "timeout" }, DEFAULT_HEALTH_POLICY, last + 30_500).record;
  assert.equal(effectiveState("active", failedAgain, last + 31_000, opts).routable, false, "a failed retry closes it again");
});

test("successMatters: healthy destinations cost no store write per answered call", () => {
  assert.equal(successMatters(undefined), false);
  assert.equal(successMatters(initialHealth()), false);
  assert.equal(successMatters(run([timeout])), true);
  assert.equal(successMatters(run([timeout, ok, ok])), false);
});
