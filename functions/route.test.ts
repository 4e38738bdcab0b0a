import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { createRouteApp, decideRoute, localState, type RoutePorts } from "./route.ts";
import { MemoryCatalog } from "../src/db/catalog-memory.ts";
import { seedQuickStart } from "../src/db/quick-start.ts";
import { NewDestinationSchema } from "../src/destination/destination.ts";
import { NewRuleSchema } from "../src/routing/rule.ts";
import { NewSetSchema } from "../src/routing/set.ts";
import type { Load } from "../src/dialog/dialog.ts";
import { EVENT_VERSION, RouteDecisionSchema, type RequestEvent, type RouteDecision } from "../src/events/route.ts";

const event: RequestEvent = {
  type: "request",
  version: EVENT_VERSION,
  method: "INVITE",
  requestUri: "sip:svc@127.0.0.1",
  callId: "c1",
  from: { uri: "sip:a@x", tag: "t" },
  to: { uri: "sip:svc@x" },
  source: { transport: "udp", address: "127.0.0.1", port: 5062 },
};

function seq(): () => number {
  let x = 0x2545f491;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function ports(catalog: MemoryCatalog, load: Record<string, Load> = {}): RoutePorts & { loadCalls: number } {
  const p = {
    loadCalls: 0,
    snapshot: () => catalog.snapshot(),
    load: async (ids: readonly string[]) => {
      p.loadCalls++;
      return Object.fromEntries(ids.map((id) => [id, load[id] ?? {}]));
    },
    state: localState(),
    random: seq(),
  };
  return p;
}

async function catalogWith(algorithm: string, dests: { id: string; calls?: number; state?: string; weight?: number }[], rule: Record<string, unknown> = {}) {
  const catalog = new MemoryCatalog();
  const set = await catalog.createSet(v.parse(NewSetSchema, { name: "pstn", algorithm, resources: ["calls"], hashKey: "call-id" }));
  assert.ok(set.ok);
  for (const d of dests) {
    const input = v.parse(NewDestinationSchema, {
      id: d.id,
      uri: `sip:127.0.0.1:${5070 + dests.indexOf(d) * 2}`,
      set: "pstn",
      weight: d.weight ?? 1,
      resources: d.calls === undefined ? {} : { calls: d.calls },
      state: d.state ?? "active",
    });
    const created = await catalog.createDestination({ ...input, set: "pstn" });
    assert.ok(created.ok, JSON.stringify(created));
  }
  const created = await catalog.createRule(v.parse(NewRuleSchema, { match: {}, set: "pstn", priority: 10, ...rule }));
  assert.ok(created.ok);
  return catalog;
}

const relayIds = (d: RouteDecision) => (d.action === "relay" ? d.destinations.map((x) => x.id) : d);

test("the quick start still balances round robin, the rest of the rotation as failover order", async () => {
  const catalog = new MemoryCatalog();
  await seedQuickStart(catalog, ["sip:127.0.0.1:5070", "sip:127.0.0.1:5072", "sip:127.0.0.1:5074"]);
  const p = ports(catalog);
  const firsts: unknown[] = [];
  for (let i = 0; i < 4; i++) firsts.push(relayIds(await decideRoute(event, p)));
  const ids = catalog.snapshot().destinations.map((d) => d.id);
  assert.deepEqual(firsts, [ids, [ids[1], ids[2], ids[0]], [ids[2], ids[0], ids[1]], ids]);
  assert.equal(p.loadCalls, 0, "round robin needs no load round trip");
});

test("no rule matches: the configured rejection, never a relay", async () => {
  const catalog = await catalogWith("round-robin", [{ id: "a" }], { match: { requestUserPrefix: "+44" } });
  assert.deepEqual(await decideRoute(event, ports(catalog)), { action: "reply", status: 404, reason: "No Route" });
  assert.deepEqual(await decideRoute(event, { ...ports(catalog), noRoute: { status: 403, reason: "Forbidden" } }), { action: "reply", status: 403, reason: "Forbidden" });
});

test("draining and disabled destinations get no new calls; none left is 503 No Destination Available", async () => {
  const catalog = await catalogWith("round-robin", [{ id: "a", state: "draining" }, { id: "b" }, { id: "c", state: "disabled" }]);
  const p = ports(catalog);
  for (let i = 0; i < 5; i++) assert.deepEqual(relayIds(await decideRoute(event, p)), ["b"]);
  const none = await catalogWith("round-robin", [{ id: "a", state: "draining" }]);
  assert.deepEqual(await decideRoute(event, ports(none)), { action: "reply", status: 503, reason: "No Destination Available" });
});

test("least-loaded asks the store for load once and picks the most free room; the decision carries capacities and units", async () => {
  const catalog = await catalogWith("least-loaded", [{ id: "a", calls: 10 }, { id: "b", calls: 20 }, { id: "c", calls: 30 }], { resources: { calls: 1 } });
  const p = ports(catalog, { a: { calls: 2 }, b: { calls: 15 }, c: { calls: 29 } });
  const decision = await decideRoute(event, p);
  assert.ok(v.is(RouteDecisionSchema, decision));
  assert.equal(p.loadCalls, 1);
  assert.equal(decision.action, "relay");
  if (decision.action !== "relay") return;
  assert.deepEqual(decision.destinations.map((d) => d.id), ["a", "b", "c"], "free room 8, 5, 1");
  assert.deepEqual(decision.destinations[0]!.capacities, { calls: 10 });
  assert.deepEqual(decision.units, { calls: 1 });
});

test("least-loaded with every destination full is 503 No Capacity (distinct from no destination)", async () => {
  const catalog = await catalogWith("least-loaded", [{ id: "a", calls: 10 }, { id: "b", calls: 20 }]);
  const decision = await decideRoute(event, ports(catalog, { a: { calls: 10 }, b: { calls: 20 } }));
  assert.deepEqual(decision, { action: "reply", status: 503, reason: "No Capacity" });
  const custom = await catalogWith("least-loaded", [{ id: "a", calls: 1 }], { replyNoMatch: 486 });
  assert.deepEqual(await decideRoute(event, ports(custom, { a: { calls: 1 } })), { action: "reply", status: 486, reason: "No Capacity" });
});

test("hash on Call-ID keeps every request of a call on one destination", async () => {
  const catalog = await catalogWith("hash", [{ id: "a" }, { id: "b" }, { id: "c" }]);
  const p = ports(catalog);
  const seen = new Map<string, string>();
  for (let i = 0; i < 200; i++) {
    const callId = `call-${i % 50}`;
    const first = relayIds(await decideRoute({ ...event, callId }, p)) as string[];
    const before = seen.get(callId);
    if (before !== undefined) assert.equal(first[0], before, callId);
    seen.set(callId, first[0]!);
  }
  assert.equal(new Set(seen.values()).size, 3, "all destinations used");
});

test("a header rule sends matching requests to its set; the event carries only the headers rules use", async () => {
  const catalog = await catalogWith("round-robin", [{ id: "a" }], { match: { header: { name: "X-Tenant", op: "exact", value: "blue" } } });
  const p = ports(catalog);
  assert.deepEqual(relayIds(await decideRoute({ ...event, headers: { "x-tenant": ["blue"] } }, p)), ["a"]);
  assert.equal((await decideRoute({ ...event, headers: { "x-tenant": ["red"] } }, p)).action, "reply");
});

test("over HTTP the event is validated (400 lists the bad fields) and the decision matches the schema", async () => {
  const catalog = new MemoryCatalog();
  await seedQuickStart(catalog, ["sip:127.0.0.1:5070"]);
  const app = createRouteApp(ports(catalog));
  const ok = await app.request("/v1/route", { method: "POST", body: JSON.stringify(event), headers: { "content-type": "application/json" } });
  assert.equal(ok.status, 200);
  assert.ok(v.is(RouteDecisionSchema, await ok.json()));
  const bad = await app.request("/v1/route", { method: "POST", body: JSON.stringify({ ...event, method: "IN VITE", callId: "" }) });
  assert.equal(bad.status, 400);
  const body = (await bad.json()) as { issues: string[] };
  assert.ok(body.issues.some((i) => i.startsWith("method:")) && body.issues.some((i) => i.startsWith("callId:")), JSON.stringify(body));
});
