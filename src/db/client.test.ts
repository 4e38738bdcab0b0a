import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "./client.ts";

test("every pooled connection of a file database waits for locks and enforces foreign keys", async () => {
  const dir = mkdtempSync(join(tmpdir(), "switchboard-db-"));
  const database = await openDatabase(`file:${join(dir, "catalog.db")}`);
  try {
    // Concurrent calls each borrow their own connection from the client's pool.
    const [timeouts, keys] = await Promise.all([
      Promise.all(Array.from({ length: 4 }, () => database.client.execute("PRAGMA busy_timeout"))),
      Promise.all(Array.from({ length: 4 }, () => database.client.execute("PRAGMA foreign_keys"))),
    ]);
    assert.deepEqual(timeouts.map((r) => Number(Object.values(r.rows[0]!)[0])), [5000, 5000, 5000, 5000]);
    assert.deepEqual(keys.map((r) => Number(Object.values(r.rows[0]!)[0])), [1, 1, 1, 1]);
  } finally {
    database.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
