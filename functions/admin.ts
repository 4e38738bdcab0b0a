/**
 * The admin API (Hono): health for orchestrators, destinations and dialogs for operators.
 *
 * Every /v1 route needs `Authorization: Bearer <SWITCHBOARD_ADMIN_TOKEN>`; /healthz does not (load balancers and
 * orchestrators poll it). Bodies are validated with valibot and a 400 lists every bad field.
 */
import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { DestinationRegistry } from "../src/destination/registry.ts";
import { NewDestinationSchema } from "../src/destination/destination.ts";
import type { DialogStore } from "../src/dialog/dialog.ts";
import { validBody } from "./http-body.ts";

export interface AdminPorts {
  readonly token: string;
  readonly destinations: DestinationRegistry;
  readonly dialogs: DialogStore;
  /** Liveness and counters of the gateway (transactions, messages, drops...). */
  status(): { ready: boolean; draining: boolean; counters: Record<string, number> };
}

export function createAdminApp(ports: AdminPorts): Hono {
  const app = new Hono();

  app.get("/healthz", (c) => {
    const status = ports.status();
    const healthy = status.ready && !status.draining;
    return c.json({ status: healthy ? "ok" : status.draining ? "draining" : "starting" }, healthy ? 200 : 503);
  });

  app.use("/v1/*", bearerAuth({ token: ports.token }));

  app.get("/v1/status", (c) => c.json(ports.status()));

  app.get("/v1/destinations", (c) => c.json(ports.destinations.snapshot().map(({ id, uri, state }) => ({ id, uri, state }))));

  app.post("/v1/destinations", async (c) => {
    const body = await validBody(c, NewDestinationSchema);
    if (!body.ok) return body.response;
    const added = ports.destinations.add(body.value);
    if (!added.ok) return c.json({ error: added.conflict }, 409);
    const { id, uri, state } = added.destination;
    return c.json({ id, uri, state }, 201);
  });

  app.delete("/v1/destinations/:id", (c) => {
    const removed = ports.destinations.remove(c.req.param("id"));
    if (!removed) return c.json({ error: "no such destination" }, 404);
    return c.body(null, 204);
  });

  app.get("/v1/dialogs", async (c) => {
    const destination = c.req.query("destination");
    const limitText = c.req.query("limit");
    const limit = limitText === undefined ? 1000 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) {
      return c.json({ error: "invalid query", issues: ["limit: must be a whole number from 1 to 100000"] }, 400);
    }
    const dialogs = await ports.dialogs.list(destination === undefined ? { limit } : { destinationId: destination, limit });
    return c.json(dialogs);
  });

  app.notFound((c) => c.json({ error: "not found" }, 404));
  app.onError((err, c) => {
    if ("getResponse" in err && typeof err.getResponse === "function") return err.getResponse() as Response;
    return c.json({ error: "internal error" }, 500);
  });
  return app;
}
