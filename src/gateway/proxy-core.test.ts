/**
 * In-process tests of the proxy core (RFC 3261 §16 transaction-stateful, record-routing proxy) on a fake network and
 * a fake clock: every message the core sends is recorded and parsed back; time only moves in clock.advance().
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { SipRequest, SipResponse } from "../sip/message.ts";
import { parseNameAddr } from "../sip/name-addr.ts";
import {
  CALLER, DEST1, DEST2, TEST_SECRET, bytesOf, cancel, fromDest, harness, headerLines, headerValue, headerValues, inDialog, invite,
  requests, responses, replyTo, sipMessage, to, type Harness,
} from "./test-network.ts";
import { RouteSigner } from "../proxy/route-token.ts";

const D1 = 5070;
const D2 = 5072;

function only<T>(list: readonly T[], what: string): T {
  assert.equal(list.length, 1, `expected exactly one ${what}, got ${list.length}`);
  return list[0]!;
}

/** Start a call: the caller's INVITE; returns the INVITE forwarded to destination 1 (the 100 Trying is consumed). */
function startCall(h: Harness, params: Parameters<typeof invite>[0] = {}, source = CALLER): SipRequest {
  h.inject(invite(params), source);
  const sent = h.net.take();
  return only(requests(sent, "INVITE"), "forwarded INVITE").message;
}

/** The forwarded INVITE answered `status` by the destination at `port`. */
function answer(h: Harness, request: SipRequest, status: number, reason: string, port: number, options: { toTag?: string; extra?: readonly string[] } = {}): void {
  h.inject(replyTo(request, status, reason, { toTag: options.toTag ?? `callee-${port}`, ...(options.extra ? { extra: options.extra } : {}) }), fromDest(port));
}

/** Complete a call through destination 1: returns the 200 the caller got and the INVITE destination 1 got. */
function establish(h: Harness): { ok: SipResponse; forwarded: SipRequest } {
  const forwarded = startCall(h);
  answer(h, forwarded, 200, "OK", D1, { extra: [`Contact: <sip:bob@127.0.0.1:${D1}>`] });
  const ok = only(responses(h.net.take(), 200), "200 to the caller").message;
  return { ok, forwarded };
}

function recordRoutes(message: SipRequest | SipResponse): string[] {
  return headerValues(message, "record-route");
}

/** The caller's route set from a 2xx: Record-Route reversed (§12.1.2). */
function callerRouteSet(ok: SipResponse): string[] {
  return recordRoutes(ok).reverse();
}

function nothingSent(h: Harness): void {
  assert.deepEqual(h.net.take().map((s) => `${s.target.port} ${s.text.split("\r\n")[0]}`), []);
  assert.deepEqual(h.net.takeUnparsed().map((s) => `${s.target.port} ${s.text.split("\r\n")[0]}`), []);
}

// ------------------------------------------------------------------------------------------- 1. initial INVITE

test("§16.2/§18.2.2/RFC 3581: 100 Trying goes back at once to the source port when the Via has rport", () => {
  const h = harness();
  h.inject(invite({ viaPort: 5064 }), CALLER); // sent-by port differs from the source port: rport wins
  const sent = h.net.take();
  const trying = only(responses(sent, 100), "100 Trying");
  assert.deepEqual(trying.target, { transport: "udp", host: "127.0.0.1", port: 5062 });
  assert.equal(trying.message.toTag, undefined, "a 100 Trying carries no To tag of ours");
  assert.equal(trying.message.vias.length, 1);
  assert.equal(trying.message.cseq.method, "INVITE");
  assert.ok(sent.indexOf(trying) < sent.findIndex((s) => s.message.type === "request"), "the 100 goes out before the INVITE is relayed");
});

test("§18.2.2: without rport the 100 Trying goes to the Via sent-by port", () => {
  const h = harness();
  h.inject(invite({ viaPort: 5064, rport: false }), CALLER);
  const trying = only(responses(h.net.take(), 100), "100 Trying");
  assert.deepEqual(trying.target, { transport: "udp", host: "127.0.0.1", port: 5064 });
});

test("§16.6: the INVITE goes to destination 1 with our Via (z9hG4bK, rport), a signed lr Record-Route and Max-Forwards - 1; the rest byte for byte", () => {
  const h = harness();
  const original = Buffer.from(invite({ maxForwards: 17 })).toString("latin1");
  h.inject(Buffer.from(original, "latin1"), CALLER);
  const sent = h.net.take();
  const fwd = only(requests(sent, "INVITE"), "forwarded INVITE");
  assert.deepEqual(fwd.target, { transport: "udp", host: "127.0.0.1", port: D1 });
  assert.equal(to(sent, D2).length, 0, "destination 2 gets nothing");
  const msg = fwd.message;
  assert.equal(msg.uriText, "sip:bob@example.test", "Request-URI unchanged (no strict routing involved)");
  // §16.6 step 8: our Via on top, RFC 3261 branch, asking for rport
  assert.equal(msg.vias.length, 2);
  const ours = msg.vias[0]!;
  assert.equal(ours.transport, "UDP");
  assert.equal(`${ours.host}:${ours.port}`, "127.0.0.1:5060");
  assert.match(ours.branch ?? "", /^z9hG4bK/);
  assert.notEqual(ours.branch, "z9hG4bK-caller-1");
  assert.equal(ours.rport, null);
  // RFC 3581 §4: the caller's Via is stamped with the port and address its request really came from
  assert.equal(msg.vias[1]!.raw, "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-caller-1;rport=5062;received=127.0.0.1");
  // §16.6 step 4: Record-Route with lr and the signed d/t/s parameters
  const rr = only(recordRoutes(msg), "Record-Route");
  const addr = parseNameAddr(rr);
  assert.ok(addr);
  assert.equal(addr.uri.host, "127.0.0.1");
  assert.equal(addr.uri.port, 5060);
  assert.equal(addr.uri.params.get("lr"), "");
  assert.equal(addr.uri.params.get("transport"), "udp");
  for (const p of ["d", "t", "s"]) assert.ok(addr.uri.params.get(p), `Record-Route has ${p}=`);
  const verified = new RouteSigner(TEST_SECRET).verify(addr.uri.params, "caller-tag", undefined);
  assert.ok(verified.ok, "the Record-Route signature verifies with the caller's tag");
  assert.equal(verified.direction, "downstream");
  assert.deepEqual(verified.token.target, { transport: "udp", host: "127.0.0.1", port: D1 });
  // §16.6 step 3
  assert.equal(msg.maxForwards, 16);
  // untouched fields are relayed byte for byte (odd spacing, trailing blanks, UTF-8 display name)
  const inLines = headerLines(original);
  const outLines = headerLines(fwd.text);
  for (const name of ["X-Odd:", "From:", "To:", "Call-ID:", "CSeq:", "Contact:", "Content-Type:"]) {
    const line = inLines.find((l) => l.startsWith(name));
    assert.ok(line !== undefined);
    assert.ok(outLines.includes(line), `${JSON.stringify(line)} relayed unchanged`);
  }
  assert.ok(outLines.includes("X-Odd:   spaced  out\t value "));
  assert.ok(fwd.text.includes(Buffer.from('"Zoë Ångström"', "utf8").toString("latin1")), "UTF-8 display name kept byte for byte");
  assert.equal(fwd.text.slice(fwd.text.indexOf("\r\n\r\n")), original.slice(original.indexOf("\r\n\r\n")), "body unchanged");
  assert.equal(h.routed.length, 1);
});

