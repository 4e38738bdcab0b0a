/**
 * Failover to the next destination (UDP callers). Each case starts its own gateway with destinations
 * [bad, good], so round robin sends about every other call to the bad one first.
 *
 * - 503: the bad destination answers every INVITE 503 (uas-503.xml). Proves: no call fails and the caller never
 *   sees a 503; every call the 503 destination refused completed on the good one; the 503 destination got the
 *   hop-by-hop ACK for each 503 (same branch as the INVITE it got).
 * - silent: the bad destination takes INVITEs and never answers (uas-silent.xml; see there why a listening socket
 *   rather than a closed port). Proves: no call fails; the silent destination did get INVITEs (so failover really
 *   happened); those calls completed on the good one, and only after the branch timeout (call setup ≥ ~1 s).
 * - TCP refused: the bad destination is a TCP port nobody listens on. Proves: the transport error fails over at
 *   once (every call completes, none waits for the branch timeout).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { harness } from "../support/harness.ts";
import { freePorts } from "../support/ports.ts";
import { runUac, startUas, summarize, type SippResult } from "../support/sipp.ts";
import { startGateway, type Gateway } from "../support/gateway.ts";
import { byCallId, callIds, flow, select, type TracedMessage } from "../support/sipp-log.ts";
import { dialogStickinessProblems } from "../support/checks.ts";

const h = harness("failover");
before(() => h.setup());
after(() => h.teardown());

const BRANCH_TIMEOUT_MS = 1000;

function topBranch(m: TracedMessage): string | undefined {
  const via = m.headers.get("via")?.[0]?.split(",")[0] ?? "";
  return /;\s*branch=([^;,\s]+)/i.exec(via)?.[1];
}

function traceTime(m: TracedMessage): number {
  // "2026-11-23 06:47:31.595336" (local time): only differences are used
  const [d, t] = m.time.split(" ");
  return new Date(`${d ?? ""}T${t?.slice(0, 12) ?? ""}`).getTime();
}

function ctx(uac: SippResult, gw: Gateway): string {
  return `\n${summarize("uac", uac)}\n--- gateway ---\n${gw.logTail(3000)}`;
}

async function uacThrough(gw: Gateway, name: string, calls: number, uacPort: number): Promise<SippResult> {
  return runUac({
    scenario: "uac.xml",
    port: uacPort,
    transport: "udp",
    dir: h.dir,
    name,
    target: { host: "127.0.0.1", port: gw.sipPort },
    calls,
    rate: 10,
    limit: 10,
    timeoutS: 45,
  });
}

test(
  "a destination answering 503: every call completes on the other, the 503s get their hop-by-hop ACK",
  h.wrap(async () => {
    const CALLS = 20;
    const [gwPort, httpPort, badPort, goodPort, uacPort] = (await freePorts(5)) as [number, number, number, number, number];
    const bad = await startUas({ scenario: "uas-503.xml", port: badPort, transport: "udp", dir: h.dir, name: "503-bad" });
    const good = await startUas({ scenario: "uas.xml", port: goodPort, transport: "udp", dir: h.dir, name: "503-good" });
    const gw = await startGateway({
      sipPort: gwPort,
      httpPort,
      destinations: [`sip:127.0.0.1:${badPort}`, `sip:127.0.0.1:${goodPort}`],
      branchTimeoutMs: BRANCH_TIMEOUT_MS,
      dir: h.dir,
    });
    h.defer(() => gw.stop());
    const uac = await uacThrough(gw, "503-uac", CALLS, uacPort);
    const b = await bad.stop();
    const g = await good.stop();
    await gw.stop();

    assert.equal(uac.stats?.failed, 0, `failed calls at the UAC${ctx(uac, gw)}`);
    assert.equal(uac.stats?.successful, CALLS, `successful calls at the UAC${ctx(uac, gw)}`);
    assert.equal(select(uac.messages, { direction: "received", status: 503 }).length, 0, "a 503 reached the caller");

    const refused = callIds(b.messages, { direction: "received", method: "INVITE" });
    assert.ok(refused.size >= 1, "the 503 destination never got an INVITE: failover was not exercised");
    const completed = callIds(g.messages, { direction: "received", method: "BYE" });
    assert.equal(callIds(g.messages, { direction: "received", method: "INVITE" }).size, CALLS, "calls at the good destination");
    for (const cid of refused) assert.ok(completed.has(cid), `${cid} was refused by the 503 destination but did not complete on the other`);
    assert.deepEqual(dialogStickinessProblems([{ name: "good", messages: g.messages }]), []);

    const problems: string[] = [];
    for (const [cid, msgs] of byCallId(b.messages)) {
      const invBranches = new Set(select(msgs, { direction: "received", method: "INVITE" }).map(topBranch));
      const acks = select(msgs, { direction: "received", method: "ACK" });
      if (acks.length === 0) problems.push(`${cid}: no ACK for the 503 (${flow(msgs)})`);
      for (const k of acks) if (!invBranches.has(topBranch(k))) problems.push(`${cid}: ACK branch ${topBranch(k)} is not the INVITE's`);
      if (select(msgs, { direction: "received", method: "BYE" }).length > 0) problems.push(`${cid}: BYE reached the 503 destination`);
    }
    assert.deepEqual(problems, [], problems.join("\n"));
  }),
);

test(
  "a destination that never answers: after the branch timeout every call completes on the other",
  h.wrap(async () => {
    const CALLS = 10;
    const [gwPort, httpPort, badPort, goodPort, uacPort] = (await freePorts(5)) as [number, number, number, number, number];
    const bad = await startUas({ scenario: "uas-silent.xml", port: badPort, transport: "udp", dir: h.dir, name: "silent-bad" });
    const good = await startUas({ scenario: "uas.xml", port: goodPort, transport: "udp", dir: h.dir, name: "silent-good" });
    const gw = await startGateway({
      sipPort: gwPort,
      httpPort,
      destinations: [`sip:127.0.0.1:${badPort}`, `sip:127.0.0.1:${goodPort}`],
      branchTimeoutMs: BRANCH_TIMEOUT_MS,
      dir: h.dir,
    });
    h.defer(() => gw.stop());
    const uac = await uacThrough(gw, "silent-uac", CALLS, uacPort);
    const b = await bad.stop();
    const g = await good.stop();
    await gw.stop();

    assert.equal(uac.stats?.failed, 0, `failed calls at the UAC${ctx(uac, gw)}`);
    assert.equal(uac.stats?.successful, CALLS, `successful calls at the UAC${ctx(uac, gw)}`);
    const silentGot = callIds(b.messages, { direction: "received", method: "INVITE" });
    assert.ok(silentGot.size >= 1, "the silent destination never got an INVITE: failover was not exercised");
    assert.equal(select(b.messages, { direction: "sent" }).length, 0, "the silent destination answered something");
    assert.equal(callIds(g.messages, { direction: "received", method: "INVITE" }).size, CALLS, "calls at the good destination");
    assert.deepEqual(dialogStickinessProblems([{ name: "good", messages: g.messages }]), []);

    // the calls that went to the silent destination first were answered only after the branch timeout
    const uacCalls = byCallId(uac.messages);
    for (const cid of silentGot) {
      const msgs = uacCalls.get(cid) ?? [];
      const inv = select(msgs, { direction: "sent", method: "INVITE" })[0];
      const ok = select(msgs, { direction: "received", status: 200, cseqMethod: "INVITE" })[0];
      assert.ok(inv && ok, `${cid}: no INVITE/200 in the UAC trace (${flow(msgs)})`);
      const setup = traceTime(ok) - traceTime(inv);
      assert.ok(
        setup >= BRANCH_TIMEOUT_MS * 0.9 && setup < BRANCH_TIMEOUT_MS + 4000,
        `${cid}: set up in ${setup} ms, expected about the branch timeout (${BRANCH_TIMEOUT_MS} ms) plus a little`,
      );
    }
    assert.equal(select(uac.messages, { direction: "received", status: 408 }).length, 0, "a 408 reached the caller");
  }),
);

test(
  "a TCP destination refusing connections: calls fail over at once",
  h.wrap(async () => {
    const CALLS = 10;
    const [gwPort, httpPort, closedPort, goodPort, uacPort] = (await freePorts(5)) as [number, number, number, number, number];
    const good = await startUas({ scenario: "uas.xml", port: goodPort, transport: "tcp", dir: h.dir, name: "refused-good" });
    const gw = await startGateway({
      sipPort: gwPort,
      httpPort,
      destinations: [`sip:127.0.0.1:${closedPort};transport=tcp`, `sip:127.0.0.1:${goodPort};transport=tcp`],
      // long branch timeout: a call that waits for it instead of failing over on the refused connect shows up
      branchTimeoutMs: 5000,
      dir: h.dir,
    });
    h.defer(() => gw.stop());
    const uac = await uacThrough(gw, "refused-uac", CALLS, uacPort);
    const g = await good.stop();
    await gw.stop();

    assert.equal(uac.stats?.failed, 0, `failed calls at the UAC${ctx(uac, gw)}`);
    assert.equal(uac.stats?.successful, CALLS, `successful calls at the UAC${ctx(uac, gw)}`);
    assert.equal(callIds(g.messages, { direction: "received", method: "INVITE" }).size, CALLS);
    const uacCalls = byCallId(uac.messages);
    const slow: string[] = [];
    for (const [cid, msgs] of uacCalls) {
      const inv = select(msgs, { direction: "sent", method: "INVITE" })[0];
      const ok = select(msgs, { direction: "received", status: 200, cseqMethod: "INVITE" })[0];
      if (inv && ok && traceTime(ok) - traceTime(inv) >= 2500) slow.push(`${cid}: ${traceTime(ok) - traceTime(inv)} ms`);
    }
    assert.deepEqual(slow, [], "calls that waited instead of failing over on the refused TCP connection");
  }),
);
