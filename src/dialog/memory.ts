/**
 * In-process DialogStore: the embedded default. Expiry is evaluated against the injected clock on every read and
 * by `sweep()`, which the gateway calls on a timer, so stale dialogs disappear even when nobody asks for them.
 *
 * Capacity accounting follows the Redis scripts (src/dialog/lua/scripts.ts) step for step, so that the one contract
 * suite holds for both: expired reservations are dropped before every capacity operation, counters are clamped at 0,
 * a destination without live reservations has no load, and `reconcile` recounts from the live reservations.
 *
 * Several stores can share one `MemoryDialogState` (the way several gateways share one Redis): the contract suite uses
 * that to run concurrent reservations through separate store instances.
 */
import { SlotMap } from "../collections/slot-map.ts";
import {
  checkedCapacity,
  checkedTtl,
  checkedUnits,
  type Dialog,
  type DialogFilter,
  type DialogStore,
  type Load,
  type ReconcileResult,
  type Reservation,
  type ReserveResult,
} from "./dialog.ts";
import {
  HEALTH_RECORD_TTL_MS,
  checkedDestinationId,
  checkedNow,
  checkedPolicy,
  type HealthStore,
  type RecordResult,
} from "./health.ts";
import { applyEvidence, initialHealth, type Evidence, type HealthPolicy, type HealthRecord } from "../health/state.ts";

interface HeldReservation {
  readonly units: ReadonlyArray<readonly [string, number]>;
  expiresAt: number;
}

/** One destination's capacity bookkeeping: the same three structures as the Redis keys `res`, `exp` and `load`. */
export interface MemoryDestinationState {
  readonly reservations: SlotMap<HeldReservation>;
  /** Resource → units in use. Plain data on purpose: tests corrupt it to prove `reconcile` heals. */
  readonly load: Map<string, number>;
  /**
   * No reservation expires before this (a lower bound: refreshes only push expiries later). Purging earlier finds
   * nothing, so every operation stays O(1) however many calls a destination holds; a scan happens only when the
   * earliest reservation may have expired, and recomputes the bound.
   */
  nextExpiry: number;
}

/** Everything a MemoryDialogStore holds; share one between stores to model several gateways on one store. */
export class MemoryDialogState {
  // SlotMaps: a call's records churn through here, and a busy Map would keep dead ones alive (collections/slot-map.ts).
  readonly dialogs = new SlotMap<Dialog>();
  readonly destinations = new Map<string, MemoryDestinationState>();
  /** Destination health (src/dialog/health.ts), forgotten HEALTH_RECORD_TTL_MS after its last write. */
  readonly health = new Map<string, { record: HealthRecord; expiresAt: number }>();
  /** Probe leases: destination id → expiry. */
  readonly leases = new Map<string, number>();

  destination(id: string): MemoryDestinationState {
    let d = this.destinations.get(id);
    if (!d) {
      d = { reservations: new SlotMap(), load: new Map(), nextExpiry: Infinity };
      this.destinations.set(id, d);
    }
    return d;
  }
}

export interface MemoryDialogStoreOptions {
  /** Shared state (default: a new one of its own). */
  readonly state?: MemoryDialogState;
}

export class MemoryDialogStore implements DialogStore, HealthStore {
  readonly #state: MemoryDialogState;
  readonly #dialogs: SlotMap<Dialog>;
  readonly #now: () => number;
  readonly #ownsState: boolean;

  constructor(now: () => number = Date.now, options: MemoryDialogStoreOptions = {}) {
    this.#now = now;
    this.#ownsState = options.state === undefined;
    this.#state = options.state ?? new MemoryDialogState();
    this.#dialogs = this.#state.dialogs;
  }

