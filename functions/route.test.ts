import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { createRouteApp, decideRoute, localTurns } from "./route.ts";
import { EVENT_VERSION, RouteDecisionSchema, type RequestEvent } from "../src/events/route.ts";

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

function registry(...uris: string[]) {
  const destinations = uris.map((uri, i) => ({ id: `d${i + 1}`, uri, state: "active" as const }));
  return { snapshot: () => destinations };
}

test("round robin over active destinations with the rest as the failover order", () => {
  const r = registry("sip:127.0.0.1:5070", "sip:127.0.0.1:5072", "sip:127.0.0.1:5074");
  const ports = { destinations: () => r.snapshot(), turn: localTurns() };
  const firsts = [0, 1, 2, 3].map(() => {
    const d = decideRoute(event, ports);
    assert.equal(d.action, "relay");
    return d.action === "relay" ? d.destinations.map((x) => x.id) : [];
  });
  assert.deepEqual(firsts, [["d1", "d2", "d3"], ["d2", "d3", "d1"], ["d3", "d1", "d2"], ["d1", "d2", "d3"]]);
});

test("no destination at all is a 503, not a relay anywhere", () => {
  assert.deepEqual(decideRoute(event, { destinations: () => [], turn: () => 0 }), { action: "reply", status: 503, reason: "No Destination Available" });
});

test("over HTTP the event is validated (400 lists the bad fields) and the decision matches the schema", async () => {
  const r = registry("sip:127.0.0.1:5070");
  const app = createRouteApp({ destinations: () => r.snapshot(), turn: localTurns() });
  const ok = await app.request("/v1/route", { method: "POST", body: JSON.stringify(event), headers: { "content-type": "application/json" } });
  assert.equal(ok.status, 200);
  assert.ok(v.is(RouteDecisionSchema, await ok.json()));
  const bad = await app.request("/v1/route", { method: "POST", body: JSON.stringify({ ...event, method: "IN VITE", callId: "" }) });
  assert.equal(bad.status, 400);
  const body = (await bad.json()) as { issues: string[] };
  assert.ok(body.issues.some((i) => i.startsWith("method:")) && body.issues.some((i) => i.startsWith("callId:")), JSON.stringify(body));
});
