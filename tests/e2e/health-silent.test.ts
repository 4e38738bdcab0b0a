/**
 * A destination that never answers anything, found by the probes and avoided (one gateway, round robin, OPTIONS every
 * second with a 500 ms timeout, branch timeout 1 s).
 *
 * The silent destination is a UDP socket of the test's (support/sip-udp.ts) that reads and records every datagram and
 * never sends one: no 100, no answer to OPTIONS. A sipp UAC places 160 calls at 20/s through the gateway, which
 * starts with one good sipp destination; once calls flow, the silent one is added through the admin API. Proves:
 * - before detection, calls did reach it (INVITEs recorded) and completed on the good one after the branch timeout
 *   (no call fails at the caller);
 * - the probes find it: `inactive` (not routable, last probe a timeout, the gateway's log names 2 consecutive probe
 *   timeouts) within 4 probe intervals of its creation, with at least 2 OPTIONS recorded at the socket by then;
 * - after detection no new INVITE reaches it: none for a call the caller placed after it was seen inactive (the
 *   gateway still retransmits INVITEs sent to it earlier, until Timer B: those are not new calls), and every such
 *   call went straight to the good destination (set up well under the branch timeout), at least 40 of them;
 * - it is still probed while inactive (OPTIONS keep coming) and stays inactive to the end.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { harness } from "../support/harness.ts";
import { freePorts } from "../support/ports.ts";
import { startUac, startUas, summarize } from "../support/sipp.ts";
import { waitUntil } from "../support/process.ts";
import { SipUdp } from "../support/sip-udp.ts";
import { callIds, select } from "../support/sipp-log.ts";
import { dialogStickinessProblems } from "../support/checks.ts";
import {
  PROBE_INTERVAL_MS,
  addDestination,
  callerView,
  healthRow,
  rawFirstSeen,
  startHealthGateway,
  taggedBy,
  waitForRow,
  waitForState,
} from "../support/health.ts";

const h = harness("health-silent");
before(() => h.setup());
after(() => h.teardown());

const BRANCH_TIMEOUT_MS = 1000;
const CALLS = 160;

test(
  "a destination that never answers is found inactive by the probes and gets no new INVITE after that",
  h.wrap(async () => {
    const [goodPort, uacPort] = (await freePorts(2)) as [number, number];
    const silent = await SipUdp.open();
    h.defer(() => silent.close());
    const good = await startUas({ scenario: "uas.xml", port: goodPort, transport: "udp", dir: h.dir, name: "silent-good" });
    const gw = await startHealthGateway({
      name: "silent-gw",
      dir: h.dir,
      branchTimeoutMs: BRANCH_TIMEOUT_MS,
      destinations: [{ id: "good", uri: `sip:127.0.0.1:${goodPort}` }],
    });
    h.defer(() => gw.stop());
    await waitForRow(gw, "good", "probed alive", (r) => r.lastProbe?.result === "alive", 5000);

    const uac = startUac({
      scenario: "uac.xml",
      port: uacPort,
      transport: "udp",
      dir: h.dir,
      name: "silent-uac",
      target: { host: "127.0.0.1", port: gw.sipPort },
      calls: CALLS,
      rate: 20,
      timeoutS: 40,
    });
    await waitUntil(
      "calls flowing to the good destination",
      async () => callIds(await good.messages(), { direction: "received", method: "INVITE" }).size >= 10,
      10_000,
      50,
    );
    const addedAt = Date.now();
    await addDestination(gw, { id: "silent", uri: `sip:127.0.0.1:${silent.port}` });

    const inactive = await waitForState(gw, "silent", "inactive", 4 * PROBE_INTERVAL_MS + 2000);
    const detectMs = inactive.at - addedAt;
    assert.ok(detectMs <= 4 * PROBE_INTERVAL_MS, `silent seen inactive ${detectMs} ms after it was added (bar: 4 probe intervals)`);
    assert.equal(inactive.row.routable, false);
    assert.equal(inactive.row.lastProbe?.result, "timeout", JSON.stringify(inactive.row.lastProbe));
    const probesBefore = new Set(silent.received.filter((r) => r.msg.method === "OPTIONS" && r.at <= inactive.at).map((r) => r.msg.callId));
    assert.ok(probesBefore.size >= 2, `only ${probesBefore.size} OPTIONS reached the silent destination before it was inactive`);
    await gw.process?.waitForLine(/"destination state changed".*"destination":"silent".*"to":"inactive".*probe timeout \(2 consecutive\)/, 2000);

    const r = await uac.result();
    const end = await healthRow(gw, "silent");
    assert.equal(end.state, "inactive", `silent at the end: ${JSON.stringify(end)}`);
    const g = await good.stop();
    await gw.stop();
    const ctx = `\n${summarize("uac", r)}\n--- gateway ---\n${gw.logTail(3000)}`;

    assert.equal(r.stats?.failed, 0, `failed calls at the caller${ctx}`);
    assert.equal(r.stats?.successful, CALLS, `successful calls at the caller${ctx}`);
    assert.equal(silent.received.filter((x) => x.msg.kind === "response").length, 0);
    const calls = callerView(r.messages);
    const setup = (cid: string) => {
      const c = calls.get(cid);
      return (c?.final?.at ?? Infinity) - (c?.invitedAt ?? 0);
    };

    // before detection: calls reached it and failed over to good after the branch timeout
    const firstSeen = rawFirstSeen(silent.received, "INVITE");
    const before = [...firstSeen].filter(([, at]) => at <= inactive.at).map(([cid]) => cid);
    assert.ok(before.length >= 1, "no INVITE reached the silent destination before detection: nothing was avoided");
    for (const cid of before) {
      const c = calls.get(cid);
      assert.ok(c && taggedBy(c.final?.toTag, good.proc.pid), `${cid} reached the silent destination and did not complete on good`);
      assert.ok(setup(cid) >= 0.9 * BRANCH_TIMEOUT_MS, `${cid} reached the silent destination but was set up in ${setup(cid)} ms`);
    }

    // after detection: no new INVITE
    const leaked = [...firstSeen.keys()].filter((cid) => (calls.get(cid)?.invitedAt ?? 0) > inactive.at);
    assert.deepEqual(leaked, [], `INVITEs at the silent destination for calls placed after it was seen inactive (${new Date(inactive.at).toISOString()})`);
    const placedAfter = [...calls.values()].filter((c) => c.invitedAt > inactive.at);
    assert.ok(placedAfter.length >= 40, `only ${placedAfter.length} calls placed after detection`);
    const detoured = placedAfter.filter((c) => !taggedBy(c.final?.toTag, good.proc.pid) || setup(c.callId) >= 0.9 * BRANCH_TIMEOUT_MS);
    assert.deepEqual(detoured.map((c) => `${c.callId}: ${setup(c.callId)} ms`), [], "calls placed after detection that did not go straight to good");

    // still probed while inactive
    const probesAfter = new Set(silent.received.filter((x) => x.msg.method === "OPTIONS" && x.at > inactive.at).map((x) => x.msg.callId));
    assert.ok(probesAfter.size >= 2, `only ${probesAfter.size} probes after detection`);
    assert.equal(select(r.messages, { direction: "received", status: 408 }).length, 0, "a 408 reached the caller");
    assert.deepEqual(dialogStickinessProblems([{ name: "good", messages: g.messages }]), []);
    process.stdout.write(
      `# silent: inactive ${detectMs} ms after it was added (${probesBefore.size} probes); ${before.length} calls reached it before and failed over; ` +
        `${placedAfter.length} calls after detection, none reached it; ${probesAfter.size} probes while inactive\n`,
    );
  }),
);
