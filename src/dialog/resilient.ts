/**
 * The store as the gateway uses it when dialogs and load live in Redis: capacity keeps working through a Redis
 * outage. The documented policy: while the shared store is unreachable, new calls reserve against local in-process
 * counters with the same capacities, seeded with the calls this gateway already carries, so one gateway never
 * exceeds a destination's capacity on its own (several gateways together may, for as long as the outage lasts: each
 * counts only its own calls). When the store answers again, calls set up during the outage are written into it, so
 * every gateway counts them, and new calls reserve there again. Calls in progress are not affected at all:
 * in-dialog routing needs no store. Every outage is logged once and counted.
 *
 * Dialog records (visibility) are not replicated locally: their operations fail and the caller counts the failure.
 */
import { SlotMap } from "../collections/slot-map.ts";
import { checkedTtl, StoreError, type Dialog, type DialogFilter, type DialogStore, type Load, type ReconcileResult, type Reservation, type ReserveResult } from "./dialog.ts";
import { MemoryDialogStore } from "./memory.ts";
import { checkedDestinationId, checkedNow, checkedPolicy, isHealthStore, type HealthStore, type RecordResult } from "./health.ts";
import type { Evidence, HealthPolicy, HealthRecord } from "../health/state.ts";

export interface OutageEvents {
  onOutage(error: unknown): void;
  onRecovery(): void;
  onLocalReservation(): void;
}

export class ResilientDialogStore implements DialogStore, HealthStore {
  readonly #primary: DialogStore;
  readonly #local: MemoryDialogStore;
  readonly #events: OutageEvents;
  /** Reservations taken locally during an outage: `destination|id`. */
  readonly #localIds = new Set<string>();
  /**
   * This gateway's own live reservations (shared or local), so that when the shared store goes away the local
   * counters start from the calls this gateway already carries: one gateway alone then never exceeds a capacity.
   */
  readonly #mine = new SlotMap<{ readonly r: Reservation; expiresAt: number }>(); // per-call churn (collections/slot-map.ts)
  /** The local counters hold a copy of #mine since the outage began. */
  #seeded = false;
  #down = false;
  readonly #now: () => number;

  constructor(primary: DialogStore, events: OutageEvents, now: () => number = Date.now) {
    this.#primary = primary;
    this.#local = new MemoryDialogStore(now);
    this.#events = events;
    this.#now = now;
  }

  get degraded(): boolean {
    return this.#down;
  }

