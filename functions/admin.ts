/**
 * The admin API (Hono): health for orchestrators; sets, destinations, rules and dialogs for operators.
 *
 * Every /v1 route needs `Authorization: Bearer <SWITCHBOARD_ADMIN_TOKEN>`; /healthz and /v1/openapi.json do not.
 * Bodies are validated with valibot and a 400 lists every bad field. Every error is JSON: `{ error, issues? }`
 * (400 bad body or query, 401 token, 404 unknown, 409 conflict). The OpenAPI document (functions/openapi.ts)
 * describes all of it.
 */
import { Hono, type Context } from "hono";
import { tokenAuth } from "./token.ts";
import type { Catalog, CatalogError, CatalogResult, Destination } from "../src/db/catalog.ts";
import { ensureDefaultSet } from "../src/db/quick-start.ts";
import { DestinationPatchSchema, NewDestinationSchema, StateChangeSchema } from "../src/destination/destination.ts";
import type { DialogStore } from "../src/dialog/dialog.ts";
import { NewRuleSchema, RulePatchSchema } from "../src/routing/rule.ts";
import { DEFAULT_SET, NewSetSchema, SetPatchSchema } from "../src/routing/set.ts";
import { validBody } from "./http-body.ts";
import { openApiDocument } from "./openapi.ts";

/** Units in use per destination and resource (the store's counters). */
export type LoadPort = (destinationIds: readonly string[]) => Promise<Record<string, Record<string, number>>>;
/** End a dialog: BYE to both sides, then forget it. */
export type EndDialogPort = (dialogId: string) => Promise<"ended" | "not-found">;

/**
 * Health as the gateway sees it: `state` is one of active, probing, inactive (from probes and calls), disabled,
 * draining (admin, which wins); plus the last probe and the moving-average latency.
 */
export type HealthPort = (destination: Destination) => { state: string; routable: boolean } & Record<string, unknown>;

export interface AdminStatus {
  readonly ready: boolean;
  readonly draining: boolean;
  readonly counters: Record<string, number>;
}

export interface AdminPorts {
  readonly token: string;
  readonly catalog: Catalog;
  readonly dialogs: DialogStore;
  /** Default: nothing in use. */
  readonly load?: LoadPort;
  /** Default: every dialog is "not-found" (nothing wired to send the BYEs yet). */
  readonly endDialog?: EndDialogPort;
  /** Default: the admin state is the state (no health checking). */
  readonly health?: HealthPort;
  /** Liveness and counters of the gateway (transactions, messages, drops...). */
  status(): AdminStatus | Promise<AdminStatus>;
  /** Told of every failure answered with 500, so it reaches the operator's log (the client sees no details). */
  readonly onInternalError?: (error: unknown, request: { method: string; path: string }) => void;
}

const noLoad: LoadPort = async () => ({});
const noDialogs: EndDialogPort = async () => "not-found";

/** Per resource: units in use and capacity (null: the destination sets no limit on that resource). */
export type DestinationLoad = Record<string, { used: number; capacity: number | null }>;

export function loadOf(destination: Pick<Destination, "resources">, used: Record<string, number> = {}): DestinationLoad {
  const load: DestinationLoad = {};
  for (const resource of new Set([...Object.keys(destination.resources), ...Object.keys(used)])) {
    load[resource] = { used: used[resource] ?? 0, capacity: destination.resources[resource] ?? null };
  }
  return load;
}

function fail(c: Context, error: CatalogError): Response {
  return c.json({ error: error.message }, error.kind === "not-found" ? 404 : 409);
}

function respond<T>(c: Context, result: CatalogResult<T>, status: 200 | 201, render: (value: T) => unknown = (v) => v): Response {
  return result.ok ? c.json(render(result.value) as object, status) : fail(c, result.error);
}