test("§16.6 step 3: a request without Max-Forwards is forwarded with Max-Forwards 70", () => {
  const h = harness();
  const fwd = startCall(h, { maxForwards: null });
  assert.equal(fwd.maxForwards, 70);
});

// ------------------------------------------------------------------------------------------- 2. retransmissions, relaying

test("§17.2.3/§16.7/RFC 6026: INVITE retransmissions are absorbed, provisionals and every 2xx relayed without our Via", () => {
  const h = harness();
  const fwd = startCall(h);
  // retransmission before any provisional from downstream: our 100 is re-sent, nothing is forwarded again
  h.inject(invite(), CALLER);
  let sent = h.net.take();
  assert.equal(requests(sent).length, 0, "retransmitted INVITE not forwarded again");
  assert.equal(only(responses(sent, 100), "re-sent 100").target.port, CALLER.port);
  assert.equal(h.counters.get("requests.retransmitted"), 1);

  // a 100 from downstream is hop-by-hop (§16.7 step 5): not relayed
  answer(h, fwd, 100, "Trying", D1);
  nothingSent(h);

  answer(h, fwd, 180, "Ringing", D1);
  sent = h.net.take();
  const ringing = only(responses(sent, 180), "180 to the caller");
  assert.deepEqual(ringing.target, { transport: "udp", host: "127.0.0.1", port: CALLER.port });
  assert.equal(ringing.message.vias.length, 1, "our Via is stripped");
  assert.equal(ringing.message.vias[0]!.branch, "z9hG4bK-caller-1");
  assert.equal(ringing.message.toTag, `callee-${D1}`, "the callee's To tag is relayed, not replaced");
  assert.equal(sent.length, 1);

  // retransmission now re-sends the last provisional (the 180)
  h.inject(invite(), CALLER);
  sent = h.net.take();
  assert.equal(requests(sent).length, 0);
  assert.equal(only(responses(sent), "re-sent provisional").message.status, 180);

  answer(h, fwd, 200, "OK", D1, { extra: [`Contact: <sip:bob@127.0.0.1:${D1}>`] });
  const ok = only(responses(h.net.take(), 200), "200 to the caller");
  assert.equal(ok.target.port, CALLER.port);
  assert.equal(ok.message.vias.length, 1);
  assert.equal(recordRoutes(ok.message).length, 1, "Record-Route reaches the caller");

  // RFC 6026: the destination retransmits its 2xx (our ACK is end-to-end, not ours): relayed again
  answer(h, fwd, 200, "OK", D1, { extra: [`Contact: <sip:bob@127.0.0.1:${D1}>`] });
  const again = only(responses(h.net.take(), 200), "retransmitted 200 relayed");
  assert.equal(again.target.port, CALLER.port);
  assert.equal(again.message.vias.length, 1);

  // an INVITE retransmission after the 2xx is absorbed (RFC 6026 Accepted), not forwarded
  h.inject(invite(), CALLER);
  assert.equal(requests(h.net.take()).length, 0);
});

test("RFC 6026 §7.1: a 2xx retransmission after the client transaction ended is still relayed to the caller", () => {
  const h = harness();
  const fwd = startCall(h);
  answer(h, fwd, 200, "OK", D1);
  only(responses(h.net.take(), 200), "200");
  h.clock.advance(5 * 60_000); // far past Timer M and L: every transaction is gone
  assert.equal(h.core.pending, 0, "nothing left in memory");
  answer(h, fwd, 200, "OK", D1);
  const again = only(responses(h.net.take(), 200), "stateless 200");
  assert.equal(again.target.port, CALLER.port);
  assert.equal(again.message.vias.length, 1);
});

test(
  "RFC 3581 §4: a 2xx relayed statelessly still reaches the caller's source port when its Via had rport",
  () => {
  const h = harness();
  const fwd = startCall(h, { viaPort: 5064 }); // NAT-like: sent-by says 5064, packets come from 5062
  answer(h, fwd, 200, "OK", D1);
  assert.equal(only(responses(h.net.take(), 200), "200").target.port, 5062);
  h.clock.advance(5 * 60_000);
  answer(h, fwd, 200, "OK", D1);
  const again = only(responses(h.net.take(), 200), "stateless 200");
  assert.equal(again.target.port, 5062, "the source port recorded in rport, not the sent-by port");
  },
);

// ------------------------------------------------------------------------------------------- 3. in-dialog from the caller

test("§16.4/§16.12: the caller's ACK for the 2xx goes to destination 1 with our Route popped; BYE likewise; dialog stored and removed", async () => {
  const h = harness();
  const { ok } = establish(h);
  const stored = await h.dialogs.list();
  assert.equal(stored.length, 1, "dialog stored on the 2xx");
  assert.equal(stored[0]!.callerTag, "caller-tag");
  assert.equal(stored[0]!.calleeTag, `callee-${D1}`);
  assert.equal(stored[0]!.destinationId, DEST1.id);
  assert.equal(stored[0]!.callId, "call-1@127.0.0.1");

  const routes = callerRouteSet(ok);
  const tags = { fromTag: "caller-tag", toTag: `callee-${D1}` };
  h.inject(inDialog({ method: "ACK", requestUri: `sip:bob@127.0.0.1:${D1}`, branch: "z9hG4bK-ack-1", cseq: 1, routes, ...tags }), CALLER);
  let sent = h.net.take();
  const ack = only(sent, "forwarded ACK");
  assert.ok(ack.message.type === "request" && ack.message.method === "ACK");
  assert.deepEqual(ack.target, { transport: "udp", host: "127.0.0.1", port: D1 });
  assert.equal(headerValues(ack.message, "route").length, 0, "our Route popped");
  assert.equal(ack.message.vias.length, 2);
  assert.match(ack.message.vias[0]!.branch ?? "", /^z9hG4bK/);
  assert.equal(ack.message.uriText, `sip:bob@127.0.0.1:${D1}`);
  assert.equal(ack.message.maxForwards, 69);

  h.inject(inDialog({ method: "BYE", requestUri: `sip:bob@127.0.0.1:${D1}`, branch: "z9hG4bK-bye-1", cseq: 2, routes, ...tags }), CALLER);
  sent = h.net.take();
  const bye = only(requests(sent, "BYE"), "forwarded BYE");
  assert.equal(sent.length, 1, "no response of ours to a BYE");
  assert.deepEqual(bye.target, { transport: "udp", host: "127.0.0.1", port: D1 });
  assert.equal(headerValues(bye.message, "route").length, 0);
  assert.equal(recordRoutes(bye.message).length, 0, "no Record-Route on in-dialog requests");
  assert.equal(bye.message.vias.length, 2);
  assert.equal(bye.message.vias[1]!.branch, "z9hG4bK-bye-1");
  assert.equal((await h.dialogs.list()).length, 0, "dialog removed on BYE");

  h.inject(replyTo(bye.message, 200, "OK"), fromDest(D1));
  const byeOk = only(responses(h.net.take(), 200), "200 to the BYE");
  assert.equal(byeOk.target.port, CALLER.port);
  assert.equal(byeOk.message.cseq.method, "BYE");
  assert.equal(byeOk.message.vias.length, 1);
});

// ------------------------------------------------------------------------------------------- 4. in-dialog from the callee