  #live(id: string): Dialog | undefined {
    const dialog = this.#dialogs.get(id);
    if (dialog && dialog.expiresAt <= this.#now()) {
      this.#dialogs.delete(id);
      return undefined;
    }
    return dialog;
  }

  async put(dialog: Dialog, ttlMs: number): Promise<void> {
    const now = this.#now();
    this.#dialogs.set(dialog.id, { ...dialog, updatedAt: now, expiresAt: now + ttlMs });
  }

  async get(id: string): Promise<Dialog | undefined> {
    return this.#live(id);
  }

  async touch(id: string, ttlMs: number): Promise<boolean> {
    const dialog = this.#live(id);
    if (!dialog) return false;
    const now = this.#now();
    this.#dialogs.set(id, { ...dialog, updatedAt: now, expiresAt: now + ttlMs });
    return true;
  }

  async remove(id: string): Promise<Dialog | undefined> {
    const dialog = this.#live(id);
    this.#dialogs.delete(id);
    return dialog;
  }

  async list(filter: DialogFilter = {}): Promise<Dialog[]> {
    const out: Dialog[] = [];
    const limit = filter.limit ?? Infinity;
    if (limit <= 0) return out;
    for (const id of [...this.#dialogs.keys()]) {
      const dialog = this.#live(id);
      if (!dialog) continue;
      if (filter.destinationId !== undefined && dialog.destinationId !== filter.destinationId) continue;
      out.push(dialog);
      if (out.length >= limit) break;
    }
    return out;
  }

  async count(): Promise<number> {
    this.sweep();
    return this.#dialogs.size;
  }

  /** Drop every expired dialog and every expired reservation; returns how many dialogs went. */
  sweep(): number {
    const now = this.#now();
    let removed = 0;
    for (const [id, dialog] of this.#dialogs) {
      if (dialog.expiresAt <= now) {
        this.#dialogs.delete(id);
        removed++;
      }
    }
    for (const id of [...this.#state.destinations.keys()]) this.#purge(id, now);
    return removed;
  }

  // ---- capacity ----------------------------------------------------------------------------------------------

  /** Drop the destination's expired reservations (giving their units back); forget a destination left with none. */
  #purge(destinationId: string, now: number): number {
    const d = this.#state.destinations.get(destinationId);
    if (!d) return 0;
    if (now < d.nextExpiry && d.reservations.size > 0) return 0;
    let expired = 0;
    let next = Infinity;
    for (const [id, r] of d.reservations) {
      if (r.expiresAt > now) {
        if (r.expiresAt < next) next = r.expiresAt;
        continue;
      }
      d.reservations.delete(id);
      give(d.load, r.units);
      expired++;
    }
    d.nextExpiry = next;
    if (d.reservations.size === 0) this.#state.destinations.delete(destinationId);
    return expired;
  }

  async reserve(r: Reservation, capacities: Readonly<Record<string, number>>, ttlMs: number): Promise<ReserveResult> {
    const units = checkedUnits("reserve", r.units);
    const ttl = checkedTtl("reserve", ttlMs);
    const limits = units.map(([resource]) => checkedCapacity("reserve", resource, capacities[resource]));
    const now = this.#now();
    this.#purge(r.destinationId, now);
    const d = this.#state.destination(r.destinationId);
    const held = d.reservations.get(r.id);
    if (held) {
      held.expiresAt = now + ttl;
      return { ok: true };
    }
    for (const [i, [resource, n]] of units.entries()) {
      let used = d.load.get(resource) ?? 0;
      if (used < 0) {
        d.load.delete(resource);
        used = 0;
      }
      const cap = limits[i];
      if (cap !== undefined && used + n > cap) {
        if (d.reservations.size === 0) this.#state.destinations.delete(r.destinationId);
        return { ok: false, resource };
      }
    }
    for (const [resource, n] of units) d.load.set(resource, (d.load.get(resource) ?? 0) + n);
    d.reservations.set(r.id, { units, expiresAt: now + ttl });
    if (now + ttl < d.nextExpiry) d.nextExpiry = now + ttl;
    return { ok: true };
  }

  async refresh(destinationId: string, id: string, ttlMs: number): Promise<boolean> {
    const ttl = checkedTtl("refresh", ttlMs);
    const now = this.#now();
    this.#purge(destinationId, now);
    const held = this.#state.destinations.get(destinationId)?.reservations.get(id);
    if (!held) return false;
    held.expiresAt = now + ttl;
    return true;
  }

  async release(destinationId: string, id: string): Promise<boolean> {
    this.#purge(destinationId, this.#now());
    const d = this.#state.destinations.get(destinationId);
    const held = d?.reservations.get(id);
    if (!d || !held) return false;
    d.reservations.delete(id);
    give(d.load, held.units);
    if (d.reservations.size === 0) this.#state.destinations.delete(destinationId);
    return true;
  }

  async load(destinationIds: readonly string[]): Promise<Record<string, Load>> {
    const now = this.#now();
    const out: Record<string, Load> = {};
    for (const id of destinationIds) {
      this.#purge(id, now);
      const load: Load = {};
      for (const [resource, n] of this.#state.destinations.get(id)?.load ?? []) if (n > 0) load[resource] = n;
      out[id] = load;
    }
    return out;
  }

  async reconcile(destinationId: string): Promise<ReconcileResult> {
    const expired = this.#purge(destinationId, this.#now());
    const d = this.#state.destinations.get(destinationId);
    const load: Load = {};
    if (!d) return { expired, load };
    d.load.clear();
    for (const r of d.reservations.values()) {
      for (const [resource, n] of r.units) d.load.set(resource, (d.load.get(resource) ?? 0) + n);
    }
    for (const [resource, n] of d.load) load[resource] = n;
    return { expired, load };
  }

  // ---- health (src/dialog/health.ts) --------------------------------------------------------------------------

  async acquireProbeLease(destinationId: string, _holder: string, ttlMs: number): Promise<boolean> {
    checkedDestinationId("acquireProbeLease", destinationId);
    const ttl = checkedTtl("acquireProbeLease", ttlMs);
    const now = this.#now();
    const held = this.#state.leases.get(destinationId);
    if (held !== undefined && held > now) return false;
    this.#state.leases.set(destinationId, now + ttl);
    return true;
  }

  #healthOf(destinationId: string, now: number): HealthRecord | undefined {
    const h = this.#state.health.get(destinationId);
    if (h && h.expiresAt <= now) {
      this.#state.health.delete(destinationId);
      return undefined;
    }
    return h?.record;
  }

  async recordEvidence(destinationId: string, evidence: Evidence, policy?: HealthPolicy, now?: number): Promise<RecordResult> {
    checkedDestinationId("recordEvidence", destinationId);
    const p = checkedPolicy("recordEvidence", policy);
    const clock = this.#now();
    const at = checkedNow("recordEvidence", now) ?? Math.floor(clock);
    const result = applyEvidence(this.#healthOf(destinationId, clock), evidence, p, at);
    this.#state.health.set(destinationId, { record: result.record, expiresAt: clock + HEALTH_RECORD_TTL_MS });
    return result;
  }

  async health(destinationIds: readonly string[]): Promise<Record<string, HealthRecord>> {
    const now = this.#now();
    const out: Record<string, HealthRecord> = {};
    for (const id of destinationIds) {
      checkedDestinationId("health", id);
      out[id] = this.#healthOf(id, now) ?? initialHealth();
    }
    return out;
  }

  /** Forget everything, unless the state is shared with other stores (then it stays theirs). */
  async close(): Promise<void> {
    if (!this.#ownsState) return;
    this.#dialogs.clear();
    this.#state.destinations.clear();
  }
}

/** Give units back: counters never go below 0, and a counter at 0 disappears. */
function give(load: Map<string, number>, units: ReadonlyArray<readonly [string, number]>): void {
  for (const [resource, n] of units) {
    const left = (load.get(resource) ?? 0) - n;
    if (left > 0) load.set(resource, left);
    else load.delete(resource);
  }
}
