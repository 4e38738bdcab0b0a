/**
 * drizzle-kit: `npx drizzle-kit generate` writes migrations/ from src/db/schema.ts. That one folder is read by the
 * gateway's migrator (src/db/client.ts), `wrangler d1 migrations apply` and the tests.
 */
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