test("§16.12: a callee-side BYE (tags swapped) is routed upstream to the caller's Contact", () => {
  const h = harness();
  const { forwarded } = establish(h);
  // the callee's route set is the Record-Route of the request it received, in order (§12.1.1)
  const routes = recordRoutes(forwarded);
  h.inject(
    inDialog({
      method: "BYE",
      requestUri: "sip:alice@127.0.0.1:5062",
      via: `SIP/2.0/UDP 127.0.0.1:${D1}`,
      branch: "z9hG4bK-callee-bye",
      from: "<sip:bob@example.test>",
      fromTag: `callee-${D1}`,
      to: "<sip:alice@127.0.0.1:5062>",
      toTag: "caller-tag",
      cseq: 100,
      routes,
    }),
    fromDest(D1),
  );
  const sent = h.net.take();
  const bye = only(sent, "BYE to the caller");
  assert.ok(bye.message.type === "request" && bye.message.method === "BYE");
  assert.deepEqual(bye.target, { transport: "udp", host: "127.0.0.1", port: 5062 });
  assert.equal(headerValues(bye.message, "route").length, 0);
  assert.equal(bye.message.vias.length, 2);

  h.inject(replyTo(bye.message, 200, "OK"), CALLER);
  const ok = only(responses(h.net.take(), 200), "200 back to the callee");
  assert.deepEqual(ok.target, { transport: "udp", host: "127.0.0.1", port: D1 });
  assert.equal(ok.message.vias.length, 1);
});

// ------------------------------------------------------------------------------------------- 5. forged routes

function alterParam(route: string, name: string): string {
  const re = new RegExp(`;${name}=([^;>]+)`);
  const m = re.exec(route);
  assert.ok(m, `route has ${name}=`);
  const value = m[1]!;
  const last = value.at(-1)!;
  const changed = value.slice(0, -1) + (last === "A" ? "B" : "A");
  return route.replace(m[0], `;${name}=${changed}`);
}

for (const param of ["s", "t"]) {
  test(`§16.4 (no open relay): a Route whose ${param}= was altered gets 403 and nothing is forwarded`, () => {
    const h = harness();
    const { ok } = establish(h);
    const route = alterParam(only(callerRouteSet(ok), "route"), param);
    h.inject(inDialog({ method: "BYE", requestUri: `sip:bob@127.0.0.1:${D1}`, branch: "z9hG4bK-forged", cseq: 2, fromTag: "caller-tag", toTag: `callee-${D1}`, routes: [route] }), CALLER);
    const sent = h.net.take();
    const reply = only(sent, "reply");
    assert.ok(reply.message.type === "response");
    assert.equal(reply.message.status, 403);
    assert.equal(reply.target.port, CALLER.port);
    assert.equal(h.counters.get("requests.forged-route"), 1);
  });
}

test("§16.4: a forged Route on an ACK (never answered) is dropped, not forwarded", () => {
  const h = harness();
  const { ok } = establish(h);
  const route = alterParam(only(callerRouteSet(ok), "route"), "s");
  h.inject(inDialog({ method: "ACK", requestUri: `sip:bob@127.0.0.1:${D1}`, branch: "z9hG4bK-forged-ack", cseq: 1, fromTag: "caller-tag", toTag: `callee-${D1}`, routes: [route] }), CALLER);
  nothingSent(h);
});

test("§16.4: a Route naming us without signature parameters gets 403", () => {
  const h = harness();
  establish(h);
  h.inject(
    inDialog({ method: "BYE", requestUri: "sip:victim@192.0.2.9", branch: "z9hG4bK-nosig", cseq: 2, fromTag: "caller-tag", toTag: `callee-${D1}`, routes: ["<sip:127.0.0.1:5060;lr>"] }),
    CALLER,
  );
  const reply = only(h.net.take(), "reply");
  assert.ok(reply.message.type === "response");
  assert.equal(reply.message.status, 403);
});

test("§16.4 (no open relay): an in-dialog request without a Route of ours gets 481 and is not forwarded", () => {
  const h = harness();
  establish(h);
  h.inject(inDialog({ method: "BYE", requestUri: `sip:bob@127.0.0.1:${D1}`, branch: "z9hG4bK-noroute", cseq: 2, fromTag: "caller-tag", toTag: `callee-${D1}` }), CALLER);
  const reply = only(h.net.take(), "reply");
  assert.ok(reply.message.type === "response");
  assert.equal(reply.message.status, 481);
  // and one naming somebody else is not followed either
  h.inject(
    inDialog({ method: "BYE", requestUri: `sip:bob@127.0.0.1:${D1}`, branch: "z9hG4bK-otherroute", cseq: 3, fromTag: "caller-tag", toTag: `callee-${D1}`, routes: ["<sip:192.0.2.9;lr>"] }),
    CALLER,
  );
  const second = only(h.net.take(), "reply");
  assert.ok(second.message.type === "response");
  assert.equal(second.message.status, 481);
});

// ------------------------------------------------------------------------------------------- 6. failover

test("§16.7/§17.1.1.3: a 503 from destination 1 is ACKed hop by hop and the INVITE fails over to destination 2", async () => {
  const h = harness();
  const fwd1 = startCall(h);
  answer(h, fwd1, 503, "Service Unavailable", D1, { toTag: "busy-503" });
  const sent = h.net.take();
  const ack = only(requests(to(sent, D1), "ACK"), "hop-by-hop ACK to destination 1");
  assert.equal(ack.message.vias.length, 1, "only our Via");
  assert.equal(ack.message.vias[0]!.branch, fwd1.vias[0]!.branch, "same branch as the INVITE (§17.1.1.3)");
  assert.equal(ack.message.cseq.seq, 1);
  assert.equal(ack.message.cseq.method, "ACK");
  assert.equal(ack.message.toTag, "busy-503", "To of the 503");
  assert.equal(ack.message.uriText, fwd1.uriText);
  assert.equal(ack.message.callId, fwd1.callId);
  assert.equal(ack.message.fromTag, "caller-tag");
  const fwd2 = only(requests(to(sent, D2), "INVITE"), "INVITE to destination 2").message;
  assert.notEqual(fwd2.vias[0]!.branch, fwd1.vias[0]!.branch, "a new branch");
  const rr2 = parseNameAddr(only(recordRoutes(fwd2), "Record-Route"));
  assert.ok(rr2);
  const v = h.signer.verify(rr2.uri.params, "caller-tag", undefined);
  assert.ok(v.ok);
  assert.equal(v.token.target.port, D2, "the Record-Route names destination 2 now");
  assert.equal(responses(sent).length, 0, "the caller hears nothing of the 503");

  answer(h, fwd2, 200, "OK", D2);
  const ok = only(responses(h.net.take(), 200), "200 from destination 2");
  assert.equal(ok.target.port, CALLER.port);
  assert.equal(ok.message.toTag, `callee-${D2}`);
  const stored = await h.dialogs.list();
  assert.equal(stored[0]?.destinationId, DEST2.id);
});

test("§16.7 step 6: when every destination answers 503 the caller gets 500", () => {
  const h = harness();
  const fwd1 = startCall(h);
  answer(h, fwd1, 503, "Service Unavailable", D1);
  const fwd2 = only(requests(to(h.net.take(), D2), "INVITE"), "INVITE to destination 2").message;
  answer(h, fwd2, 503, "Service Unavailable", D2);
  const sent = h.net.take();
  only(requests(to(sent, D2), "ACK"), "ACK to destination 2");
  const final = only(responses(sent), "final to the caller");
  assert.equal(final.message.status, 500);
  assert.equal(final.target.port, CALLER.port);
  assert.equal(final.message.vias.length, 1);
  assert.equal(requests(sent, "INVITE").length, 0);
  // the caller's ACK for the 500 ends in our server transaction
  h.inject(inDialog({ method: "ACK", requestUri: "sip:bob@example.test", branch: "z9hG4bK-caller-1", cseq: 1, fromTag: "caller-tag", toTag: final.message.toTag ?? "" }), CALLER);
  nothingSent(h);
});

