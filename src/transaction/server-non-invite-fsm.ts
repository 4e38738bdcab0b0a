/**
 * Non-INVITE server transaction, pure state machine: RFC 3261 §17.2.2 (Figure 8).
 *
 * ```
 *   Trying --request retransmission: absorb
 *     | 1xx from TU: send                \ 200-699 from TU: send
 *     v                                   v
 *   Proceeding --1xx from TU: send;     Completed --request retransmission: resend final
 *     |          retransmission: resend   |          other finals from TU: discarded
 *     | 200-699 from TU: send --------->  | Timer J (64*T1, 0 reliable)
 *     | transport error                   | transport error
 *     v                                   v
 *   Terminated <--------------------------+
 * ```
 *
 * Responses are never retransmitted on a timer here: the client retransmits the request (Timer E) and each
 * retransmission is answered with the last response (§17.2.2).
 */
import {
  discard, isFinal, isProvisional, startTimer, stopTimer, terminate, type Terminate, type TimerAction, type Transition,
} from "./fsm.ts";
import type { TimerDurations } from "./timers.ts";

export type ServerNonInviteStateName = "trying" | "proceeding" | "completed" | "terminated";
export type ServerNonInviteTimer = "J";

export interface ServerNonInviteState<Res> {
  readonly name: ServerNonInviteStateName;
  readonly durations: TimerDurations;
  /** Last response sent: resent on each request retransmission in Proceeding and Completed. */
  readonly lastResponse: Res | undefined;
}

export type ServerNonInviteEvent<Res> =
  | { readonly kind: "respond"; readonly status: number; readonly response: Res }
  | { readonly kind: "request-retransmission" }
  | { readonly kind: "timer"; readonly timer: ServerNonInviteTimer }
  | { readonly kind: "transport-error" };

export type ServerNonInviteAction<Res> =
  | { readonly kind: "send"; readonly response: Res }
  | TimerAction<ServerNonInviteTimer>
  | Terminate;

type Step<Res> = Transition<ServerNonInviteState<Res>, ServerNonInviteAction<Res>>;

/** A new non-INVITE server transaction: "Trying" (§17.2.2). */
export function initialServerNonInvite<Res>(durations: TimerDurations): ServerNonInviteState<Res> {
  return { name: "trying", durations, lastResponse: undefined };
}

export function stepServerNonInvite<Res>(state: ServerNonInviteState<Res>, event: ServerNonInviteEvent<Res>): Step<Res> {
  if (state.name === "terminated") return discard(state);
  switch (event.kind) {
    case "respond":
      return state.name === "completed" ? discard(state) : respond(state, event.status, event.response);
    case "request-retransmission": {
      // §17.2.2: absorbed in Trying; in Proceeding and Completed the last response is retransmitted.
      const last = state.name === "trying" ? undefined : state.lastResponse;
      return { state, actions: last === undefined ? [] : [{ kind: "send", response: last }], handled: true };
    }
    case "timer":
      return state.name === "completed" ? end(state, "normal", []) : discard(state);
    case "transport-error":
      // Figure 8 shows it from Proceeding and Completed; in Trying nothing was sent yet, but a dead connection
      // (e.g. TCP reset) still means the response cannot be delivered, so it ends the transaction the same way.
      return end(state, "transport-error", state.name === "completed" ? [stopTimer("J")] : []);
  }
}

function respond<Res>(state: ServerNonInviteState<Res>, status: number, response: Res): Step<Res> {
  const send = { kind: "send", response } as const;
  if (isProvisional(status)) {
    return { state: { ...state, name: "proceeding", lastResponse: response }, actions: [send], handled: true };
  }
  if (!isFinal(status)) return discard(state);
  // §17.2.2: final → Completed, Timer J = 64*T1 unreliable, zero (terminate now) reliable.
  const next: ServerNonInviteState<Res> = { ...state, name: "completed", lastResponse: response };
  if (state.durations.J === 0) return end(next, "normal", [send]);
  return { state: next, actions: [send, startTimer("J", state.durations.J)], handled: true };
}

function end<Res>(state: ServerNonInviteState<Res>, reason: Terminate["reason"], actions: ServerNonInviteAction<Res>[]): Step<Res> {
  return { state: { ...state, name: "terminated" }, actions: [...actions, terminate(reason)], handled: true };
}
