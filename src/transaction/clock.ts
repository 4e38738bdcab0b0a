/**
 * Time port of the transaction layer. The state machines are pure; the drivers read time and arm timers only
 * through this interface, so tests (and simulations) can substitute {@link FakeClock} from `fake-clock.ts`.
 */

declare const timerHandleBrand: unique symbol;

/** Opaque handle returned by {@link Clock.setTimer}; only meaningful to the clock that issued it. */
export type TimerHandle = { readonly [timerHandleBrand]: true };

export interface Clock {
  /** Milliseconds on a monotonic-enough scale; only differences are meaningful. */
  now(): number;
  /** Call `fire` once, `ms` milliseconds from now (0 = as soon as possible, never synchronously). */
  setTimer(ms: number, fire: () => void): TimerHandle;
  /** Cancel a pending timer. Clearing an already fired or cleared timer is a no-op. */
  clearTimer(handle: TimerHandle): void;
}

/**
 * Wall clock backed by `setTimeout`. Timers are `unref()`ed: a pending retransmission or linger timer never keeps
 * the process alive on its own (the listening sockets do that).
 */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimer(ms: number, fire: () => void): TimerHandle {
    const timeout = setTimeout(fire, ms);
    timeout.unref();
    return timeout as unknown as TimerHandle;
  },
  clearTimer(handle: TimerHandle): void {
    clearTimeout(handle as unknown as NodeJS.Timeout);
  },
});
