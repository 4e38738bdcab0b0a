/**
 * Two gateways on one store probe each destination once per interval, not once each (real redis-server,
 * SWITCHBOARD_REDIS_URL; one SQL catalog file; tick 200 ms on both; two sipp UAS destinations probed every second).
 *
 * From each destination's own trace (sipp -aa answers the OPTIONS and traces them), 11 consecutive probes = 10
 * intervals. Proves:
 * - they span 10 intervals, not 5: 9 s ≤ t(11th) − t(1st) ≤ 14 s. Both gateways probing on their own would put
 *   about 20 probes in 10 intervals (the 11th within ~5 s). Tolerance: a probe is due 90-100 % of the interval after
 *   the last one was sent (jitter up to 10 % early) and goes out on the first tick after that (≤ 200 ms late), so
 *   each gap should be 900-1200 ms; checked one by one as ≥ 850 ms (never two probes within the 900 ms lease: the
 *   point of the bar) and ≤ 1600 ms (a skipped tick on a busy machine is not what this test is about);
 * - every probe is its own transaction (distinct Call-ID); which gateway sent each (top Via port) is reported;
 * - one webhook per state change, not one per gateway: both gateways post to the same receiver; y's sipp is SIGKILLed
 *   and restarted on its port; both gateways show it inactive, then active, and the receiver got exactly
 *   active → probing → inactive → active for y (each signed), nothing for x;
 * - gateway B probes too: after A is stopped, the probes go on at the same cadence, all from B (so B's share before
 *   was held back by the shared lease, not by a monitor that does nothing), and both gateways showed the same health.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { harness } from "../support/harness.ts";
import { freePorts } from "../support/ports.ts";
import { startUas, type SippUas } from "../support/sipp.ts";
import { waitUntil } from "../support/process.ts";
import { startRedisServer } from "../support/redis-server.ts";
import { catalogUrl, startEngineGateway, tally } from "../support/engine.ts";
import { select, type TracedMessage } from "../support/sipp-log.ts";
import { SIGNATURE_HEADER, verifySignature } from "../../src/webhook/signature.ts";
import { PROBE_INTERVAL_MS, WebhookReceiver, addDestination, healthRow, traceMs, viaPort, waitForRow, waitForState } from "../support/health.ts";

const h = harness("health-two-gateways");
before(() => h.setup());
after(() => h.teardown());

const TICK_MS = 200;
const SECRET = "e2e-webhook-secret-0123456789abcdef";
const MIN_GAP_MS = 0.9 * PROBE_INTERVAL_MS - 50;
const MAX_GAP_MS = PROBE_INTERVAL_MS + 2 * TICK_MS + 200;

/** The OPTIONS a UAS received after `since` (epoch ms), first copy per Call-ID, in order. */
async function probes(uas: SippUas, since: number): Promise<TracedMessage[]> {
  const seen = new Set<string>();
  const out: TracedMessage[] = [];
  for (const m of select(await uas.messages(), { direction: "received", method: "OPTIONS" })) {
    if (traceMs(m) <= since || seen.has(m.callId)) continue;
    seen.add(m.callId);
    out.push(m);
  }
  return out;
}

function gapProblems(name: string, list: readonly TracedMessage[]): { gaps: number[]; problems: string[] } {
  const gaps: number[] = [];
  const problems: string[] = [];
  for (let i = 1; i < list.length; i++) {
    const gap = traceMs(list[i]!) - traceMs(list[i - 1]!);
    gaps.push(gap);
    if (gap < MIN_GAP_MS || gap > MAX_GAP_MS) {
      problems.push(`${name}: probes ${i} and ${i + 1} ${gap} ms apart (${list[i - 1]!.time} via :${viaPort(list[i - 1]!)}, ${list[i]!.time} via :${viaPort(list[i]!)})`);
    }
  }
  return { gaps, problems };
}

