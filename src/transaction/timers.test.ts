import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_TIMER_SETTINGS, timerDurations, timerSettings } from "./timers.ts";

describe("timerDurations (RFC 3261 Table 4, RFC 6026)", () => {
  it("has the Table 4 defaults", () => {
    assert.deepEqual(DEFAULT_TIMER_SETTINGS, { t1: 500, t2: 4000, t4: 5000 });
  });

  it("derives every timer for an unreliable transport", () => {
    assert.deepEqual({ ...timerDurations(DEFAULT_TIMER_SETTINGS, false) }, {
      T2: 4000, A: 500, B: 32000, D: 32000, E: 500, F: 32000, G: 500, H: 32000, I: 5000, J: 32000, K: 5000, L: 32000, M: 32000,
    });
  });

  it("derives every timer for a reliable transport: no retransmission timers, zero linger", () => {
    assert.deepEqual({ ...timerDurations(DEFAULT_TIMER_SETTINGS, true) }, {
      T2: 4000, A: null, B: 32000, D: 0, E: null, F: 32000, G: null, H: 32000, I: 0, J: 0, K: 0, L: 32000, M: 32000,
    });
  });

  it("keeps Timer D at 32 s minimum and follows 64*T1 above it", () => {
    assert.equal(timerDurations({ t1: 100, t2: 4000, t4: 5000 }, false).D, 32000);
    assert.equal(timerDurations({ t1: 1000, t2: 4000, t4: 5000 }, false).D, 64000);
    assert.equal(timerDurations({ t1: 1000, t2: 4000, t4: 5000 }, false).B, 64000);
  });

  it("rejects nonsensical settings", () => {
    assert.throws(() => timerDurations({ t1: 0, t2: 4000, t4: 5000 }, false), RangeError);
    assert.throws(() => timerDurations({ t1: 500, t2: Number.NaN, t4: 5000 }, false), RangeError);
    assert.throws(() => timerDurations({ t1: 500, t2: 4000, t4: -1 }, false), RangeError);
    assert.throws(() => timerDurations({ t1: 5000, t2: 4000, t4: 5000 }, false), RangeError);
  });
});

describe("timerSettings", () => {
  it("is one record per distinct (T1, T2, T4), so every core of a process shares its durations", () => {
    const a = timerSettings(500, 4000, 5000);
    assert.equal(timerSettings(500, 4000, 5000), a);
    assert.deepEqual(a, { t1: 500, t2: 4000, t4: 5000 });
    assert.ok(Object.isFrozen(a));
    assert.notEqual(timerSettings(250, 4000, 5000), a);
    assert.equal(timerDurations(timerSettings(500, 4000, 5000), false), timerDurations(a, false));
  });
});
