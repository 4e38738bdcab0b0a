/**
 * The timers function: what must happen on a schedule, whatever gateway or runtime runs it. The gateway calls it
 * in-process every SWITCHBOARD_TICK_INTERVAL (Workers cron fires at most once a minute: a backstop, not the clock).
 *
 * Each tick: re-read the catalog (changes made through another gateway's admin API reach this one), then recount
 * every destination's load from its live reservations (heals counters after a gateway was killed mid-call; they can
 * never drift or go negative for long). Every step is idempotent, so any number of gateways may tick at once.
 */
import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { Catalog } from "../src/db/catalog.ts";
import type { CapacityStore } from "../src/dialog/dialog.ts";

export interface TimerPorts {
  readonly catalog: Catalog;
  readonly store: CapacityStore;
}

export interface TickResult {
  readonly destinations: number;
  /** Reservations dropped because they had expired (their calls ended without a BYE through us). */
  readonly expired: number;
  /** Destinations whose reconcile failed (store unreachable). */
  readonly failed: number;
}

export async function tick(ports: TimerPorts): Promise<TickResult> {
  const snapshot = await ports.catalog.reload();
  let expired = 0;
  let failed = 0;
  await Promise.all(
    snapshot.destinations.map(async (destination) => {
      try {
        expired += (await ports.store.reconcile(destination.id)).expired;
      } catch {
        failed++;
      }
    }),
  );
  return { destinations: snapshot.destinations.length, expired, failed };
}

export function createTimersApp(ports: TimerPorts, options: { token?: string } = {}): Hono {
  const app = new Hono();
  if (options.token) app.use("/v1/tick", bearerAuth({ token: options.token }));
  app.post("/v1/tick", async (c) => c.json(await tick(ports)));
  return app;
}
