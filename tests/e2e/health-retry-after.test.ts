/**
 * 503 with Retry-After pauses a destination (one gateway, destinations [busy, good], round robin, OPTIONS every
 * second, both answering them 200).
 *
 * `busy` answers every INVITE 503 with Retry-After: 4 (uas-503-retry-after.xml); a sipp UAC places 110 calls at 10/s.
 * Proves, from busy's own trace and a poller of GET /v1/destinations (every 100 ms):
 * - after each 503 it sends, busy gets no INVITE for the Retry-After time (the next one arrives ≥ 4 s after the 503
 *   left it), and then gets calls again (the next one within 4 s + 1 s: one or two calls at 10/s after the pause);
 *   over the run that is at least 3 INVITEs, i.e. at least 2 pauses that ended;
 * - the caller never sees the 503: every call completes (on good), each call busy refused among them;
 * - while paused the API shows busy `routable: false` with `pausedUntil` ≈ the 503 + 4 s, its health still `active`
 *   (a 503 with Retry-After is an answer, not a failure: it never goes probing or inactive), good stays routable.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { harness } from "../support/harness.ts";
import { freePorts } from "../support/ports.ts";
import { runUac, startUas, summarize } from "../support/sipp.ts";
import { byCallId, callIds, flow, select } from "../support/sipp-log.ts";
import { dialogStickinessProblems } from "../support/checks.ts";
import { healthRows, startHealthGateway, traceMs, waitForRow, type HealthRow } from "../support/health.ts";

const h = harness("health-retry-after");
before(() => h.setup());
after(() => h.teardown());

const RETRY_AFTER_S = 4;
const CALLS = 110;

test(
  "503 with Retry-After: the destination gets no call for that long, then gets calls again; the caller never sees the 503",
  h.wrap(async () => {
    const [busyPort, goodPort, uacPort] = (await freePorts(3)) as [number, number, number];
    const busy = await startUas({
      scenario: "uas-503-retry-after.xml",
      port: busyPort,
      transport: "udp",
      dir: h.dir,
      name: "ra-busy",
      keys: { retry_after: String(RETRY_AFTER_S) },
    });
    const good = await startUas({ scenario: "uas.xml", port: goodPort, transport: "udp", dir: h.dir, name: "ra-good" });
    const gw = await startHealthGateway({
      name: "ra-gw",
      dir: h.dir,
      destinations: [
        { id: "busy", uri: `sip:127.0.0.1:${busyPort}` },
        { id: "good", uri: `sip:127.0.0.1:${goodPort}` },
      ],
    });
    h.defer(() => gw.stop());
    for (const id of ["busy", "good"]) await waitForRow(gw, id, "probed alive", (r) => r.lastProbe?.result === "alive", 5000);

    // poll the API through the run
    const samples: { at: number; rows: HealthRow[] }[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        try {
          samples.push({ at: Date.now(), rows: await healthRows(gw) });
        } catch {
          // a missed sample is not a failure; the assertions need only some
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const uac = await runUac({
      scenario: "uac.xml",
      port: uacPort,
      transport: "udp",
      dir: h.dir,
      name: "ra-uac",
      target: { host: "127.0.0.1", port: gw.sipPort },
      calls: CALLS,
      rate: 10,
      timeoutS: 40,
    });
    polling = false;
    await poller;
    const b = await busy.stop();
    const g = await good.stop();
    await gw.stop();
    const ctx = `\n${summarize("uac", uac)}\n--- gateway ---\n${gw.logTail(3000)}`;

    // the caller: every call completed, no 503
    assert.equal(uac.stats?.failed, 0, `failed calls at the caller${ctx}`);
    assert.equal(uac.stats?.successful, CALLS, `successful calls at the caller${ctx}`);
    assert.equal(select(uac.messages, { direction: "received", status: 503 }).length, 0, "a 503 reached the caller");

    // busy's own trace: INVITE → 503 pairs, in order
    const invites = select(b.messages, { direction: "received", method: "INVITE" });
    const refusals = new Map<string, number>();
    for (const m of select(b.messages, { direction: "sent", status: 503 })) if (!refusals.has(m.callId)) refusals.set(m.callId, traceMs(m));
    const firstInvite = new Map<string, number>();
    for (const m of invites) if (!firstInvite.has(m.callId)) firstInvite.set(m.callId, traceMs(m));
    const order = [...firstInvite].sort((x, y) => x[1] - y[1]);
    assert.ok(order.length >= 3, `busy got ${order.length} INVITE(s) in ${CALLS / 10} s: expected at least 3 (a call, a pause, a call, a pause, a call)`);
    assert.ok(select(b.messages, { direction: "received", method: "BYE" }).length === 0, "a BYE reached the 503 destination");
    const gaps: string[] = [];
    const problems: string[] = [];
    for (let i = 0; i + 1 < order.length; i++) {
      const [cid] = order[i]!;
      const [nextCid, nextAt] = order[i + 1]!;
      const refusedAt = refusals.get(cid);
      if (refusedAt === undefined) {
        problems.push(`${cid}: busy never answered it 503`);
        continue;
      }
      const gap = nextAt - refusedAt;
      gaps.push(`${gap} ms`);
      // 5 ms of slack for the timestamps' resolution (sipp: µs, the gateway's clock: ms)
      if (gap < RETRY_AFTER_S * 1000 - 5) problems.push(`${nextCid} reached busy ${gap} ms after its 503 for ${cid} (Retry-After: ${RETRY_AFTER_S})`);
      if (gap > RETRY_AFTER_S * 1000 + 1000) problems.push(`${nextCid} reached busy only ${gap} ms after its 503 for ${cid}: not back in rotation after the pause`);
    }
    assert.deepEqual(problems, [], `busy's INVITE spacing after each 503: ${gaps.join(", ")}`);

    // every refused call completed on good
    const goodBye = callIds(g.messages, { direction: "received", method: "BYE" });
    const goodCalls = byCallId(g.messages);
    for (const cid of refusals.keys()) assert.ok(goodBye.has(cid), `${cid}: refused by busy, not completed on good (${flow(goodCalls.get(cid) ?? [])})`);
    assert.equal(callIds(g.messages, { direction: "received", method: "INVITE" }).size, CALLS, "calls at good");
    assert.deepEqual(dialogStickinessProblems([{ name: "good", messages: g.messages }]), []);

    // what the API said meanwhile
    const busyRows = samples.map((s) => ({ at: s.at, row: s.rows.find((r) => r.id === "busy") }));
    const notActive = busyRows.filter((s) => s.row && s.row.state !== "active").map((s) => `${new Date(s.at).toISOString()} ${s.row?.state}`);
    assert.deepEqual(notActive, [], "busy's health left `active` (a 503 with Retry-After must only pause it)");
    const goodUnroutable = samples.filter((s) => s.rows.find((r) => r.id === "good")?.routable !== true).length;
    assert.equal(goodUnroutable, 0, "good was not routable in some samples");
    let pausedSeen = 0;
    for (const [cid, refusedAt] of refusals) {
      // well inside the pause: from 300 ms after the 503 to 300 ms before its end
      const inside = busyRows.filter((s) => s.at > refusedAt + 300 && s.at < refusedAt + RETRY_AFTER_S * 1000 - 300);
      for (const s of inside) {
        assert.equal(s.row?.routable, false, `${new Date(s.at).toISOString()}: busy routable during the pause after ${cid}: ${JSON.stringify(s.row)}`);
        const until = Date.parse(s.row?.pausedUntil ?? "");
        assert.ok(
          Math.abs(until - (refusedAt + RETRY_AFTER_S * 1000)) <= 250,
          `pausedUntil ${s.row?.pausedUntil} vs the 503 at ${new Date(refusedAt).toISOString()} + ${RETRY_AFTER_S} s`,
        );
        pausedSeen++;
      }
    }
    assert.ok(pausedSeen >= 10, `only ${pausedSeen} API samples inside a pause`);
    process.stdout.write(`# retry-after: busy got ${order.length} INVITEs, next one ${gaps.join(", ")} after each 503; ${pausedSeen} paused samples\n`);
  }),
);
