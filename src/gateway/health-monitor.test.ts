import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryCatalog } from "../db/catalog-memory.ts";
import { seedQuickStart } from "../db/quick-start.ts";
import { MemoryDialogState, MemoryDialogStore } from "../dialog/memory.ts";
import { DEFAULT_HEALTH_POLICY } from "../health/state.ts";
import type { WebhookSender } from "../webhook/sender.ts";
import type { WebhookEvent } from "../webhook/event.ts";
import { Counters } from "./counters.ts";
import { HealthMonitor } from "./health-monitor.ts";
import type { ProbeOutcome } from "./proxy-core.ts";

const quiet = { enabled: () => false, log: () => {} };

async function setup(gateways = 1) {
  const catalog = new MemoryCatalog();
  await seedQuickStart(catalog, ["sip:127.0.0.1:5070"]);
  const [dest] = catalog.snapshot().destinations;
  assert.ok(dest);
  let now = 1_000_000;
  const state = new MemoryDialogState();
  let answer: ProbeOutcome = { result: "reply", status: 200, latencyMs: 3 };
  const probes: string[] = [];
  const events: WebhookEvent[] = [];
  const webhooks = { send: (event: WebhookEvent) => (events.push(event), true) } as unknown as WebhookSender;
  const monitors = Array.from({ length: gateways }, (_, i) => {
    const counters = new Counters();
    return {
      counters,
      monitor: new HealthMonitor({
        store: new MemoryDialogStore(() => now, { state }),
        snapshot: () => catalog.snapshot(),
        probe: async () => {
          probes.push(`gw${i}`);
          return answer;
        },
        now: () => now,
        policy: DEFAULT_HEALTH_POLICY,
        gatewayId: `gw${i}`,
        probeFrom: "<sip:probe@127.0.0.1>",
        probeMaxForwards: 70,
        log: quiet,
        counters,
        webhooks,
      }),
    };
  });
  return {
    dest,
    monitors,
    probes,
    events,
    advance: (ms: number) => (now += ms),
    answer: (a: ProbeOutcome) => (answer = a),
  };
}

test("a dead destination goes probing then inactive (unroutable) on failed probes, and back after two good ones", async () => {
  const t = await setup();
  const { monitor, counters } = t.monitors[0]!;
  await monitor.tick();
  assert.equal(monitor.effective(t.dest).state, "active");
  t.answer({ result: "timeout", elapsedMs: 4000 });
  for (const expected of ["probing", "inactive"]) {
    t.advance(10_000);
    await monitor.tick();
    assert.equal(monitor.effective(t.dest).state, expected);
  }
  assert.equal(monitor.effective(t.dest).routable, false);
  t.answer({ result: "reply", status: 200, latencyMs: 2 });
  t.advance(10_000);
  await monitor.tick();
  assert.equal(monitor.effective(t.dest).state, "inactive", "one success is not enough (no flapping)");
  t.advance(10_000);
  await monitor.tick();
  assert.equal(monitor.effective(t.dest).state, "active");
  assert.deepEqual(t.events.map((e) => `${e.from}->${e.to}`), ["active->probing", "probing->inactive", "inactive->active"]);
  assert.equal(counters.get("health.changes.inactive"), 1);
});

test("several gateways on one store send one probe per interval between them (the lease)", async () => {
  const t = await setup(3);
  for (let round = 0; round < 10; round++) {
    await Promise.all(t.monitors.map(({ monitor }) => monitor.tick()));
    t.advance(10_000);
  }
  assert.equal(t.probes.length, 10, `probes sent: ${t.probes.join(",")}`);
});

test("call evidence: failures count at once; successes reach the store only when they can change something", async () => {
  const t = await setup();
  const { monitor, counters } = t.monitors[0]!;
  monitor.traffic(t.dest.id, { source: "traffic", result: "success" });
  assert.equal(counters.get("health.traffic.success"), 0, "a healthy destination costs no store write per call");
  monitor.traffic(t.dest.id, { source: "traffic", result: "transport-error" });
  monitor.traffic(t.dest.id, { source: "traffic", result: "transport-error" });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(monitor.effective(t.dest).state, "inactive");
  monitor.traffic(t.dest.id, { source: "traffic", result: "success" });
  assert.equal(counters.get("health.traffic.success"), 1, "a recovering destination's successes are recorded");
});

test("a 503 with Retry-After pauses the destination for that long", async () => {
  const t = await setup();
  const { monitor } = t.monitors[0]!;
  monitor.traffic(t.dest.id, { source: "traffic", result: "503", retryAfterS: 5 });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(monitor.effective(t.dest).routable, false);
  t.advance(5_001);
  assert.equal(monitor.effective(t.dest).routable, true);
});

test("a probe timeout noticed far past its deadline (our own overload) is not evidence against the destination", async () => {
  const t = await setup();
  const { monitor, counters } = t.monitors[0]!;
  t.answer({ result: "timeout", elapsedMs: 60_000 }); // the deadline is 4 s: the event loop was stalled
  for (let i = 0; i < 3; i++) {
    await monitor.tick();
    t.advance(10_000);
  }
  assert.equal(monitor.effective(t.dest).state, "active");
  assert.equal(counters.get("probes.discarded-overload"), 3);
  assert.deepEqual(t.events, []);
});
