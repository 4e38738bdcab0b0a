/**
 * The gateway relays in-dialog requests only on a Route it signed, and initial requests only to its destinations.
 *
 * A real call is set up through the gateway and held (uac-hold.xml); its Record-Route (from the 200 at the caller)
 * is then tampered with and used by a raw UDP socket in the test to send in-dialog requests with the call's real
 * Call-ID and tags:
 *   - one character of the signature changed                        → 403, nothing relayed
 *   - the destination port in the Route redirected to a port we own  → 403, nothing relayed (the victim gets nothing)
 *   - a Route naming the gateway with no signature parameters at all  → a 4xx refusal, nothing relayed
 *   - an ACK (never answered) with a tampered signature               → nothing relayed
 * Then the held call is released and its genuine BYE must still get 200 (positive control: the dialog and the Route
 * were fine, only the tampering was refused).
 * Finally, INVITEs whose Request-URI names another endpoint (a socket of ours) are sent to the gateway (sipp -rsa):
 * the calls complete on the configured destinations and the named endpoint receives nothing.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { harness } from "../support/harness.ts";
import { freePorts } from "../support/ports.ts";
import { runUac, startUac, startUas, summarize } from "../support/sipp.ts";
import { startGateway, type Gateway } from "../support/gateway.ts";
import { callIds, select, type TracedMessage } from "../support/sipp-log.ts";
import { waitUntil } from "../support/process.ts";
import { SipUdp, releaseInfo, sentinelOptions, sipMessage, token } from "../support/sip-udp.ts";
import type { SippUas } from "../support/sipp.ts";

const h = harness("forged-route");
after(() => h.teardown());

interface Env {
  gw: Gateway;
  uasA: SippUas;
  uasB: SippUas;
  portA: number;
  portB: number;
  uacPort: number;
  ep: SipUdp;
  victim: SipUdp;
}
let env: Env | undefined;

before(async () => {
  await h.setup();
  const [gwPort, httpPort, portA, portB, uacPort] = (await freePorts(5)) as [number, number, number, number, number];
  const uasA = await startUas({ scenario: "uas.xml", port: portA, transport: "udp", dir: h.dir, name: "uas-a" });
  const uasB = await startUas({ scenario: "uas.xml", port: portB, transport: "udp", dir: h.dir, name: "uas-b" });
  const gw = await startGateway({
    sipPort: gwPort,
    httpPort,
    destinations: [`sip:127.0.0.1:${portA}`, `sip:127.0.0.1:${portB}`],
    dir: h.dir,
  });
  h.defer(() => gw.stop());
  const ep = await SipUdp.open();
  const victim = await SipUdp.open();
  h.defer(() => ep.close());
  h.defer(() => victim.close());
  env = { gw, uasA, uasB, portA, portB, uacPort, ep, victim };
});

function hdr(m: TracedMessage, name: string): string {
  const v = m.headers.get(name)?.[0];
  assert.ok(v !== undefined, `no ${name} in:\n${m.raw}`);
  return v;
}

/** Change one character of `s` at index i (digit → other digit, letter → other letter, else 'x'). */
function flipChar(s: string, i: number): string {
  const c = s[i] ?? "";
  const r = /[0-9]/.test(c) ? String((Number(c) + 1) % 10) : /[a-y]/i.test(c) ? String.fromCharCode(c.charCodeAt(0) + 1) : c === "z" ? "a" : c === "Z" ? "A" : "x";
  return s.slice(0, i) + r + s.slice(i + 1);
}

/** Uri parameters of a Route/Record-Route value "<sip:host:port;a=b;lr>" as [name, value, index of value]. */
function uriParams(route: string): { name: string; value: string; at: number }[] {
  const inner = /<([^>]*)>/.exec(route)?.[1] ?? route;
  const base = route.indexOf(inner);
  const out: { name: string; value: string; at: number }[] = [];
  let pos = inner.indexOf(";");
  while (pos >= 0) {
    const next = inner.indexOf(";", pos + 1);
    const part = inner.slice(pos + 1, next < 0 ? undefined : next);
    const eq = part.indexOf("=");
    if (eq > 0) out.push({ name: part.slice(0, eq), value: part.slice(eq + 1), at: base + pos + 1 + eq + 1 });
    pos = next;
  }
  return out;
}

