/**
 * The admin API over app.request(), the same cases against every catalog adapter: MemoryCatalog, SqlCatalog on
 * :memory: and SqlCatalog on a temporary file (both with the schema applied from migrations/).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAdminApp, type AdminPorts } from "./admin.ts";
import { openApiDocument } from "./openapi.ts";
import type { Catalog } from "../src/db/catalog.ts";
import { MemoryCatalog } from "../src/db/catalog-memory.ts";
import { SqlCatalog } from "../src/db/catalog-sql.ts";
import { seedQuickStart } from "../src/db/quick-start.ts";
import type { Dialog } from "../src/dialog/dialog.ts";
import { MemoryDialogStore } from "../src/dialog/memory.ts";

const TOKEN = "test-token-0123456789";
const auth = { Authorization: `Bearer ${TOKEN}` };
const dir = mkdtempSync(join(tmpdir(), "switchboard-admin-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const catalogs: readonly { name: string; open(): Promise<Catalog> }[] = [
  { name: "memory", open: async () => new MemoryCatalog() },
  { name: "sql :memory:", open: () => SqlCatalog.open(":memory:") },
  { name: "sql file", open: () => SqlCatalog.open(`file:${join(dir, `admin-${files++}.db`)}`) },
];

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

async function harness(open: () => Promise<Catalog>, ports: Partial<AdminPorts> = {}) {
  const catalog = await open();
  await seedQuickStart(catalog, ["sip:127.0.0.1:5070"]);
  const dialogs = new MemoryDialogStore();
  const app = createAdminApp({ token: TOKEN, catalog, dialogs, status: () => ({ ready: true, draining: false, counters: {} }), ...ports });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = auth) => {
    const init: RequestInit = { method, headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) } };
    if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
    const res = await app.request(path, init);
    const text = await res.text();
    return { status: res.status, body: (text === "" ? undefined : JSON.parse(text)) as Json, headers: res.headers };
  };
  return { catalog, dialogs, app, call, close: () => catalog.close() };
}

for (const { name, open } of catalogs) {
  const caseTest = (title: string, body: (h: Awaited<ReturnType<typeof harness>>) => Promise<void>, ports?: Partial<AdminPorts>) =>
    test(`${name}: ${title}`, async () => {
      const h = await harness(open, ports);
      try {
        await body(h);
      } finally {
        await h.close();
      }
    });

  caseTest("healthz and the OpenAPI document need no token; /v1 needs the bearer token; errors are JSON", async ({ call }) => {
    assert.equal((await call("GET", "/healthz", undefined, {})).status, 200);
    const doc = await call("GET", "/v1/openapi.json", undefined, {});
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi, "3.1.0");
    const missing = await call("GET", "/v1/destinations", undefined, {});
    assert.deepEqual([missing.status, missing.body], [401, { error: "unauthorized" }]);
    assert.match(missing.headers.get("www-authenticate") ?? "", /Bearer/);
    assert.equal((await call("GET", "/v1/destinations", undefined, { Authorization: "Bearer wrong" })).status, 401);
    assert.equal((await call("GET", "/v1/status")).status, 200);
    assert.deepEqual(await call("GET", "/v1/nothing-here").then((r) => [r.status, r.body]), [404, { error: "not found" }]);
  });

  caseTest("sets: create 201, list, get, patch, delete 204; 409 while used; 404 unknown; 400 lists every bad field", async ({ call }) => {
    const created = await call("POST", "/v1/sets", { name: "pstn", algorithm: "least-loaded", resources: ["calls"] });
    assert.equal(created.status, 201);
    assert.deepEqual({ ...created.body, createdAt: 0, updatedAt: 0 }, { name: "pstn", algorithm: "least-loaded", hashKey: "call-id", resources: ["calls"], relative: false, createdAt: 0, updatedAt: 0 });
    assert.equal((await call("POST", "/v1/sets", { name: "pstn", algorithm: "hash" })).status, 409);
    assert.deepEqual((await call("GET", "/v1/sets")).body.map((s: Json) => s.name), ["default", "pstn"]);
    assert.equal((await call("GET", "/v1/sets/pstn")).body.algorithm, "least-loaded");
    assert.equal((await call("GET", "/v1/sets/nope")).status, 404);
    const patched = await call("PATCH", "/v1/sets/pstn", { algorithm: "hash", hashKey: "source", relative: true });
    assert.deepEqual([patched.status, patched.body.algorithm, patched.body.hashKey, patched.body.resources], [200, "hash", "source", ["calls"]]);
    assert.equal((await call("PATCH", "/v1/sets/nope", { relative: true })).status, 404);
    const bad = await call("POST", "/v1/sets", { name: "no spaces", algorithm: "fastest", hashKey: "via", resources: ["calls", "calls"], relative: "yes", colour: "red", size: 3 });
    assert.equal(bad.status, 400);
    for (const field of ["name", "algorithm", "hashKey", "resources", "relative", "colour", "size"]) assert.ok(bad.body.issues.some((i: string) => i.startsWith(field)), `${field}: ${JSON.stringify(bad.body)}`);
    const inUse = await call("DELETE", "/v1/sets/default");
    assert.equal(inUse.status, 409);
    assert.match(inUse.body.error, /1 destination\(s\) and 1 rule\(s\)/);
    assert.equal((await call("DELETE", "/v1/sets/pstn")).status, 204);
    assert.equal((await call("DELETE", "/v1/sets/pstn")).status, 404);
  });

  caseTest("destinations: 201 with the stored object and id; set defaults to default; 409 duplicates; 404 unknown set", async ({ call }) => {
    assert.equal((await call("POST", "/v1/sets", { name: "pstn", algorithm: "least-loaded", resources: ["calls"] })).status, 201);
    const created = await call("POST", "/v1/destinations", { uri: "sip:10.0.0.5:5060", set: "pstn", weight: 1, priority: 0, resources: { calls: 30 } });
    assert.equal(created.status, 201);
    assert.deepEqual(
      { ...created.body, createdAt: 0, updatedAt: 0 },
      {
        id: "10.0.0.5-5060",
        uri: "sip:10.0.0.5:5060",
        set: "pstn",
        weight: 1,
        priority: 0,
        resources: { calls: 30 },
        maxCalls: null,
        probe: null,
        attributes: {},
        state: "active",
        load: { calls: { used: 0, capacity: 30 } },
        createdAt: 0,
        updatedAt: 0,
      },
    );
    const plain = await call("POST", "/v1/destinations", { uri: "sip:127.0.0.1:5072;transport=tcp", id: "pbx2" });
    assert.deepEqual([plain.status, plain.body.id, plain.body.set, plain.body.state], [201, "pbx2", "default", "active"]);
    assert.equal((await call("POST", "/v1/destinations", { uri: "sip:127.0.0.1:5072;transport=tcp" })).status, 409, "duplicate uri");
    assert.equal((await call("POST", "/v1/destinations", { uri: "sip:127.0.0.1:5099", id: "pbx2" })).status, 409, "duplicate id");
    const unknownSet = await call("POST", "/v1/destinations", { uri: "sip:10.0.0.9", set: "nope" });
    assert.deepEqual([unknownSet.status, unknownSet.body], [404, { error: "no set nope" }]);
    const list = await call("GET", "/v1/destinations");
    assert.deepEqual(list.body.map((d: Json) => [d.id, d.set]), [["127.0.0.1-5070", "default"], ["10.0.0.5-5060", "pstn"], ["pbx2", "default"]]);
    assert.deepEqual((await call("GET", "/v1/destinations?set=pstn")).body.map((d: Json) => d.id), ["10.0.0.5-5060"]);
    assert.equal((await call("GET", "/v1/destinations/pbx2")).body.uri, "sip:127.0.0.1:5072;transport=tcp");
    assert.equal((await call("GET", "/v1/destinations/nope")).status, 404);
    assert.equal((await call("DELETE", "/v1/destinations/pbx2")).status, 204);
    assert.equal((await call("DELETE", "/v1/destinations/pbx2")).status, 404);
  });

  caseTest("a destination posted without a set recreates the default set (round robin) and its catch-all rule", async ({ call }) => {
    assert.equal((await call("DELETE", "/v1/destinations/127.0.0.1-5070")).status, 204);
    assert.equal((await call("DELETE", "/v1/rules/default")).status, 204);
    assert.equal((await call("DELETE", "/v1/sets/default")).status, 204);
    assert.equal((await call("POST", "/v1/destinations", { uri: "sip:10.0.0.7" })).status, 201);
    assert.equal((await call("GET", "/v1/sets/default")).body.algorithm, "round-robin");
    assert.deepEqual((await call("GET", "/v1/rules/default")).body.match, {});
  });

  caseTest("destinations: PATCH, state changes (drain), 400 listing every bad field", async ({ call, catalog }) => {
    const id = "127.0.0.1-5070";
    const patched = await call("PATCH", `/v1/destinations/${id}`, { weight: 5, resources: { calls: 10, pstn: 4 }, maxCalls: 12, probe: { mode: "when-inactive", aliveCodes: [200, 404] } });
    assert.equal(patched.status, 200);
    assert.deepEqual([patched.body.weight, patched.body.maxCalls, patched.body.probe], [5, 12, { mode: "when-inactive", aliveCodes: [200, 404], intervalMs: 10_000 }]);
    assert.deepEqual(patched.body.load, { calls: { used: 0, capacity: 10 }, pstn: { used: 0, capacity: 4 } });
    assert.equal((await call("PATCH", `/v1/destinations/${id}`, { set: "nope" })).status, 404);
    assert.equal((await call("PATCH", "/v1/destinations/nope", { weight: 1 })).status, 404);
    const drained = await call("POST", `/v1/destinations/${id}/state`, { state: "draining" });
    assert.deepEqual([drained.status, drained.body.state], [200, "draining"]);
    assert.equal(catalog.snapshot().bySet.get("default")?.[0]?.state, "draining", "the snapshot follows at once");
    assert.equal((await call("POST", `/v1/destinations/${id}/state`, { state: "sleepy" })).status, 400);
    assert.equal((await call("POST", "/v1/destinations/nope/state", { state: "active" })).status, 404);
    const bad = await call("POST", "/v1/destinations", { uri: "http://nope", id: "bad id!", state: "sleepy", weight: -1, resources: { calls: -3 }, probe: { mode: "sometimes" } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, "invalid body");
    for (const field of ["uri", "id", "state", "weight", "resources.calls", "probe.mode"]) assert.ok(bad.body.issues.some((i: string) => i.startsWith(`${field}:`)), `${field}: ${JSON.stringify(bad.body)}`);
    const notJson = await call("POST", "/v1/destinations", "{");
    assert.deepEqual([notJson.status, notJson.body.issues], [400, ["body: not valid JSON"]]);
    const badPatch = await call("PATCH", `/v1/destinations/${id}`, { weight: 1.5, id: "renamed" });
    assert.equal(badPatch.status, 400);
    assert.equal(badPatch.body.issues.length, 2, JSON.stringify(badPatch.body));
  });

  caseTest(
    "load comes from the injected port, per resource with capacity (null when not limited)",
    async ({ call }) => {
      await call("PATCH", "/v1/destinations/127.0.0.1-5070", { resources: { calls: 30 } });
      const list = await call("GET", "/v1/destinations");
      assert.deepEqual(list.body[0].load, { calls: { used: 3, capacity: 30 }, transcoding: { used: 1, capacity: null } });
    },
    { load: async (ids) => Object.fromEntries(ids.map((id) => [id, { calls: 3, transcoding: 1 }])) },
  );

  caseTest("rules: 201 (empty match = every request), ordered list, GET/PATCH/DELETE, 404 unknown set, 400 bad match", async ({ call }) => {
    assert.equal((await call("POST", "/v1/sets", { name: "pstn", algorithm: "least-loaded", resources: ["calls"] })).status, 201);
    const uk = await call("POST", "/v1/rules", { match: { requestUserPrefix: "+44", source: "10.0.0.0/8" }, set: "pstn", priority: 10, resources: { calls: 1, pstn: 1 } });
    assert.equal(uk.status, 201);
    assert.deepEqual({ ...uk.body, id: "", createdAt: 0, updatedAt: 0 }, { id: "", match: { requestUserPrefix: "+44", source: "10.0.0.0/8" }, set: "pstn", priority: 10, resources: { calls: 1, pstn: 1 }, replyNoMatch: null, maxDurationS: null, enabled: true, createdAt: 0, updatedAt: 0 });
    const any = await call("POST", "/v1/rules", { match: {}, set: "pstn", priority: 20 });
    assert.deepEqual([any.status, any.body.resources], [201, { calls: 1 }]);
    assert.deepEqual((await call("GET", "/v1/rules")).body.map((r: Json) => r.id), [uk.body.id, any.body.id, "default"]);
    assert.equal((await call("GET", `/v1/rules/${uk.body.id}`)).body.priority, 10);
    const patched = await call("PATCH", `/v1/rules/${uk.body.id}`, { enabled: false, replyNoMatch: 486 });
    assert.deepEqual([patched.status, patched.body.enabled, patched.body.replyNoMatch, patched.body.match.requestUserPrefix], [200, false, 486, "+44"]);
    assert.equal((await call("POST", "/v1/rules", { set: "nope" })).status, 404);
    assert.equal((await call("POST", "/v1/rules", { id: "default", set: "pstn" })).status, 409);
    const bad = await call("POST", "/v1/rules", { match: { source: "10.0.0.0/99", header: { name: "X-A", op: "regex", value: "(" }, toUser: "x" }, priority: -1 });
    assert.equal(bad.status, 400);
    for (const field of ["match.source", "match.header.value", "match.toUser", "set", "priority"]) assert.ok(bad.body.issues.some((i: string) => i.startsWith(`${field}:`)), `${field}: ${JSON.stringify(bad.body)}`);
    assert.equal((await call("DELETE", `/v1/rules/${uk.body.id}`)).status, 204);
    assert.equal((await call("DELETE", `/v1/rules/${uk.body.id}`)).status, 404);
    assert.equal((await call("GET", `/v1/rules/${uk.body.id}`)).status, 404);
  });

  caseTest(
    "dialogs: list by destination with a limit; DELETE ends through the injected port (202) or 404",
    async ({ call, dialogs }) => {
      const dialog = (id: string, destinationId: string): Dialog => ({
        id, callId: `c-${id}`, callerTag: "a", calleeTag: "b", destinationId, destinationUri: "sip:127.0.0.1:5070", routeSet: [], callerCseq: 1, gateway: "g", createdAt: 0, updatedAt: 0, expiresAt: 0,
      });
      await dialogs.put(dialog("k1", "127.0.0.1-5070"), 60_000);
      await dialogs.put(dialog("k2", "other"), 60_000);
      assert.deepEqual((await call("GET", "/v1/dialogs?destination=127.0.0.1-5070")).body.map((d: Json) => d.id), ["k1"]);
      assert.equal((await call("GET", "/v1/dialogs?limit=1")).body.length, 1);
      assert.equal((await call("GET", "/v1/dialogs?limit=0")).status, 400);
      assert.deepEqual(await call("DELETE", "/v1/dialogs/k1").then((r) => [r.status, r.body]), [202, { id: "k1", status: "ending" }]);
      assert.equal((await call("DELETE", "/v1/dialogs/zz")).status, 404);
    },
    { endDialog: async (id) => (id === "k1" ? "ended" : "not-found") },
  );
}

test("DELETE /v1/dialogs/{id} is 404 until a port is wired", async () => {
  const h = await harness(async () => new MemoryCatalog());
  assert.equal((await h.call("DELETE", "/v1/dialogs/k1")).status, 404);
});

test("the OpenAPI document names every admin route, and every route it names answers (not the generic 404)", async () => {
  const h = await harness(async () => new MemoryCatalog());
  const documented = new Set<string>();
  for (const [path, item] of Object.entries(openApiDocument.paths)) {
    if (path.startsWith("/functions/")) continue; // mounted by the gateway beside the admin app
    for (const method of ["get", "post", "patch", "delete"]) {
      if (!(method in item)) continue;
      documented.add(`${method.toUpperCase()} ${path}`);
      const concrete = path.replace(/\{[^}]+\}/g, "x");
      const res = await h.call(method.toUpperCase(), concrete, method === "get" || method === "delete" ? undefined : {});
      assert.notDeepEqual(res.body, { error: "not found" }, `${method} ${path} is routed`);
    }
  }
  const routed = new Set(
    h.app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path.replace(/:([A-Za-z]+)/g, "{$1}")}`),
  );
  assert.deepEqual([...routed].sort(), [...documented].sort());
});
