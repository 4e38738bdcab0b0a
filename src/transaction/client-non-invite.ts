/**
 * Non-INVITE client transaction driver (RFC 3261 §17.1.2): binds {@link stepClientNonInvite} to a clock and to the
 * TU's callbacks. trying (E, F) → proceeding (E at T2) → completed (K) → terminated.
 */
import type { Clock } from "./clock.ts";
import {
  initialClientNonInvite, stepClientNonInvite,
  type ClientNonInviteAction, type ClientNonInviteEvent, type ClientNonInviteState, type ClientNonInviteStateName,
  type ClientNonInviteTimer,
} from "./client-non-invite-fsm.ts";
import { Engine } from "./engine.ts";
import type { TerminationReason } from "./fsm.ts";
import { DEFAULT_TIMER_SETTINGS, timerDurations, type TimerSettings } from "./timers.ts";

export interface ClientNonInviteOptions<Req, Res> {
  request: Req;
  /** Reliable transport: no Timer E, Timer K = 0. */
  reliable: boolean;
  timers?: TimerSettings;
  clock: Clock;
  /** Transmit / retransmit the request (Timer E, unreliable only). */
  send(req: Req): void;
  /** To TU: each 1xx and the first final; retransmitted finals are absorbed. */
  onResponse(status: number, res: Res): void;
  /** Timer F fired (§17.1.2.2). Followed by onTerminated("timeout"). */
  onTimeout(): void;
  /** Called exactly once (unless {@link ClientNonInviteTransaction.dispose} came first). */
  onTerminated(reason: TerminationReason): void;
}

export class ClientNonInviteTransaction<Req, Res> {
  readonly #engine: Engine<ClientNonInviteState<Req>, ClientNonInviteEvent<Res>, ClientNonInviteAction<Req, Res>, ClientNonInviteTimer>;

  constructor(options: ClientNonInviteOptions<Req, Res>) {
    this.#engine = new Engine({
      initial: initialClientNonInvite(options.request, timerDurations(options.timers ?? DEFAULT_TIMER_SETTINGS, options.reliable)),
      clock: options.clock,
      step: stepClientNonInvite<Req, Res>,
      timerEvent: (timer) => ({ kind: "timer", timer }),
      perform(action) {
        switch (action.kind) {
          case "send-request": return options.send(action.request);
          case "to-tu": return options.onResponse(action.status, action.response);
          case "timeout": return options.onTimeout();
          case "terminated": return options.onTerminated(action.reason);
          case "start-timer":
          case "stop-timer": return;
        }
      },
    });
  }

  get state(): ClientNonInviteStateName {
    return this.#engine.state.name;
  }

  /** Send the request, start Timer E (unreliable only, T1) and Timer F (64*T1). Calls after the first are ignored. */
  start(): void {
    this.#engine.dispatch({ kind: "start" });
  }

  /** A response matched to this transaction (§17.1.3 matching is the caller's job). Ignored before start(). */
  receiveResponse(status: number, res: Res): void {
    this.#engine.dispatch({ kind: "response", status, response: res });
  }

  /** The transport failed (§17.1.2.2, §18.4): in Trying/Proceeding → onTerminated("transport-error"), no onTimeout. */
  transportError(): void {
    this.#engine.dispatch({ kind: "transport-error" });
  }

  /** Stop all timers immediately (shutdown). The transaction becomes "terminated" without calling onTerminated. */
  dispose(): void {
    this.#engine.dispose();
  }
}
