import { readdir } from "node:fs/promises";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { runCatalogCases, set, destination } from "./catalog.case.test.ts";
import { SqlCatalog } from "./catalog-sql.ts";

const dir = mkdtempSync(join(tmpdir(), "switchboard-catalog-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

runCatalogCases({ name: "sql :memory:", open: () => SqlCatalog.open(":memory:") });
runCatalogCases({ name: "sql file", open: () => SqlCatalog.open(`file:${join(dir, `case-${files++}`, "switchboard.db")}`) });

test("sql: migrations from migrations/ create the tables; the data outlives the process; reopening migrates nothing twice", async () => {
  const url = `file:${join(dir, "persist", "nested", "switchboard.db")}`;
  const first = await SqlCatalog.open(url);
  assert.ok((await first.createSet(set("pstn", { algorithm: "least-loaded" }))).ok);
  assert.ok((await first.createDestination(destination({ id: "p1", uri: "sip:10.0.0.5", set: "pstn", resources: { calls: 30 } }))).ok);
  await first.close();
  const second = await SqlCatalog.open(url);
  assert.deepEqual(second.snapshot().bySet.get("pstn")?.map((d) => [d.id, d.resources]), [["p1", { calls: 30 }]]);
  await second.close();
  const client = createClient({ url });
  const tables = await client.execute("select name from sqlite_master where type = 'table' order by name");
  assert.deepEqual(tables.rows.map((r) => r.name), ["__drizzle_migrations", "destinations", "rules", "sets"]);
  const migrations = (await readdir(new URL("../../migrations", import.meta.url))).filter((f) => f.endsWith(".sql")).length;
  assert.equal((await client.execute("select count(*) as n from __drizzle_migrations")).rows[0]?.n, migrations, "each migration applied once");
  client.close();
});

test("sql: reload() picks up changes made by another catalog on the same database", async () => {
  const url = `file:${join(dir, "shared.db")}`;
  const a = await SqlCatalog.open(url);
  const b = await SqlCatalog.open(url);
  assert.ok((await a.createSet(set("s"))).ok);
  assert.equal(b.snapshot().sets.has("s"), false, "b has not looked yet");
  assert.equal((await b.reload()).sets.has("s"), true);
  await a.close();
  await b.close();
});

test("sql: foreign keys and checks hold in the database itself, not only in the catalog code", async () => {
  const url = `file:${join(dir, "constraints.db")}`;
  const catalog = await SqlCatalog.open(url);
  await catalog.close();
  const client = createClient({ url });
  await client.execute("PRAGMA foreign_keys = ON");
  await assert.rejects(client.execute("insert into destinations (id, uri, set_name, created_at, updated_at) values ('x', 'sip:a', 'missing', 0, 0)"), /FOREIGN KEY/);
  await client.execute("insert into sets (name, created_at, updated_at) values ('s', 0, 0)");
  await assert.rejects(client.execute("insert into destinations (id, uri, set_name, weight, created_at, updated_at) values ('x', 'sip:a', 's', -1, 0, 0)"), /CHECK/);
  await assert.rejects(client.execute("insert into sets (name, algorithm, created_at, updated_at) values ('t', 'magic', 0, 0)"), /CHECK/);
  client.close();
});
