/**
 * The timers function: what must happen on a schedule, whatever gateway or runtime runs it. The gateway calls it
 * in-process every SWITCHBOARD_TICK_INTERVAL (Workers cron fires at most once a minute: a backstop, not the clock).
 *
 * Each tick: re-read the catalog (changes made through another gateway's admin API reach this one), recount every
 * destination's load from its live reservations (heals counters after a gateway was killed mid-call; they can never
 * drift or go negative for long), and decide which destinations are due for an OPTIONS probe (the gateway sends
 * them: Workers cannot send UDP; a function decides, the gateway acts). Every step is idempotent, so any number of
 * gateways may tick at once; the probe lease in the store keeps it to one probe per destination per interval.
 */
import { Hono } from "hono";
import { tokenAuth } from "./token.ts";
import type { Catalog } from "../src/db/catalog.ts";
import type { CapacityStore } from "../src/dialog/dialog.ts";
import type { HealthStore } from "../src/dialog/health.ts";
import type { HealthRecord } from "../src/health/state.ts";
import { dueProbes, type ProbeTask } from "../src/health/schedule.ts";

export interface TimerPorts {
  readonly catalog: Catalog;
  readonly store: CapacityStore & Partial<HealthStore>;
  /** Wall-clock epoch ms (health records are shared between gateways). Default Date.now. */
  readonly now?: () => number;
}

export interface TickResult {
  readonly destinations: number;
  /** Reservations dropped because they had expired (their calls ended without a BYE through us). */
  readonly expired: number;
  /** Destinations whose reconcile failed (store unreachable). */
  readonly failed: number;
  /** Probes due now, for the gateway to send (after taking each one's lease). */
  readonly probes: readonly ProbeTask[];
  /** The shared health view the schedule was computed from. */
  readonly health: Readonly<Record<string, HealthRecord>>;
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
  let health: Record<string, HealthRecord> = {};
  let probes: readonly ProbeTask[] = [];
  if (ports.store.health && snapshot.destinations.length > 0) {
    try {
      health = await ports.store.health(snapshot.destinations.map((d) => d.id));
      probes = dueProbes(snapshot.destinations, health, (ports.now ?? Date.now)()).due;
    } catch {
      failed++;
    }
  }
  return { destinations: snapshot.destinations.length, expired, failed, probes, health };
}

export function createTimersApp(ports: TimerPorts, options: { token?: string } = {}): Hono {
  const app = new Hono();
  if (options.token) app.use("/v1/tick", tokenAuth(options.token));
  app.post("/v1/tick", async (c) => c.json(await tick(ports)));
  return app;
}
