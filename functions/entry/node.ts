/**
 * Run the functions (route + admin) as a standalone HTTP service on Node, for gateways in remote mode.
 * `node --import tsx functions/entry/node.ts` with SWITCHBOARD_HTTP_LISTEN, SWITCHBOARD_ADMIN_TOKEN,
 * SWITCHBOARD_DATABASE_URL and SWITCHBOARD_DESTINATIONS.
 */
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { parseConfig } from "../../src/config.ts";
import { SqlCatalog } from "../../src/db/catalog-sql.ts";
import { seedQuickStart } from "../../src/db/quick-start.ts";
import { DEFAULT_SET } from "../../src/routing/set.ts";
import { MemoryDialogStore } from "../../src/dialog/memory.ts";
import { createAdminApp } from "../admin.ts";
import { createRouteApp, localTurns } from "../route.ts";

const parsed = parseConfig(process.env);
if (!parsed.ok) {
  console.error(parsed.error.message);
  process.exit(2);
}
const config = parsed.config;
if (!config.adminToken) {
  console.error("SWITCHBOARD_ADMIN_TOKEN is required for the standalone functions service");
  process.exit(2);
}
const catalog = await SqlCatalog.open(config.databaseUrl);
await seedQuickStart(catalog, config.destinations);
const app = new Hono();
app.route("/", createRouteApp({ destinations: () => catalog.snapshot().bySet.get(DEFAULT_SET) ?? [], turn: localTurns() }, { token: config.routeToken ?? config.adminToken }));
app.route(
  "/",
  createAdminApp({
    token: config.adminToken,
    catalog,
    dialogs: new MemoryDialogStore(),
    status: () => ({ ready: true, draining: false, counters: {} }),
  }),
);
serve({ fetch: app.fetch, hostname: config.httpListen.host, port: config.httpListen.port }, (info) => {
  console.log(`switchboard functions on http://${info.address}:${info.port}`);
});