test(
  "two gateways on one store: each destination gets one OPTIONS per interval, not two",
  h.wrap(async () => {
    const redis = await startRedisServer();
    h.defer(() => redis.stop());
    const databaseUrl = catalogUrl(h.dir);
    const [px, py] = (await freePorts(2)) as [number, number];
    const uas: Record<"x" | "y", SippUas> = {
      x: await startUas({ scenario: "uas.xml", port: px, transport: "udp", dir: h.dir, name: "probe-uas-x" }),
      y: await startUas({ scenario: "uas.xml", port: py, transport: "udp", dir: h.dir, name: "probe-uas-y" }),
    };
    const receiver = await WebhookReceiver.start();
    h.defer(() => receiver.close());
    const env = { SWITCHBOARD_WEBHOOK_URLS: receiver.url(), SWITCHBOARD_WEBHOOK_SECRET: SECRET };
    const a = await startEngineGateway({ name: "probe-gw-a", dir: h.dir, redis, databaseUrl, tickMs: TICK_MS, env });
    h.defer(() => a.stop());
    await addDestination(a, { id: "x", uri: `sip:127.0.0.1:${px}` });
    await addDestination(a, { id: "y", uri: `sip:127.0.0.1:${py}` });
    const b = await startEngineGateway({ name: "probe-gw-b", dir: h.dir, redis, databaseUrl, tickMs: TICK_MS, env });
    h.defer(() => b.stop());
    for (const id of ["x", "y"]) await waitForRow(b, id, "known to B and probed alive", (r) => r.lastProbe?.result === "alive", 5000);

    // both gateways up and ticking: count from here
    const since = Date.now();
    const N = 11;
    const windows = new Map<string, TracedMessage[]>();
    await waitUntil(
      `${N} probes at each destination`,
      async () => {
        for (const [name, u] of Object.entries(uas)) windows.set(name, (await probes(u, since)).slice(0, N));
        return [...windows.values()].every((l) => l.length >= N);
      },
      N * MAX_GAP_MS + 5000,
      200,
    );
    const ports = { [a.sipPort]: "A", [b.sipPort]: "B" } as Record<number, string>;
    const summary: string[] = [];
    const problems: string[] = [];
    for (const [name, list] of windows) {
      const span = traceMs(list[N - 1]!) - traceMs(list[0]!);
      const by = tally(list, (m) => ports[viaPort(m) ?? 0] ?? `unknown :${viaPort(m)}`);
      summary.push(`${name}: ${N} probes in ${span} ms, by ${JSON.stringify(by)}`);
      if (span < 10 * 0.9 * PROBE_INTERVAL_MS || span > 10 * PROBE_INTERVAL_MS + 4000) problems.push(`${name}: ${N} probes spanned ${span} ms (bar: 9000-14000 ms for 10 intervals)`);
      problems.push(...gapProblems(name, list).problems);
      const unknown = Object.keys(by).filter((k) => k !== "A" && k !== "B");
      if (unknown.length > 0) problems.push(`${name}: probes from neither gateway: ${unknown.join(", ")}`);
    }
    assert.deepEqual(problems, [], `${summary.join("\n")}\n${problems.join("\n")}`);
    for (const id of ["x", "y"]) {
      const [ra, rb] = [await healthRow(a, id), await healthRow(b, id)];
      assert.equal(ra.state, "active");
      assert.equal(rb.state, "active");
      assert.equal(rb.lastProbe?.result, "alive");
    }

    // y goes down and comes back: one event per change, however many gateways saw it
    assert.deepEqual(receiver.requests.map((r) => r.body), [], "events posted while both destinations were healthy");
    uas.y.proc.signal("SIGKILL");
    await uas.y.proc.waitForExit(5000);
    for (const gw of [a, b]) await waitForState(gw, "y", "inactive", 4 * PROBE_INTERVAL_MS + 2000);
    uas.y = await startUas({ scenario: "uas.xml", port: py, transport: "udp", dir: h.dir, name: "probe-uas-y2" });
    for (const gw of [a, b]) await waitForState(gw, "y", "active", 3 * PROBE_INTERVAL_MS + 2000);
    await waitUntil("the active event for y", () => receiver.requests.some((r) => r.body.includes('"to":"active"')), 2000, 20);
    // (the events are counted at the end, once both gateways have stopped: a stop drains the webhook queue)

    // A stops: B keeps the cadence alone
    await a.stop();
    const stoppedAt = Date.now();
    const M = 4;
    const afterStop = new Map<string, TracedMessage[]>();
    await waitUntil(
      `${M} probes at each destination after A stopped`,
      async () => {
        for (const [name, u] of Object.entries(uas)) afterStop.set(name, (await probes(u, stoppedAt)).slice(0, M));
        return [...afterStop.values()].every((l) => l.length >= M);
      },
      M * MAX_GAP_MS + 3000,
      200,
    );
    const problemsB: string[] = [];
    for (const [name, list] of afterStop) {
      const notB = list.filter((m) => viaPort(m) !== b.sipPort);
      if (notB.length > 0) problemsB.push(`${name}: ${notB.length} probe(s) after A stopped not from B`);
      problemsB.push(...gapProblems(`${name} (B alone)`, list).problems);
    }
    assert.deepEqual(problemsB, []);
    await b.stop();

    const posted = receiver.requests.map((r) => JSON.parse(r.body) as { destination: string; from: string; to: string });
    assert.deepEqual(
      posted.map((e) => `${e.destination}: ${e.from}→${e.to}`),
      ["y: active→probing", "y: probing→inactive", "y: inactive→active"],
      "webhook events with two gateways posting (one per change)",
    );
    for (const r of receiver.requests) {
      const sig = await verifySignature(SECRET, r.body, r.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined);
      assert.equal(sig.ok, true, `signature of ${r.body}: ${JSON.stringify(sig)}`);
    }
    process.stdout.write(`# two gateways: ${summary.join("; ")}; y down and up: ${posted.length} webhook events from 2 gateways; after A stopped, B alone kept ${M} probes per destination at the same cadence\n`);
  }),
);
