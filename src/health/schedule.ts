/**
 * Which destinations to probe now (pure). The timers function calls `dueProbes` on every tick with the catalog's
 * destinations and their shared health records; for each due destination the gateway takes the probe lease from the
 * store (`HealthStore.acquireProbeLease`, TTL `leaseTtlMs`) and sends the OPTIONS only if it got it, so exactly one
 * gateway probes a destination per interval however many tick. It reports the result with `recordEvidence`, which
 * stamps `lastProbeAt` (the time the probe was sent), from which the next due time follows for every gateway alike.
 *
 * Per destination (kamailio dispatcher `ds_probing_mode`):
 * - `never`: no OPTIONS at all (health then comes from calls only);
 * - `when-inactive`: only while health is not `active` (kamailio mode 0: probing and inactive destinations);
 * - `always`: every interval whatever the state (kamailio mode 1).
 * Administratively `disabled` destinations are not probed (kamailio does not probe disabled ones either); `draining`
 * ones are, so their health is known when they come back.
 *
 * Timing: the next probe is due `intervalMs × (1 − jitter × u)` after the last was sent, u in [0, 1) derived from a
 * hash of (destination, lastProbeAt): every gateway computes the same due time, it does not move between ticks, and
 * destinations added together drift apart. Probes are never further apart than the interval (plus the tick's lag;
 * a gateway that arms a timer for `nextDueAt` has none).
 */
import type { Destination, Probe } from "../destination/destination.ts";
import type { HealthRecord } from "./state.ts";

/** Probe settings for destinations whose `probe` is null: every 10 s, whatever the state, 2xx only. */
export const DEFAULT_PROBE: Probe = { mode: "always", aliveCodes: [200], intervalMs: 10_000 };

/** Longest wait for an OPTIONS reply; shorter for short intervals (always under the lease). */
export const DEFAULT_PROBE_TIMEOUT_MS = 4000;

export interface ScheduleConfig {
  /** Settings for destinations without their own (default DEFAULT_PROBE). */
  readonly defaultProbe?: Probe;
  /** Fraction of the interval by which a probe may come early, in [0, 0.25]. Default 0.1. */
  readonly jitter?: number;
  /** Ceiling of the probe timeout (default DEFAULT_PROBE_TIMEOUT_MS); the task's timeout is at most half the interval. */
  readonly probeTimeoutMs?: number;
  /** u in [0, 1) for a destination's probe sent at `lastProbeAt` (default: a hash of both). Inject for tests. */
  readonly jitterOf?: (destinationId: string, lastProbeAt: number) => number;
}

export type ScheduledDestination = Pick<Destination, "id" | "uri" | "probe" | "state">;

/** One probe to send (after taking the lease). */
export interface ProbeTask {
  readonly destinationId: string;
  readonly uri: string;
  /** Codes besides 2xx that count as alive: pass them back in the evidence. */
  readonly aliveCodes: readonly number[];
  /** Give up waiting for a reply after this long and report a timeout. */
  readonly timeoutMs: number;
  /** TTL of the probe lease: longer than the timeout, no longer than the shortest spacing between probes. */
  readonly leaseTtlMs: number;
}

export interface ScheduleResult {
  readonly due: ProbeTask[];
  /** Earliest time another destination becomes due (null: none will without a state change). */
  readonly nextDueAt: number | null;
}

/** FNV-1a of the text, as a fraction in [0, 1). */
export function hashFraction(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 2 ** 32;
}

const defaultJitterOf = (id: string, lastProbeAt: number): number => hashFraction(`${id}@${lastProbeAt}`);

/** The probe settings in force for a destination. */
export function probeSettings(destination: Pick<Destination, "probe">, config: ScheduleConfig = {}): Probe {
  return destination.probe ?? config.defaultProbe ?? DEFAULT_PROBE;
}

/** When the destination's next probe is due (null: not probed in its current state). */
export function nextProbeAt(
  destination: ScheduledDestination,
  health: HealthRecord | undefined,
  config: ScheduleConfig = {},
): number | null {
  if (destination.state === "disabled") return null;
  const probe = probeSettings(destination, config);
  if (probe.mode === "never") return null;
  if (probe.mode === "when-inactive" && (health === undefined || health.state === "active")) return null;
  const last = health?.lastProbeAt ?? null;
  if (last === null) return -Infinity;
  const jitter = Math.min(Math.max(config.jitter ?? 0.1, 0), 0.25);
  const u = (config.jitterOf ?? defaultJitterOf)(destination.id, last);
  return last + Math.floor(probe.intervalMs * (1 - jitter * Math.min(Math.max(u, 0), 1)));
}

/** Lease TTL and timeout for a destination's probe. */
export function probeTiming(probe: Probe, config: ScheduleConfig = {}): { leaseTtlMs: number; timeoutMs: number } {
  const jitter = Math.min(Math.max(config.jitter ?? 0.1, 0), 0.25);
  const leaseTtlMs = Math.max(1, Math.floor(probe.intervalMs * (1 - jitter)));
  const timeoutMs = Math.max(1, Math.min(config.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS, Math.floor(probe.intervalMs / 2)));
  return { leaseTtlMs, timeoutMs };
}

/** Destinations due for a probe at `now`, and when the next one will be. */
export function dueProbes(
  destinations: readonly ScheduledDestination[],
  health: Readonly<Record<string, HealthRecord | undefined>>,
  now: number,
  config: ScheduleConfig = {},
): ScheduleResult {
  const due: ProbeTask[] = [];
  let nextDueAt: number | null = null;
  for (const d of destinations) {
    const at = nextProbeAt(d, health[d.id], config);
    if (at === null) continue;
    if (at <= now) {
      const probe = probeSettings(d, config);
      due.push({ destinationId: d.id, uri: d.uri, aliveCodes: probe.aliveCodes, ...probeTiming(probe, config) });
    } else if (nextDueAt === null || at < nextDueAt) {
      nextDueAt = at;
    }
  }
  return { due, nextDueAt };
}
