/**
 * The store contract against a real redis-server (started on a free loopback port, stopped by PID), plus what only
 * a networked store has: connection loss, restarts, a server that forgot its scripts.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startRedisServer, type RedisServer } from "../../tests/support/redis-server.ts";
import type { RespClient } from "../../tests/support/redis-resp.ts";
import { StoreError, type DialogStore } from "./dialog.ts";
import { RedisDialogStore, REDIS_URL_ENV } from "./redis.ts";
import { capacityKeys } from "./scripted.ts";
import { runHealthContract } from "./health.case.ts";
import { runStoreContract, sampleDialog } from "./store.case.ts";

let server: RedisServer;
let admin: RespClient;

before(async () => {
  server = await startRedisServer();
  admin = await server.connect();
});

after(async () => {
  admin?.close();
  await server?.stop();
});

function open(keyPrefix: string, extra: Partial<ConstructorParameters<typeof RedisDialogStore>[0]> = {}): RedisDialogStore {
  return new RedisDialogStore({ url: server.url, keyPrefix, commandTimeoutMs: 2000, ...extra });
}

runStoreContract({
  name: "redis",
  async create() {
    const prefix = `t-${randomUUID()}`;
    const stores: DialogStore[] = [];
    const make = (): DialogStore => {
      const s = open(prefix);
      stores.push(s);
      return s;
    };
    return {
      store: make(),
      another: async () => make(),
      async corruptLoad(destinationId, resource, value) {
        const [, , load] = capacityKeys(prefix, destinationId);
        await admin.call("HSET", load, resource, String(value));
      },
      elapse: (ms) => new Promise((r) => setTimeout(r, ms)),
      async close() {
        await Promise.all(stores.map((s) => s.close()));
      },
    };
  },
});

runHealthContract("redis", (ns) => open(ns.id));

describe("RedisDialogStore on a real redis-server", () => {
  test("keys of one destination share a hash tag and vanish with its last reservation", async () => {
    const prefix = `k-${randomUUID()}`;
    const store = open(prefix);
    try {
      await store.reserve({ destinationId: "pbx-1", id: "c1", units: { calls: 1 } }, { calls: 2 }, 60_000);
      const keys = (await admin.call("KEYS", `${prefix}:*`)) as string[];
      assert.deepEqual(keys.sort(), capacityKeys(prefix, "pbx-1").sort());
      for (const k of keys) {
        assert.match(k, /\{dest:pbx-1\}/);
        const ttl = (await admin.call("PTTL", k)) as number;
        assert.ok(ttl > 60_000 && ttl <= 120_000, `${k} expires a minute after its last reservation (pttl ${ttl})`);
      }
      assert.equal(await store.release("pbx-1", "c1"), true);
      assert.deepEqual(await admin.call("KEYS", `${prefix}:*`), []);
    } finally {
      await store.close();
    }
  });

  test("scripts are loaded again after SCRIPT FLUSH (EVALSHA falls back to EVAL)", async () => {
    const store = open(`f-${randomUUID()}`);
    try {
      await store.put(sampleDialog("s1"), 5000);
      await store.reserve({ destinationId: "d1", id: "s1", units: { calls: 1 } }, {}, 5000);
      await admin.call("SCRIPT", "FLUSH");
      assert.equal((await store.get("s1"))?.id, "s1");
      assert.deepEqual(await store.load(["d1", "d2"]), { d1: { calls: 1 }, d2: {} }, "pipelined EVALSHA falls back too");
      assert.equal(await store.touch("s1", 5000), true);
      assert.equal(await store.count(), 1);
    } finally {
      await store.close();
    }
  });

  test("a lost server makes operations reject promptly with StoreError; the store heals when it is back", async () => {
    const store = open(`l-${randomUUID()}`, { commandTimeoutMs: 500, connectTimeoutMs: 500, maxReconnectDelayMs: 100 });
    try {
      await store.ready(5000);
      assert.deepEqual(await store.reserve({ destinationId: "d1", id: "c1", units: { calls: 1 } }, {}, 60_000), { ok: true });
      await server.kill();
      admin.close();
      for (const op of [
        () => store.reserve({ destinationId: "d1", id: "c2", units: { calls: 1 } }, {}, 60_000),
        () => store.get("x"),
        () => store.load(["d1"]),
        () => store.put(sampleDialog("x"), 1000),
      ]) {
        const t0 = Date.now();
        await assert.rejects(op(), (e: unknown) => e instanceof StoreError && e.name === "StoreError" && e.cause !== undefined);
        assert.ok(Date.now() - t0 < 1500, `rejected within the command timeout (${Date.now() - t0} ms)`);
      }
      await server.restart();
      admin = await server.connect();
      await store.ready(5000);
      assert.deepEqual(await store.load(["d1"]), { d1: {} }, "the restarted server is empty (nothing persisted)");
      assert.deepEqual(await store.reserve({ destinationId: "d1", id: "c3", units: { calls: 1 } }, { calls: 1 }, 60_000), { ok: true });
      assert.equal(store.connectionStatus, "ready");
    } finally {
      await store.close();
    }
  });

  test("an unreachable server fails fast at startup too, without crashing the process", async () => {
    const { freePort } = await import("../../tests/support/ports.ts");
    const port = await freePort();
    const errors: Error[] = [];
    const store = new RedisDialogStore({
      url: `redis://127.0.0.1:${port}`,
      commandTimeoutMs: 300,
      connectTimeoutMs: 300,
      onConnectionError: (e) => errors.push(e),
    });
    try {
      const t0 = Date.now();
      await assert.rejects(store.get("x"), StoreError);
      await assert.rejects(store.ready(300), StoreError);
      assert.ok(Date.now() - t0 < 2000, `bounded (${Date.now() - t0} ms)`);
      assert.ok(errors.length > 0, "connection errors reach the listener, not the process");
    } finally {
      await store.close();
    }
  });

  test("fromEnv names the missing variable", () => {
    assert.throws(() => RedisDialogStore.fromEnv({}), (e: unknown) => e instanceof StoreError && e.message.includes(REDIS_URL_ENV));
  });
});
