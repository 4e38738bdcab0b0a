/**
 * The contract every HealthStore passes (memory, Redis, Upstash): each adapter's test file calls
 * `runHealthContract(name, open)` beside `runStoreContract`. `open(ns)` returns a new store on the backing state named
 * by `ns` (another gateway on the same Redis); every test gets a fresh namespace and the contract closes what it
 * opened. Runs on real time (lease expiry is polled with a deadline); transitions take an explicit `now` where
 * exact values are compared.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { arbitraryEvidence, arbitraryPolicy } from "../health/test-support.ts";
import { StoreError, type DialogStore } from "./dialog.ts";
import { isHealthStore, type HealthStore, type RecordResult } from "./health.ts";
import {
  applyEvidence,
  DEFAULT_HEALTH_POLICY,
  initialHealth,
  type Evidence,
  type HealthPolicy,
  type HealthRecord,
  type StateChange,
} from "../health/state.ts";

export interface HealthNamespace {
  /** Unique per test: use it as the key prefix. */
  readonly id: string;
  /** The namespace's one shared value, made on first use (e.g. the state in-memory stores share). */
  memo<T>(make: () => T): T;
}

type Store = DialogStore & HealthStore;

interface Harness {
  open(): Store;
}

const isStoreError = (e: unknown): boolean => e instanceof StoreError && e.name === "StoreError";

// ---- tests ------------------------------------------------------------------------------------------------------

type Body = (h: Harness) => Promise<void>;

const probeOk = (latencyMs = 10): Evidence => ({ source: "probe", result: "reply", status: 200, latencyMs });
const probeTimeout: Evidence = { source: "probe", result: "timeout", elapsedMs: 4000 };