test("§16.7: a 486 from destination 1 is the callee's answer, not failed over", () => {
  const h = harness();
  const fwd1 = startCall(h);
  answer(h, fwd1, 486, "Busy Here", D1);
  const sent = h.net.take();
  assert.equal(to(sent, D2).length, 0, "destination 2 never tried");
  only(requests(to(sent, D1), "ACK"), "ACK to destination 1");
  const busy = only(responses(sent), "486 to the caller");
  assert.equal(busy.message.status, 486);
  assert.equal(busy.message.reason, "Busy Here");
  assert.equal(busy.message.vias.length, 1);
  // §17.2.1: our final is retransmitted (Timer G) until the caller ACKs
  h.clock.advance(500);
  assert.equal(only(responses(h.net.take()), "retransmitted 486").message.status, 486);
  h.inject(inDialog({ method: "ACK", requestUri: "sip:bob@example.test", branch: "z9hG4bK-caller-1", cseq: 1, fromTag: "caller-tag", toTag: busy.message.toTag ?? "" }), CALLER);
  nothingSent(h);
  h.clock.advance(4000);
  nothingSent(h);
});

for (const status of [408, 500, 502, 504]) {
  test(`§16.7: a ${status} from destination 1 fails over to destination 2`, () => {
    const h = harness();
    const fwd1 = startCall(h);
    answer(h, fwd1, status, "Failed", D1);
    const sent = h.net.take();
    only(requests(to(sent, D2), "INVITE"), "INVITE to destination 2");
    assert.equal(responses(sent).length, 0);
  });
}

for (const [status, reason] of [[404, "Not Found"], [480, "Temporarily Unavailable"], [603, "Decline"], [302, "Moved Temporarily"]] as const) {
  test(`§16.7: a ${status} from destination 1 is relayed, not failed over`, () => {
    const h = harness();
    const fwd1 = startCall(h);
    answer(h, fwd1, status, reason, D1);
    const sent = h.net.take();
    assert.equal(to(sent, D2).length, 0);
    assert.equal(only(responses(sent), "final").message.status, status);
  });
}

// ------------------------------------------------------------------------------------------- 7. no answer

test("§16.8 (branch timeout): a silent destination 1 is given up after branchTimeoutMs, the INVITE goes to destination 2", () => {
  const h = harness();
  startCall(h);
  h.clock.advance(999);
  let sent = h.net.take();
  assert.equal(to(sent, D2).length, 0, "not yet");
  assert.ok(requests(to(sent, D1), "INVITE").length >= 1, "Timer A retransmits to destination 1 meanwhile");
  h.clock.advance(1);
  sent = h.net.take();
  only(requests(to(sent, D2), "INVITE"), "INVITE to destination 2");
  assert.equal(requests(to(sent, D1), "CANCEL").length, 0, "no CANCEL to a branch that never answered (§9.1)");
  // destination 1 gets no more retransmissions (one that comes back must not answer a stale INVITE)
  h.clock.advance(64 * 500 + 10_000);
  sent = h.net.take();
  assert.equal(requests(to(sent, D1), "INVITE").length, 0, "no retransmission to a destination given up for silence");
});

test("§16.7 step 6/§16.8: when both destinations stay silent the caller gets 408", () => {
  const h = harness();
  startCall(h);
  h.clock.advance(1000);
  h.net.take();
  h.clock.advance(1000);
  const sent = h.net.take();
  const timeout = only(responses(sent), "final to the caller");
  assert.equal(timeout.message.status, 408);
  assert.equal(timeout.target.port, CALLER.port);
  assert.ok(timeout.message.toTag, "a generated final carries our To tag (§8.2.6.2)");
  h.clock.advance(60_000);
  h.net.take();
  h.clock.advance(60_000);
  assert.equal(requests(h.net.take(), "INVITE").length, 0, "no INVITE retransmissions once Timer B ended the branches");
});

// ------------------------------------------------------------------------------------------- 8. CANCEL

test("§16.10/§9.1: CANCEL after a 180: 200 from us, CANCEL downstream on the INVITE's branch, 487 ACKed and relayed; the caller's ACK absorbed", () => {
  const h = harness();
  const fwd = startCall(h);
  answer(h, fwd, 180, "Ringing", D1);
  h.net.take();
  h.inject(cancel(), CALLER);
  let sent = h.net.take();
  const ok = only(responses(sent), "our answer to the CANCEL");
  assert.equal(ok.message.status, 200);
  assert.equal(ok.message.cseq.method, "CANCEL");
  assert.equal(ok.target.port, CALLER.port);
  const down = only(requests(to(sent, D1), "CANCEL"), "CANCEL to destination 1").message;
  assert.equal(down.vias.length, 1);
  assert.equal(down.vias[0]!.branch, fwd.vias[0]!.branch, "same branch as our INVITE (§9.1)");
  assert.equal(down.cseq.seq, 1);
  assert.equal(down.cseq.method, "CANCEL");
  assert.equal(down.uriText, fwd.uriText);
  assert.equal(down.toTag, undefined, "To of the request, no tag (§9.1)");
  assert.equal(sent.length, 2);

  // a retransmitted CANCEL gets our 200 again and nothing more
  h.inject(cancel(), CALLER);
  sent = h.net.take();
  assert.equal(only(sent, "re-sent 200").message.type, "response");

  h.inject(replyTo(down, 200, "OK", { toTag: `callee-${D1}` }), fromDest(D1));
  nothingSent(h); // the 200 to our CANCEL is ours, never relayed

  answer(h, fwd, 487, "Request Terminated", D1);
  sent = h.net.take();
  const ack = only(requests(to(sent, D1), "ACK"), "ACK for the 487");
  assert.equal(ack.message.vias[0]!.branch, fwd.vias[0]!.branch);
  assert.equal(ack.message.toTag, `callee-${D1}`);
  const terminated = only(responses(sent), "487 to the caller");
  assert.equal(terminated.message.status, 487);
  assert.equal(terminated.message.cseq.method, "INVITE");
  assert.equal(terminated.target.port, CALLER.port);
  assert.equal(terminated.message.vias.length, 1);
  assert.equal(to(sent, D2).length, 0, "a cancelled call is not failed over");

  h.inject(inDialog({ method: "ACK", requestUri: "sip:bob@example.test", branch: "z9hG4bK-caller-1", cseq: 1, fromTag: "caller-tag", toTag: terminated.message.toTag ?? "" }), CALLER);
  nothingSent(h);
});

test("§9.1: a CANCEL before any provisional from downstream waits for the destination's 1xx", () => {
  const h = harness();
  const fwd = startCall(h);
  h.inject(cancel(), CALLER);
  let sent = h.net.take();
  assert.equal(only(responses(sent), "200 to the CANCEL").message.status, 200);
  assert.equal(requests(sent, "CANCEL").length, 0, "no CANCEL before a provisional");
  answer(h, fwd, 100, "Trying", D1);
  sent = h.net.take();
  const down = only(requests(to(sent, D1), "CANCEL"), "CANCEL now").message;
  assert.equal(down.vias[0]!.branch, fwd.vias[0]!.branch);
  answer(h, fwd, 487, "Request Terminated", D1);
  sent = h.net.take();
  assert.equal(only(responses(sent), "final").message.status, 487);
  assert.equal(to(sent, D2).length, 0);
});

