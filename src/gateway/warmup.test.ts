import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../config.ts";
import { FakeClock } from "../transaction/fake-clock.ts";
import { systemClock } from "../transaction/clock.ts";
import { privateCore, startWarmUp, warmUp } from "./warmup.ts";

function config(extra: Record<string, string> = {}) {
  const parsed = parseConfig({ SWITCHBOARD_SIP_LISTEN: "udp:127.0.0.1:5060", SWITCHBOARD_DESTINATIONS: "sip:10.0.0.1:5060", ...extra });
  if (!parsed.ok) throw parsed.error;
  return parsed.config;
}

test("warmUp runs complete synthetic calls through a private core", async () => {
  const report = await warmUp({ config: config(), clock: systemClock, calls: 60, batch: 20 });
  assert.equal(report.calls, 60);
  assert.equal(report.incomplete, 0, report.firstProblem);
  assert.equal(report.datagrams, 120, "then twice as many datagrams over loopback (warmup-udp.ts)");
  assert.ok(report.ms >= 0);
});

test("warmUp leaves no timer armed behind it (its core is disposed)", async () => {
  const clock = new FakeClock(1_000);
  const report = await warmUp({ config: config(), clock, calls: 40, batch: 20 });
  assert.equal(report.incomplete, 0, report.firstProblem);
  assert.equal(clock.pendingCount, 0);
});

test("warmUp stops between batches once told to", async () => {
  let batches = 0;
  const report = await warmUp({ config: config(), clock: systemClock, calls: 1000, batch: 10, stopped: () => batches++ >= 2 });
  assert.equal(report.calls, 20);
  assert.equal(report.incomplete, 0);
});

test("warmUp is independent of the gateway's own destinations and listen address", async () => {
  // a configuration with no destinations at all and TCP only: the warm-up brings its own catalog and UDP peers
  const report = await warmUp({ config: config({ SWITCHBOARD_DESTINATIONS: "", SWITCHBOARD_SIP_LISTEN: "tcp:127.0.0.1:5070" }), clock: systemClock, calls: 20 });
  assert.equal(report.calls, 20);
  assert.equal(report.incomplete, 0, report.firstProblem);
});

test("startWarmUp counts the calls on the gateway's counters and logs once", async () => {
  const { Counters } = await import("./counters.ts");
  const counters = new Counters();
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const log = { enabled: () => true, log: (level: string, msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields }) };
  await startWarmUp({ config: config(), clock: systemClock, calls: 40 }, { counters, log: log as never, fields: { shard: 1 } });
  assert.equal(counters.get("warmup.calls"), 40);
  assert.equal(counters.get("warmup.incomplete"), 0);
  assert.deepEqual(lines.map((l) => [l.level, l.msg, l.fields?.shard, l.fields?.calls]), [["info", "warm-up done", 1, 40]]);
});

test("the synthetic calls come in both ways of writing a call, and the core's health probes are answered", async () => {
  const { SyntheticCalls } = await import("./synthetic-calls.ts");
  const peers = { host: "192.0.2.1", gateway: 5060, caller: 5062, destinations: [5070, 5072] };
  const synthetic = new SyntheticCalls(peers);
  const { core, catalog } = await privateCore({ config: config(), clock: systemClock, peers, send: synthetic.send, name: "test" });
  try {
    const probe = core.probe({ transport: "udp", host: "192.0.2.1", port: 5070 }, "sip:192.0.2.1:5070", { from: "<sip:test@192.0.2.1>", maxForwards: 70, timeoutMs: 5000 });
    const calls = await synthetic.batch(4, (data, source) => core.handle(data, source));
    assert.deepEqual(synthetic.incomplete(calls), []);
    assert.deepEqual(calls.map((c) => c.variant), [0, 1, 0, 1]);
    const outcome = await probe;
    assert.equal(outcome.result, "reply");
    assert.equal(outcome.result === "reply" ? outcome.status : 0, 200);
    assert.equal(synthetic.probesAnswered, 1);
  } finally {
    core.dispose();
    await catalog.close();
  }
});
