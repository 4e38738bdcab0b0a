/**
 * Two gateways, one Redis (real redis-server), one SQL catalog file.
 *
 * "a call set up through A is ended through B": a caller played over a raw UDP socket sets up two calls through A
 * (INVITE, 200, ACK), then sends the BYE of one of them to B, with the Route from A's Record-Route rewritten to B's
 * host:port (as a SIP-aware VIP or DNS failover would deliver it; the signature covers neither). Proves: the
 * destination gets that BYE with B's Via on top (it crossed B, not A) and no Route left naming a gateway, answers it
 * 200, the caller gets the 200 from B's address; the dialog leaves GET /v1/dialogs (through A and B) while the other
 * call's stays; the destination's load goes from 2 to 1 on both gateways. The second call then ends through A: 0.
 *
 * "kill -9 one gateway mid-load": held calls through A and B on set "pstn" (two destinations), and calls still
 * ringing through A on set "slow" (a destination that rings forever), when A is SIGKILLed. Proves, through B:
 * - within a few reconcile ticks (SWITCHBOARD_TICK_INTERVAL=500) and stably across further ticks, each "pstn"
 *   destination's load equals its live dialogs, and every held call, A's included, is still listed (the reconcile
 *   neither drops the dead gateway's confirmed calls nor double counts);
 * - the held calls through B then end through B and the load follows the dialogs down;
 * - the reservations A took for the calls ringing when it died (no dialog: never answered) are given back when they
 *   expire (setup TTL = Timer C + 64·T1 + branch timeout, shortened here to 12.4 s): the "slow" destination's load
 *   returns to 0 = its dialogs within that TTL + a few ticks, while A's answered calls are still listed and counted;
 * - a poller of GET /v1/destinations (B, every 100 ms, before the kill until the end) never saw a count below 0 or
 *   above capacity.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { harness } from "../support/harness.ts";
import { freePorts } from "../support/ports.ts";
import { startUac, startUas, type SippUac } from "../support/sipp.ts";
import { startRedisServer, type RedisServer } from "../support/redis-server.ts";
import { waitUntil } from "../support/process.ts";
import { SipUdp, releaseInfo } from "../support/sip-udp.ts";
import { select } from "../support/sipp-log.ts";
import { leftoverGatewayRoutes } from "../support/checks.ts";
import type { Gateway } from "../support/gateway.ts";
import { ack, bye, invite, uriHostPort } from "../support/raw-call.ts";
import { RawUas } from "../support/raw-uas.ts";
import {
  LoadWatcher,
  byeAnswered,
  catalogUrl,
  createDestination,
  createRule,
  createSet,
  destinationRows,
  dialogsOf,
  inviteOutcomes,
  loadById,
  startEngineGateway,
  used,
} from "../support/engine.ts";

const h = harness("two-gateways");
before(() => h.setup());
after(() => h.teardown());

const TICK_MS = 500;
// A call's capacity is reserved before its INVITE leaves, for as long as the call may still be set up: Timer C (it
// may ring that long) + 64·T1 + the branch timeout, then the dialog TTL once answered. The kill test shortens
// Timer C and T1 so that a dead gateway's unanswered calls give their capacity back within seconds.
const TIMER_C_MS = 5000;
const T1_MS = 100;
const BRANCH_TIMEOUT_MS = 1000; // the harness's SWITCHBOARD_BRANCH_TIMEOUT
const SETUP_TTL_MS = TIMER_C_MS + 64 * T1_MS + BRANCH_TIMEOUT_MS;

async function pair(
  redis: RedisServer,
  tag: string,
  configure: (a: Gateway) => Promise<void>,
  env: Readonly<Record<string, string>> = {},
): Promise<[Gateway, Gateway]> {
  const databaseUrl = catalogUrl(`${h.dir}`).replace(/catalog\.sqlite$/, `catalog-${tag}.sqlite`);
  const a = await startEngineGateway({ name: `${tag}-gw-a`, dir: h.dir, redis, databaseUrl, tickMs: TICK_MS, env });
  h.defer(() => a.stop());
  await configure(a);
  const b = await startEngineGateway({ name: `${tag}-gw-b`, dir: h.dir, redis, databaseUrl, tickMs: TICK_MS, env });
  h.defer(() => b.stop());
  return [a, b];
}

test(
  "a call set up through gateway A is ended by a BYE sent to gateway B",
  h.wrap(async () => {
    const redis = await startRedisServer();
    h.defer(() => redis.stop());
    // the destination answers to where each request came from (sipp's UAS would send the BYE's 200 to A: raw-uas.ts)
    const uas = await RawUas.open();
    h.defer(() => uas.close());
    const uasPort = uas.port;
    let destId = "";
    const [a, b] = await pair(redis, "bye", async (gw) => {
      await createSet(gw, { name: "pstn", algorithm: "least-loaded", resources: ["calls"] });
      destId = await createDestination(gw, { uri: `sip:127.0.0.1:${uasPort};transport=udp`, set: "pstn", resources: { calls: 10 } });
      await createRule(gw, { match: {}, set: "pstn", priority: 10, resources: { calls: 1 } });
    });
    const ep = await SipUdp.open();
    h.defer(() => ep.close());

    // two calls through A
    const calls = [];
    for (let i = 0; i < 2; i++) {
      const r = await invite(ep, a.sipPort);
      assert.equal(r.final?.status, 200, `INVITE through A: ${r.final?.raw ?? "no final response"}\n${a.logTail(2000)}`);
      assert.ok(r.dialog);
      assert.ok(
        r.dialog.routes.length > 0 && r.dialog.routes.every((x) => uriHostPort(x).port === a.sipPort),
        `the 200's Record-Route should name gateway A (port ${a.sipPort}): ${JSON.stringify(r.dialog.routes)}`,
      );
      await ack(ep, r.dialog);
      calls.push(r.dialog);
    }
    const [one, two] = calls as [NonNullable<(typeof calls)[number]>, NonNullable<(typeof calls)[number]>];
    await waitUntil(
      "the ACK of both calls at the destination",
      async () => {
        const acked = new Set(select(uas.requests(), { method: "ACK" }).map((m) => m.callId));
        return acked.has(one.callId) && acked.has(two.callId);
      },
      5000,
    );
    for (const gw of [a, b]) {
      await waitUntil(
        `${gw.opts.name}: both dialogs listed and load 2`,
        async () => {
          const dl = (await dialogsOf(gw, destId)).map((d) => d.callId);
          return dl.includes(one.callId) && dl.includes(two.callId) && (await loadById(gw)).get(destId) === 2;
        },
        5000,
        100,
      );
    }

    // the BYE of call one goes to B, A's Route rewritten to B's address
    const r = await bye(ep, one, { rewriteTo: { host: "127.0.0.1", port: b.sipPort } });
    assert.equal(r.sentTo, b.sipPort, "the BYE was not sent to B");
    assert.ok(r.routes.every((x) => uriHostPort(x).port === b.sipPort), `rewritten Route: ${JSON.stringify(r.routes)}`);
    assert.equal(r.final?.msg.status, 200, `final response to the BYE sent through B: ${r.final?.msg.raw ?? "none"}\n${b.logTail(3000)}`);
    assert.equal(r.final?.from.port, b.sipPort, "the 200 for the BYE did not come from B");

    // the destination got it, through B (and answered it 200 to B: the caller's 200 above)
    const msgs = uas.requests();
    const byes = select(msgs, { method: "BYE" }).filter((m) => m.callId === one.callId);
    assert.equal(byes.length >= 1, true, `the destination did not get the BYE of ${one.callId}`);
    const topVia = byes[0]?.headers.get("via")?.[0] ?? "";
    assert.match(topVia, new RegExp(`127\\.0\\.0\\.1:${b.sipPort}\\b`), `the BYE's top Via should be gateway B's:\n${byes[0]?.raw}`);
    assert.deepEqual(leftoverGatewayRoutes(byes, a.sipPort), [], "the BYE reached the destination with A's Route in it");
    assert.deepEqual(leftoverGatewayRoutes(byes, b.sipPort), [], "the BYE reached the destination with B's Route in it");
    assert.ok(
      uas.receivedRequests().some((r) => r.msg.method === "BYE" && r.msg.callId === one.callId && r.from.port === b.sipPort),
      "the BYE did not come to the destination from B's address",
    );
    assert.equal(
      select(msgs, { method: "BYE" }).filter((m) => m.callId === two.callId).length,
      0,
      "the other call got a BYE",
    );

    // the dialog is gone, the other stays; load 2 → 1 on both gateways
    for (const gw of [a, b]) {
      await waitUntil(
        `${gw.opts.name}: dialog of ${one.callId} gone, ${two.callId} still listed, load 1`,
        async () => {
          const dl = (await dialogsOf(gw, destId)).map((d) => d.callId);
          return !dl.includes(one.callId) && dl.includes(two.callId) && (await loadById(gw)).get(destId) === 1;
        },
        5000,
        100,
      ).catch(async (e: unknown) => {
        assert.fail(`${String(e)}\ndialogs: ${JSON.stringify(await dialogsOf(gw, destId))}\nload: ${JSON.stringify([...(await loadById(gw))])}`);
      });
    }

    // call two ends through A, as set up
    const r2 = await bye(ep, two);
    assert.equal(r2.sentTo, a.sipPort);
    assert.equal(r2.final?.msg.status, 200, `BYE of call two through A: ${r2.final?.msg.raw ?? "none"}`);
    await waitUntil(
      "load 0 and no dialog once both calls ended",
      async () => (await dialogsOf(b, destId)).length === 0 && (await loadById(b)).get(destId) === 0,
      5000,
      100,
    );
    const twoBye = uas.receivedRequests().filter((x) => x.msg.method === "BYE" && x.msg.callId === two.callId);
    assert.ok(twoBye.length >= 1 && twoBye.every((x) => x.from.port === a.sipPort), "call two's BYE should reach the destination from A");
  }),
);

test(
  "kill -9 of one gateway mid-load: the survivor's load equals the live dialogs, never negative",
  { timeout: 90_000 },
  h.wrap(async () => {
    const redis = await startRedisServer();
    h.defer(() => redis.stop());
    const [p1, p2, pr, uA, uB, uR] = (await freePorts(6)) as [number, number, number, number, number, number];
    const uas1 = await startUas({ scenario: "uas.xml", port: p1, transport: "udp", dir: h.dir, name: "kill-uas-1" });
    const uas2 = await startUas({ scenario: "uas.xml", port: p2, transport: "udp", dir: h.dir, name: "kill-uas-2" });
    const uasR = await startUas({ scenario: "uas-ringing.xml", port: pr, transport: "udp", dir: h.dir, name: "kill-uas-ringing" });
    const ids: string[] = [];
    let ringId = "";
    const [a, b] = await pair(redis, "kill", async (gw) => {
      await createSet(gw, { name: "pstn", algorithm: "least-loaded", resources: ["calls"] });
      await createSet(gw, { name: "slow", algorithm: "round-robin", resources: ["calls"] });
      ids.push(await createDestination(gw, { uri: `sip:127.0.0.1:${p1};transport=udp`, set: "pstn", resources: { calls: 20 } }));
      ids.push(await createDestination(gw, { uri: `sip:127.0.0.1:${p2};transport=udp`, set: "pstn", resources: { calls: 20 } }));
      ringId = await createDestination(gw, { uri: `sip:127.0.0.1:${pr};transport=udp`, set: "slow", resources: { calls: 10 } });
      await createRule(gw, { match: { requestUserPrefix: "slow" }, set: "slow", priority: 5, resources: { calls: 1 } });
      await createRule(gw, { match: {}, set: "pstn", priority: 10, resources: { calls: 1 } });
    }, { SWITCHBOARD_TIMER_C: String(TIMER_C_MS), SWITCHBOARD_T1: String(T1_MS), SWITCHBOARD_BRANCH_TIMEOUT: String(BRANCH_TIMEOUT_MS) });
    const pstn = ids;
    const ep = await SipUdp.open();
    h.defer(() => ep.close());

    const hold = (gw: Gateway, port: number, name: string, calls: number, service = "service"): SippUac =>
      startUac({
        scenario: "uac-hold-or-503.xml",
        port,
        transport: "udp",
        dir: h.dir,
        name,
        target: { host: "127.0.0.1", port: gw.sipPort },
        calls,
        rate: calls,
        limit: calls,
        service,
        timeoutS: 120,
      });
    const cids = (u: SippUac): string[] => Array.from({ length: u.opts.calls }, (_, i) => u.callId(i + 1));

    // held calls: 6 through A, 6 through B
    const uacA = hold(a, uA, "kill-uac-a", 6);
    const uacB = hold(b, uB, "kill-uac-b", 6);
    const heldCids = [...cids(uacA), ...cids(uacB)];
    await waitUntil(
      "all 12 held calls answered 200 and ACKed at their destination",
      async () => {
        const o = new Map([...inviteOutcomes(await uacA.messages()), ...inviteOutcomes(await uacB.messages())]);
        if (!heldCids.every((c) => o.get(c)?.status === 200)) return false;
        const acked = new Set(select([...(await uas1.messages()), ...(await uas2.messages())], { direction: "received", method: "ACK" }).map((m) => m.callId));
        return heldCids.every((c) => acked.has(c));
      },
      15_000,
      100,
    );
    // calls ringing through A when it dies: reservations without a dialog
    const uacR = hold(a, uR, "kill-uac-ringing", 3, "slow");
    const ringing = cids(uacR);
    await waitUntil(
      "the 3 ringing calls to have their 180 at the caller and a reservation on the ringing destination",
      async () => {
        const got180 = new Set(select(await uacR.messages(), { direction: "received", status: 180 }).map((m) => m.callId));
        return ringing.every((c) => got180.has(c)) && (await loadById(b)).get(ringId) === 3;
      },
      10_000,
      100,
    );
    const ringStarted = Date.now();

    // before the kill: load = dialogs per pstn destination
    const equalNow = async (gw: Gateway, which: readonly string[]): Promise<string | undefined> => {
      const load = await loadById(gw);
      const diffs: string[] = [];
      for (const id of which) {
        const n = (await dialogsOf(gw, id)).length;
        if (load.get(id) !== n) diffs.push(`${id}: load ${load.get(id)} vs ${n} dialogs`);
      }
      return diffs.length === 0 ? undefined : diffs.join("; ");
    };
    await waitUntil("load = dialogs on the pstn destinations before the kill", async () => (await equalNow(b, pstn)) === undefined, 5000, 100);

    const watcher = new LoadWatcher(b);
    h.defer(() => watcher.stop());
    await waitUntil("the load poller's first samples", () => watcher.samples.length >= 2, 3000);

    // kill -9 A
    const killed = await a.stop("SIGKILL");
    assert.equal(killed.signal, "SIGKILL");
    const killedAt = Date.now();

    // within a few ticks: load = live dialogs on pstn, every held call still listed
    let last: string | undefined;
    await waitUntil(
      "load = live dialogs on every pstn destination, through B, after the kill",
      async () => {
        last = await equalNow(b, pstn);
        return last === undefined;
      },
      10 * TICK_MS + 2000,
      100,
    ).catch((e: unknown) => assert.fail(`${String(e)}: ${last}`));
    const listed = async (): Promise<Set<string>> => {
      const s = new Set<string>();
      for (const id of pstn) for (const d of await dialogsOf(b, id)) s.add(d.callId);
      return s;
    };
    let ls = await listed();
    assert.deepEqual(heldCids.filter((c) => !ls.has(c)), [], "held calls missing from GET /v1/dialogs after the kill");
    const totalLoad = async (): Promise<number> => [...(await loadById(b))].filter(([id]) => pstn.includes(id)).reduce((n, [, u]) => n + u, 0);
    assert.equal(await totalLoad(), 12, "pstn load after the kill (12 live calls)");
    // the reconcile keeps it so: still equal after at least 3 more ticks (a bounded window, not an event)
    await new Promise((r) => setTimeout(r, 3 * TICK_MS));
    assert.equal(await equalNow(b, pstn), undefined, "load ≠ dialogs after further reconcile ticks");
    assert.equal(await totalLoad(), 12, "pstn load after further reconcile ticks");

    // B's held calls end through B: load follows dialogs down to A's 6
    for (const cid of cids(uacB)) await ep.send(releaseInfo(ep, uB, cid), uB);
    const rB = await uacB.result();
    assert.equal(rB.stats?.failed, 0, "calls held through B failed");
    assert.deepEqual(cids(uacB).filter((c) => !byeAnswered(rB.messages).has(c)), [], "BYEs through B without a 200");
    await waitUntil(
      "pstn load 6 (A's calls) = dialogs, after B's calls ended",
      async () => (await totalLoad()) === 6 && (await equalNow(b, pstn)) === undefined,
      5000,
      100,
    );
    ls = await listed();
    assert.deepEqual([...ls].sort(), cids(uacA).sort(), "the dialogs left should be exactly A's held calls");

    // A's ringing reservations (no dialog) are given back by expiry: the ringing destination returns to 0 = dialogs,
    // while A's answered calls (dialog TTL: the gateway's default, hours) are still counted
    const ttlDeadline = SETUP_TTL_MS + 10 * TICK_MS + 3000 - (Date.now() - ringStarted);
    let ringLoad = -1;
    await waitUntil(
      "the ringing destination's load (reservations of the dead gateway's unanswered calls) back to 0",
      async () => {
        ringLoad = (await loadById(b)).get(ringId) ?? -1;
        return ringLoad === 0 && (await dialogsOf(b, ringId)).length === 0;
      },
      Math.max(ttlDeadline, 1000),
      250,
    ).catch((e: unknown) => assert.fail(`${String(e)}: load ${ringLoad} ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`));
    const healedS = (Date.now() - killedAt) / 1000;
    // and every destination agrees with its dialogs at the end, A's 6 answered calls still live and counted
    await waitUntil("load = dialogs on every destination at the end", async () => (await equalNow(b, [...pstn, ringId])) === undefined, 5000, 100);
    assert.equal(await totalLoad(), 6, "pstn load at the end (A's 6 answered calls)");
    assert.deepEqual([...(await listed())].sort(), cids(uacA).sort(), "dialogs at the end: A's held calls");

    await watcher.stop();
    const bad = watcher.violations();
    assert.deepEqual(bad.slice(0, 10), [], `GET /v1/destinations through B showed impossible loads (${bad.length})`);
    assert.deepEqual(watcher.errors.slice(0, 5), [], "GET /v1/destinations through B failed");
    for (const [id, min] of watcher.minimum()) assert.ok(min >= 0, `${id}: min load ${min}`);
    assert.ok(b.running, `gateway B exited\n${b.logTail()}`);
    process.stdout.write(`# kill -9: ringing reservations given back ${healedS.toFixed(1)} s after the kill\n`);
    const rows = await destinationRows(b);
    assert.ok(rows.every((r) => used(r) >= 0));
  }),
);
