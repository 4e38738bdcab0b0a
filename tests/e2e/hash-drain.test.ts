/**
 * Two engine behaviours seen from the destinations' own traces, with two gateways on one Redis and one SQL catalog.
 *
 * Hashing (set "h", algorithm hash on call-id, three destinations): 24 calls, 12 through each gateway (sipp uac.xml,
 * INVITE/ACK/BYE), then a new INVITE for each of the same 24 Call-IDs (fresh From tag and branch, raw UDP caller)
 * through the *other* gateway, answered, ACKed and BYEd. Proves: every request of a Call-ID (both INVITEs, both ACKs,
 * both BYEs) reached one and the same destination; the hash does not depend on the gateway; the calls did spread over
 * more than one destination (not a degenerate "everything to one").
 *
 * Drain (set "d", least-loaded, three destinations): 6 held calls (uac-hold-or-503.xml) through A; the destination X
 * holding the most is set `draining` through A's admin API while it holds them. Proves: the state reads back
 * "draining" through both gateways; 10 new calls through A (right after the change) and 10 through B (after the
 * catalog reload tick) all complete on the other two destinations, none reaches X; X's held calls then end normally
 * (each BYE reaches X, X answers 200, the caller gets 200); X's load and dialogs go to 0 and it stays draining.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { harness } from "../support/harness.ts";
import { freePorts } from "../support/ports.ts";
import { parseStatsCsv, runUac, startUac, startUas, summarize, type SippUas } from "../support/sipp.ts";
import { startRedisServer } from "../support/redis-server.ts";
import { waitUntil } from "../support/process.ts";
import { SipUdp, releaseInfo } from "../support/sip-udp.ts";
import { callIds, select, type TracedMessage } from "../support/sipp-log.ts";
import { dialogStickinessProblems } from "../support/checks.ts";
import type { Gateway } from "../support/gateway.ts";
import { ack, bye, invite } from "../support/raw-call.ts";
import {
  byeAnswered,
  catalogUrl,
  createDestination,
  createRule,
  createSet,
  destinationRows,
  dialogsOf,
  inviteOutcomes,
  loadById,
  setDestinationState,
  startEngineGateway,
  uasCalls,
} from "../support/engine.ts";

const h = harness("hash-drain");
before(() => h.setup());
after(() => h.teardown());

const TICK_MS = 500;

interface Dest {
  readonly name: string;
  readonly id: string;
  readonly uas: SippUas;
}

async function cluster(
  tag: string,
  set: Record<string, unknown>,
  names: readonly string[],
  uasArgs: readonly string[] = [],
): Promise<{ a: Gateway; b: Gateway; dests: Dest[] }> {
  const redis = await startRedisServer();
  h.defer(() => redis.stop());
  const databaseUrl = catalogUrl(h.dir).replace(/catalog\.sqlite$/, `catalog-${tag}.sqlite`);
  const a = await startEngineGateway({ name: `${tag}-gw-a`, dir: h.dir, redis, databaseUrl, tickMs: TICK_MS });
  h.defer(() => a.stop());
  await createSet(a, set);
  const ports = (await freePorts(names.length)) as number[];
  const dests: Dest[] = [];
  for (const [i, name] of names.entries()) {
    const port = ports[i] ?? 0;
    const uas = await startUas({ scenario: "uas.xml", port, transport: "udp", dir: h.dir, name: `${tag}-uas-${name}`, extraArgs: uasArgs });
    const id = await createDestination(a, { uri: `sip:127.0.0.1:${port};transport=udp`, set: set.name, resources: { calls: 100 } });
    dests.push({ name, id, uas });
  }
  await createRule(a, { match: {}, set: set.name, priority: 10, resources: { calls: 1 } });
  const b = await startEngineGateway({ name: `${tag}-gw-b`, dir: h.dir, redis, databaseUrl, tickMs: TICK_MS });
  h.defer(() => b.stop());
  return { a, b, dests };
}

async function statsSuccessful(uas: SippUas): Promise<number> {
  const text = await readFile(uas.files.stats, "latin1").catch(() => "");
  return parseStatsCsv(text)?.successful ?? 0;
}

test(
  "hash on call-id: every request of a Call-ID reaches one destination, through either gateway, and a later INVITE with the same Call-ID too",
  h.wrap(async () => {
    // -deadcall_wait 0: sipp otherwise remembers a finished Call-ID for 33 s and drops a new INVITE reusing it
    const { a, b, dests } = await cluster("hash", { name: "h", algorithm: "hash", hashKey: "call-id", resources: ["calls"] }, ["x", "y", "z"], [
      "-deadcall_wait",
      "0",
    ]);
    const [pA, pB] = (await freePorts(2)) as [number, number];
    const common = { scenario: "uac.xml", transport: "udp" as const, dir: h.dir, calls: 12, rate: 50, timeoutS: 30 };
    const [rA, rB] = await Promise.all([
      runUac({ ...common, port: pA, name: "hash-uac-a", target: { host: "127.0.0.1", port: a.sipPort } }),
      runUac({ ...common, port: pB, name: "hash-uac-b", target: { host: "127.0.0.1", port: b.sipPort } }),
    ]);
    for (const [name, r] of [["through A", rA], ["through B", rB]] as const) {
      assert.equal(r.stats?.successful, 12, `calls ${name}\n${summarize(name, r)}`);
      assert.equal(r.stats?.failed, 0, `calls ${name}\n${summarize(name, r)}`);
    }
    const firstA = [...callIds(rA.messages, { direction: "sent", method: "INVITE" })];
    const firstB = [...callIds(rB.messages, { direction: "sent", method: "INVITE" })];
    assert.equal(firstA.length + firstB.length, 24);

    // the destinations are done with the first calls (uas.xml keeps a call 2 s after its BYE): a new INVITE with the
    // same Call-ID must start a new call there, not hit the old one (a dropped INVITE would fail over elsewhere)
    await waitUntil(
      "the destinations to count the 24 first calls as finished (sipp statistics)",
      async () => (await Promise.all(dests.map((d) => statsSuccessful(d.uas)))).reduce((x, y) => x + y, 0) >= 24,
      10_000,
      250,
    );

    // the same Call-IDs again, each through the other gateway
    const ep = await SipUdp.open();
    h.defer(() => ep.close());
    const again = async (cid: string, gw: Gateway): Promise<void> => {
      const r = await invite(ep, gw.sipPort, { callId: cid });
      assert.equal(r.final?.status, 200, `second INVITE of ${cid} through ${gw.opts.name}: ${r.final?.raw ?? "no final response"}`);
      assert.ok(r.dialog);
      await ack(ep, r.dialog);
      const end = await bye(ep, r.dialog);
      assert.equal(end.final?.msg.status, 200, `BYE of the second call ${cid}: ${end.final?.msg.raw ?? "none"}`);
    };
    // in the reverse order: a per-gateway rotation (round robin) replayed in the same order could land every Call-ID
    // where it went the first time by coincidence
    await Promise.all([...[...firstA].reverse().map((c) => again(c, b)), ...[...firstB].reverse().map((c) => again(c, a))]);
    const traces: { name: string; messages: TracedMessage[] }[] = [];
    for (const d of dests) traces.push({ name: d.name, messages: (await d.uas.stop()).messages });

    // every request of each Call-ID at exactly one destination, twice over
    const where = new Map<string, Set<string>>();
    for (const t of traces) {
      for (const m of t.messages) {
        if (m.direction !== "received" || m.kind !== "request") continue;
        const s = where.get(m.callId) ?? new Set<string>();
        s.add(t.name);
        where.set(m.callId, s);
      }
    }
    const split = [...where].filter(([, s]) => s.size !== 1).map(([c, s]) => `${c}: ${[...s].join("+")}`);
    assert.deepEqual(split, [], "Call-IDs whose requests reached more than one destination");
    for (const cid of [...firstA, ...firstB]) {
      const t = traces.find((x) => where.get(cid)?.has(x.name));
      assert.ok(t, `no destination got ${cid}`);
      const mine = t.messages.filter((m) => m.callId === cid && m.direction === "received");
      const count = (method: string): number => new Set(select(mine, { method }).map((m) => m.headers.get("from")?.[0] ?? "")).size;
      assert.deepEqual(
        { INVITE: count("INVITE"), ACK: count("ACK"), BYE: count("BYE") },
        { INVITE: 2, ACK: 2, BYE: 2 },
        `${cid} at ${t.name}: both calls' INVITE, ACK and BYE (by From tag)`,
      );
    }
    const problems = dialogStickinessProblems(traces);
    assert.deepEqual(problems, [], `stickiness problems:\n${problems.join("\n")}`);
    const used = traces.filter((t) => callIds(t.messages, { direction: "received", method: "INVITE" }).size > 0).length;
    assert.ok(used >= 2, `the hash sent all 24 Call-IDs to ${used} destination(s)`);
  }),
);

test(
  "drain: a draining destination gets no new call through either gateway, and its calls in progress end normally",
  h.wrap(async () => {
    const { a, b, dests } = await cluster("drain", { name: "d", algorithm: "least-loaded", resources: ["calls"] }, ["x", "y", "z"]);
    const [pHold, pNewA, pNewB] = (await freePorts(3)) as [number, number, number];
    const ep = await SipUdp.open();
    h.defer(() => ep.close());

    const uac = startUac({
      scenario: "uac-hold-or-503.xml",
      port: pHold,
      transport: "udp",
      dir: h.dir,
      name: "drain-uac-hold",
      target: { host: "127.0.0.1", port: a.sipPort },
      calls: 6,
      rate: 6,
      limit: 6,
      timeoutS: 60,
    });
    const held = Array.from({ length: 6 }, (_, i) => uac.callId(i + 1));
    await waitUntil(
      "the 6 held calls answered and ACKed",
      async () => {
        const o = inviteOutcomes(await uac.messages());
        if (!held.every((c) => o.get(c)?.status === 200)) return false;
        const acked = new Set<string>();
        for (const d of dests) for (const m of select(await d.uas.messages(), { direction: "received", method: "ACK" })) acked.add(m.callId);
        return held.every((c) => acked.has(c));
      },
      10_000,
      100,
    );
    const holding = new Map<Dest, Set<string>>();
    for (const d of dests) holding.set(d, uasCalls(await d.uas.messages()).current);
    const x = [...holding].sort((p, q) => q[1].size - p[1].size)[0]?.[0] as Dest;
    const onX = [...(holding.get(x) ?? [])];
    assert.ok(onX.length >= 1, "no destination holds a call");
    const others = dests.filter((d) => d !== x);

    // drain X through A
    const changed = await setDestinationState(a, x.id, "draining");
    assert.equal(changed.state, "draining", `POST /v1/destinations/${x.id}/state: ${JSON.stringify(changed)}`);
    const drainedAt = Date.now();
    for (const gw of [a, b]) {
      const row = (await destinationRows(gw)).find((r) => r.id === x.id);
      assert.equal(row?.state, "draining", `${gw.opts.name}: ${JSON.stringify(row)}`);
    }
    assert.equal((await loadById(b)).get(x.id), onX.length, "X's load while draining = the calls it holds");

    // new calls through A: none reaches X
    const newA = await runUac({
      scenario: "uac.xml",
      port: pNewA,
      transport: "udp",
      dir: h.dir,
      name: "drain-uac-new-a",
      target: { host: "127.0.0.1", port: a.sipPort },
      calls: 10,
      rate: 50,
      timeoutS: 30,
    });
    assert.equal(newA.stats?.successful, 10, summarize("new calls through A", newA));
    // B reloads the catalog on its timer: give it 3 ticks (the contract's bound is one), then new calls through B
    const wait = 3 * TICK_MS - (Date.now() - drainedAt);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const newB = await runUac({
      scenario: "uac.xml",
      port: pNewB,
      transport: "udp",
      dir: h.dir,
      name: "drain-uac-new-b",
      target: { host: "127.0.0.1", port: b.sipPort },
      calls: 10,
      rate: 50,
      timeoutS: 30,
    });
    assert.equal(newB.stats?.successful, 10, summarize("new calls through B", newB));
    const fresh = [...callIds(newA.messages, { direction: "sent", method: "INVITE" }), ...callIds(newB.messages, { direction: "sent", method: "INVITE" })];
    const atX = callIds(await x.uas.messages(), { direction: "received", method: "INVITE" });
    const leaked = fresh.filter((c) => atX.has(c));
    assert.deepEqual(leaked, [], `new calls that reached the draining destination ${x.name}`);
    const atOthers = new Set<string>();
    for (const d of others) for (const c of callIds(await d.uas.messages(), { direction: "received", method: "INVITE" })) atOthers.add(c);
    assert.deepEqual(fresh.filter((c) => !atOthers.has(c)), [], "new calls that reached neither of the other destinations");

    // the held calls end normally: X gets each BYE and answers 200
    for (const cid of held) await ep.send(releaseInfo(ep, pHold, cid), pHold);
    const r = await uac.result();
    assert.equal(r.stats?.failed, 0, summarize("held calls", r));
    assert.equal(r.stats?.successful, 6, summarize("held calls", r));
    const okBye = byeAnswered(r.messages);
    assert.deepEqual(held.filter((c) => !okBye.has(c)), [], "held calls whose BYE got no 200 at the caller");
    const xt = (await x.uas.stop()).messages;
    for (const cid of onX) {
      assert.ok(select(xt, { direction: "received", method: "BYE" }).some((m) => m.callId === cid), `${x.name} did not get the BYE of ${cid}`);
      assert.ok(select(xt, { direction: "sent", status: 200, cseqMethod: "BYE" }).some((m) => m.callId === cid), `${x.name} did not answer the BYE of ${cid}`);
    }
    await waitUntil(
      "X's load and dialogs at 0 after its calls ended",
      async () => (await loadById(b)).get(x.id) === 0 && (await dialogsOf(b, x.id)).length === 0,
      5000,
      100,
    );
    assert.equal((await destinationRows(a)).find((row) => row.id === x.id)?.state, "draining", "X is no longer draining");
  }),
);
