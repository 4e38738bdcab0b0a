import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import { createRouteApp, localState } from "../../functions/route.ts";
import { MemoryCatalog } from "../db/catalog-memory.ts";
import { seedQuickStart } from "../db/quick-start.ts";
import { EVENT_VERSION, type RequestEvent, type RouteDecision } from "../events/route.ts";
import { Counters } from "./counters.ts";
import { remoteRoute } from "./remote-route.ts";

const quiet = { enabled: () => false, log: () => {} };
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
const LOCAL: RouteDecision = { action: "reply", status: 480, reason: "Local Fallback" };
const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

async function serve(app: Hono): Promise<string> {
  const server = createServer(getRequestListener(app.fetch));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address && typeof address === "object");
  return `http://127.0.0.1:${address.port}/v1/route`;
}

test("remote mode takes the decision of the route function over real HTTP, with its token", async () => {
  const catalog = new MemoryCatalog();
  await seedQuickStart(catalog, ["sip:127.0.0.1:5070"]);
  const id = catalog.snapshot().destinations[0]!.id;
  const ports = { snapshot: () => catalog.snapshot(), load: async () => ({}), state: localState(), random: Math.random };
  const url = await serve(createRouteApp(ports, { token: "route-token-0123456789" }));
  const counters = new Counters();
  const route = remoteRoute({ url, token: "route-token-0123456789", deadlineMs: 2000, fallback: () => LOCAL, counters, log: quiet });
  assert.deepEqual(await route(event), { action: "relay", destinations: [{ id, uri: "sip:127.0.0.1:5070", capacities: {} }], units: { calls: 1 } });
  assert.equal(counters.get("route.remote.ok"), 1);
  const noToken = remoteRoute({ url, deadlineMs: 2000, fallback: () => LOCAL, counters, log: quiet });
  assert.deepEqual(await noToken(event), LOCAL, "401 without the token falls back");
  assert.equal(counters.get("route.remote.fallback.status"), 1);
});

test("a slow, invalid or unreachable function falls back to the in-process decision", async () => {
  const counters = new Counters();
  let release: () => void = () => {};
  const slowApp = new Hono().post("/v1/route", async (c) => {
    await new Promise<void>((resolve) => (release = resolve));
    return c.json(LOCAL);
  });
  const slow = remoteRoute({ url: await serve(slowApp), deadlineMs: 30, fallback: () => LOCAL, counters, log: quiet });
  assert.deepEqual(await slow(event), LOCAL);
  release();
  assert.equal(counters.get("route.remote.fallback.timeout"), 1);

  const invalidApp = new Hono().post("/v1/route", (c) => c.json({ action: "relay", destinations: [{ id: "x", uri: "http://evil" }] }));
  const invalid = remoteRoute({ url: await serve(invalidApp), deadlineMs: 2000, fallback: () => LOCAL, counters, log: quiet });
  assert.deepEqual(await invalid(event), LOCAL, "a decision naming a non-SIP URI is never applied");
  assert.equal(counters.get("route.remote.fallback.invalid"), 1);

  const closed = await serve(new Hono());
  servers.at(-1)!.close();
  await new Promise((resolve) => servers.at(-1)!.once("close", resolve));
  const unreachable = remoteRoute({ url: closed, deadlineMs: 2000, fallback: () => LOCAL, counters, log: quiet });
  assert.deepEqual(await unreachable(event), LOCAL);
  assert.equal(counters.get("route.remote.fallback.unreachable"), 1);
});
