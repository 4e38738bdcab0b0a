import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../config.ts";
import { FakeClock } from "../transaction/fake-clock.ts";
import { systemClock } from "../transaction/clock.ts";
import { warmUp } from "./warmup.ts";

function config(extra: Record<string, string> = {}) {
  const parsed = parseConfig({ SWITCHBOARD_SIP_LISTEN: "udp:127.0.0.1:5060", SWITCHBOARD_DESTINATIONS: "sip:10.0.0.1:5060", ...extra });
  if (!parsed.ok) throw parsed.error;
  return parsed.config;
}

test("warmUp runs complete synthetic calls through a private core", async () => {
  const report = await warmUp({ config: config(), clock: systemClock, calls: 60, batch: 20 });
  assert.equal(report.calls, 60);
  assert.equal(report.incomplete, 0, report.firstProblem);
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
