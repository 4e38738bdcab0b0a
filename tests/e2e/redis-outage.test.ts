/**
 * A Redis outage under live calls: one gateway whose dialogs and load live in a real redis-server; set "pstn",
 * least-loaded on "calls", one sipp UAS destination with capacity 3; every call takes 1 unit (rule resources).
 *
 * The policy under test (README "Capacity and shared state", src/dialog/resilient.ts): while Redis is unreachable,
 * calls in progress go on (in-dialog routing needs no store), new calls reserve against the gateway's local
 * per-destination counters with the same capacities, the outage is logged and counted (GET /v1/status
 * `store.outages`, `store.local-reservations`), nothing crashes, and new calls go back to the shared store as soon as
 * it answers again.
 *
 * What the local counters must allow: they are seeded with the calls this gateway already carries (it keeps an
 * in-process copy of its own reservations), so with 2 calls held when Redis dies the gateway admits exactly
 * `capacity` - 2 = 1 new call and refuses the other 3 with 503 "No Capacity": one gateway alone never overbooks,
 * even through an outage.
 *
 * Proves, in order:
 * 1. With Redis up, 2 held calls (uac-hold.xml) are established and GET /v1/destinations shows used 2.
 * 2. redis-server is SIGKILLed; within a few ticks /v1/status counts `store.outages` ≥ 1, the gateway is still
 *    running and GET /healthz is 200.
 * 3. (b) 4 new calls within a second (uac-hold-or-503.xml, -r 4): exactly 1 × 200 and 3 × "503 No Capacity"; the
 *    refused INVITEs never reached the destination, which (from its own trace) holds exactly 3 calls, its capacity;
 *    GET /v1/destinations shows used 3 (the local counters: the shared load is unreadable);
 *    `store.local-reservations` is between 1 and 4 (one per reservation attempt that fell back: later calls may be
 *    refused by the route function's load check before they try to reserve).
 * 4. (a) The 2 calls held since before the outage are released: their BYEs reach the destination and get 200 at
 *    the caller. The 3 outage calls are released too: their BYEs get 200 and the local load returns to 0.
 * 5. (c) Throughout: the gateway process never exits, /healthz stays 200, `store.outages` stays ≥ 1 (exactly 1:
 *    one outage, counted once).
 * 6. (d) redis-server is restarted (empty) on the same port. Once the gateway logs that the store answers again
 *    (the client reconnects in the background with backoff; the timer tick is the first to notice), 4 new calls
 *    get exactly 3 × 200 and 1 × 503 again, and this time the reservations are in Redis: its own keys for the
 *    destination (`sb:{dest:ID}:res` and `:load`) hold the 3 calls, GET /v1/destinations shows used 3,
 *    GET /v1/dialogs?destination= lists exactly those 3 Call-IDs (dialog records are written again), and
 *    `store.local-reservations` did not move. Released, the load goes back to 0 in Redis and in the API.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { harness } from "../support/harness.ts";
import { freePorts } from "../support/ports.ts";
import { startUac, startUas, summarize, type SippUac } from "../support/sipp.ts";
import { startRedisServer, type RedisServer } from "../support/redis-server.ts";
import { waitUntil } from "../support/process.ts";
import { SipUdp, releaseInfo } from "../support/sip-udp.ts";
import { callIds, type TracedMessage } from "../support/sipp-log.ts";
import type { Gateway } from "../support/gateway.ts";
import {
  byeAnswered,
  catalogUrl,
  createDestination,
  createRule,
  createSet,
  destinationRows,
  dialogsOf,
  inviteOutcomes,
  startEngineGateway,
  tally,
  uasCalls,
  used,
} from "../support/engine.ts";

const h = harness("redis-outage");
before(() => h.setup());
after(() => h.teardown());

const CAPACITY = 3;
const HELD = 2;
const ATTEMPTS = CAPACITY + 1;

async function counters(gw: Gateway): Promise<Record<string, number>> {
  const r = await gw.adminGet("/v1/status");
  assert.equal(r.status, 200, `GET /v1/status: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  const c = (r.body as { counters?: Record<string, number> }).counters;
  assert.ok(c && typeof c === "object", `GET /v1/status without counters: ${JSON.stringify(r.body)}`);
  return c;
}

/** The destination's reservations and "calls" load as Redis itself has them (keys of src/dialog/scripted.ts). */
async function redisLoad(redis: RedisServer, destinationId: string): Promise<{ reservations: number; calls: number }> {
  const c = await redis.connect();
  try {
    const base = `sb:{dest:${destinationId}}`;
    const reservations = Number(await c.call("HLEN", `${base}:res`));
    const calls = Number((await c.call("HGET", `${base}:load`, "calls")) ?? 0);
    return { reservations, calls };
  } finally {
    c.close();
  }
}