export function createAdminApp(ports: AdminPorts): Hono {
  const app = new Hono();
  const { catalog } = ports;
  const load = ports.load ?? noLoad;
  const endDialog = ports.endDialog ?? noDialogs;

  const withLoad = async (list: Destination[]) => {
    const used = list.length === 0 ? {} : await load(list.map((d) => d.id));
    return list.map((destination) => {
      const { createdAt, updatedAt, ...d } = destination;
      const health = ports.health?.(destination);
      return { ...d, ...(health ? { adminState: d.state, ...health } : {}), load: loadOf(d, used[d.id]), createdAt, updatedAt };
    });
  };
  const oneWithLoad = async (d: Destination) => (await withLoad([d]))[0];

  app.get("/healthz", async (c) => {
    const status = await ports.status();
    const healthy = status.ready && !status.draining;
    return c.json({ status: healthy ? "ok" : status.draining ? "draining" : "starting" }, healthy ? 200 : 503);
  });

  // Registered before the token check: the API description is public, like /healthz.
  app.get("/v1/openapi.json", (c) => c.json(openApiDocument));

  app.use("/v1/*", tokenAuth(ports.token));

  app.get("/v1/status", async (c) => c.json(await ports.status()));

  // Sets (kamailio dispatcher sets, OpenSIPS load_balancer groups).
  app.get("/v1/sets", async (c) => c.json(await catalog.listSets()));
  app.post("/v1/sets", async (c) => {
    const body = await validBody(c, NewSetSchema);
    return body.ok ? respond(c, await catalog.createSet(body.value), 201) : body.response;
  });
  app.get("/v1/sets/:name", async (c) => {
    const set = await catalog.getSet(c.req.param("name"));
    return set ? c.json(set) : c.json({ error: `no set ${c.req.param("name")}` }, 404);
  });
  app.patch("/v1/sets/:name", async (c) => {
    const body = await validBody(c, SetPatchSchema);
    return body.ok ? respond(c, await catalog.updateSet(c.req.param("name"), body.value), 200) : body.response;
  });
  app.delete("/v1/sets/:name", async (c) => {
    const removed = await catalog.deleteSet(c.req.param("name"));
    return removed.ok ? c.body(null, 204) : fail(c, removed.error);
  });

  // Destinations.
  app.get("/v1/destinations", async (c) => {
    const set = c.req.query("set");
    return c.json(await withLoad(await catalog.listDestinations(set === undefined ? {} : { set })));
  });
  app.post("/v1/destinations", async (c) => {
    const body = await validBody(c, NewDestinationSchema);
    if (!body.ok) return body.response;
    const set = body.value.set ?? DEFAULT_SET;
    // The foundation's contract: a destination posted without a set joins "default", created round robin if missing.
    if (set === DEFAULT_SET) await ensureDefaultSet(catalog);
    const created = await catalog.createDestination({ ...body.value, set });
    return created.ok ? c.json(await oneWithLoad(created.value), 201) : fail(c, created.error);
  });
  app.get("/v1/destinations/:id", async (c) => {
    const destination = await catalog.getDestination(c.req.param("id"));
    return destination ? c.json(await oneWithLoad(destination)) : c.json({ error: `no destination ${c.req.param("id")}` }, 404);
  });
  app.patch("/v1/destinations/:id", async (c) => {
    const body = await validBody(c, DestinationPatchSchema);
    if (!body.ok) return body.response;
    const updated = await catalog.updateDestination(c.req.param("id"), body.value);
    return updated.ok ? c.json(await oneWithLoad(updated.value)) : fail(c, updated.error);
  });
  app.post("/v1/destinations/:id/state", async (c) => {
    const body = await validBody(c, StateChangeSchema);
    if (!body.ok) return body.response;
    const updated = await catalog.setDestinationState(c.req.param("id"), body.value.state);
    return updated.ok ? c.json(await oneWithLoad(updated.value)) : fail(c, updated.error);
  });
  app.delete("/v1/destinations/:id", async (c) => {
    const removed = await catalog.deleteDestination(c.req.param("id"));
    return removed.ok ? c.body(null, 204) : fail(c, removed.error);
  });

  // Routing rules.
  app.get("/v1/rules", async (c) => c.json(await catalog.listRules()));
  app.post("/v1/rules", async (c) => {
    const body = await validBody(c, NewRuleSchema);
    return body.ok ? respond(c, await catalog.createRule(body.value), 201) : body.response;
  });
  app.get("/v1/rules/:id", async (c) => {
    const rule = await catalog.getRule(c.req.param("id"));
    return rule ? c.json(rule) : c.json({ error: `no rule ${c.req.param("id")}` }, 404);
  });
  app.patch("/v1/rules/:id", async (c) => {
    const body = await validBody(c, RulePatchSchema);
    return body.ok ? respond(c, await catalog.updateRule(c.req.param("id"), body.value), 200) : body.response;
  });
  app.delete("/v1/rules/:id", async (c) => {
    const removed = await catalog.deleteRule(c.req.param("id"));
    return removed.ok ? c.body(null, 204) : fail(c, removed.error);
  });

  // Dialogs.
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
  app.delete("/v1/dialogs/:id", async (c) => {
    const id = c.req.param("id");
    const outcome = await endDialog(id);
    return outcome === "ended" ? c.json({ id, status: "ending" }, 202) : c.json({ error: `no dialog ${id}` }, 404);
  });

  app.notFound((c) => c.json({ error: "not found" }, 404));
  app.onError((err, c) => {
    if ("getResponse" in err && typeof err.getResponse === "function") {
      // HTTPException (the bearer check): same JSON shape, its status and headers (WWW-Authenticate) kept.
      const response = err.getResponse() as Response;
      const headers = Object.fromEntries(response.headers);
      delete headers["content-type"];
      delete headers["content-length"];
      return c.json({ error: response.status === 401 ? "unauthorized" : err.message || "bad request" }, response.status as 400, headers);
    }
    ports.onInternalError?.(err, { method: c.req.method, path: c.req.path });
    return c.json({ error: "internal error" }, 500);
  });
  return app;
}