test("§9.1/§16.10: a CANCEL before any provisional, destination silent: no CANCEL sent, caller gets 487 once the branch is given up", () => {
  const h = harness();
  startCall(h);
  h.inject(cancel(), CALLER);
  h.net.take();
  h.clock.advance(1000);
  const sent = h.net.take();
  assert.equal(requests(sent, "CANCEL").length, 0);
  assert.equal(to(sent, D2).length, 0, "no failover after CANCEL");
  assert.equal(only(responses(sent), "final").message.status, 487);
});

test("§9.2: a CANCEL matching no transaction gets 481", () => {
  const h = harness();
  h.inject(cancel({ branch: "z9hG4bK-nothing" }), CALLER);
  const reply = only(h.net.take(), "reply");
  assert.ok(reply.message.type === "response");
  assert.equal(reply.message.status, 481);
  assert.equal(reply.message.cseq.method, "CANCEL");
});

// ------------------------------------------------------------------------------------------- 9. Max-Forwards, OPTIONS, loops

test("§16.3 step 3: Max-Forwards 0 gets 483 and is not relayed", () => {
  const h = harness();
  h.inject(invite({ maxForwards: 0 }), CALLER);
  const reply = only(h.net.take(), "reply");
  assert.ok(reply.message.type === "response");
  assert.equal(reply.message.status, 483);
  assert.equal(reply.target.port, CALLER.port);
  assert.equal(h.routed.length, 0);
});

test("§11/§16.3: OPTIONS to our own address (no user, no Route) is answered 200 with Allow, not relayed", () => {
  const h = harness();
  h.inject(
    sipMessage("OPTIONS sip:127.0.0.1:5060 SIP/2.0", [
      "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-opt;rport",
      "Max-Forwards: 70",
      "From: <sip:monitor@127.0.0.1>;tag=m1",
      "To: <sip:127.0.0.1:5060>",
      "Call-ID: options-1",
      "CSeq: 1 OPTIONS",
    ]),
    CALLER,
  );
  const reply = only(h.net.take(), "reply");
  assert.ok(reply.message.type === "response");
  assert.equal(reply.message.status, 200);
  assert.match(headerValue(reply.message, "allow") ?? "", /\bINVITE\b.*\bBYE\b/);
  assert.ok(reply.message.toTag);
  assert.equal(h.routed.length, 0);
});

test("§16.3 step 4: an INVITE coming back with our own Via and the same loop hash gets 482", () => {
  const h = harness();
  h.inject(invite(), CALLER);
  const fwd = only(requests(h.net.take(), "INVITE"), "forwarded INVITE");
  h.inject(bytesOf(fwd), fromDest(D1)); // destination 1 routes it straight back to us
  const sent = h.net.take();
  const reply = only(sent, "reply");
  assert.ok(reply.message.type === "response");
  assert.equal(reply.message.status, 482);
  assert.equal(reply.target.port, D1);
  assert.equal(h.routed.length, 1, "the looped request was not routed again");
});

test("§16.3 step 4: a spiral (same call, changed Request-URI) is not a loop", () => {
  const h = harness();
  h.inject(invite(), CALLER);
  const fwd = only(requests(h.net.take(), "INVITE"), "forwarded INVITE");
  const spiral = fwd.text.replace("INVITE sip:bob@example.test SIP/2.0", "INVITE sip:bob-alt@example.test SIP/2.0");
  h.inject(spiral, fromDest(D1));
  const sent = h.net.take();
  assert.equal(responses(sent, 482).length, 0);
  assert.equal(requests(sent, "INVITE").length, 1, "the spiral is forwarded");
});

// ------------------------------------------------------------------------------------------- 10. Timer C

test("§16.8 Timer C: a branch ringing past timerCMs is CANCELled and its 487 fails over to destination 2", () => {
  const h = harness();
  const fwd = startCall(h);
  answer(h, fwd, 180, "Ringing", D1);
  h.net.take();
  h.clock.advance(179_999);
  nothingSent(h);
  h.clock.advance(1);
  let sent = h.net.take();
  const down = only(requests(to(sent, D1), "CANCEL"), "Timer C CANCEL").message;
  assert.equal(down.vias[0]!.branch, fwd.vias[0]!.branch);
  assert.equal(responses(sent).length, 0, "the caller is told nothing yet");
  h.inject(replyTo(down, 200, "OK", { toTag: `callee-${D1}` }), fromDest(D1));
  answer(h, fwd, 487, "Request Terminated", D1);
  sent = h.net.take();
  only(requests(to(sent, D1), "ACK"), "ACK for the 487");
  only(requests(to(sent, D2), "INVITE"), "INVITE to destination 2");
  assert.equal(responses(sent).length, 0, "no 487 to the caller");
});

test("§16.8 Timer C: every provisional restarts it", () => {
  const h = harness();
  const fwd = startCall(h);
  answer(h, fwd, 180, "Ringing", D1);
  h.clock.advance(170_000);
  answer(h, fwd, 183, "Session Progress", D1);
  h.net.take();
  h.clock.advance(170_000);
  assert.equal(requests(h.net.take(), "CANCEL").length, 0, "restarted by the 183");
  h.clock.advance(10_000);
  only(requests(h.net.take(), "CANCEL"), "CANCEL after a full Timer C of silence");
});

test("§16.8 Timer C: when both destinations ring out the caller gets 408", () => {
  const h = harness();
  const fwd1 = startCall(h);
  answer(h, fwd1, 180, "Ringing", D1);
  h.clock.advance(180_000);
  const c1 = only(requests(h.net.take(), "CANCEL"), "CANCEL 1").message;
  h.inject(replyTo(c1, 200, "OK"), fromDest(D1));
  answer(h, fwd1, 487, "Request Terminated", D1);
  const fwd2 = only(requests(h.net.take(), "INVITE"), "INVITE 2").message;
  answer(h, fwd2, 180, "Ringing", D2);
  h.net.take();
  h.clock.advance(180_000);
  const c2 = only(requests(h.net.take(), "CANCEL"), "CANCEL 2").message;
  h.inject(replyTo(c2, 200, "OK"), fromDest(D2));
  answer(h, fwd2, 487, "Request Terminated", D2);
  const sent = h.net.take();
  assert.equal(only(responses(sent), "final").message.status, 408);
});

// ------------------------------------------------------------------------------------------- 11. malformed input

test("§8.2.6/§16.3: a request missing Call-ID gets 400 back to its source", () => {
  const h = harness();
  const text = Buffer.from(invite()).toString("latin1").replace("Call-ID: call-1@127.0.0.1\r\n", "");
  h.inject(text, CALLER);
  // the 400 cannot carry the Call-ID the request lacked, so it does not parse back as a full message
  assert.deepEqual(h.net.take(), []);
  const reply = only(h.net.takeUnparsed(), "reply");
  assert.equal(reply.text.split("\r\n")[0], "SIP/2.0 400 Missing Call-ID");
  assert.ok(reply.text.includes("\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-caller-1;rport\r\n"), "Via copied for the client to match it");
  assert.match(reply.text, /\r\nTo: <sip:bob@example.test>;tag=\S+\r\n/);
  assert.deepEqual(reply.target, { transport: "udp", host: "127.0.0.1", port: CALLER.port });
  assert.equal(h.routed.length, 0);
  assert.equal(h.counters.get("generated.400"), 1);
});

