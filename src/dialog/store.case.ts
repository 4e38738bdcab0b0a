/**
 * The one contract every DialogStore adapter passes (memory, Redis, Upstash): each adapter's test file calls
 * `runStoreContract` with a harness factory and runs every test of it (hono's `common.case.test.ts` habit).
 *
 * Time: a harness either owns a fake clock (`elapse` advances it) or runs on real time (`elapse` waits). Expiry is
 * awaited by polling with a deadline, never by a fixed sleep, so the same tests are exact on a fake clock and robust
 * on a loaded machine.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { StoreError, type Dialog, type DialogStore, type Load } from "./dialog.ts";

export interface StoreHarness {
  /** The store under test. */
  readonly store: DialogStore;
  /** Another store on the same backing state: another gateway, another connection. */
  another(): Promise<DialogStore>;
  /** Overwrite a load counter behind the store's back (what drift, a wrap-around or an operator's HSET leave). */
  corruptLoad(destinationId: string, resource: string, value: number): Promise<void>;
  /** Let `ms` pass: advances a fake clock, or waits on real time. */
  elapse(ms: number): Promise<void>;
  /** Close every store it made and release what it holds. */
  close(): Promise<void>;
}

export interface StoreContract {
  readonly name: string;
  create(): Promise<StoreHarness>;
}

/** Short TTL for things meant to expire during a test; long TTL for things that must not. */
const SHORT = 300;
const LONG = 60_000;
/** Deadline for something with TTL SHORT to be observed gone. */
const EXPIRY_DEADLINE = 5_000;

export function sampleDialog(id: string, destinationId = "d1"): Dialog {
  return {
    id,
    callId: `call-${id}@example.test`,
    callerTag: "from-tag",
    calleeTag: "to-tag",
    destinationId,
    destinationUri: "sip:pbx@127.0.0.1:5070",
    routeSet: ["<sip:127.0.0.1:5070;lr>"],
    callerCseq: 1,
    calleeCseq: 7,
    gateway: "gw-1",
    createdAt: 1234,
    updatedAt: 0,
    expiresAt: 0,
  };
}

/** Poll `pred` until true, letting time pass between tries; fail after `deadlineMs` of elapsed (or real) time. */
async function eventually(h: StoreHarness, what: string, pred: () => Promise<boolean>, deadlineMs = EXPIRY_DEADLINE): Promise<void> {
  const step = 25;
  const start = Date.now();
  for (let elapsed = 0; ; elapsed += step) {
    if (await pred()) return;
    // `elapsed` is the time let pass (fake or real); the wall clock bounds slow predicates on real time.
    if (elapsed >= deadlineMs || Date.now() - start >= 2 * deadlineMs) assert.fail(`${what}: not within ${deadlineMs} ms`);
    await h.elapse(step);
  }
}

async function loadOf(store: DialogStore, destinationId: string): Promise<Load> {
  const all = await store.load([destinationId]);
  return all[destinationId] ?? assert.fail(`load() left out ${destinationId}`);
}

type Body = (h: StoreHarness) => Promise<void>;

