/**
 * Binds a pure transaction machine to a {@link Clock} and to the TU's callbacks. Internal to the drivers.
 *
 * Execution model (run to completion):
 * - `dispatch` steps the machine and stores the new state *before* any action runs, so a callback that calls back
 *   into the transaction (the TU responding from inside `onResponse`, a transport reporting an error from inside
 *   `send`) sees the new state and gets a correct synchronous answer.
 * - Actions are queued FIFO and executed one by one. Actions produced by a re-entrant call are appended and run
 *   after the ones already queued, so every callback observes events in the order the machine produced them (a TU
 *   never sees `onTerminated` before the response that preceded it).
 * - A throwing callback does not stop the queue: the remaining actions still run, timers stay consistent, and the
 *   first error is rethrown (an AggregateError if several) once the queue is empty.
 * - On termination every armed timer is cleared, whatever the machine asked for.
 */
import type { Clock, TimerHandle } from "./clock.ts";
import type { StartTimer, StopTimer, TimerName, Transition } from "./fsm.ts";

export interface EngineSpec<S extends { readonly name: string }, E, A extends { readonly kind: string }, T extends TimerName> {
  readonly initial: S;
  readonly clock: Clock;
  step(state: S, event: E): Transition<S, A>;
  /** The machine event for a fired timer. */
  timerEvent(timer: T): E;
  /** Execute a non-timer action (a callback into the TU or transport). */
  perform(action: A): void;
}

export class Engine<S extends { readonly name: string }, E, A extends { readonly kind: string }, T extends TimerName> {
  #state: S;
  readonly #spec: EngineSpec<S, E, A, T>;
  /**
   * Armed timers as [name, handle] pairs: a machine arms at most two at once (A+B, E+F, G+H), so a flat array beats
   * a Map in memory by an order of magnitude; thousands of transactions live at once on a busy gateway.
   */
  readonly #armed: (T | TimerHandle)[] = [];
  readonly #queue: A[] = [];
  #draining = false;

  constructor(spec: EngineSpec<S, E, A, T>) {
    this.#spec = spec;
    this.#state = spec.initial;
  }

  get state(): S {
    return this.#state;
  }

  /** Step the machine with `event`, run the resulting actions; returns the transition's `handled` flag. */
  dispatch(event: E): boolean {
    if (this.#state.name === "terminated") return false;
    const { state, actions, handled } = this.#spec.step(this.#state, event);
    this.#state = state;
    this.#queue.push(...actions);
    if (!this.#draining) this.#drain();
    return handled;
  }

  /** Stop every timer and drop pending actions; the machine ends up "terminated" without any callback. */
  dispose(): void {
    this.#clearTimers();
    this.#queue.length = 0;
    if (this.#state.name !== "terminated") this.#state = { ...this.#state, name: "terminated" };
  }

  #drain(): void {
    this.#draining = true;
    const errors: unknown[] = [];
    try {
      for (let action = this.#queue.shift(); action !== undefined; action = this.#queue.shift()) {
        try {
          this.#execute(action);
        } catch (error) {
          errors.push(error);
        }
      }
    } finally {
      this.#draining = false;
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, "several transaction callbacks threw");
  }

  #execute(action: A): void {
    switch (action.kind) {
      case "start-timer": {
        const { timer, ms } = action as unknown as StartTimer<T>;
        this.#stopTimer(timer);
        const handle = this.#spec.clock.setTimer(ms, () => {
          const at = this.#armed.indexOf(timer);
          if (at < 0 || this.#armed[at + 1] !== handle) return; // cleared or re-armed meanwhile
          this.#armed.splice(at, 2);
          this.dispatch(this.#spec.timerEvent(timer));
        });
        this.#armed.push(timer, handle);
        return;
      }
      case "stop-timer":
        this.#stopTimer((action as unknown as StopTimer<T>).timer);
        return;
      case "terminated":
        this.#clearTimers();
        this.#spec.perform(action);
        return;
      default:
        this.#spec.perform(action);
    }
  }

  #stopTimer(timer: T): void {
    const at = this.#armed.indexOf(timer);
    if (at < 0) return;
    const handle = this.#armed[at + 1] as TimerHandle;
    this.#armed.splice(at, 2);
    this.#spec.clock.clearTimer(handle);
  }

  #clearTimers(): void {
    for (let i = 1; i < this.#armed.length; i += 2) this.#spec.clock.clearTimer(this.#armed[i] as TimerHandle);
    this.#armed.length = 0;
  }
}