test("§18.1.2/§16.3: garbage is dropped and counted, and the core never throws", () => {
  const h = harness();
  h.inject("\x00\x01hello world\r\n\r\n", CALLER);
  nothingSent(h);
  assert.ok(h.counters.get("malformed.dropped") >= 1);
  // a deterministic pseudo-random mix: random bytes, truncations and byte flips of valid messages
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const valid = [invite(), cancel(), inDialog({ method: "BYE", requestUri: "sip:b@127.0.0.1", branch: "z9hG4bKx", cseq: 2, fromTag: "a", toTag: "b", routes: ["<sip:127.0.0.1:5060;lr;d=x;t=u~1.2.3.4~5;s=AAAAAAAAAAAAAAAA>"] })];
  for (let i = 0; i < 2000; i++) {
    let data: Uint8Array;
    const base = valid[i % valid.length]!;
    switch (i % 3) {
      case 0:
        data = Uint8Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256));
        break;
      case 1:
        data = base.subarray(0, Math.floor(rand() * base.length));
        break;
      default: {
        const copy = Uint8Array.from(base);
        for (let k = 0; k < 3; k++) copy[Math.floor(rand() * copy.length)] = Math.floor(rand() * 256);
        data = copy;
      }
    }
    assert.doesNotThrow(() => h.core.handle(data, i % 2 ? CALLER : { transport: "tcp", address: "127.0.0.1", port: 40000, connectionId: 9 }));
  }
  assert.doesNotThrow(() => h.clock.advance(10 * 60_000));
  assert.equal(h.counters.get("errors.internal"), 0, "no internal error on hostile input");
});

// ------------------------------------------------------------------------------------------- 12. TCP

test("§18.2.2: responses to a request from a TCP source go back on its connection", () => {
  const h = harness();
  const tcpCaller = { transport: "tcp" as const, address: "127.0.0.1", port: 40001, connectionId: 42 };
  const text = Buffer.from(invite()).toString("latin1").replace("SIP/2.0/UDP 127.0.0.1:5062", "SIP/2.0/TCP 127.0.0.1:5062");
  h.inject(text, tcpCaller);
  let sent = h.net.take();
  const trying = only(responses(sent, 100), "100 Trying");
  const { transport, host, port } = trying.target;
  assert.deepEqual({ transport, host, port }, { transport: "tcp", host: "127.0.0.1", port: 40001 });
  assert.equal(trying.connectionId, 42);
  const fwd = only(requests(sent, "INVITE"), "forwarded INVITE");
  assert.equal(fwd.target.transport, "udp");
  answer(h, fwd.message, 180, "Ringing", D1);
  sent = h.net.take();
  const ringing = only(responses(sent, 180), "180");
  assert.equal(ringing.connectionId, 42);
  assert.equal(ringing.target.transport, "tcp");
  answer(h, fwd.message, 486, "Busy Here", D1);
  const busy = only(responses(h.net.take()), "486");
  assert.equal(busy.connectionId, 42);
  // a stateless reply (483) also goes back on the connection
  h.inject(Buffer.from(invite({ maxForwards: 0, branch: "z9hG4bK-other", callId: "other" })).toString("latin1").replace("SIP/2.0/UDP", "SIP/2.0/TCP"), tcpCaller);
  const tooMany = only(h.net.take(), "483");
  assert.equal(tooMany.connectionId, 42);
  assert.equal(tooMany.target.transport, "tcp");
});

// ------------------------------------------------------------------------------------------- RFC 5658

test("RFC 5658: caller on UDP, destination on TCP: two Record-Route entries (tcp on top, udp below); in-dialog requests pop both", () => {
  const h = harness({ destinations: [{ id: "tcp1", uri: "sip:127.0.0.1:5070;transport=tcp" }] });
  h.inject(invite(), CALLER);
  let sent = h.net.take();
  const fwd = only(requests(sent, "INVITE"), "forwarded INVITE");
  assert.equal(fwd.target.transport, "tcp");
  assert.equal(fwd.message.vias[0]!.transport, "TCP");
  const rr = recordRoutes(fwd.message);
  assert.equal(rr.length, 2);
  const top = parseNameAddr(rr[0]!);
  const second = parseNameAddr(rr[1]!);
  assert.ok(top && second);
  assert.equal(top.uri.params.get("transport"), "tcp");
  assert.equal(second.uri.params.get("transport"), "udp");
  assert.ok(h.signer.verify(top.uri.params, "caller-tag", undefined).ok);
  assert.ok(h.signer.verify(second.uri.params, "caller-tag", undefined).ok);

  h.inject(replyTo(fwd.message, 200, "OK", { toTag: "callee-tcp", extra: ["Contact: <sip:bob@127.0.0.1:5070;transport=tcp>"] }), fromDest(D1, "tcp"));
  const ok = only(responses(h.net.take(), 200), "200 to the caller");
  assert.equal(ok.target.transport, "udp");
  assert.equal(recordRoutes(ok.message).length, 2);

  // caller → callee: route set = Record-Route reversed (udp entry first)
  const routes = callerRouteSet(ok.message);
  h.inject(inDialog({ method: "BYE", requestUri: "sip:bob@127.0.0.1:5070;transport=tcp", branch: "z9hG4bK-bye-tcp", cseq: 2, fromTag: "caller-tag", toTag: "callee-tcp", routes }), CALLER);
  sent = h.net.take();
  const bye = only(requests(sent, "BYE"), "BYE");
  assert.deepEqual(bye.target, { transport: "tcp", host: "127.0.0.1", port: D1 });
  assert.equal(headerValues(bye.message, "route").length, 0, "both of our entries popped");
  assert.equal(bye.message.vias[0]!.transport, "TCP");
});

test("RFC 5658: the callee's request carrying both entries pops both and goes to the caller over UDP", () => {
  const h = harness({ destinations: [{ id: "tcp1", uri: "sip:127.0.0.1:5070;transport=tcp" }] });
  h.inject(invite(), CALLER);
  const fwd = only(requests(h.net.take(), "INVITE"), "forwarded INVITE").message;
  h.inject(replyTo(fwd, 200, "OK", { toTag: "callee-tcp" }), fromDest(D1, "tcp"));
  h.net.take();
  h.inject(
    inDialog({
      method: "INFO",
      requestUri: "sip:alice@127.0.0.1:5062",
      via: "SIP/2.0/TCP 127.0.0.1:5070",
      branch: "z9hG4bK-callee-info",
      from: "<sip:bob@example.test>",
      fromTag: "callee-tcp",
      to: "<sip:alice@127.0.0.1:5062>",
      toTag: "caller-tag",
      cseq: 7,
      routes: recordRoutes(fwd),
    }),
    { transport: "tcp", address: "127.0.0.1", port: 45000, connectionId: 3 },
  );
  const info = only(requests(h.net.take(), "INFO"), "INFO to the caller");
  assert.deepEqual(info.target, { transport: "udp", host: "127.0.0.1", port: 5062 });
  assert.equal(headerValues(info.message, "route").length, 0);
  assert.equal(info.message.vias[0]!.transport, "UDP");
});

// ------------------------------------------------------------------------------------------- more failover / routing

for (const mode of ["sync", "deferred"] as const) {
  test(`§16.7 step 6/§16.9: a transport error (${mode}) on destination 1 fails over to destination 2`, () => {
    const h = harness();
    h.net.failing.set(`127.0.0.1:${D1}`, mode);
    h.inject(invite(), CALLER);
    h.net.flushErrors();
    let sent = h.net.take();
    only(requests(to(sent, D2), "INVITE"), "INVITE to destination 2");
    assert.equal(responses(sent).filter((r) => r.message.status >= 200).length, 0);
    h.net.failing.set(`127.0.0.1:${D2}`, mode);
    h.net.flushErrors(); // destination 2 itself is fine until now: its INVITE went out
    h.clock.advance(500); // Timer A retransmission fails
    h.net.flushErrors();
    sent = h.net.take();
    const final = only(responses(sent).filter((r) => r.message.status >= 200), "final to the caller");
    assert.equal(final.message.status, 408, "no answer from anybody (§16.7 step 6)");
    assert.equal(h.counters.get("errors.internal"), 0);
  });
}