const tests: Array<[string, Body]> = [
  [
    "put then get returns the record, stamped with updatedAt and expiresAt = updatedAt + ttl",
    async ({ store }) => {
      const d = sampleDialog("a1");
      await store.put(d, 5000);
      const got = await store.get("a1");
      assert.ok(got, "stored");
      assert.deepEqual({ ...got, updatedAt: 0, expiresAt: 0 }, d);
      assert.equal(got.expiresAt - got.updatedAt, 5000);
      assert.equal(await store.get("nope"), undefined);
    },
  ],
  [
    "put replaces the record of the same id",
    async ({ store }) => {
      await store.put(sampleDialog("a1"), 5000);
      await store.put({ ...sampleDialog("a1"), callerCseq: 9 }, 5000);
      assert.equal((await store.get("a1"))?.callerCseq, 9);
      assert.equal(await store.count(), 1);
    },
  ],
  [
    "dialogs expire after their TTL unless touched",
    async (h) => {
      const { store } = h;
      await store.put(sampleDialog("short"), SHORT);
      await store.put(sampleDialog("touched"), SHORT);
      await store.put(sampleDialog("long"), LONG);
      assert.equal(await store.touch("touched", LONG), true);
      await eventually(h, "short dialog expired", async () => (await store.get("short")) === undefined);
      assert.equal((await store.get("touched"))?.id, "touched", "touch extended it");
      assert.equal((await store.get("long"))?.id, "long");
      assert.equal(await store.count(), 2);
      assert.deepEqual((await store.list()).map((d) => d.id).sort(), ["long", "touched"]);
      assert.equal(await store.touch("short", LONG), false, "an expired dialog cannot be touched back");
      assert.equal(await store.remove("short"), undefined);
    },
  ],
  [
    "touch moves expiresAt and returns false for an unknown dialog",
    async ({ store }) => {
      await store.put(sampleDialog("t1"), 1000);
      const before = await store.get("t1");
      assert.equal(await store.touch("t1", 50_000), true);
      const after = await store.get("t1");
      assert.ok(before && after);
      assert.ok(after.expiresAt >= before.expiresAt + 49_000, "expiry moved forward");
      assert.equal(after.expiresAt - after.updatedAt, 50_000);
      assert.equal(await store.touch("unknown", 1000), false);
    },
  ],
  [
    "remove returns the record once",
    async ({ store }) => {
      await store.put(sampleDialog("r1"), 5000);
      assert.equal((await store.remove("r1"))?.callId, "call-r1@example.test");
      assert.equal(await store.remove("r1"), undefined);
      assert.equal(await store.get("r1"), undefined);
      assert.equal(await store.count(), 0);
    },
  ],
  [
    "list filters by destination and honours the limit; count counts live dialogs",
    async ({ store }) => {
      await store.put(sampleDialog("a", "d1"), 5000);
      await store.put(sampleDialog("b", "d2"), 5000);
      await store.put(sampleDialog("c", "d1"), 5000);
      assert.deepEqual((await store.list({ destinationId: "d1" })).map((d) => d.id).sort(), ["a", "c"]);
      assert.deepEqual((await store.list()).map((d) => d.id).sort(), ["a", "b", "c"]);
      assert.equal((await store.list({ limit: 2 })).length, 2);
      assert.equal((await store.list({ destinationId: "d1", limit: 1 })).length, 1);
      assert.deepEqual(await store.list({ destinationId: "d9" }), []);
      assert.equal(await store.count(), 3);
    },
  ],
  [
    "stores on the same backing see each other's dialogs and reservations",
    async (h) => {
      const other = await h.another();
      await other.put(sampleDialog("x1"), 5000);
      assert.equal((await h.store.get("x1"))?.id, "x1");
      assert.deepEqual(await other.reserve({ destinationId: "d1", id: "x1", units: { calls: 1 } }, { calls: 1 }, LONG), { ok: true });
      assert.deepEqual(await h.store.reserve({ destinationId: "d1", id: "x2", units: { calls: 1 } }, { calls: 1 }, LONG), {
        ok: false,
        resource: "calls",
      });
      assert.equal(await h.store.release("d1", "x1"), true);
      assert.deepEqual(await loadOf(other, "d1"), {});
    },
  ],
  [
    "reserve takes capacity up to the limit and names the resource that is full",
    async ({ store }) => {
      for (const id of ["c1", "c2", "c3"]) {
        assert.deepEqual(await store.reserve({ destinationId: "d1", id, units: { calls: 1 } }, { calls: 3 }, LONG), { ok: true });
      }
      assert.deepEqual(await store.reserve({ destinationId: "d1", id: "c4", units: { calls: 1 } }, { calls: 3 }, LONG), {
        ok: false,
        resource: "calls",
      });
      assert.deepEqual(await loadOf(store, "d1"), { calls: 3 });
      assert.deepEqual(await loadOf(store, "d2"), {}, "destinations are independent");
      assert.deepEqual(await store.reserve({ destinationId: "d2", id: "c4", units: { calls: 1 } }, { calls: 3 }, LONG), { ok: true });
    },
  ],
  [
    "reserve is idempotent for the same id",
    async ({ store }) => {
      const r = { destinationId: "d1", id: "same", units: { calls: 1, pstn: 2 } };
      assert.deepEqual(await store.reserve(r, { calls: 1, pstn: 2 }, LONG), { ok: true });
      assert.deepEqual(await store.reserve(r, { calls: 1, pstn: 2 }, LONG), { ok: true }, "a retry of the same reservation succeeds");
      assert.deepEqual(await loadOf(store, "d1"), { calls: 1, pstn: 2 }, "and does not count twice");
      assert.equal(await store.release("d1", "same"), true);
      assert.deepEqual(await loadOf(store, "d1"), {});
    },
  ],
  [
    "a multi-resource reserve is all-or-nothing",
    async ({ store }) => {
      const caps = { calls: 10, pstn: 2 };
      assert.deepEqual(await store.reserve({ destinationId: "d1", id: "m1", units: { calls: 1, pstn: 2 } }, caps, LONG), { ok: true });
      assert.deepEqual(await store.reserve({ destinationId: "d1", id: "m2", units: { calls: 1, pstn: 1 } }, caps, LONG), {
        ok: false,
        resource: "pstn",
      });
      assert.deepEqual(await loadOf(store, "d1"), { calls: 1, pstn: 2 }, "calls were not taken by the refused reservation");
      assert.deepEqual(await store.reserve({ destinationId: "d1", id: "m3", units: { calls: 1 } }, caps, LONG), { ok: true });
      assert.deepEqual(await loadOf(store, "d1"), { calls: 2, pstn: 2 });
      assert.equal(await store.release("d1", "m2"), false, "the refused reservation holds nothing");
    },
  ],
  [
    "resources without a capacity are not limited; capacity 0 admits nothing",
    async ({ store }) => {
      for (let i = 0; i < 5; i++) {
        assert.deepEqual(
          await store.reserve({ destinationId: "d1", id: `u${i}`, units: { calls: 1, video: 3 } }, { calls: 100 }, LONG),
          { ok: true },
        );
      }
      assert.deepEqual(await loadOf(store, "d1"), { calls: 5, video: 15 });
      assert.deepEqual(await store.reserve({ destinationId: "d1", id: "inf", units: { calls: 1 } }, { calls: Infinity }, LONG), { ok: true });
      assert.deepEqual(await store.reserve({ destinationId: "d1", id: "z", units: { fax: 1 } }, { fax: 0 }, LONG), {
        ok: false,
        resource: "fax",
      });
    },
  ],
  [
    "release is idempotent and load never goes below 0",
    async ({ store }) => {
      await store.reserve({ destinationId: "d1", id: "r1", units: { calls: 1, pstn: 1 } }, { calls: 5 }, LONG);
      await store.reserve({ destinationId: "d1", id: "r2", units: { calls: 1 } }, { calls: 5 }, LONG);
      assert.equal(await store.release("d1", "r1"), true);
      assert.equal(await store.release("d1", "r1"), false, "second release of the same id");
      assert.equal(await store.release("d1", "ghost"), false, "unknown id");
      assert.equal(await store.release("d-unknown", "r2"), false, "unknown destination");
      assert.deepEqual(await loadOf(store, "d1"), { calls: 1 });
      assert.equal(await store.release("d1", "r2"), true);
      assert.equal(await store.release("d1", "r2"), false);
      assert.deepEqual(await loadOf(store, "d1"), {});
    },
  ],
  [
    "load reads many destinations in one call, unknown ones as empty",
    async ({ store }) => {
      await store.reserve({ destinationId: "la", id: "1", units: { calls: 1 } }, {}, LONG);
      await store.reserve({ destinationId: "lb", id: "1", units: { calls: 2, pstn: 1 } }, {}, LONG);
      assert.deepEqual(await store.load(["la", "lb", "lc", "la"]), { la: { calls: 1 }, lb: { calls: 2, pstn: 1 }, lc: {} });
      assert.deepEqual(await store.load([]), {});
    },
  ],
  [
    "200 concurrent reserves from 4 stores against capacity 30 admit exactly 30; releasing all leaves load 0",
    async (h) => {
      const stores = [h.store, await h.another(), await h.another(), await h.another()];
      const ids = Array.from({ length: 200 }, (_, i) => `call-${i}`);
      const results = await Promise.all(
        ids.map((id, i) =>
          stores[i % stores.length]!.reserve({ destinationId: "busy", id, units: { calls: 1 } }, { calls: 30 }, LONG),
        ),
      );
      const admitted = results.filter((r) => r.ok).length;
      assert.equal(admitted, 30, "exactly the capacity was admitted");
      for (const r of results) if (!r.ok) assert.equal(r.resource, "calls");
      assert.deepEqual(await loadOf(h.store, "busy"), { calls: 30 });
      const released = await Promise.all(ids.map((id, i) => stores[(i + 1) % stores.length]!.release("busy", id)));
      assert.equal(released.filter(Boolean).length, 30, "only admitted calls had something to release");
      assert.deepEqual(await loadOf(h.store, "busy"), {});
      assert.deepEqual(await h.store.reconcile("busy"), { expired: 0, load: {} });
    },
  ],
  [
    "reservations expire, stop counting, and their room can be taken again",
    async (h) => {
      const { store } = h;
      assert.deepEqual(await store.reserve({ destinationId: "d1", id: "short", units: { calls: 1 } }, { calls: 2 }, SHORT), { ok: true });
      assert.deepEqual(await store.reserve({ destinationId: "d1", id: "long", units: { calls: 1 } }, { calls: 2 }, LONG), { ok: true });
      assert.equal((await store.reserve({ destinationId: "d1", id: "new", units: { calls: 1 } }, { calls: 2 }, LONG)).ok, false);
      await eventually(
        h,
        "room freed by the expired reservation",
        async () => (await store.reserve({ destinationId: "d1", id: "new", units: { calls: 1 } }, { calls: 2 }, LONG)).ok,
      );
      assert.deepEqual(await loadOf(store, "d1"), { calls: 2 });
      assert.equal(await store.release("d1", "short"), false, "an expired reservation has nothing to give back");
      assert.equal(await store.refresh("d1", "short", LONG), false, "nor can it be refreshed back");
    },
  ],
  [
    "refresh extends a live reservation and is false for unknown ones",
    async (h) => {
      const { store } = h;
      await store.reserve({ destinationId: "d1", id: "kept", units: { calls: 1 } }, {}, SHORT);
      await store.reserve({ destinationId: "d1", id: "control", units: { calls: 1 } }, {}, SHORT);
      assert.equal(await store.refresh("d1", "kept", LONG), true);
      await eventually(h, "control reservation expired", async () => (await loadOf(store, "d1")).calls === 1);
      assert.equal(await store.refresh("d1", "kept", LONG), true, "still live");
      assert.equal(await store.refresh("d1", "control", LONG), false);
      assert.equal(await store.refresh("d1", "unknown", LONG), false);
      assert.equal(await store.refresh("d-none", "kept", LONG), false);
      assert.equal(await store.release("d1", "kept"), true);
    },
  ],
  [
    "reconcile recounts load from live reservations after the counter drifted (wrapped, negative)",
    async (h) => {
      const { store } = h;
      const caps = { calls: 30, pstn: 60 };
      for (const id of ["k1", "k2", "k3"]) await store.reserve({ destinationId: "d1", id, units: { calls: 1, pstn: 2 } }, caps, LONG);
      await h.corruptLoad("d1", "calls", 4294967262);
      assert.deepEqual(
        await store.reserve({ destinationId: "d1", id: "k4", units: { calls: 1 } }, caps, LONG),
        { ok: false, resource: "calls" },
        "a wrapped counter refuses calls until reconciled",
      );
      assert.deepEqual(await store.reconcile("d1"), { expired: 0, load: { calls: 3, pstn: 6 } });
      assert.deepEqual(await loadOf(store, "d1"), { calls: 3, pstn: 6 });
      assert.deepEqual(await store.reserve({ destinationId: "d1", id: "k4", units: { calls: 1 } }, caps, LONG), { ok: true });
      await h.corruptLoad("d1", "calls", -5);
      await h.corruptLoad("d1", "pstn", 0);
      const drifted = await loadOf(store, "d1");
      assert.ok((drifted.calls ?? 0) >= 0, "load never reports a negative count");
      assert.deepEqual(await store.reconcile("d1"), { expired: 0, load: { calls: 4, pstn: 6 } });
      for (const id of ["k1", "k2", "k3", "k4"]) assert.equal(await store.release("d1", id), true);
      assert.deepEqual(await loadOf(store, "d1"), {});
      assert.deepEqual(await store.reconcile("d1"), { expired: 0, load: {} });
    },
  ],
  [
    "reconcile drops the expired reservations of a dead gateway and recounts from the live ones",
    async (h) => {
      const dead = await h.another();
      for (let i = 0; i < 5; i++) await dead.reserve({ destinationId: "d1", id: `dead-${i}`, units: { calls: 1 } }, { calls: 10 }, SHORT);
      await dead.close(); // killed -9: its calls are never released
      for (let i = 0; i < 2; i++) await h.store.reserve({ destinationId: "d1", id: `live-${i}`, units: { calls: 1 } }, { calls: 10 }, LONG);
      await h.corruptLoad("d1", "calls", 1000);
      let expired = 0;
      await eventually(h, "dead gateway's reservations dropped", async () => {
        const r = await h.store.reconcile("d1");
        expired += r.expired;
        return r.load.calls === 2 && expired === 5;
      });
      assert.equal(expired, 5);
      assert.deepEqual(await loadOf(h.store, "d1"), { calls: 2 });
      assert.deepEqual(await h.store.reconcile("d1"), { expired: 0, load: { calls: 2 } });
    },
  ],
  [
    "malformed reservations reject with StoreError and change nothing",
    async ({ store }) => {
      const isStoreError = (e: unknown): boolean => e instanceof StoreError && e.name === "StoreError";
      await assert.rejects(store.reserve({ destinationId: "d1", id: "b1", units: { "bad,name": 1 } }, {}, LONG), isStoreError);
      await assert.rejects(store.reserve({ destinationId: "d1", id: "b1", units: { calls: -1 } }, {}, LONG), isStoreError);
      await assert.rejects(store.reserve({ destinationId: "d1", id: "b1", units: { calls: 1.5 } }, {}, LONG), isStoreError);
      await assert.rejects(store.reserve({ destinationId: "d1", id: "b1", units: { calls: 1 } }, { calls: -1 }, LONG), isStoreError);
      await assert.rejects(store.reserve({ destinationId: "d1", id: "b1", units: { calls: 1 } }, {}, 0), isStoreError);
      await assert.rejects(store.refresh("d1", "b1", Number.NaN), isStoreError);
      assert.deepEqual(await loadOf(store, "d1"), {});
    },
  ],
];

export function runStoreContract(contract: StoreContract): void {
  describe(`DialogStore contract: ${contract.name}`, () => {
    for (const [name, body] of tests) {
      test(name, { timeout: 20_000 }, async () => {
        const h = await contract.create();
        try {
          await body(h);
        } finally {
          await h.close();
        }
      });
    }
  });
}
