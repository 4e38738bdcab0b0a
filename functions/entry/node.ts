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
import type { DialogStore } from "../../src/dialog/dialog.ts";
import { MemoryDialogStore } from "../../src/dialog/memory.ts";
import { RedisDialogStore } from "../../src/dialog/redis.ts";
import { UpstashDialogStore } from "../../src/dialog/upstash.ts";
import { restoreFastPrototypes } from "../../src/gateway/v8-tuning.ts";
import { createAdminApp } from "../admin.ts";
import { createRouteApp, localState } from "../route.ts";
import { createTimersApp } from "../timers.ts";

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
// The same store the gateways use: Redis over TCP, Upstash REST (edge), or in-process for a lone test service.
const dialogs: DialogStore = config.redisUrl
  ? new RedisDialogStore({ url: config.redisUrl })
  : process.env.UPSTASH_REDIS_REST_URL
    ? UpstashDialogStore.fromEnv(process.env)
    : new MemoryDialogStore();
const app = new Hono();
const token = config.routeToken ?? config.adminToken;
app.route("/", createRouteApp({ snapshot: () => catalog.snapshot(), load: (ids) => dialogs.load(ids), state: localState(), random: Math.random }, { token }));
app.route("/", createTimersApp({ catalog, store: dialogs }, { token }));
app.route(
  "/",
  createAdminApp({
    token: config.adminToken,
    catalog,
    dialogs,
    load: (ids) => dialogs.load(ids),
    status: () => ({ ready: true, draining: false, counters: {} }),
    onInternalError: (error, request) => console.error(JSON.stringify({ level: "error", msg: "admin API request failed", ...request, error: String((error as Error)?.stack ?? error) })),
  }),
);
// The modules are loaded: undo what the Redis client's subclass of String did to V8's String.prototype (v8-tuning.ts).
restoreFastPrototypes();
const server = serve({ fetch: app.fetch, hostname: config.httpListen.host, port: config.httpListen.port }, (info) => {
  console.log(`switchboard functions on http://${info.address}:${info.port}`);
});

// SIGTERM/SIGINT: stop accepting, let requests in flight finish (bounded), close the store, exit 0.
const stop = (): void => {
  const exit = (): void => {
    void dialogs.close().catch(() => undefined).finally(() => process.exit(0));
  };
  setTimeout(exit, 2000).unref();
  server.close(exit);
  // gateways keep their connections alive: close the idle ones now, or close() waits for their keep-alive timeout
  if ("closeIdleConnections" in server) server.closeIdleConnections();
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