test("§16.7/§17.1.1.3: a retransmitted 503 from destination 1 after failover is ACKed again and changes nothing", () => {
  const h = harness();
  const fwd1 = startCall(h);
  answer(h, fwd1, 503, "Service Unavailable", D1);
  h.net.take();
  answer(h, fwd1, 503, "Service Unavailable", D1);
  const sent = h.net.take();
  only(requests(to(sent, D1), "ACK"), "ACK again");
  assert.equal(sent.length, 1);
});

test("§16.10: a CANCEL while the (asynchronous) route decision is pending: 200 to the CANCEL, 487 to the INVITE, nothing relayed", async () => {
  let resolve: (() => void) | undefined;
  const h = harness({
    route: () =>
      new Promise((r) => {
        resolve = () => r({ action: "relay", destinations: [DEST1, DEST2] });
      }),
  });
  h.inject(invite(), CALLER);
  assert.equal(only(h.net.take(), "100").message.type, "response");
  h.inject(cancel(), CALLER);
  assert.equal(only(responses(h.net.take()), "200 to CANCEL").message.cseq.method, "CANCEL");
  resolve?.();
  await new Promise((r) => setImmediate(r));
  const sent = h.net.take();
  assert.equal(requests(sent).length, 0, "nothing relayed");
  const final = only(responses(sent), "final");
  assert.equal(final.message.status, 487);
  assert.equal(final.message.cseq.method, "INVITE");
});

test("§16.3/§16.5: route function outcomes: reply → that status; throw → 500; no usable destination → 503", () => {
  const reply = harness({ route: () => ({ action: "reply", status: 404, reason: "Nobody Here" }) });
  reply.inject(invite(), CALLER);
  const r1 = responses(reply.net.take()).filter((r) => r.message.status >= 200);
  assert.equal(only(r1, "final").message.status, 404);
  assert.equal(r1[0]!.message.reason, "Nobody Here");

  const thrower = harness({
    route: () => {
      throw new Error("boom");
    },
  });
  thrower.inject(invite(), CALLER);
  assert.equal(only(responses(thrower.net.take()).filter((r) => r.message.status >= 200), "final").message.status, 500);

  const unusable = harness({ destinations: [{ id: "tls", uri: "sips:127.0.0.1:5071" }] });
  unusable.inject(invite(), CALLER);
  const sent = unusable.net.take();
  assert.equal(requests(sent).length, 0);
  assert.equal(only(responses(sent).filter((r) => r.message.status >= 200), "final").message.status, 503);
});

test("graceful drain: new calls get 503 with Retry-After, in-dialog requests still flow", () => {
  const h = harness();
  const { ok } = establish(h);
  h.core.drain();
  h.inject(invite({ callId: "new-call", branch: "z9hG4bK-new" }), CALLER);
  const refused = only(h.net.take(), "503");
  assert.ok(refused.message.type === "response");
  assert.equal(refused.message.status, 503);
  assert.ok(headerValue(refused.message, "retry-after"));
  h.inject(inDialog({ method: "BYE", requestUri: `sip:bob@127.0.0.1:${D1}`, branch: "z9hG4bK-bye-d", cseq: 2, fromTag: "caller-tag", toTag: `callee-${D1}`, routes: callerRouteSet(ok) }), CALLER);
  only(requests(h.net.take(), "BYE"), "BYE still relayed");
});

test("§16.3 step 3: an ACK with Max-Forwards 0 is not forwarded (and, being an ACK, not answered)", () => {
  const h = harness();
  const { ok } = establish(h);
  const text = Buffer.from(
    inDialog({ method: "ACK", requestUri: `sip:bob@127.0.0.1:${D1}`, branch: "z9hG4bK-ack-mf0", cseq: 1, fromTag: "caller-tag", toTag: `callee-${D1}`, routes: callerRouteSet(ok) }),
  )
    .toString("latin1")
    .replace("Max-Forwards: 70", "Max-Forwards: 0");
  h.inject(text, CALLER);
  nothingSent(h);
});

test("§16.3 step 3: an in-dialog BYE with Max-Forwards 0 gets 483", () => {
  const h = harness();
  const { ok } = establish(h);
  const text = Buffer.from(
    inDialog({ method: "BYE", requestUri: `sip:bob@127.0.0.1:${D1}`, branch: "z9hG4bK-bye-mf0", cseq: 2, fromTag: "caller-tag", toTag: `callee-${D1}`, routes: callerRouteSet(ok) }),
  )
    .toString("latin1")
    .replace("Max-Forwards: 70", "Max-Forwards: 0");
  h.inject(text, CALLER);
  const reply = only(h.net.take(), "reply");
  assert.ok(reply.message.type === "response");
  assert.equal(reply.message.status, 483);
});

test("§9.1: after a CANCEL the branch is given up 64*T1 later if the destination never sends its final", () => {
  const h = harness();
  const fwd = startCall(h);
  answer(h, fwd, 180, "Ringing", D1);
  h.net.take();
  h.inject(cancel(), CALLER);
  const down = only(requests(h.net.take(), "CANCEL"), "CANCEL").message;
  h.inject(replyTo(down, 200, "OK", { toTag: `callee-${D1}` }), fromDest(D1));
  h.net.take();
  // the destination answered the CANCEL but never sends the INVITE's 487
  h.clock.advance(64 * 500);
  const final = only(responses(h.net.take()).filter((r) => r.message.status >= 200), "final to the caller");
  assert.equal(final.message.status, 487);
  assert.equal(final.message.cseq.method, "INVITE");
});

test("§16.7: an in-dialog re-INVITE gets 100 Trying, is relayed without Record-Route, and its 2xx relayed", async () => {
  const h = harness();
  const { ok } = establish(h);
  const stored = await h.dialogs.list();
  const reinvite = inDialog({ method: "INVITE", requestUri: `sip:bob@127.0.0.1:${D1}`, branch: "z9hG4bK-reinv", cseq: 3, fromTag: "caller-tag", toTag: `callee-${D1}`, routes: callerRouteSet(ok) });
  h.inject(reinvite, CALLER);
  let sent = h.net.take();
  only(responses(sent, 100), "100 Trying");
  const fwd = only(requests(to(sent, D1), "INVITE"), "re-INVITE").message;
  assert.equal(recordRoutes(fwd).length, 0);
  assert.equal(headerValues(fwd, "route").length, 0);
  h.inject(replyTo(fwd, 200, "OK"), fromDest(D1));
  sent = h.net.take();
  assert.equal(only(responses(sent, 200), "200").target.port, CALLER.port);
  const after = await h.dialogs.list();
  assert.equal(after.length, 1);
  assert.equal(after[0]!.id, stored[0]!.id, "a re-INVITE creates no new dialog record");
});

