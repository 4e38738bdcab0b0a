import { test } from "node:test";
import assert from "node:assert/strict";
import { createAdminApp } from "./admin.ts";
import { DestinationRegistry } from "../src/destination/registry.ts";
import { MemoryDialogStore } from "../src/dialog/memory.ts";

const TOKEN = "test-token-0123456789";
const auth = { Authorization: `Bearer ${TOKEN}` };

function app() {
  const destinations = new DestinationRegistry();
  destinations.add({ uri: "sip:127.0.0.1:5070" });
  const dialogs = new MemoryDialogStore();
  return { destinations, dialogs, app: createAdminApp({ token: TOKEN, destinations, dialogs, status: () => ({ ready: true, draining: false, counters: {} }) }) };
}

test("healthz needs no token; /v1 needs the bearer token", async () => {
  const { app: a } = app();
  assert.equal((await a.request("/healthz")).status, 200);
  assert.equal((await a.request("/v1/destinations")).status, 401);
  assert.equal((await a.request("/v1/destinations", { headers: { Authorization: "Bearer wrong" } })).status, 401);
  assert.equal((await a.request("/v1/destinations", { headers: auth })).status, 200);
});

test("destinations can be listed, added (201, 409 on duplicates) and deleted (204, 404)", async () => {
  const { app: a } = app();
  const post = (body: unknown) => a.request("/v1/destinations", { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(body) });
  const created = await post({ uri: "sip:127.0.0.1:5072;transport=tcp", id: "pbx2" });
  assert.equal(created.status, 201);
  assert.deepEqual(await created.json(), { id: "pbx2", uri: "sip:127.0.0.1:5072;transport=tcp", state: "active" });
  assert.equal((await post({ uri: "sip:127.0.0.1:5072;transport=tcp" })).status, 409);
  const list = (await (await a.request("/v1/destinations", { headers: auth })).json()) as { id: string }[];
  assert.deepEqual(list.map((d) => d.id), ["d1", "pbx2"]);
  assert.equal((await a.request("/v1/destinations/pbx2", { method: "DELETE", headers: auth })).status, 204);
  assert.equal((await a.request("/v1/destinations/pbx2", { method: "DELETE", headers: auth })).status, 404);
});

test("a bad body gets 400 listing every bad field", async () => {
  const { app: a } = app();
  const res = await a.request("/v1/destinations", {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ uri: "http://nope", id: "bad id!", state: "sleepy" }),
  });
  assert.equal(res.status, 400);
  const body = (await res.json()) as { issues: string[] };
  assert.equal(body.issues.length, 3, JSON.stringify(body));
  for (const field of ["uri", "id", "state"]) assert.ok(body.issues.some((i) => i.startsWith(`${field}:`)), field);
  const notJson = await a.request("/v1/destinations", { method: "POST", headers: auth, body: "{" });
  assert.equal(notJson.status, 400);
});