const tests: Array<[string, Body]> = [
  [
    "a destination never reported on is active with no history; health() answers every id asked",
    async (h) => {
      const store = h.open();
      assert.deepEqual(await store.health([]), {});
      assert.deepEqual(await store.health(["d1", "d2", "d1"]), { d1: initialHealth(), d2: initialHealth() });
    },
  ],
  [
    "recordEvidence makes exactly the transitions of applyEvidence on random evidence sequences",
    async (h) => {
      const store = h.open();
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          arbitraryPolicy,
          fc.array(fc.tuple(arbitraryEvidence, fc.integer({ min: 0, max: 20_000 })), { minLength: 1, maxLength: 24 }),
          async (policy, steps) => {
            const id = `parity-${run++}`;
            let expected: HealthRecord | undefined;
            let now = 1_700_000_000_000;
            for (const [evidence, step] of steps) {
              now += step;
              const want = applyEvidence(expected, evidence, policy, now);
              const got = await store.recordEvidence(id, evidence, policy, now);
              assert.deepEqual(got, want, `evidence ${JSON.stringify(evidence)} at ${now}`);
              expected = want.record;
            }
            const read = await store.health([id]);
            assert.deepEqual(read[id], expected, "health() reads back what recordEvidence wrote");
          },
        ),
        { numRuns: 40 },
      );
    },
  ],
  [
    "evidence from several gateways accumulates in one record and each transition is reported exactly once",
    async (h) => {
      const gateways = [h.open(), h.open(), h.open()];
      const results: RecordResult[] = await Promise.all(
        Array.from({ length: 9 }, (_, i) => (gateways[i % 3] as Store).recordEvidence("d1", { source: "traffic", result: "timeout" })),
      );
      const changes = results.map((r) => r.changed).filter((c): c is StateChange => c !== undefined);
      assert.deepEqual(
        changes.map(({ from, to }) => `${from}->${to}`),
        ["active->probing", "probing->inactive"],
      );
      for (const g of gateways) {
        const rec = (await g.health(["d1"])).d1;
        assert.equal(rec?.state, "inactive");
        assert.equal(rec?.failures, 9);
      }
      const back = await Promise.all(gateways.map((g) => g.recordEvidence("d1", probeOk())));
      assert.equal(back.filter((r) => r.changed?.to === "active").length, 1, "one of the gateways brought it back");
    },
  ],
  [
    "exactly one of many concurrent gateways gets the probe lease, and it is free again after its TTL",
    async (h) => {
      const gateways = Array.from({ length: 5 }, () => h.open());
      const got = await Promise.all(gateways.flatMap((g, i) => [g.acquireProbeLease("d1", `gw-${i}`, 300), g.acquireProbeLease("d1", `gw-${i}`, 300)]));
      assert.equal(got.filter(Boolean).length, 1);
      assert.equal(await (gateways[0] as Store).acquireProbeLease("d2", "gw-0", 60_000), true, "leases are per destination");
      const start = Date.now();
      while (!(await (gateways[1] as Store).acquireProbeLease("d1", "gw-1", 60_000))) {
        if (Date.now() - start > 5000) assert.fail("lease not free within 5 s of its 300 ms TTL");
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal(await (gateways[2] as Store).acquireProbeLease("d1", "gw-2", 60_000), false);
      assert.equal(await (gateways[1] as Store).acquireProbeLease("d1", "gw-1", 60_000), false, "not even its holder takes it twice");
    },
  ],
  [
    "without an explicit now the store's clock stamps the record; the probe's send time is recorded",
    async (h) => {
      const store = h.open();
      const t0 = Date.now();
      const r = await store.recordEvidence("d1", { source: "probe", result: "reply", status: 200, latencyMs: 1234.56 });
      const t1 = Date.now();
      const u = r.record.updatedAt ?? assert.fail("no updatedAt");
      assert.ok(u >= t0 - 5000 && u <= t1 + 5000, `updatedAt ${u} near [${t0}, ${t1}]`);
      assert.equal(r.record.lastProbeAt, u - 1234);
      assert.equal(r.record.lastLatencyMs, 1234.6);
      assert.equal(r.record.lastProbeResult, "alive");
      assert.equal(r.record.lastProbeStatus, 200);
    },
  ],
  [
    "a 503 with Retry-After pauses the destination for every gateway; a shorter one never cuts a pause short",
    async (h) => {
      const [a, b] = [h.open(), h.open()];
      const first = await a.recordEvidence("d1", { source: "traffic", result: "503", retryAfterS: 30 }, undefined, 1000);
      assert.deepEqual(first.paused, { until: 31_000 });
      assert.equal(first.changed, undefined);
      const second = await b.recordEvidence("d1", { source: "traffic", result: "503", retryAfterS: 5 }, undefined, 2000);
      assert.equal(second.paused, undefined);
      const rec = (await b.health(["d1"])).d1;
      assert.equal(rec?.pausedUntil, 31_000);
      assert.equal(rec?.state, "active");
      assert.equal(rec?.failures, 0, "a pause is not a failure");
      const capped = await a.recordEvidence("d1", { source: "traffic", result: "503", retryAfterS: 86_400 }, undefined, 3000);
      assert.deepEqual(capped.paused, { until: 3000 + DEFAULT_HEALTH_POLICY.maxPauseMs });
    },
  ],
  [
    "probe latency is kept as a moving average, shared by every gateway",
    async (h) => {
      const [a, b] = [h.open(), h.open()];
      await a.recordEvidence("d1", probeOk(10), undefined, 1000);
      await b.recordEvidence("d1", probeOk(20), undefined, 2000);
      await a.recordEvidence("d1", probeTimeout, undefined, 3000);
      const r = await b.recordEvidence("d1", probeOk(40), undefined, 4000);
      // 10 → 0.3*20 + 0.7*10 = 13 → (timeout: unchanged) → 0.3*40 + 0.7*13 = 21.1
      assert.equal(r.record.avgLatencyMs, 21.1);
      assert.equal(r.record.lastLatencyMs, 40);
      assert.equal((await a.health(["d1"])).d1?.avgLatencyMs, 21.1);
    },
  ],
  [
    "malformed arguments reject with StoreError and change nothing",
    async (h) => {
      const store = h.open();
      const bad: HealthPolicy = { ...DEFAULT_HEALTH_POLICY, failuresToInactive: 1 };
      await assert.rejects(store.recordEvidence("d1", probeTimeout, bad), isStoreError);
      await assert.rejects(store.recordEvidence("d1", probeTimeout, { ...DEFAULT_HEALTH_POLICY, latencyAlpha: 0 }), isStoreError);
      await assert.rejects(store.recordEvidence("d1", probeTimeout, undefined, Number.NaN), isStoreError);
      await assert.rejects(store.recordEvidence("d{1}", probeTimeout), isStoreError);
      await assert.rejects(store.acquireProbeLease("d1", "gw", 0), isStoreError);
      await assert.rejects(store.health(["ok", "has space"]), isStoreError);
      assert.deepEqual((await store.health(["d1"])).d1, initialHealth());
      assert.equal(await store.acquireProbeLease("d1", "gw", 1000), true, "the rejected lease was not taken");
    },
  ],
];

export function runHealthContract(name: string, open: (ns: HealthNamespace) => DialogStore): void {
  describe(`HealthStore contract: ${name}`, () => {
    for (const [testName, body] of tests) {
      test(testName, { timeout: 30_000 }, async () => {
        const slot: { value?: unknown } = {};
        const ns: HealthNamespace = {
          id: `h-${randomUUID()}`,
          memo<T>(make: () => T): T {
            if (!("value" in slot)) slot.value = make();
            return slot.value as T;
          },
        };
        const opened: DialogStore[] = [];
        const harness: Harness = {
          open() {
            const s = open(ns);
            opened.push(s);
            if (!isHealthStore(s)) assert.fail(`${name}: the store does not implement HealthStore`);
            return s;
          },
        };
        try {
          await body(harness);
        } finally {
          await Promise.all(opened.map((s) => s.close()));
        }
      });
    }
  });
}