test(
  "tampered, redirected and unsigned Routes are refused and never relayed; the genuine BYE still works",
  h.wrap(async () => {
    assert.ok(env);
    const { gw, uasA, uasB, portA, portB, uacPort, ep, victim } = env;
    const uac = startUac({
      scenario: "uac-hold.xml",
      port: uacPort,
      transport: "udp",
      dir: h.dir,
      name: "uac-hold",
      target: { host: "127.0.0.1", port: gw.sipPort },
      calls: 1,
      timeoutS: 40,
    });
    const cid = uac.callId(1);
    await waitUntil(
      "the call's ACK at a destination",
      async () => [...(await uasA.messages()), ...(await uasB.messages())].some((m) => m.method === "ACK" && m.callId === cid),
      15_000,
    );
    const onA = callIds(await uasA.messages(), { method: "INVITE" }).has(cid);
    const [destPort, otherPort] = onA ? [portA, portB] : [portB, portA];

    const ok = select(await uac.messages(), { direction: "received", status: 200, cseqMethod: "INVITE" }).find((m) => m.callId === cid);
    assert.ok(ok, "no 200 for the INVITE in the UAC trace");
    const rr = hdr(ok, "record-route").split(",")[0]?.trim() ?? "";
    assert.match(rr, new RegExp(`127\\.0\\.0\\.1:${gw.sipPort}\\b`), `the 200's Record-Route does not name the gateway: ${rr}`);
    const from = hdr(select(await uac.messages(), { direction: "sent", method: "INVITE" })[0] ?? ok, "from");
    const to = hdr(ok, "to");
    const contact = /<([^>]*)>/.exec(hdr(ok, "contact"))?.[1] ?? hdr(ok, "contact");

    const params = uriParams(rr);
    assert.ok(params.length > 0, `the Record-Route has no parameters to sign anything with: ${rr}`);
    // the signature: by name if it looks like one, else the longest parameter value
    const sig =
      params.find((p) => /^(s|sig|signature|mac|hmac)$/i.test(p.name)) ??
      [...params].sort((a, b) => b.value.length - a.value.length)[0];
    assert.ok(sig);

    const forged: { label: string; route: string; expect: "403" | "4xx" }[] = [
      { label: "signature with one character changed", route: flipChar(rr, sig.at + Math.floor(sig.value.length / 2)), expect: "403" },
      {
        label: "no signature parameters at all",
        route: `<sip:127.0.0.1:${gw.sipPort};lr>`,
        expect: "4xx",
      },
    ];
    const portRef = [`~${destPort}`, `:${destPort}`].find((x) => rr.includes(x));
    if (portRef !== undefined) {
      // the Route carries the destination in clear: point it at the victim, and at the other destination, keeping
      // the signature
      const redirect = (port: number): string => rr.replace(portRef, portRef.replace(String(destPort), String(port)));
      forged.push({ label: "destination redirected to a port of ours", route: redirect(victim.port), expect: "403" });
      forged.push({ label: "destination swapped for the other destination", route: redirect(otherPort), expect: "403" });
    } else {
      // the destination is encoded: change one character of every non-signature parameter value, one at a time
      for (const p of params.filter((x) => x !== sig && x.value.length > 0)) {
        forged.push({ label: `parameter ${p.name} with one character changed`, route: flipChar(rr, p.at), expect: "403" });
      }
    }

    assert.ok(forged.length >= 3, `too few forgeries built from ${rr}`);

    let cseq = 10;
    const results: string[] = [];
    for (const f of forged) {
      const fcid = cid;
      const msg = sipMessage(`BYE ${contact} SIP/2.0`, [
        `Via: SIP/2.0/UDP 127.0.0.1:${ep.port};branch=z9hG4bK-forged-${token(6)};rport`,
        "Max-Forwards: 70",
        `Route: ${f.route}`,
        `From: ${from}`,
        `To: ${to}`,
        `Call-ID: ${fcid}`,
        `CSeq: ${++cseq} BYE`,
      ]);
      const since = Date.now();
      await ep.send(msg, gw.sipPort);
      const resp = await ep.waitFor(
        (r) => r.msg.kind === "response" && r.msg.callId === fcid && r.msg.cseq === cseq && (r.msg.status ?? 0) >= 200,
        3000,
        since,
      );
      const st = resp?.msg.status;
      const good = f.expect === "403" ? st === 403 : st !== undefined && st >= 400 && st < 500;
      if (!good) results.push(`${f.label}: expected ${f.expect}, got ${st ?? "no response"} (Route: ${f.route})`);
    }
    // an ACK is never answered: send one with a tampered Route, then prove the gateway processed it (sentinel)
    await ep.send(
      sipMessage(`ACK ${contact} SIP/2.0`, [
        `Via: SIP/2.0/UDP 127.0.0.1:${ep.port};branch=z9hG4bK-forged-${token(6)};rport`,
        "Max-Forwards: 70",
        `Route: ${forged[0]?.route ?? ""}`,
        `From: ${from}`,
        `To: ${to}`,
        `Call-ID: ${cid}`,
        "CSeq: 1 ACK",
      ]),
      gw.sipPort,
    );
    const scid = `sentinel-${token()}`;
    await ep.send(sentinelOptions(ep, gw.sipPort, scid), gw.sipPort);
    assert.ok(await ep.waitForResponse(scid, 3000), "the gateway did not answer the sentinel OPTIONS (Max-Forwards: 0)");

    // anything our raw socket sent that got relayed carries its Via under the gateway's
    const relayed = [...(await uasA.messages()), ...(await uasB.messages())].filter(
      (m) => m.direction === "received" && (m.method === "BYE" || (m.headers.get("via") ?? []).some((v) => v.includes(`127.0.0.1:${ep.port}`))),
    );
    assert.deepEqual(results, [], `forged Routes not refused as expected:\n${results.join("\n")}\n--- gateway ---\n${gw.logTail(3000)}`);
    assert.deepEqual(relayed.map((m) => m.startLine), [], "forged requests reached a destination");
    assert.equal(victim.received.length, 0, `the redirect target received: ${victim.received.map((r) => r.msg.startLine).join(", ")}`);

    // positive control: the genuine BYE, with the untouched Route, ends the call
    await ep.send(releaseInfo(ep, uacPort, cid), uacPort);
    const r = await uac.result();
    assert.equal(r.stats?.successful, 1, `the genuine BYE did not complete the call\n${summarize("uac", r)}\n${gw.logTail(3000)}`);
    const byes = select([...(await uasA.messages()), ...(await uasB.messages())], { direction: "received", method: "BYE" });
    assert.equal(byes.length >= 1 && byes.every((m) => m.callId === cid), true);
    assert.ok(gw.running, "gateway exited");
  }),
);

