/**
 * Non-INVITE server transaction driver (RFC 3261 §17.2.2): binds {@link stepServerNonInvite} to a clock and to the
 * TU's callbacks. trying → proceeding → completed (Timer J) → terminated.
 */
import type { Clock } from "./clock.ts";
import { Engine } from "./engine.ts";
import type { TerminationReason } from "./fsm.ts";
import {
  initialServerNonInvite, stepServerNonInvite,
  type ServerNonInviteAction, type ServerNonInviteEvent, type ServerNonInviteState, type ServerNonInviteStateName,
  type ServerNonInviteTimer,
} from "./server-non-invite-fsm.ts";
import { DEFAULT_TIMER_SETTINGS, timerDurations, type TimerSettings } from "./timers.ts";

export interface ServerNonInviteOptions<Res> {
  /** Reliable transport: Timer J = 0, the transaction ends as soon as the final response is sent. */
  reliable: boolean;
  timers?: TimerSettings;
  clock: Clock;
  /** Transmit or retransmit a response to the previous hop. */
  send(res: Res): void;
  /** Called exactly once (unless {@link ServerNonInviteTransaction.dispose} came first). */
  onTerminated(reason: TerminationReason): void;
}

export class ServerNonInviteTransaction<Res> {
  readonly #engine: Engine<ServerNonInviteState<Res>, ServerNonInviteEvent<Res>, ServerNonInviteAction<Res>, ServerNonInviteTimer>;

  constructor(options: ServerNonInviteOptions<Res>) {
    this.#engine = new Engine({
      initial: initialServerNonInvite<Res>(timerDurations(options.timers ?? DEFAULT_TIMER_SETTINGS, options.reliable)),
      clock: options.clock,
      step: stepServerNonInvite,
      timerEvent: (timer) => ({ kind: "timer", timer }),
      perform(action) {
        switch (action.kind) {
          case "send": return options.send(action.response);
          case "terminated": return options.onTerminated(action.reason);
          case "start-timer":
          case "stop-timer": return;
        }
      },
    });
  }

  get state(): ServerNonInviteStateName {
    return this.#engine.state.name;
  }

  /**
   * TU sends a response (§17.2.2). 1xx in Trying/Proceeding: sent, → Proceeding. 200-699 in Trying/Proceeding:
   * sent, → Completed (Timer J; on a reliable transport straight to terminated). In Completed every further
   * response is discarded; returns false then, or for a status outside 100-699.
   */
  respond(status: number, res: Res): boolean {
    return this.#engine.dispatch({ kind: "respond", status, response: res });
  }

  /** Request retransmission: absorbed in Trying; the last response is resent in Proceeding and Completed. */
  receiveRequestRetransmission(): void {
    this.#engine.dispatch({ kind: "request-retransmission" });
  }

  /** The transport failed to deliver a response (§17.2.2, §18.4): → terminated ("transport-error"). */
  transportError(): void {
    this.#engine.dispatch({ kind: "transport-error" });
  }

  /** Stop all timers immediately (shutdown). The transaction becomes "terminated" without calling onTerminated. */
  dispose(): void {
    this.#engine.dispose();
  }
}
