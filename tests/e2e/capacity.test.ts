/**
 * Capacity across two gateways sharing one Redis (real redis-server) and one SQL catalog: set "pstn", least-loaded on
 * "calls", three sipp UAS destinations with capacities 10, 20 and 30; every call takes 1 unit (rule resources).
 * Gateway A runs two workers (SWITCHBOARD_WORKERS=2: each reserves for its own calls through A's store), B one.
 *
 * 70 long calls (uac-hold-or-503.xml) are attempted at once, 35 through gateway A and 35 through gateway B.
 * Proves, seen from the endpoints rather than from the gateway's own numbers:
 * - exactly 60 callers get a 200 and exactly 10 get a 503 ("No Capacity"), and every 503 is final (no other code);
 * - no destination ever holds more calls than its capacity: from each UAS's own trace (a call starts at the 200 it
 *   sent, ends at the BYE it received) the most it held at once is ≤ its capacity, and at the hold point it holds
 *   exactly its capacity (60 = 10 + 20 + 30 with each ≤ its capacity forces each to be full);
 * - the calls the destinations answered are exactly the calls the callers got a 200 for (no INVITE of a refused call
 *   reached a destination);
 * - GET /v1/destinations, through either gateway, shows used = the calls each UAS holds and capacity as configured;
 *   GET /v1/dialogs?destination=ID lists exactly the Call-IDs that UAS holds;
 * - after 9 calls are released (6 on the 30, 3 on the 10), the load drops by exactly that, and 12 new calls (6 per
 *   gateway) get exactly 9 × 200 and 3 × 503: the freed capacity is reused, and only it; the destinations are full
 *   again and never went over;
 * - a poller of GET /v1/destinations (gateway B, every 100 ms, the whole test) never saw a negative count nor a count
 *   above capacity; once every call is over, every count is 0 and no dialog is left.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { harness } from "../support/harness.ts";
import { freePorts } from "../support/ports.ts";
import { startUac, startUas, summarize, type SippUac, type SippUas } from "../support/sipp.ts";
import { startRedisServer } from "../support/redis-server.ts";
import { waitUntil } from "../support/process.ts";
import { SipUdp, releaseInfo } from "../support/sip-udp.ts";
import type { TracedMessage } from "../support/sipp-log.ts";
import type { Gateway } from "../support/gateway.ts";
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
  startEngineGateway,
  tally,
  uasCalls,
  used,
} from "../support/engine.ts";

const h = harness("capacity");
before(() => h.setup());
after(() => h.teardown());

const CAPS = [10, 20, 30] as const;
const TOTAL = 60;
const PER_GATEWAY = 35;

interface Dest {
  readonly cap: number;
  readonly id: string;
  readonly uas: SippUas;
}

test(
  "two gateways, one Redis: 60 of 70 calls fit capacities 10/20/30, the other 10 get 503; freed capacity is reused",
  h.wrap(async () => {
    const redis = await startRedisServer();
    h.defer(() => redis.stop());
    const databaseUrl = catalogUrl(h.dir);
    const a = await startEngineGateway({ name: "gw-a", dir: h.dir, redis, databaseUrl, env: { SWITCHBOARD_WORKERS: "2" } });
    h.defer(() => a.stop());

    const ports = (await freePorts(7)) as number[];
    const dests: Dest[] = [];
    await createSet(a, { name: "pstn", algorithm: "least-loaded", resources: ["calls"] });
    for (const [i, cap] of CAPS.entries()) {
      const port = ports[i] ?? 0;
      const uas = await startUas({ scenario: "uas.xml", port, transport: "udp", dir: h.dir, name: `uas-cap${cap}` });
      const id = await createDestination(a, { uri: `sip:127.0.0.1:${port};transport=udp`, set: "pstn", resources: { calls: cap } });
      dests.push({ cap, id, uas });
    }
    await createRule(a, { match: {}, set: "pstn", priority: 10, resources: { calls: 1 } });
    // B starts on the catalog A wrote (same SQL file): it routes with it from its first call.
    const b = await startEngineGateway({ name: "gw-b", dir: h.dir, redis, databaseUrl });
    h.defer(() => b.stop());
    const rowsB = await destinationRows(b);
    for (const d of dests) {
      const row = rowsB.find((r) => r.id === d.id);
      assert.ok(row, `gateway B does not list destination ${d.id}: ${JSON.stringify(rowsB)}`);
      assert.equal(row.load.calls?.capacity, d.cap, `capacity of ${d.id} through B: ${JSON.stringify(row)}`);
      assert.equal(used(row), 0, `load of ${d.id} before any call: ${JSON.stringify(row)}`);
    }

    const watcher = new LoadWatcher(b);
    h.defer(() => watcher.stop());
    const ep = await SipUdp.open();
    h.defer(() => ep.close());

    const uacs: SippUac[] = [];
    const place = (gw: Gateway, port: number, name: string, calls: number): SippUac => {
      const u = startUac({
        scenario: "uac-hold-or-503.xml",
        port,
        transport: "udp",
        dir: h.dir,
        name,
        target: { host: "127.0.0.1", port: gw.sipPort },
        calls,
        rate: calls,
        limit: calls,
        timeoutS: 100,
      });
      uacs.push(u);
      return u;
    };
    const cidsOf = (u: SippUac): string[] => Array.from({ length: u.opts.calls }, (_, i) => u.callId(i + 1));
    const ownerOf = new Map<string, SippUac>();
    const outcomes = async (list: readonly SippUac[]): Promise<Map<string, TracedMessage>> => {
      const all = new Map<string, TracedMessage>();
      for (const u of list) for (const [cid, m] of inviteOutcomes(await u.messages())) all.set(cid, m);
      return all;
    };
    const waitOutcomes = async (list: readonly SippUac[]): Promise<Map<string, TracedMessage>> => {
      for (const u of list) for (const cid of cidsOf(u)) ownerOf.set(cid, u);
      const want = list.reduce((n, u) => n + u.opts.calls, 0);
      return waitUntil(
        `a final response for each of the ${want} INVITEs`,
        async () => {
          const o = await outcomes(list);
          return o.size >= want ? o : undefined;
        },
        30_000,
        200,
      ).catch(async (e: unknown) => {
        const o = await outcomes(list);
        assert.fail(`${String(e)}: got ${o.size}: ${JSON.stringify(tally(o.values(), (m) => String(m.status)))}\n${list.map((u) => u.proc.tail(1500)).join("\n")}\n${a.logTail(2000)}\n${b.logTail(2000)}`);
      });
    };
    const holding = async (): Promise<Map<Dest, ReturnType<typeof uasCalls>>> => {
      const m = new Map<Dest, ReturnType<typeof uasCalls>>();
      for (const d of dests) m.set(d, uasCalls(await d.uas.messages()));
      return m;
    };
    const release = async (cids: Iterable<string>): Promise<void> => {
      for (const cid of cids) {
        const u = ownerOf.get(cid);
        assert.ok(u, `no UAC placed ${cid}`);
        await ep.send(releaseInfo(ep, u.opts.port, cid), u.opts.port);
      }
    };
    const expectLoads = async (gw: Gateway, what: string, want: (d: Dest) => number): Promise<void> => {
      await waitUntil(
        `${what}: GET /v1/destinations through ${gw.opts.name} to show ${dests.map((d) => `${d.cap}→${want(d)}`).join(", ")}`,
        async () => {
          const rows = await destinationRows(gw);
          return dests.every((d) => used(rows.find((r) => r.id === d.id)) === want(d));
        },
        5000,
        100,
      ).catch(async (e: unknown) => {
        assert.fail(`${String(e)}\nlast: ${JSON.stringify((await destinationRows(gw)).map((r) => ({ id: r.id, uri: r.uri, load: r.load })))}`);
      });
    };

    // 1. 70 calls at once, 35 through each gateway
    const [pUa, pUb, pUc, pUd] = ports.slice(3) as [number, number, number, number];
    const uacA = place(a, pUa, "uac-a", PER_GATEWAY);
    const uacB = place(b, pUb, "uac-b", PER_GATEWAY);
    const first = await waitOutcomes([uacA, uacB]);
    const statuses = tally(first.values(), (m) => String(m.status));
    const ok1 = [...first].filter(([, m]) => m.status === 200).map(([cid]) => cid);
    const refused1 = [...first.values()].filter((m) => m.status === 503);
    assert.deepEqual(Object.keys(statuses).sort(), ["200", "503"], `final responses at the callers: ${JSON.stringify(statuses)}`);
    assert.equal(ok1.length, TOTAL, `calls answered 200 (capacity 10+20+30): ${JSON.stringify(statuses)}`);
    assert.equal(refused1.length, 2 * PER_GATEWAY - TOTAL, `calls refused 503: ${JSON.stringify(statuses)}`);
    for (const m of refused1) assert.match(m.startLine, /^SIP\/2\.0 503 No Capacity$/i, `a refusal's status line:\n${m.raw}`);
    // both gateways carried and refused calls: the limit is shared, not per gateway
    const viaA = ok1.filter((c) => ownerOf.get(c) === uacA).length;
    assert.ok(viaA > 0 && viaA < TOTAL, `answered calls through A: ${viaA} of ${TOTAL}`);

    // 2. at the hold point every answered call is established (ACK at its destination)
    await waitUntil(
      "the ACK of every answered call at the destinations",
      async () => {
        const acked = new Set<string>();
        for (const d of dests) for (const m of await d.uas.messages()) if (m.direction === "received" && m.method === "ACK") acked.add(m.callId);
        return ok1.every((c) => acked.has(c));
      },
      10_000,
      100,
    );
    let held = await holding();
    const answeredAnywhere = new Set<string>();
    for (const [d, c] of held) {
      assert.ok(c.max <= d.cap, `destination with capacity ${d.cap} held ${c.max} calls at once`);
      assert.equal(c.current.size, d.cap, `calls held by the destination with capacity ${d.cap}`);
      for (const cid of c.answered) answeredAnywhere.add(cid);
    }
    assert.deepEqual([...answeredAnywhere].sort(), [...ok1].sort(), "calls answered by the destinations ≠ calls answered 200 at the callers");

    // 3. the engine's view, through both gateways, matches the destinations
    await expectLoads(a, "hold point", (d) => d.cap);
    await expectLoads(b, "hold point", (d) => d.cap);
    for (const d of dests) {
      const dl = await dialogsOf(b, d.id);
      assert.deepEqual(
        dl.map((x) => x.callId).sort(),
        [...(held.get(d)?.current ?? [])].sort(),
        `GET /v1/dialogs?destination=${d.id} (capacity ${d.cap}) vs the calls its UAS holds`,
      );
    }

    // 4. release 6 calls on the 30 and 3 on the 10; the load drops by exactly that
    const d10 = dests[0] as Dest;
    const d30 = dests[2] as Dest;
    const freed = new Map<Dest, string[]>([
      [d30, [...(held.get(d30)?.current ?? [])].slice(0, 6)],
      [d10, [...(held.get(d10)?.current ?? [])].slice(0, 3)],
    ]);
    const released = [...freed.values()].flat();
    await release(released);
    await waitUntil(
      "a 200 for the BYE of each released call at its caller",
      async () => {
        const ok = new Set<string>();
        for (const u of uacs) for (const c of byeAnswered(await u.messages())) ok.add(c);
        return released.every((c) => ok.has(c));
      },
      10_000,
      100,
    );
    const freedOn = (d: Dest): number => freed.get(d)?.length ?? 0;
    await expectLoads(b, "after releasing 9 calls", (d) => d.cap - freedOn(d));
    await expectLoads(a, "after releasing 9 calls", (d) => d.cap - freedOn(d));

    // 5. 12 new calls (6 through each gateway): exactly the 9 freed places are taken again
    const uacC = place(a, pUc, "uac-c", 6);
    const uacD = place(b, pUd, "uac-d", 6);
    const second = await waitOutcomes([uacC, uacD]);
    const statuses2 = tally(second.values(), (m) => String(m.status));
    assert.deepEqual(statuses2, { "200": 9, "503": 3 }, `final responses to the 12 new calls`);
    const ok2 = [...second].filter(([, m]) => m.status === 200).map(([cid]) => cid);
    await waitUntil(
      "the ACK of the 9 new calls at the destinations",
      async () => {
        const acked = new Set<string>();
        for (const d of dests) for (const m of await d.uas.messages()) if (m.direction === "received" && m.method === "ACK") acked.add(m.callId);
        return ok2.every((c) => acked.has(c));
      },
      10_000,
      100,
    );
    held = await holding();
    for (const [d, c] of held) {
      assert.ok(c.max <= d.cap, `destination with capacity ${d.cap} held ${c.max} calls at once (whole trace)`);
      assert.equal(c.current.size, d.cap, `calls held by the destination with capacity ${d.cap} after the refill`);
    }
    await expectLoads(a, "after the refill", (d) => d.cap);

    // 6. end every call; everything returns to 0
    const stillHeld = [...held.values()].flatMap((c) => [...c.current]);
    await release(stillHeld);
    const results = await Promise.all(uacs.map((u) => u.result()));
    for (const r of results) {
      assert.equal(r.stats?.failed, 0, `failed calls at a caller\n${summarize(r.files.messages, r)}`);
      assert.equal(r.exit.code, 0, `sipp UAC exit\n${summarize(r.files.messages, r)}`);
    }
    await expectLoads(b, "after every call ended", () => 0);
    await waitUntil("GET /v1/dialogs to be empty", async () => (await b.dialogs()).length === 0, 5000, 100);
    await watcher.stop();
    assert.ok(watcher.samples.length > 20, `the load poller took only ${watcher.samples.length} samples`);
    const bad = watcher.violations();
    assert.deepEqual(bad.slice(0, 10), [], `GET /v1/destinations showed impossible loads (${bad.length})`);
    assert.ok(a.running && b.running, "a gateway exited during the test");
  }),
);