  async #guard<T>(op: () => Promise<T>): Promise<T> {
    try {
      const value = await op();
      if (this.#down) {
        this.#down = false;
        this.#events.onRecovery();
        void this.#resync();
      }
      return value;
    } catch (error) {
      if (error instanceof StoreError && !this.#down) {
        this.#down = true;
        this.#events.onOutage(error);
      }
      throw error;
    }
  }

  async reserve(r: Reservation, capacities: Readonly<Record<string, number>>, ttlMs: number): Promise<ReserveResult> {
    const key = `${r.destinationId}|${r.id}`;
    try {
      const result = await this.#guard(() => this.#primary.reserve(r, capacities, ttlMs));
      if (result.ok) this.#mine.set(key, { r, expiresAt: this.#now() + ttlMs });
      return result;
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      this.#events.onLocalReservation();
      await this.#seed();
      const result = await this.#local.reserve(r, capacities, ttlMs);
      if (result.ok) {
        this.#localIds.add(key);
        this.#mine.set(key, { r, expiresAt: this.#now() + ttlMs });
      }
      return result;
    }
  }

  /** First local reservation of an outage: copy this gateway's live calls into the local counters (unlimited). */
  async #seed(): Promise<void> {
    if (this.#seeded) return;
    this.#seeded = true;
    const now = this.#now();
    for (const [key, held] of this.#mine) {
      if (held.expiresAt <= now) this.#mine.delete(key);
      else if (!this.#localIds.has(key)) await this.#local.reserve(held.r, {}, held.expiresAt - now);
    }
  }

  /**
   * The shared store answers again: calls set up on local counters during the outage move into it (reserved
   * without a capacity check: they exist), so every gateway counts them; the local copy is dropped.
   */
  async #resync(): Promise<void> {
    const now = this.#now();
    for (const [key, held] of this.#mine) {
      if (held.expiresAt <= now) {
        this.#mine.delete(key);
        continue;
      }
      if (this.#localIds.has(key)) {
        try {
          await this.#primary.reserve(held.r, {}, held.expiresAt - now);
          this.#localIds.delete(key);
        } catch {
          return; // down again: the next recovery tries once more
        }
      }
      await this.#local.release(held.r.destinationId, held.r.id);
    }
    this.#seeded = false;
  }

  async refresh(destinationId: string, id: string, ttlMs: number): Promise<boolean> {
    const key = `${destinationId}|${id}`;
    const held = this.#mine.get(key);
    if (held) held.expiresAt = this.#now() + ttlMs;
    if (this.#localIds.has(key)) return this.#local.refresh(destinationId, id, ttlMs);
    if (this.#seeded) await this.#local.refresh(destinationId, id, ttlMs);
    return this.#guard(() => this.#primary.refresh(destinationId, id, ttlMs));
  }

  async release(destinationId: string, id: string): Promise<boolean> {
    const key = `${destinationId}|${id}`;
    this.#mine.delete(key);
    if (this.#localIds.delete(key)) return this.#local.release(destinationId, id);
    if (this.#seeded) await this.#local.release(destinationId, id);
    return this.#guard(() => this.#primary.release(destinationId, id));
  }

  /** Shared load, plus what this gateway holds locally since an outage. */
  async load(destinationIds: readonly string[]): Promise<Record<string, Load>> {
    const local = this.#localIds.size > 0 ? await this.#local.load(destinationIds) : undefined;
    let shared: Record<string, Load>;
    try {
      shared = await this.#guard(() => this.#primary.load(destinationIds));
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      return local ?? (await this.#local.load(destinationIds));
    }
    if (!local) return shared;
    for (const id of destinationIds) {
      const sum: Load = { ...shared[id] };
      for (const [resource, count] of Object.entries(local[id] ?? {})) sum[resource] = (sum[resource] ?? 0) + count;
      shared[id] = sum;
    }
    return shared;
  }

  async reconcile(destinationId: string): Promise<ReconcileResult> {
    await this.#local.reconcile(destinationId);
    // Forget this gateway's reservations that expired (their calls ended elsewhere or silently): bounded memory.
    const now = this.#now();
    for (const [key, held] of this.#mine) if (held.r.destinationId === destinationId && held.expiresAt <= now) this.#mine.delete(key);
    return this.#guard(() => this.#primary.reconcile(destinationId));
  }

  put(dialog: Dialog, ttlMs: number): Promise<void> {
    return this.#guard(() => this.#primary.put(dialog, ttlMs));
  }
  get(id: string): Promise<Dialog | undefined> {
    return this.#guard(() => this.#primary.get(id));
  }
  touch(id: string, ttlMs: number): Promise<boolean> {
    return this.#guard(() => this.#primary.touch(id, ttlMs));
  }
  remove(id: string): Promise<Dialog | undefined> {
    return this.#guard(() => this.#primary.remove(id));
  }
  list(filter?: DialogFilter): Promise<Dialog[]> {
    return this.#guard(() => this.#primary.list(filter));
  }
  count(): Promise<number> {
    return this.#guard(() => this.#primary.count());
  }
  // ---- health: shared while the store answers, this gateway's own view during an outage --------------------------
  // During an outage every gateway takes its own (local) probe lease, so destinations go on being probed, each
  // gateway from its own health record; when the store answers again the shared record is used again. Arguments
  // are checked first, so a StoreError from the primary means an outage, never a bad call.

  async #health<T>(op: (store: HealthStore) => Promise<T>): Promise<T> {
    const primary = this.#primary;
    if (!isHealthStore(primary)) return op(this.#local);
    try {
      return await this.#guard(() => op(primary));
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      return op(this.#local);
    }
  }

  async acquireProbeLease(destinationId: string, holder: string, ttlMs: number): Promise<boolean> {
    checkedDestinationId("acquireProbeLease", destinationId);
    checkedTtl("acquireProbeLease", ttlMs);
    return this.#health((s) => s.acquireProbeLease(destinationId, holder, ttlMs));
  }
  async recordEvidence(destinationId: string, evidence: Evidence, policy?: HealthPolicy, now?: number): Promise<RecordResult> {
    checkedDestinationId("recordEvidence", destinationId);
    checkedPolicy("recordEvidence", policy);
    checkedNow("recordEvidence", now);
    return this.#health((s) => s.recordEvidence(destinationId, evidence, policy, now));
  }
  async health(destinationIds: readonly string[]): Promise<Record<string, HealthRecord>> {
    for (const id of destinationIds) checkedDestinationId("health", id);
    return this.#health((s) => s.health(destinationIds));
  }

  async close(): Promise<void> {
    await this.#local.close();
    await this.#primary.close();
  }
}