test(
  "§16.7 step 10: a late 2xx from a destination given up for silence CANCELs the branch still ringing at destination 2",
  () => {
    const h = harness();
    const fwd1 = startCall(h);
    h.clock.advance(1000);
    const fwd2 = only(requests(to(h.net.take(), D2), "INVITE"), "INVITE to destination 2").message;
    answer(h, fwd2, 180, "Ringing", D2);
    h.net.take();
    answer(h, fwd1, 200, "OK", D1);
    const sent = h.net.take();
    only(responses(sent, 200), "late 200 relayed");
    only(requests(to(sent, D2), "CANCEL"), "CANCEL to destination 2");
  },
);

// ------------------------------------------------------------------------------------------- housekeeping

test("RFC 4320/§17.2.2: a non-INVITE whose destinations never answer leaves nothing behind", () => {
  const h = harness();
  const { ok } = establish(h);
  h.clock.advance(5 * 60_000); // let the INVITE transactions go
  h.net.take();
  const routes = callerRouteSet(ok);
  h.inject(inDialog({ method: "INFO", requestUri: `sip:bob@127.0.0.1:${D1}`, branch: "z9hG4bK-info-lost", cseq: 5, fromTag: "caller-tag", toTag: `callee-${D1}`, routes }), CALLER);
  only(requests(h.net.take(), "INFO"), "INFO forwarded");
  h.clock.advance(1000); // branch timeout: given up, and never answered 408
  assert.equal(responses(h.net.take()).length, 0);
  // the client's retransmission (its Timer E) is still absorbed, not forwarded as a new request
  h.inject(inDialog({ method: "INFO", requestUri: `sip:bob@127.0.0.1:${D1}`, branch: "z9hG4bK-info-lost", cseq: 5, fromTag: "caller-tag", toTag: `callee-${D1}`, routes }), CALLER);
  assert.equal(requests(h.net.take(), "INFO").length, 0, "retransmission absorbed");
  h.clock.advance(5 * 60_000);
  assert.equal(responses(h.net.take(), 408).length, 0, "never a 408 to a non-INVITE (RFC 4320 §4.2)");
  assert.equal(h.core.inFlight, 0, "no request counted in flight forever (graceful shutdown would wait on it)");
  assert.equal(h.core.pending, 0, "no transaction kept forever");
});

test("ProxyCore housekeeping: a completed call leaves no transaction and no timer behind", () => {
  const h = harness();
  const { ok } = establish(h);
  const routes = callerRouteSet(ok);
  const tags = { fromTag: "caller-tag", toTag: `callee-${D1}` };
  h.inject(inDialog({ method: "ACK", requestUri: `sip:bob@127.0.0.1:${D1}`, branch: "z9hG4bK-ack-h", cseq: 1, routes, ...tags }), CALLER);
  h.inject(inDialog({ method: "BYE", requestUri: `sip:bob@127.0.0.1:${D1}`, branch: "z9hG4bK-bye-h", cseq: 2, routes, ...tags }), CALLER);
  const bye = only(requests(h.net.take(), "BYE"), "BYE").message;
  h.inject(replyTo(bye, 200, "OK"), fromDest(D1));
  h.net.take();
  h.clock.advance(5 * 60_000);
  assert.equal(h.core.pending, 0);
  assert.equal(h.core.inFlight, 0);
  assert.equal(h.clock.pendingCount, 0, "no timer left armed");
});


// ------------------------------------------------------------------------------------------- failover policy

test("failover policy: the attempt cap stops serial failover (kamailio ds_next_dst count)", () => {
  const h = harness({ failover: { codes: new Set([503]), maxAttempts: 1, budgetMs: 30_000 } });
  const fwd1 = startCall(h);
  answer(h, fwd1, 503, "Service Unavailable", D1);
  const sent = h.net.take();
  assert.equal(requests(to(sent, D2), "INVITE").length, 0, "no second attempt");
  assert.equal(only(responses(sent), "final to the caller").message.status, 500);
  assert.equal(h.counters.get("failover.budget-exhausted"), 1);
});

test("failover policy: only the configured codes fail over", () => {
  const h = harness({ failover: { codes: new Set([486]), maxAttempts: 5, budgetMs: 30_000 } });
  const fwd1 = startCall(h);
  answer(h, fwd1, 486, "Busy Here", D1);
  only(requests(to(h.net.take(), D2), "INVITE"), "486 listed: next destination");
  const h2 = harness({ failover: { codes: new Set([486]), maxAttempts: 5, budgetMs: 30_000 } });
  const other = startCall(h2);
  answer(h2, other, 503, "Service Unavailable", D1);
  const sent = h2.net.take();
  assert.equal(requests(to(sent, D2), "INVITE").length, 0, "503 not listed: no failover");
  assert.equal(only(responses(sent), "final").message.status, 500);
});

test("failover policy: past the time budget no new destination is tried", () => {
  const h = harness({ failover: { codes: new Set([408, 503]), maxAttempts: 5, budgetMs: 500 } });
  startCall(h);
  h.clock.advance(1000); // destination 1 silent past the branch timeout, and past the budget
  const sent = h.net.take();
  assert.equal(requests(to(sent, D2), "INVITE").length, 0, "budget spent: no second attempt");
  assert.equal(only(responses(sent), "final to the caller").message.status, 408);
});

test("retired transactions: past their final only small records remain; they absorb, re-answer and relay as the full transactions would, then expire", () => {
  const h = harness();
  const { ok } = establish(h);
  assert.equal(h.core.pending, h.core.retired, "after the 2xx the INVITE's server and client transactions are retired");
  assert.equal(h.core.retired, 2);
  // a CANCEL racing the 2xx still gets its 200 (the INVITE's transaction exists until Timer L), nothing goes downstream
  h.inject(cancel(), CALLER);
  let sent = h.net.take();
  const cancelled = only(responses(sent, 200), "200 to the late CANCEL");
  assert.equal(cancelled.message.cseq.method, "CANCEL");
  assert.ok(cancelled.message.toTag, "a To tag on our 200 (§8.2.6.2)");
  assert.equal(requests(sent).length, 0, "no CANCEL relayed after the 2xx");

  const routes = callerRouteSet(ok);
  const tags = { fromTag: "caller-tag", toTag: `callee-${D1}` };
  const byeRequest = inDialog({ method: "BYE", requestUri: `sip:bob@127.0.0.1:${D1}`, branch: "z9hG4bK-bye-r", cseq: 2, routes, ...tags });
  h.inject(byeRequest, CALLER);
  const bye = only(requests(h.net.take(), "BYE"), "BYE").message;
  h.inject(replyTo(bye, 200, "OK"), fromDest(D1));
  const byeOk = only(responses(h.net.take(), 200), "200 to the BYE");
  // the caller retransmits its BYE (it lost our 200): the same 200 again, and nothing goes downstream (§17.2.2)
  h.inject(byeRequest, CALLER);
  sent = h.net.take();
  assert.equal(requests(sent).length, 0);
  assert.deepEqual(Buffer.from(bytesOf(only(responses(sent, 200), "the 200 again"))), Buffer.from(bytesOf(byeOk)));
  // the destination retransmits its 200 to the BYE: absorbed (§17.1.2.2 Completed)
  h.inject(replyTo(bye, 200, "OK"), fromDest(D1));
  assert.equal(h.net.take().length, 0, "a retransmitted final of a completed non-INVITE is absorbed");

  h.clock.advance(64 * 500 + 1000);
  assert.equal(h.core.retired, 0, "every record expired at 64×T1");
  assert.equal(h.clock.pendingCount, 0, "the sweep timer is not re-armed once nothing is left");
  // after expiry the BYE retransmission is a new request again (it goes downstream, where it gets a 481)
  h.inject(byeRequest, CALLER);
  assert.equal(requests(h.net.take(), "BYE").length, 1);
});
