/**
 * Signed webhooks for destination state changes (one gateway, SWITCHBOARD_WEBHOOK_URLS = a local HTTP server of the
 * test's, SWITCHBOARD_WEBHOOK_SECRET; destinations "w" and "steady", sipp UASes, OPTIONS every second).
 *
 * "w"'s sipp is SIGKILLed, then a new one takes its port again. Proves, from the requests the receiver got:
 * - nothing is posted while nothing changes (both destinations healthy before the kill);
 * - "w" going down posts active → probing → inactive (reasons: probe timeouts), each arriving within a second of the
 *   API showing that state; coming back posts inactive → active; "steady" never gets an event;
 * - every request is a POST of application/json whose `X-Switchboard-Signature` verifies with the configured secret
 *   (verifySignature from src/webhook/signature.ts, on the raw body) and fails with another secret or a changed
 *   body; `X-Switchboard-Event-Id` is the body's `id`, ids are unique, `type` is `destination.state`, `at` is the
 *   time of the change (within the test's run, in order).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { harness } from "../support/harness.ts";
import { freePorts } from "../support/ports.ts";
import { startUas } from "../support/sipp.ts";
import { waitUntil } from "../support/process.ts";
import { SIGNATURE_HEADER, verifySignature } from "../../src/webhook/signature.ts";
import { PROBE_INTERVAL_MS, WebhookReceiver, startHealthGateway, waitForRow, waitForState, type WebhookRequest } from "../support/health.ts";

const h = harness("health-webhook");
before(() => h.setup());
after(() => h.teardown());

const SECRET = "e2e-webhook-secret-0123456789abcdef";

interface StateEvent {
  readonly id: string;
  readonly type: string;
  readonly destination: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
  readonly at: string;
}

function eventOf(r: WebhookRequest): StateEvent {
  return JSON.parse(r.body) as StateEvent;
}

function eventsFor(receiver: WebhookReceiver, destination: string): StateEvent[] {
  return receiver.requests.map(eventOf).filter((e) => e.destination === destination);
}

test(
  "state changes are posted to a webhook, signed: active → probing → inactive on SIGKILL, inactive → active on restart",
  h.wrap(async () => {
    const receiver = await WebhookReceiver.start();
    h.defer(() => receiver.close());
    const [wPort, steadyPort] = (await freePorts(2)) as [number, number];
    const w1 = await startUas({ scenario: "uas.xml", port: wPort, transport: "udp", dir: h.dir, name: "hook-uas-w1" });
    const steady = await startUas({ scenario: "uas.xml", port: steadyPort, transport: "udp", dir: h.dir, name: "hook-uas-steady" });
    const t0 = Date.now();
    const gw = await startHealthGateway({
      name: "hook-gw",
      dir: h.dir,
      destinations: [
        { id: "w", uri: `sip:127.0.0.1:${wPort}` },
        { id: "steady", uri: `sip:127.0.0.1:${steadyPort}` },
      ],
      env: { SWITCHBOARD_WEBHOOK_URLS: receiver.url("/hooks/switchboard"), SWITCHBOARD_WEBHOOK_SECRET: SECRET },
    });
    h.defer(() => gw.stop());
    // 2 probes each: healthy, and had the chance to post a (wrong) event
    for (const id of ["w", "steady"]) {
      const first = await waitForRow(gw, id, "probed alive", (r) => r.lastProbe?.result === "alive", 5000);
      await waitForRow(gw, id, "probed alive twice", (r) => r.lastProbe?.result === "alive" && r.lastProbe.at !== first.row.lastProbe?.at, 3000);
    }
    assert.deepEqual(receiver.requests.map((r) => r.body), [], "events posted while every destination was healthy");

    // down
    const killedAt = Date.now();
    w1.proc.signal("SIGKILL");
    await w1.proc.waitForExit(5000);
    const inactive = await waitForState(gw, "w", "inactive", 4 * PROBE_INTERVAL_MS + 2000);
    await waitUntil("the inactive event", () => eventsFor(receiver, "w").some((e) => e.to === "inactive"), 1000, 20);

    // up again on the same port
    const w2 = await startUas({ scenario: "uas.xml", port: wPort, transport: "udp", dir: h.dir, name: "hook-uas-w2" });
    const active = await waitForState(gw, "w", "active", 3 * PROBE_INTERVAL_MS + 2000);
    await waitUntil("the active event", () => eventsFor(receiver, "w").some((e) => e.to === "active"), 1000, 20);
    await w2.stop();
    await steady.stop();
    await gw.stop();
    const end = Date.now();

    // what was posted
    const events = receiver.requests.map(eventOf);
    const transitions = eventsFor(receiver, "w")
      .sort((x, y) => Date.parse(x.at) - Date.parse(y.at))
      .map((e) => `${e.from}→${e.to}`);
    assert.deepEqual(transitions, ["active→probing", "probing→inactive", "inactive→active"], `events for w: ${JSON.stringify(events, null, 1)}`);
    assert.deepEqual(eventsFor(receiver, "steady"), [], "events for the healthy destination");
    assert.equal(events.length, 3);
    const byTo = new Map(eventsFor(receiver, "w").map((e) => [e.to, e] as const));
    assert.match(byTo.get("probing")?.reason ?? "", /probe timeout \(1 consecutive\)/);
    assert.match(byTo.get("inactive")?.reason ?? "", /probe timeout \(2 consecutive\)/);
    assert.match(byTo.get("active")?.reason ?? "", /\(2 consecutive\)/);
    const inactiveAt = Date.parse(byTo.get("inactive")?.at ?? "");
    const activeAt = Date.parse(byTo.get("active")?.at ?? "");
    assert.ok(inactiveAt >= killedAt && inactiveAt <= inactive.at, `inactive event at ${byTo.get("inactive")?.at}: between the kill and the API showing it`);
    assert.ok(activeAt > inactive.at && activeAt <= active.at, `active event at ${byTo.get("active")?.at}: after inactive, before the API showed active`);
    const arrivedInactive = receiver.requests.find((r) => eventOf(r).to === "inactive")?.at ?? Infinity;
    assert.ok(arrivedInactive - inactiveAt <= 1000, `the inactive event was delivered ${arrivedInactive - inactiveAt} ms after the change`);

    const ids = new Set<string>();
    for (const r of receiver.requests) {
      const e = eventOf(r);
      assert.equal(r.method, "POST");
      assert.equal(r.url, "/hooks/switchboard");
      assert.match(String(r.headers["content-type"]), /^application\/json/);
      assert.equal(r.headers["x-switchboard-event-id"], e.id);
      assert.equal(e.type, "destination.state");
      assert.ok(!ids.has(e.id), `duplicate event id ${e.id}`);
      ids.add(e.id);
      const at = Date.parse(e.at);
      assert.ok(at >= t0 && at <= end, `event time ${e.at} outside the run`);
      const header = r.headers[SIGNATURE_HEADER.toLowerCase()];
      assert.equal(typeof header, "string", `no ${SIGNATURE_HEADER} on ${r.body}`);
      const good = await verifySignature(SECRET, r.body, header as string);
      assert.deepEqual(good.ok, true, `signature of ${r.body}: ${JSON.stringify(good)}`);
      assert.deepEqual(await verifySignature("another-secret-0123456789abcdef", r.body, header as string), { ok: false, reason: "mismatch" });
      assert.deepEqual(await verifySignature(SECRET, r.body.replace(/"to":"(\w+)"/, '"to":"disabled"'), header as string), { ok: false, reason: "mismatch" });
    }
    process.stdout.write(
      `# webhook: ${transitions.join(", ")}; inactive ${inactiveAt - killedAt} ms after SIGKILL, delivered ${arrivedInactive - inactiveAt} ms later; all ${receiver.requests.length} signatures valid\n`,
    );
  }),
);
