import { test } from "node:test";
import assert from "node:assert/strict";
import type { Dialog } from "./dialog.ts";
import { MemoryDialogState, MemoryDialogStore } from "./memory.ts";
import { runHealthContract } from "./health.case.ts";
import { runStoreContract } from "./store.case.ts";

runStoreContract({
  name: "memory",
  async create() {
    let now = 1_000_000;
    const clock = (): number => now;
    const state = new MemoryDialogState();
    const store = new MemoryDialogStore(clock, { state });
    return {
      store,
      async another() {
        return new MemoryDialogStore(clock, { state });
      },
      async corruptLoad(destinationId, resource, value) {
        state.destination(destinationId).load.set(resource, value);
      },
      async elapse(ms) {
        now += ms;
      },
      async close() {
        await store.close();
      },
    };
  },
});

runHealthContract("memory", (ns) => new MemoryDialogStore(Date.now, { state: ns.memo(() => new MemoryDialogState()) }));

function dialog(id: string, destinationId = "d1"): Dialog {
  return {
    id,
    callId: `call-${id}`,
    callerTag: "a",
    calleeTag: "b",
    destinationId,
    destinationUri: "sip:127.0.0.1:5070",
    routeSet: [],
    callerCseq: 1,
    gateway: "gw",
    createdAt: 0,
    updatedAt: 0,
    expiresAt: 0,
  };
}

test("dialogs expire after their TTL unless in-dialog traffic touches them", async () => {
  let now = 1000;
  const store = new MemoryDialogStore(() => now);
  await store.put(dialog("x"), 500);
  await store.put(dialog("y"), 500);
  now = 1400;
  assert.equal(await store.touch("x", 500), true);
  now = 1600;
  assert.equal((await store.get("y")), undefined, "y expired");
  assert.equal((await store.get("x"))?.id, "x", "x was refreshed at 1400");
  now = 2000;
  assert.equal(store.sweep(), 1);
  assert.equal(await store.count(), 0);
  assert.equal(await store.touch("x", 500), false);
});

test("list filters by destination and remove returns the record once", async () => {
  const store = new MemoryDialogStore(() => 0);
  await store.put(dialog("a", "d1"), 1000);
  await store.put(dialog("b", "d2"), 1000);
  await store.put(dialog("c", "d1"), 1000);
  assert.deepEqual((await store.list({ destinationId: "d1" })).map((d) => d.id), ["a", "c"]);
  assert.equal((await store.remove("a"))?.id, "a");
  assert.equal(await store.remove("a"), undefined);
  assert.equal(await store.count(), 2);
});

test("sweep drops expired reservations too, and close forgets everything", async () => {
  let now = 0;
  const store = new MemoryDialogStore(() => now);
  await store.reserve({ destinationId: "d1", id: "a", units: { calls: 1 } }, { calls: 1 }, 100);
  await store.reserve({ destinationId: "d1", id: "b", units: { calls: 1 } }, { calls: 5 }, 1000);
  now = 100;
  store.sweep();
  assert.deepEqual(await store.reconcile("d1"), { expired: 0, load: { calls: 1 } }, "sweep already dropped a");
  await store.close();
  assert.deepEqual(await store.load(["d1"]), { d1: {} });
});
