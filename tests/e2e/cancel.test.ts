/**
 * CANCEL through the gateway (RFC 3261 §9, §16.10): the callee rings forever (uas-ringing.xml), the caller CANCELs
 * after the 180 (uac-cancel.xml). Proves: the caller gets 200 for its CANCEL and 487 for its INVITE and no call
 * fails; the ringing destination gets a CANCEL for every call with the same branch as the INVITE it got (§9.1), and
 * the hop-by-hop ACK for its 487, also with the INVITE's branch (§17.1.1.3) and from the gateway (the caller's ACK
 * for the 487 is absorbed, never relayed).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { harness } from "../support/harness.ts";
import { freePorts } from "../support/ports.ts";
import { runUac, startUas, summarize } from "../support/sipp.ts";
import { startGateway } from "../support/gateway.ts";
import { byCallId, callIds, flow, select, type TracedMessage } from "../support/sipp-log.ts";

const h = harness("cancel");
before(() => h.setup());
after(() => h.teardown());

const CALLS = 20;

function topBranch(m: TracedMessage): string | undefined {
  const via = m.headers.get("via")?.[0]?.split(",")[0] ?? "";
  return /;\s*branch=([^;,\s]+)/i.exec(via)?.[1];
}

test(
  `${CALLS} calls CANCELled while ringing: 200/CANCEL + 487 at the caller, CANCEL + ACK(487) at the callee`,
  h.wrap(async () => {
    const [gwPort, httpPort, portA, portB, uacPort] = (await freePorts(5)) as [number, number, number, number, number];
    const uasA = await startUas({ scenario: "uas-ringing.xml", port: portA, transport: "udp", dir: h.dir, name: "uas-a" });
    const uasB = await startUas({ scenario: "uas-ringing.xml", port: portB, transport: "udp", dir: h.dir, name: "uas-b" });
    const gw = await startGateway({
      sipPort: gwPort,
      httpPort,
      destinations: [`sip:127.0.0.1:${portA}`, `sip:127.0.0.1:${portB}`],
      dir: h.dir,
    });
    h.defer(() => gw.stop());

    const uac = await runUac({
      scenario: "uac-cancel.xml",
      port: uacPort,
      transport: "udp",
      dir: h.dir,
      name: "uac",
      target: { host: "127.0.0.1", port: gwPort },
      calls: CALLS,
      rate: 20,
      timeoutS: 30,
    });
    const a = await uasA.stop();
    const b = await uasB.stop();
    const ctx = `\n${summarize("uac", uac)}\n--- gateway ---\n${gw.logTail(3000)}`;

    // caller side
    assert.equal(uac.stats?.failed, 0, `failed calls at the UAC${ctx}`);
    assert.equal(uac.stats?.successful, CALLS, `successful calls at the UAC${ctx}`);
    const uacCalls = callIds(uac.messages, { direction: "sent", method: "INVITE" });
    const got487 = callIds(uac.messages, { direction: "received", status: 487, cseqMethod: "INVITE" });
    const got200c = callIds(uac.messages, { direction: "received", status: 200, cseqMethod: "CANCEL" });
    assert.equal(got487.size, CALLS, `calls with a 487 at the UAC${ctx}`);
    assert.equal(got200c.size, CALLS, `calls with a 200 for the CANCEL at the UAC${ctx}`);
    const otherFinals = select(uac.messages, { direction: "received", cseqMethod: "INVITE" }).filter(
      (m) => (m.status ?? 0) >= 200 && m.status !== 487,
    );
    assert.deepEqual(otherFinals.map((m) => m.startLine), [], "the UAC got INVITE finals other than 487");

    // callee side: per call, the INVITE's branch is reused by the CANCEL and by the ACK for the 487
    const all = [...a.messages, ...b.messages];
    const calls = byCallId(all);
    const invited = callIds(all, { direction: "received", method: "INVITE" });
    assert.deepEqual([...invited].sort(), [...uacCalls].sort(), "the destinations got exactly the UAC's calls");
    const problems: string[] = [];
    for (const [cid, msgs] of calls) {
      const inv = select(msgs, { direction: "received", method: "INVITE" });
      const cancels = select(msgs, { direction: "received", method: "CANCEL" });
      const acks = select(msgs, { direction: "received", method: "ACK" });
      const branch = inv[0] ? topBranch(inv[0]) : undefined;
      if (cancels.length === 0) problems.push(`${cid}: no CANCEL at the callee (${flow(msgs)})`);
      if (acks.length === 0) problems.push(`${cid}: no ACK for the 487 at the callee (${flow(msgs)})`);
      for (const c of cancels) if (topBranch(c) !== branch) problems.push(`${cid}: CANCEL branch ${topBranch(c)} ≠ INVITE branch ${branch}`);
      for (const k of acks) {
        if (topBranch(k) !== branch) problems.push(`${cid}: ACK branch ${topBranch(k)} ≠ INVITE branch ${branch} (relayed end-to-end ACK?)`);
        if (k.cseq !== inv[0]?.cseq) problems.push(`${cid}: ACK CSeq ${k.cseq} ≠ INVITE CSeq ${inv[0]?.cseq}`);
      }
    }
    assert.deepEqual(problems.slice(0, 15), [], `callee-side problems (${problems.length}):\n${problems.slice(0, 15).join("\n")}`);
    assert.ok(gw.running, "gateway exited");
  }),
);
