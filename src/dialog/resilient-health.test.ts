/**
 * Health through the outage-tolerant store the gateway uses: the shared contract while the store answers, and each
 * gateway's own local view (leases and records) while it does not.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { StoreError } from "./dialog.ts";
import { runHealthContract } from "./health.case.ts";
import { MemoryDialogState, MemoryDialogStore } from "./memory.ts";
import { ResilientDialogStore, type OutageEvents } from "./resilient.ts";

const quiet: OutageEvents = { onOutage() {}, onRecovery() {}, onLocalReservation() {} };

runHealthContract("resilient over memory", (ns) => new ResilientDialogStore(new MemoryDialogStore(Date.now, { state: ns.memo(() => new MemoryDialogState()) }), quiet));

test("during an outage health falls back to the gateway's own view, and goes back to the shared one after", async () => {
  const shared = new MemoryDialogStore(() => 1000);
  let down = false;
  const primary = new Proxy(shared, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (down) return Promise.reject(new StoreError(String(prop), "redis: connection refused"));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const events: string[] = [];
  const store = new ResilientDialogStore(primary, { onOutage: () => events.push("outage"), onRecovery: () => events.push("recovery"), onLocalReservation() {} });
  const timeout = { source: "probe", result: "timeout", elapsedMs: 4000 } as const;
  assert.equal(await store.acquireProbeLease("d1", "gw", 60_000), true);
  assert.equal((await store.recordEvidence("d1", timeout)).record.failures, 1);
  down = true;
  assert.equal(await store.acquireProbeLease("d1", "gw", 60_000), true, "the local lease: probes go on during the outage");
  assert.equal((await store.recordEvidence("d1", timeout)).record.failures, 1, "the local record starts from scratch");
  assert.equal((await store.health(["d1"])).d1?.failures, 1);
  await assert.rejects(store.recordEvidence("d{1}", timeout), StoreError, "bad arguments still reject");
  down = false;
  assert.equal((await store.health(["d1"])).d1?.failures, 1, "the shared record again");
  assert.equal((await store.recordEvidence("d1", timeout)).changed?.to, "inactive");
  assert.deepEqual(events, ["outage", "recovery"]);
});