test(
  "Redis SIGKILLed under held calls: calls go on, new calls use local counters (capacity per gateway), then the shared store again",
  h.wrap(async () => {
    const redis = await startRedisServer();
    h.defer(() => redis.stop());
    const gw = await startEngineGateway({ name: "gw", dir: h.dir, redis, databaseUrl: catalogUrl(h.dir) });
    h.defer(() => gw.stop());
    const ep = await SipUdp.open();
    h.defer(() => ep.close());

    const [uasPort, heldPort, outagePort, afterPort] = (await freePorts(4)) as [number, number, number, number];
    const uas = await startUas({ scenario: "uas.xml", port: uasPort, transport: "udp", dir: h.dir, name: "uas", maxLifetimeMs: 90_000 });
    await createSet(gw, { name: "pstn", algorithm: "least-loaded", resources: ["calls"] });
    const destId = await createDestination(gw, { uri: `sip:127.0.0.1:${uasPort};transport=udp`, set: "pstn", resources: { calls: CAPACITY } });
    await createRule(gw, { match: {}, set: "pstn", priority: 10, resources: { calls: 1 } });

    const uacs: SippUac[] = [];
    const owner = new Map<string, SippUac>();
    const place = (scenario: string, port: number, name: string, calls: number): { uac: SippUac; cids: string[] } => {
      const uac = startUac({
        scenario,
        port,
        transport: "udp",
        dir: h.dir,
        name,
        target: { host: "127.0.0.1", port: gw.sipPort },
        calls,
        rate: calls,
        limit: calls,
        timeoutS: 45,
      });
      uacs.push(uac);
      const cids = Array.from({ length: calls }, (_, i) => uac.callId(i + 1));
      for (const c of cids) owner.set(c, uac);
      return { uac, cids };
    };
    const release = async (cids: Iterable<string>): Promise<void> => {
      for (const cid of cids) {
        const u = owner.get(cid);
        assert.ok(u, `no UAC placed ${cid}`);
        await ep.send(releaseInfo(ep, u.opts.port, cid), u.opts.port);
      }
    };
    const ctx = async (): Promise<string> =>
      `\n--- status ---\n${JSON.stringify((await gw.adminGet("/v1/status").catch((e: unknown) => ({ body: String(e) }))).body)}\n--- gateway ---\n${gw.logTail(3000)}`;
    const apiLoad = async (): Promise<number> => used((await destinationRows(gw)).find((r) => r.id === destId));
    const expectApiLoad = async (what: string, want: number): Promise<void> => {
      await waitUntil(`${what}: GET /v1/destinations to show used ${want}`, async () => (await apiLoad()) === want, 5000, 100).catch(
        async (e: unknown) => assert.fail(`${String(e)} (last: ${await apiLoad().catch(String)})${await ctx()}`),
      );
    };
    const acked = async (cids: readonly string[]): Promise<void> => {
      await waitUntil(
        `the ACK of ${cids.length} calls at the destination`,
        async () => {
          const got = callIds(await uas.messages(), { direction: "received", method: "ACK" });
          return cids.every((c) => got.has(c));
        },
        10_000,
        100,
      );
    };
    const outcomesOf = async (uac: SippUac, n: number): Promise<Map<string, TracedMessage>> =>
      waitUntil(
        `a final response for each of the ${n} INVITEs of ${uac.opts.name}`,
        async () => {
          const o = inviteOutcomes(await uac.messages());
          return o.size >= n ? o : undefined;
        },
        15_000,
        100,
      ).catch(async (e: unknown) => {
        const o = inviteOutcomes(await uac.messages());
        return assert.fail(`${String(e)}: got ${JSON.stringify(tally(o.values(), (m) => String(m.status)))}\n${uac.proc.tail(1500)}${await ctx()}`);
      });
    /** 4 calls within a second: exactly `room` answered, the rest refused for capacity; returns the answered Call-IDs. */
    const fillUp = async (port: number, name: string, room: number): Promise<{ uac: SippUac; ok: string[]; refused: string[] }> => {
      const { uac } = place("uac-hold-or-503.xml", port, name, ATTEMPTS);
      const o = await outcomesOf(uac, ATTEMPTS);
      const statuses = tally(o.values(), (m) => String(m.status));
      assert.deepEqual(statuses, { "200": room, "503": ATTEMPTS - room }, `${name}: final responses to ${ATTEMPTS} calls with room for ${room}${await ctx()}`);
      const refused = [...o].filter(([, m]) => m.status === 503);
      for (const [, m] of refused) assert.match(m.startLine, /^SIP\/2\.0 503 No Capacity$/i, `${name}: the refusal:\n${m.raw}`);
      return { uac, ok: [...o].filter(([, m]) => m.status === 200).map(([c]) => c), refused: refused.map(([c]) => c) };
    };
    const byesAnswered = async (cids: readonly string[], what: string): Promise<void> => {
      await waitUntil(
        `a 200 for the BYE of ${what} at the caller`,
        async () => {
          const ok = new Set<string>();
          for (const u of uacs) for (const c of byeAnswered(await u.messages())) ok.add(c);
          return cids.every((c) => ok.has(c));
        },
        10_000,
        100,
      ).catch(async (e: unknown) => assert.fail(`${String(e)}${await ctx()}`));
      const byes = callIds(await uas.messages(), { direction: "received", method: "BYE" });
      for (const c of cids) assert.ok(byes.has(c), `the BYE of ${c} (${what}) did not reach the destination`);
    };
    const healthy = async (what: string): Promise<void> => {
      assert.ok(gw.running, `${what}: the gateway exited\n${gw.logTail()}`);
      const r = await gw.healthz();
      assert.equal(r.status, 200, `${what}: GET /healthz ${r.status} ${JSON.stringify(r.body)}`);
    };

    // 1. two calls held with Redis up: reserved in the shared store
    const held = place("uac-hold.xml", heldPort, "uac-held", HELD);
    await acked(held.cids);
    await expectApiLoad("2 calls held, Redis up", HELD);
    assert.deepEqual(await redisLoad(redis, destId), { reservations: HELD, calls: HELD }, "Redis's own view of the 2 held calls");
    const c0 = await counters(gw);
    assert.equal(c0["store.outages"] ?? 0, 0, `an outage counted before Redis was killed: ${JSON.stringify(c0)}`);

    // 2. SIGKILL redis-server; the timer tick's reconcile is the first store call to fail
    const killedPid = redis.pid;
    await redis.kill();
    assert.equal(redis.process.running, false, `redis-server ${killedPid} still running after SIGKILL`);
    await waitUntil("GET /v1/status to count store.outages ≥ 1", async () => ((await counters(gw))["store.outages"] ?? 0) >= 1, 5000, 100).catch(
      async (e: unknown) => assert.fail(`${String(e)}${await ctx()}`),
    );
    await healthy("just after the outage began");

    // 3. (b) new calls while Redis is down: local counters, seeded with the 2 held calls, allow exactly one more
    const during = await fillUp(outagePort, "uac-outage", CAPACITY - HELD);
    await acked(during.ok);
    const invited = callIds(await uas.messages(), { direction: "received", method: "INVITE" });
    for (const c of during.refused) assert.ok(!invited.has(c), `the refused call ${c} reached the destination`);
    const atPeak = uasCalls(await uas.messages());
    assert.equal(
      atPeak.current.size,
      CAPACITY,
      `calls the destination holds during the outage (2 held + 1 new, never above capacity): ${JSON.stringify([...atPeak.current])}`,
    );
    await expectApiLoad("during the outage (local counters only)", CAPACITY);
    const c1 = await counters(gw);
    const localReservations = c1["store.local-reservations"] ?? 0;
    assert.ok(
      localReservations >= 1 && localReservations <= ATTEMPTS,
      `store.local-reservations after ${ATTEMPTS} calls during the outage: ${localReservations}${await ctx()}`,
    );
    assert.equal(c1["store.outages"], 1, `one outage, counted once: ${JSON.stringify(c1)}`);
    await healthy("after new calls during the outage");

    // 4. (a) the calls in progress when Redis died end normally through the gateway; then the outage calls
    await release(held.cids);
    await byesAnswered(held.cids, "the calls held since before the outage");
    await release(during.ok);
    await byesAnswered(during.ok, "the calls placed during the outage");
    await expectApiLoad("outage calls released (local counters back to 0)", 0);
    const heldResult = await held.uac.result();
    assert.equal(heldResult.stats?.failed, 0, `held calls failed at the caller\n${summarize("uac-held", heldResult)}`);
    assert.equal(heldResult.stats?.successful, HELD, `held calls at the caller\n${summarize("uac-held", heldResult)}`);
    const duringResult = await during.uac.result();
    assert.equal(duringResult.stats?.failed, 0, `outage calls failed at the caller\n${summarize("uac-outage", duringResult)}`);

    // 5. (c) still up, healthy, one outage counted, Redis still down
    await healthy("at the end of the outage");
    assert.equal((await counters(gw))["store.outages"], 1, "store.outages at the end of the outage");
    assert.equal(redis.process.running, false, "redis-server came back by itself");

    // 6. (d) Redis back (empty) on the same port: new calls reserve in the shared store again
    await redis.restart();
    assert.notEqual(redis.pid, killedPid);
    await gw.process?.waitForLine(/dialog store reachable again/, 15_000).catch(async (e: unknown) => assert.fail(`${String(e)}${await ctx()}`));
    const c2 = await counters(gw);
    const after = await fillUp(afterPort, "uac-after", CAPACITY);
    await acked(after.ok);
    assert.deepEqual(await redisLoad(redis, destId), { reservations: CAPACITY, calls: CAPACITY }, `Redis's own view of the ${CAPACITY} calls placed after recovery${await ctx()}`);
    await expectApiLoad("after recovery", CAPACITY);
    const listed = await dialogsOf(gw, destId);
    assert.deepEqual(listed.map((d) => d.callId).sort(), [...after.ok].sort(), "GET /v1/dialogs?destination= after recovery");
    const c3 = await counters(gw);
    assert.equal(c3["store.local-reservations"], c2["store.local-reservations"], `local reservations after recovery: ${JSON.stringify({ before: c2, after: c3 })}`);
    assert.equal(c3["store.outages"], 1, `store.outages after recovery: ${JSON.stringify(c3)}`);

    await release(after.ok);
    await byesAnswered(after.ok, "the calls placed after recovery");
    await expectApiLoad("every call ended", 0);
    await waitUntil("Redis to hold no reservation", async () => (await redisLoad(redis, destId)).reservations === 0, 5000, 100);
    assert.equal((await redisLoad(redis, destId)).calls, 0, "Redis's calls load after every call ended");
    const afterResult = await after.uac.result();
    assert.equal(afterResult.stats?.failed, 0, `calls after recovery failed at the caller\n${summarize("uac-after", afterResult)}`);
    await healthy("at the end");
    const u = await uas.stop();
    const calls = uasCalls(u.messages);
    assert.equal(calls.current.size, 0, `calls the destination still holds: ${JSON.stringify([...calls.current])}`);
    assert.equal(calls.answered.size, HELD + (CAPACITY - HELD) + CAPACITY, "calls the destination answered in all");
  }),
);
