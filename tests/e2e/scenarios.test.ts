/**
 * Harness self-test, no gateway: the sipp scenarios talk to each other directly (UAC → UAS), and the raw UDP endpoint
 * plays the proxy for the UAS-only scenarios. If this file fails, the problem is in tests/, not in the gateway.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { harness } from "../support/harness.ts";
import { freePort } from "../support/ports.ts";
import { parseStatsCsv, runUac, startUac, startUas, summarize, type SipTransport } from "../support/sipp.ts";
import { byCallId, callIds, flow, parseSippTrace, select } from "../support/sipp-log.ts";
import { dialogStickinessProblems } from "../support/checks.ts";
import { SipUdp, releaseInfo, sipMessage, token } from "../support/sip-udp.ts";

const h = harness("scenarios");
before(() => h.setup());
after(() => h.teardown());

for (const transport of ["udp", "tcp"] as SipTransport[]) {
  test(
    `uac.xml → uas.xml over ${transport}: every call completes, UAS sees INVITE, ACK, BYE per Call-ID`,
    h.wrap(async () => {
      const uas = await startUas({ scenario: "uas.xml", port: await freePort(), transport, dir: h.dir, name: `uas-${transport}` });
      const r = await runUac({
        scenario: "uac.xml",
        port: await freePort(),
        transport,
        dir: h.dir,
        name: `uac-${transport}`,
        target: { host: "127.0.0.1", port: uas.port },
        calls: 50,
        rate: 100,
        timeoutS: 30,
      });
      const u = await uas.stop();
      assert.equal(r.exit.code, 0, summarize("uac", r));
      assert.equal(r.stats?.successful, 50, summarize("uac", r));
      assert.equal(r.stats?.failed, 0, summarize("uac", r));
      const invites = callIds(u.messages, { direction: "received", method: "INVITE" });
      assert.equal(invites.size, 50);
      for (const [cid, msgs] of byCallId(u.messages)) {
        assert.ok(select(msgs, { direction: "received", method: "ACK" }).length >= 1, `${cid}: ${flow(msgs)}`);
        assert.ok(select(msgs, { direction: "received", method: "BYE" }).length >= 1, `${cid}: ${flow(msgs)}`);
      }
    }),
  );
}

test(
  "uac-cancel.xml → uas-ringing.xml: 200/CANCEL and 487 at the UAC, CANCEL and ACK(487) at the UAS",
  h.wrap(async () => {
    const uas = await startUas({ scenario: "uas-ringing.xml", port: await freePort(), transport: "udp", dir: h.dir, name: "uas-ringing" });
    const r = await runUac({
      scenario: "uac-cancel.xml",
      port: await freePort(),
      transport: "udp",
      dir: h.dir,
      name: "uac-cancel",
      target: { host: "127.0.0.1", port: uas.port },
      calls: 5,
      rate: 20,
      timeoutS: 20,
    });
    const u = await uas.stop();
    assert.equal(r.stats?.failed, 0, summarize("uac", r));
    assert.equal(r.stats?.successful, 5, summarize("uac", r));
    assert.equal(callIds(r.messages, { direction: "received", status: 487, cseqMethod: "INVITE" }).size, 5);
    assert.equal(callIds(r.messages, { direction: "received", status: 200, cseqMethod: "CANCEL" }).size, 5);
    assert.equal(callIds(u.messages, { direction: "received", method: "CANCEL" }).size, 5);
    assert.equal(callIds(u.messages, { direction: "received", method: "ACK" }).size, 5);
  }),
);

test(
  "uac-hold.xml holds until released by an INFO, then BYE completes",
  h.wrap(async () => {
    const uas = await startUas({ scenario: "uas.xml", port: await freePort(), transport: "udp", dir: h.dir, name: "uas-hold" });
    const ep = await SipUdp.open();
    h.defer(() => ep.close());
    const uacPort = await freePort();
    const uac = startUac({
      scenario: "uac-hold.xml",
      port: uacPort,
      transport: "udp",
      dir: h.dir,
      name: "uac-hold",
      target: { host: "127.0.0.1", port: uas.port },
      calls: 1,
      timeoutS: 30,
    });
    const cid = uac.callId(1);
    // the call is up once the UAS has the ACK
    const { waitUntil } = await import("../support/process.ts");
    await waitUntil("ACK at the UAS", async () => (await uas.messages()).some((m) => m.method === "ACK" && m.callId === cid), 10_000);
    assert.equal((await uas.messages()).filter((m) => m.method === "BYE").length, 0, "BYE before release");
    await ep.send(releaseInfo(ep, uacPort, cid), uacPort);
    const r = await uac.result();
    const u = await uas.stop();
    assert.equal(r.stats?.successful, 1, summarize("uac", r));
    assert.equal(callIds(u.messages, { direction: "received", method: "BYE" }).size, 1);
  }),
);

test(
  "uas-503.xml answers 503 and takes the ACK; uas-silent.xml never answers",
  h.wrap(async () => {
    const u503 = await startUas({ scenario: "uas-503.xml", port: await freePort(), transport: "udp", dir: h.dir, name: "uas-503" });
    const silent = await startUas({ scenario: "uas-silent.xml", port: await freePort(), transport: "udp", dir: h.dir, name: "uas-silent" });
    const ep = await SipUdp.open();
    h.defer(() => ep.close());
    const invite = (port: number, cid: string, branch: string): string =>
      sipMessage(`INVITE sip:svc@127.0.0.1:${port} SIP/2.0`, [
        `Via: SIP/2.0/UDP 127.0.0.1:${ep.port};branch=${branch}`,
        "Max-Forwards: 70",
        `From: <sip:e2e@127.0.0.1>;tag=ft${token(3)}`,
        `To: <sip:svc@127.0.0.1:${port}>`,
        `Call-ID: ${cid}`,
        "CSeq: 1 INVITE",
        `Contact: <sip:e2e@127.0.0.1:${ep.port}>`,
      ]);
    const cid = `self-503-${token()}`;
    const branch = `z9hG4bK-${token()}`;
    await ep.send(invite(u503.port, cid, branch), u503.port);
    const resp = await ep.waitForResponse(cid, 3000);
    assert.equal(resp?.msg.status, 503);
    const to = resp.msg.headers.get("to")?.[0] ?? "";
    await ep.send(
      sipMessage(`ACK sip:svc@127.0.0.1:${u503.port} SIP/2.0`, [
        `Via: SIP/2.0/UDP 127.0.0.1:${ep.port};branch=${branch}`,
        "Max-Forwards: 70",
        resp.msg.headers.get("from")?.[0] ? `From: ${resp.msg.headers.get("from")?.[0]}` : "From: <sip:x@y>",
        `To: ${to}`,
        `Call-ID: ${cid}`,
        "CSeq: 1 ACK",
      ]),
      u503.port,
    );
    const scid = `self-silent-${token()}`;
    await ep.send(invite(silent.port, scid, `z9hG4bK-${token()}`), silent.port);
    const none = await ep.waitForResponse(scid, 1200, { provisional: true });
    assert.equal(none, undefined, "silent UAS answered");
    const r503 = await u503.stop();
    const rs = await silent.stop();
    assert.equal(select(r503.messages, { direction: "received", method: "ACK" }).length, 1, "503 UAS got the ACK");
    assert.equal(select(rs.messages, { direction: "received", method: "INVITE" }).length, 1);
    assert.equal(select(rs.messages, { direction: "sent" }).length, 0);
  }),
);

test("the trace parser and the stickiness check catch strays (synthetic traces)", () => {
  const entry = (dir: "sent" | "received", sip: string): string =>
    `----------------------------------------------- 2026-01-01 00:00:00.000000\nUDP message ${dir === "sent" ? "sent (1 bytes):" : "received [1] bytes :"}\n\n${sip.replace(/\n/g, "\r\n")}\r\n\r\n`;
  const req = (method: string, cid: string, cseq: number): string =>
    `${method} sip:x@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK1\ni: ${cid}\nCSeq: ${cseq} ${method}\nContent-Length: 0`;
  const a = parseSippTrace(
    entry("received", req("INVITE", "c1", 1)) +
      entry("sent", "SIP/2.0 200 OK\nCall-ID: c1\nCSeq: 1 INVITE\nContent-Length: 0") +
      entry("received", req("ACK", "c1", 1)) +
      entry("received", req("BYE", "c2", 2)),
  );
  const b = parseSippTrace(entry("received", req("INVITE", "c2", 1)) + entry("received", req("ACK", "c2", 1)) + entry("received", req("INVITE", "c1", 1)));
  assert.equal(a.length, 4);
  assert.equal(a[1]?.status, 200);
  assert.equal(a[1]?.direction, "sent");
  assert.equal(a[0]?.callId, "c1", "compact Call-ID (i:) is read");
  const problems = dialogStickinessProblems([
    { name: "A", messages: a },
    { name: "B", messages: b },
  ]);
  assert.ok(problems.some((p) => p.includes("A c1: INVITE but no BYE")), problems.join("\n"));
  assert.ok(problems.some((p) => p.includes("A c2: BYE for a call it never got an INVITE for")), problems.join("\n"));
  assert.ok(problems.some((p) => p.includes("B c2: INVITE but no BYE")), problems.join("\n"));
  assert.ok(problems.some((p) => p.includes("c1: INVITE reached both A and B")), problems.join("\n"));
  assert.deepEqual(parseStatsCsv("a;SuccessfulCall(C);FailedCall(C);Retransmissions(C)\nx;7;1;3\n")?.failed, 1);
});
