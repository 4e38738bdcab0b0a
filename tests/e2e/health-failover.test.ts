/**
 * A destination dies under load and comes back (one gateway, two sipp UAS destinations A and B, round robin, OPTIONS
 * every second, tick 200 ms, branch timeout 1 s, failover budget 5 s, T1 = 100 ms so Timer B = 6.4 s).
 *
 * A sipp UAC places 600 short calls (hold 300 ms) at 30 calls/s through the gateway. Once A has taken 20 calls it is
 * SIGKILLed; a silent UDP socket of the test is bound on its port at once, so whatever the gateway still sends there
 * is seen (the gateway cannot tell it from the dead sipp: it does not act on ICMP, and nothing answers either way).
 * Once the retransmissions of the INVITEs A got before it was taken out have ended (Timer B after the last one), a
 * new sipp UAS takes A's port again. Proves:
 *
 * - calls in setup toward A when it died fail over: each call A swallowed completes on B after about the branch
 *   timeout, within the failover budget; no call waited longer than the budget;
 * - A is `inactive` (not routable, last probe a timeout) within 4 probe intervals of the kill (2 failed probes, each
 *   due at most an interval plus a tick after the last, + the 500 ms probe timeout), and while it is inactive no new
 *   call goes there: no INVITE for a call the caller placed after it was seen inactive reaches A's port, and those
 *   calls complete on B without waiting for the branch timeout; the probes go on (OPTIONS keep arriving);
 * - restarted, A is `active` again within 3 intervals, after 2 successful probes (the new UAS answered 2 OPTIONS
 *   before its first INVITE), and then gets its share: 40-60 % of the calls placed after it was seen active;
 * - calls that failed at the caller: none, except calls A had answered before it was killed whose BYE then went to
 *   the dead A (counted separately, from the caller's trace: answered by A's sipp — To tag = its PID — and BYE sent
 *   after the kill). Each of those fails (no one else answers its BYE: the gateway sends it to A's port only), and
 *   every failed call is one of them. The caller gives up on such a BYE after 2 retransmissions (3.5 s; the gateway
 *   sends no 408 to a non-INVITE, RFC 4320), long before A comes back: a restarted sipp answers 200 to any BYE, even
 *   for a call it never had, which would hide the loss and also count as a success of A's.
 * - the restarted A gets no request of a call it did not take (dialog stickiness across the restart).
 *
 * Why the wait for Timer B before the restart: the gateway keeps retransmitting an INVITE whose branch it failed over
 * from (no CANCEL is allowed before a provisional, RFC 3261 §9.1; kamailio's default does the same), so a UAS that
 * comes back on the same port within 64·T1 answers those retransmissions and the gateway relays the late 2xx to a
 * caller whose call B already answered (§16.7 step 5). A real UA ACKs and BYEs it; sipp's UAC cannot, and would count
 * a failed call that has nothing to do with health checking.
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
  callerView,
  rawCallIds,
  rawFirstSeen,
  startHealthGateway,
  taggedBy,
  traceMs,
  waitForRow,
  waitForState,
} from "../support/health.ts";

const h = harness("health-failover");
before(() => h.setup());
after(() => h.teardown());

const T1_MS = 100;
const TIMER_B_MS = 64 * T1_MS;
const BRANCH_TIMEOUT_MS = 1000;
const BUDGET_MS = 5000;
const CALLS = 600;
const RATE = 30;

test(
  "SIGKILL of a destination under load: failover, inactive within 4 probe intervals and no new calls, back to active and its share after 2 good probes",
  h.wrap(async () => {
    const [portA, portB, uacPort] = (await freePorts(3)) as [number, number, number];
    const a1 = await startUas({ scenario: "uas.xml", port: portA, transport: "udp", dir: h.dir, name: "kill-uas-a1" });
    const b = await startUas({ scenario: "uas.xml", port: portB, transport: "udp", dir: h.dir, name: "kill-uas-b" });
    const gw = await startHealthGateway({
      name: "kill-gw",
      dir: h.dir,
      branchTimeoutMs: BRANCH_TIMEOUT_MS,
      destinations: [
        { id: "a", uri: `sip:127.0.0.1:${portA}` },
        { id: "b", uri: `sip:127.0.0.1:${portB}` },
      ],
      env: { SWITCHBOARD_T1: String(T1_MS), SWITCHBOARD_FAILOVER_BUDGET: String(BUDGET_MS) },
    });
    h.defer(() => gw.stop());
    for (const id of ["a", "b"]) await waitForRow(gw, id, "probed alive", (r) => r.lastProbe?.result === "alive", 5000);

    const uac = startUac({
      scenario: "uac.xml",
      port: uacPort,
      transport: "udp",
      dir: h.dir,
      name: "kill-uac",
      target: { host: "127.0.0.1", port: gw.sipPort },
      calls: CALLS,
      rate: RATE,
      holdMs: 300,
      timeoutS: 60,
      extraArgs: ["-max_non_invite_retrans", "2"],
    });

    // --- kill A once it carries traffic
    await waitUntil(
      "A to have taken 20 calls",
      async () => callIds(await a1.messages(), { direction: "received", method: "INVITE" }).size >= 20,
      10_000,
      50,
    );
    const killedAt = Date.now();
    a1.proc.signal("SIGKILL");
    await a1.proc.waitForExit(5000);
    const deadAt = Date.now();
    const tap = await SipUdp.open(portA);
    h.defer(() => tap.close());

    const inactive = await waitForState(gw, "a", "inactive", 4 * PROBE_INTERVAL_MS + 2000);
    const detectMs = inactive.at - killedAt;
    assert.ok(detectMs <= 4 * PROBE_INTERVAL_MS, `A seen inactive ${detectMs} ms after the kill (bar: 4 probe intervals = ${4 * PROBE_INTERVAL_MS} ms)`);
    assert.equal(inactive.row.routable, false, `inactive but routable: ${JSON.stringify(inactive.row)}`);
    assert.equal(inactive.row.lastProbe?.result, "timeout", `last probe of the dead A: ${JSON.stringify(inactive.row.lastProbe)}`);
    assert.equal((await waitForState(gw, "b", "active", 1000)).row.routable, true, "B must stay active and routable");

    // --- wait until every INVITE A's port got has been given up by its transaction (Timer B after its first copy),
    // and at least 2 probes came while inactive (A is still probed)
    await waitUntil(
      "the INVITE retransmissions toward A to end (Timer B) and 2 probes while inactive",
      () => {
        const firstInvites = [...rawFirstSeen(tap.received, "INVITE").values()];
        const settleAt = Math.max(inactive.at, ...firstInvites) + TIMER_B_MS + 300;
        const probesSince = new Set(tap.received.filter((r) => r.msg.method === "OPTIONS" && r.at > inactive.at).map((r) => r.msg.callId));
        return Date.now() >= settleAt && probesSince.size >= 2;
      },
      TIMER_B_MS + 10_000,
      100,
    );
    const tapSnapshot = [...tap.received];
    await tap.close();

    // --- A comes back on the same port
    const restartedAt = Date.now();
    const a2 = await startUas({ scenario: "uas.xml", port: portA, transport: "udp", dir: h.dir, name: "kill-uas-a2" });
    const active = await waitForState(gw, "a", "active", 3 * PROBE_INTERVAL_MS + 2000);
    const recoverMs = active.at - restartedAt;
    assert.ok(recoverMs <= 3 * PROBE_INTERVAL_MS, `A seen active ${recoverMs} ms after its restart (bar: 3 probe intervals)`);
    assert.equal(active.row.routable, true);
    assert.equal(active.row.lastProbe?.result, "alive");

    const r = await uac.result();
    const a2r = await a2.stop();
    const br = await b.stop();
    await gw.stop();
    const ctx = `\n${summarize("uac", r)}\n--- gateway ---\n${gw.logTail(3000)}`;

    const calls = callerView(r.messages);
    assert.equal(calls.size, CALLS, `calls placed${ctx}`);
    const answered = [...calls.values()].filter((c) => c.final?.status === 200);
    const byA1 = (c: { final?: { toTag: string | undefined } }) => taggedBy(c.final?.toTag, a1.proc.pid);
    const byA2 = (c: { final?: { toTag: string | undefined } }) => taggedBy(c.final?.toTag, a2.proc.pid);
    const byB = (c: { final?: { toTag: string | undefined } }) => taggedBy(c.final?.toTag, b.proc.pid);
    const unknown = answered.filter((c) => !byA1(c) && !byA2(c) && !byB(c)).map((c) => `${c.callId} tag ${c.final?.toTag}`);
    assert.deepEqual(unknown, [], "200s whose To tag names none of the UASes");

    // --- failed calls: only calls A had answered and whose BYE went out after the kill (100 ms of slack before the
    // signal for the BYE's trip; one sent after the process was gone must fail)
    const onKilled = new Set(answered.filter((c) => byA1(c) && (c.byeAt ?? Infinity) >= killedAt - 100).map((c) => c.callId));
    const surelyLost = answered.filter((c) => byA1(c) && (c.byeAt ?? -Infinity) > deadAt).map((c) => c.callId);
    const failed = [...calls.values()].filter((c) => !c.byeOk);
    const failedIds = new Set(failed.map((c) => c.callId));
    const unexplained = failed.filter((c) => !onKilled.has(c.callId)).map((c) => `${c.callId}: final ${c.final?.status ?? "none"} ${c.final?.toTag ?? ""}`);
    assert.deepEqual(unexplained, [], `failed calls other than those established on the killed A${ctx}`);
    assert.deepEqual(surelyLost.filter((cid) => !failedIds.has(cid)), [], `calls on the dead A whose BYE (sent after it died) still got a 200${ctx}`);
    assert.equal(r.stats?.failed, failed.length, `sipp's failed count vs the trace${ctx}`);
    assert.ok(answered.every((c) => c.inviteFinals.every((s) => s === 200)), "a caller got a non-200 final for an INVITE");
    assert.equal(select(r.messages, { direction: "received", status: 503 }).length, 0, "a 503 reached the caller");

    // --- failover of the calls in setup toward A
    const setup = (c: (typeof answered)[number]) => (c.final?.at ?? 0) - c.invitedAt;
    const slow = answered.filter((c) => setup(c) >= 0.9 * BRANCH_TIMEOUT_MS);
    assert.ok(slow.length >= 1, "no call waited for the branch timeout: failover was not exercised");
    assert.deepEqual(slow.filter((c) => !byB(c)).map((c) => c.callId), [], "calls that failed over but were not completed by B");
    const tooSlow = answered.filter((c) => setup(c) > BUDGET_MS).map((c) => `${c.callId}: ${setup(c)} ms`);
    assert.deepEqual(tooSlow, [], `calls set up after the failover budget (${BUDGET_MS} ms)`);
    const swallowed = rawCallIds(tapSnapshot, "INVITE");
    assert.ok(swallowed.size >= 1, "A's port got no INVITE after the kill: nothing was in setup toward it");
    for (const cid of swallowed) {
      const c = calls.get(cid);
      assert.ok(c && byB(c) && setup(c) >= 0.9 * BRANCH_TIMEOUT_MS && setup(c) <= BUDGET_MS, `${cid} reached the dead A: it must complete on B after the branch timeout (${JSON.stringify(c)})`);
    }

    // --- no new calls to A while inactive
    const newWhileInactive = [...swallowed].filter((cid) => (calls.get(cid)?.invitedAt ?? 0) > inactive.at);
    assert.deepEqual(newWhileInactive, [], `INVITEs at A's port for calls placed after A was seen inactive (${new Date(inactive.at).toISOString()})`);
    const placedInactive = answered.filter((c) => c.invitedAt > inactive.at && c.invitedAt < restartedAt);
    assert.ok(placedInactive.length >= 20, `only ${placedInactive.length} calls placed while A was inactive`);
    const detoured = placedInactive.filter((c) => !byB(c) || setup(c) >= 0.9 * BRANCH_TIMEOUT_MS).map((c) => `${c.callId}: ${setup(c)} ms`);
    assert.deepEqual(detoured, [], "calls placed while A was inactive that did not go straight to B");
    const optionsInactive = new Set(tapSnapshot.filter((x) => x.msg.method === "OPTIONS" && x.at > inactive.at).map((x) => x.msg.callId));
    assert.ok(optionsInactive.size >= 2, "A was not probed while inactive");

    // --- back to active after 2 successful probes, no call before
    const a2Ok = select(a2r.messages, { direction: "sent", status: 200, cseqMethod: "OPTIONS" });
    const a2Invites = select(a2r.messages, { direction: "received", method: "INVITE" });
    assert.ok(a2Ok.length >= 2 && a2Invites.length > 0, `the new A answered ${a2Ok.length} OPTIONS and got ${a2Invites.length} INVITEs`);
    const firstInvite = traceMs(a2Invites[0]!);
    assert.ok(
      traceMs(a2Ok[1]!) <= firstInvite,
      `the new A got an INVITE (${a2Invites[0]!.time}) before it answered its 2nd probe (${a2Ok[1]!.time})`,
    );

    // --- and its share afterwards (round robin: about half)
    const after = answered.filter((c) => c.invitedAt > active.at);
    assert.ok(after.length >= 60, `only ${after.length} calls placed after A came back: the run was too short to see its share`);
    const share = after.filter(byA2).length / after.length;
    assert.ok(share >= 0.4 && share <= 0.6, `A took ${(100 * share).toFixed(1)} % of the ${after.length} calls after it came back (bar: 40-60 %)`);
    assert.equal(after.filter((c) => !byA2(c) && !byB(c)).length, 0);
    const brInvites = callIds(br.messages, { direction: "received", method: "INVITE" }).size;
    const sticky = dialogStickinessProblems([
      { name: "A (restarted)", messages: a2r.messages },
      { name: "B", messages: br.messages },
    ]);
    assert.deepEqual(sticky, [], sticky.join("\n"));

    process.stdout.write(
      `# kill: detected inactive ${detectMs} ms after SIGKILL, active ${recoverMs} ms after restart; ` +
        `${slow.length} calls failed over (${swallowed.size} seen at the dead port), ${placedInactive.length} placed while inactive; ` +
        `failed at caller ${failed.length}, all established on the killed A (${onKilled.size} had their BYE after the kill); ` +
        `A's share after recovery ${(100 * share).toFixed(1)} % of ${after.length}; B got ${brInvites} INVITEs\n`,
    );
  }),
);
