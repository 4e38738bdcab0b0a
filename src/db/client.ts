/**
 * Open the SQL catalog database by URL and bring its schema up to date.
 *
 * `file:PATH` (its folder is created), `:memory:` (tests), or a libsql server URL (`libsql://`, `http(s)://`,
 * `ws(s)://`). Migrations come from the repository's migrations/ folder — the one drizzle-kit writes and
 * `wrangler d1 migrations apply` reads — found relative to this file, not to the working directory.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, type Client } from "@libsql/client";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import { schema, type Schema } from "./schema.ts";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../migrations", import.meta.url));

export interface Database {
  readonly db: LibSQLDatabase<Schema>;
  readonly client: Client;
  close(): void;
}

/** How long a statement waits for another connection's lock on a `file:` database before failing. */
const BUSY_TIMEOUT_MS = 5000;

export class DatabaseError extends Error {
  override readonly name = "DatabaseError";
}

/** The file path of a `file:` URL (relative paths stay relative to the working directory, like libsql's). */
function filePath(url: string): string | undefined {
  if (!url.startsWith("file:")) return undefined;
  const path = url.slice("file:".length).replace(/\?.*$/, "");
  if (path === "" || path === ":memory:") return undefined;
  return path.startsWith("//") ? fileURLToPath(url.replace(/\?.*$/, "")) : path;
}

export async function openDatabase(url: string, options: { migrationsFolder?: string } = {}): Promise<Database> {
  const path = filePath(url);
  try {
    if (path !== undefined) mkdirSync(dirname(resolve(path)), { recursive: true });
    // The client keeps a pool of connections (one per concurrent call), so per-connection settings go in its
    // options, not in a PRAGMA that reaches only the connection it happens to run on: `timeout` is the busy timeout
    // of every connection (several gateways may share one file), libsql opens each with foreign keys on.
    const client = createClient({ url, ...(path !== undefined ? { timeout: BUSY_TIMEOUT_MS } : {}) });
    // SQLite leaves foreign keys off unless asked (D1 enforces them always): be as strict here as there.
    await client.execute("PRAGMA foreign_keys = ON");
    const db = drizzle(client, { schema });
    await migrate(db, { migrationsFolder: options.migrationsFolder ?? MIGRATIONS_FOLDER });
    return { db, client, close: () => client.close() };
  } catch (error) {
    throw new DatabaseError(`cannot open the catalog database ${url}: ${(error as Error).message}`, { cause: error });
  }
}
