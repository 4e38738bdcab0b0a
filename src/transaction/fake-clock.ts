import type { Clock, TimerHandle } from "./clock.ts";

interface Pending {
  readonly id: number;
  readonly deadline: number;
  readonly fire: () => void;
}

/**
 * Deterministic {@link Clock} for tests: time only moves in {@link FakeClock.advance}.
 *
 * Timers fire in deadline order, ties in scheduling order. A timer scheduled from inside a firing callback that
 * falls due within the same `advance` window fires in that window too (at its own deadline, `now()` reflecting it).
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(ms: number, fire: () => void): TimerHandle {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`timer duration must be a finite number >= 0, got ${ms}`);
    const id = this.#nextId++;
    this.#pending.set(id, { id, deadline: this.#now + ms, fire });
    return id as unknown as TimerHandle;
  }

  clearTimer(handle: TimerHandle): void {
    this.#pending.delete(handle as unknown as number);
  }

  /** Number of armed timers (not yet fired, not cleared). */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Milliseconds from now until each armed timer fires, in firing order. Handy for asserting durations. */
  pendingDelays(): number[] {
    return this.#ordered().map((p) => p.deadline - this.#now);
  }

  /**
   * Move time forward by `ms`, firing every timer due at or before the new time, in deadline order. An exception
   * thrown by a timer callback propagates after the clock has stepped to that timer's deadline; the remaining
   * timers stay armed.
   */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance() needs a finite number >= 0, got ${ms}`);
    const target = this.#now + ms;
    for (;;) {
      const next = this.#ordered()[0];
      if (next === undefined || next.deadline > target) break;
      this.#pending.delete(next.id);
      this.#now = next.deadline;
      next.fire();
    }
    this.#now = target;
  }

  /** Fire timers until none is left (bounded, to catch self-rescheduling loops). Returns the time advanced. */
  runAll(maxTimers = 10_000): number {
    const start = this.#now;
    for (let fired = 0; ; fired++) {
      const next = this.#ordered()[0];
      if (next === undefined) return this.#now - start;
      if (fired >= maxTimers) throw new Error(`runAll: more than ${maxTimers} timers fired, runaway rescheduling?`);
      this.advance(next.deadline - this.#now);
    }
  }

  #ordered(): Pending[] {
    return [...this.#pending.values()].sort((a, b) => a.deadline - b.deadline || a.id - b.id);
  }
}
