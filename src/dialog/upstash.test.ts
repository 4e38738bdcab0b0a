/**
 * The store contract through @upstash/redis against an Upstash-compatible REST front (tests/support/upstash-front.ts)
 * over a real redis-server, plus the REST-only concerns: the front's fidelity to what the client expects, bad
 * credentials, and a front that went away.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Redis } from "@upstash/redis";
import { startRedisServer, type RedisServer } from "../../tests/support/redis-server.ts";
import { startUpstashFront, type UpstashFront } from "../../tests/support/upstash-front.ts";
import type { RespClient } from "../../tests/support/redis-resp.ts";
import { StoreError, type DialogStore } from "./dialog.ts";
import { RedisDialogStore } from "./redis.ts";
import { capacityKeys } from "./scripted.ts";
import { runHealthContract } from "./health.case.ts";
import { runStoreContract, sampleDialog } from "./store.case.ts";
import { UPSTASH_TOKEN_ENV, UPSTASH_URL_ENV, UpstashDialogStore } from "./upstash.ts";

let server: RedisServer;
let front: UpstashFront;
let admin: RespClient;

before(async () => {
  server = await startRedisServer();
  front = await startUpstashFront({ redisPort: server.port, token: `tok-${randomUUID()}` });
  admin = await server.connect();
});

after(async () => {
  admin?.close();
  await front?.close();
  await server?.stop();
});

function open(keyPrefix: string): UpstashDialogStore {
  return new UpstashDialogStore({ url: front.url, token: front.token, keyPrefix, requestTimeoutMs: 5000 });
}

runStoreContract({
  name: "upstash",
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

runHealthContract("upstash", (ns) => open(ns.id));

describe("Upstash REST front", () => {
  test("answers @upstash/redis in its default base64 encoding: commands, pipelines, transactions, scripts", async () => {
    const redis = new Redis({ url: front.url, token: front.token, enableTelemetry: false });
    const key = `front-${randomUUID()}`;
    assert.equal(await redis.set(key, "héllo wörld ☎"), "OK");
    assert.equal(await redis.get(key), "héllo wörld ☎");
    assert.equal(await redis.hset(`${key}:h`, { a: 1, b: "x" }), 2);
    assert.deepEqual(await redis.hgetall(`${key}:h`), { a: 1, b: "x" });
    assert.equal(await redis.get(`${key}:missing`), null);
    const p = redis.pipeline();
    p.set(`${key}:n`, 5);
    p.incr(`${key}:n`);
    p.zrange(`${key}:none`, 0, -1);
    assert.deepEqual(await p.exec(), ["OK", 6, []]);
    const m = redis.multi();
    m.incr(`${key}:n`);
    m.get(`${key}:n`);
    assert.deepEqual(await m.exec(), [7, 7]);
    assert.deepEqual(await redis.eval("return {1, 'two', {3, ARGV[1]}}", [], ["vier"]), [1, "two", [3, "vier"]]);
    await assert.rejects(redis.evalsha("0".repeat(40), [], []), /NOSCRIPT/);
  });

  test("rejects a wrong token (401), which the store reports as StoreError", async () => {
    const res = await fetch(front.url, { method: "POST", body: JSON.stringify(["PING"]), headers: { authorization: "Bearer nope" } });
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { error: "Unauthorized" });
    const store = new UpstashDialogStore({ url: front.url, token: "nope" });
    await assert.rejects(store.get("x"), (e: unknown) => e instanceof StoreError && /Unauthorized/.test(e.message));
  });
});

describe("UpstashDialogStore", () => {
  test("shares one database with the Redis adapter: same keys, same scripts", async () => {
    const prefix = `x-${randomUUID()}`;
    const rest = open(prefix);
    const tcp = new RedisDialogStore({ url: server.url, keyPrefix: prefix });
    try {
      await rest.put(sampleDialog("shared"), 5000);
      assert.equal((await tcp.get("shared"))?.id, "shared");
      assert.deepEqual(await tcp.reserve({ destinationId: "d1", id: "a", units: { calls: 1 } }, { calls: 1 }, 5000), { ok: true });
      assert.deepEqual(await rest.reserve({ destinationId: "d1", id: "b", units: { calls: 1 } }, { calls: 1 }, 5000), {
        ok: false,
        resource: "calls",
      });
      assert.equal(await rest.release("d1", "a"), true);
      assert.deepEqual(await tcp.load(["d1"]), { d1: {} });
    } finally {
      await rest.close();
      await tcp.close();
    }
  });

  test("a front that went away makes operations reject promptly with StoreError", async () => {
    const spare = await startUpstashFront({ redisPort: server.port });
    const store = new UpstashDialogStore({ url: spare.url, token: spare.token, requestTimeoutMs: 1000, retries: 1 });
    assert.equal(await store.count(), 0);
    await spare.close();
    const t0 = Date.now();
    await assert.rejects(store.reserve({ destinationId: "d1", id: "c", units: { calls: 1 } }, {}, 1000), (e: unknown) => {
      return e instanceof StoreError && e.name === "StoreError" && e.cause !== undefined;
    });
    await assert.rejects(store.load(["d1"]), StoreError);
    assert.ok(Date.now() - t0 < 2500, `bounded (${Date.now() - t0} ms)`);
  });

  test("fromEnv names every missing variable at once", () => {
    assert.throws(
      () => UpstashDialogStore.fromEnv({}),
      (e: unknown) => e instanceof StoreError && e.message.includes(UPSTASH_URL_ENV) && e.message.includes(UPSTASH_TOKEN_ENV),
    );
    assert.ok(UpstashDialogStore.fromEnv({ [UPSTASH_URL_ENV]: "http://127.0.0.1:1", [UPSTASH_TOKEN_ENV]: "t" }));
  });
});
