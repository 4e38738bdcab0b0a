import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryCatalog } from "./catalog-memory.ts";
import { SqlCatalog } from "./catalog-sql.ts";
import { destination } from "./catalog.case.test.ts";
import { QuickStartError, seedQuickStart } from "./quick-start.ts";

const dir = mkdtempSync(join(tmpdir(), "switchboard-quick-start-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("SWITCHBOARD_DESTINATIONS becomes the default set (round robin) with a catch-all rule, in the listed order", async () => {
  const catalog = new MemoryCatalog();
  const report = await seedQuickStart(catalog, ["sip:127.0.0.1:5072", "sip:127.0.0.1:5070;transport=tcp"]);
  assert.deepEqual(report, { added: ["127.0.0.1-5072", "127.0.0.1-5070-tcp"], kept: [], removed: [] });
  const snap = catalog.snapshot();
  assert.equal(snap.sets.get("default")?.algorithm, "round-robin");
  assert.deepEqual(snap.bySet.get("default")?.map((d) => d.uri), ["sip:127.0.0.1:5072", "sip:127.0.0.1:5070;transport=tcp"]);
  assert.deepEqual(snap.rules.map((r) => [r.id, r.set, r.priority, r.match]), [["default", "default", 1_000_000, {}]]);
});

test("no quick-start destinations: nothing is created", async () => {
  const catalog = new MemoryCatalog();
  assert.deepEqual(await seedQuickStart(catalog, []), { added: [], kept: [], removed: [] });
  assert.equal(catalog.snapshot().sets.size, 0);
});

test("a URI that cannot be reached is an error naming it", async () => {
  await assert.rejects(seedQuickStart(new MemoryCatalog(), ["sips:10.0.0.1"]), (e: unknown) => e instanceof QuickStartError && /sips:10\.0\.0\.1/.test(e.message));
});

test("idempotent across restarts on one database: rows kept (ids, operator changes), dropped URIs removed, API rows untouched", async () => {
  const url = `file:${join(dir, "restart.db")}`;
  const first = await SqlCatalog.open(url);
  await seedQuickStart(first, ["sip:10.0.0.1", "sip:10.0.0.2"]);
  assert.ok((await first.setDestinationState("10.0.0.2-5060", "draining")).ok);
  assert.ok((await first.createDestination(destination({ uri: "sip:10.0.0.9", set: "default", id: "api" }))).ok);
  await first.close();

  const second = await SqlCatalog.open(url);
  assert.deepEqual(await seedQuickStart(second, ["sip:10.0.0.1", "sip:10.0.0.2"]), { added: [], kept: ["10.0.0.1-5060", "10.0.0.2-5060"], removed: [] });
  assert.deepEqual((await second.listRules()).length, 1, "one catch-all rule, not one per start");
  assert.equal((await second.getDestination("10.0.0.2-5060"))?.state, "draining", "the operator's change survives");
  await second.close();

  const third = await SqlCatalog.open(url);
  assert.deepEqual(await seedQuickStart(third, ["sip:10.0.0.2", "sip:10.0.0.3"]), { added: ["10.0.0.3-5060"], kept: ["10.0.0.2-5060"], removed: ["10.0.0.1-5060"] });
  assert.deepEqual(third.snapshot().bySet.get("default")?.map((d) => d.id), ["10.0.0.2-5060", "api", "10.0.0.3-5060"]);
  await third.close();
});
