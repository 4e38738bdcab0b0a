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
    const client = createClient({ url });
    // SQLite leaves foreign keys off unless asked (D1 enforces them always): be as strict here as there.
    await client.execute("PRAGMA foreign_keys = ON");
    if (path !== undefined) await client.execute("PRAGMA busy_timeout = 5000");
    const db = drizzle(client, { schema });
    await migrate(db, { migrationsFolder: options.migrationsFolder ?? MIGRATIONS_FOLDER });
    return { db, client, close: () => client.close() };
  } catch (error) {
    throw new DatabaseError(`cannot open the catalog database ${url}: ${(error as Error).message}`, { cause: error });
  }
}