test(
  "an INVITE whose Request-URI names another endpoint still goes only to the configured destinations",
  h.wrap(async () => {
    assert.ok(env);
    const { gw, uasA, uasB, victim } = env;
    const CALLS = 6;
    const beforeA = callIds(await uasA.messages(), { method: "INVITE" });
    const beforeB = callIds(await uasB.messages(), { method: "INVITE" });
    const uacPort = (await freePorts(1))[0] ?? 0;
    const r = await runUac({
      scenario: "uac.xml",
      port: uacPort,
      transport: "udp",
      dir: h.dir,
      name: "uac-offhost",
      // Request-URI and To name the victim; -rsa sends every message to the gateway
      target: { host: "127.0.0.1", port: victim.port },
      extraArgs: ["-rsa", `127.0.0.1:${gw.sipPort}`],
      service: "bob",
      calls: CALLS,
      rate: 20,
      timeoutS: 30,
    });
    const inv = select(r.messages, { direction: "sent", method: "INVITE" })[0];
    assert.ok(inv?.requestUri?.includes(`@127.0.0.1:${victim.port}`), `the INVITE's Request-URI should name the victim: ${inv?.startLine}`);
    assert.equal(r.stats?.failed, 0, `${summarize("uac", r)}\n${gw.logTail(3000)}`);
    assert.equal(r.stats?.successful, CALLS, summarize("uac", r));
    const newA = [...callIds(await uasA.messages(), { method: "INVITE" })].filter((c) => !beforeA.has(c));
    const newB = [...callIds(await uasB.messages(), { method: "INVITE" })].filter((c) => !beforeB.has(c));
    assert.equal(newA.length + newB.length, CALLS, "the calls did not all reach the configured destinations");
    assert.equal(victim.received.length, 0, `the endpoint named in the Request-URI received: ${victim.received.map((x) => x.msg.startLine).join(", ")}`);
  }),
);
