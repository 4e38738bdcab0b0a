/**
 * Non-INVITE client transaction, pure state machine: RFC 3261 §17.1.2 (Figure 6).
 *
 * ```
 *   Trying --Timer E (unreliable): retransmit, E = min(2E, T2)
 *     |  \--200-699: to TU ---------------------------------+
 *     | 1xx: to TU                                          |
 *     v                                                     v
 *   Proceeding --Timer E: retransmit, E = T2; 1xx: to TU   Completed --responses: absorbed
 *     | 200-699: to TU -----------------------------------> | Timer K (T4, 0 reliable)
 *     | Timer F (64*T1) / transport error (also in Trying)  v
 *     +--------------------------------------------------> Terminated
 * ```
 */
import {
  backoff, discard, isFinal, isProvisional, startTimer, stopTimer, terminate,
  type Terminate, type TimerAction, type Transition,
} from "./fsm.ts";
import type { TimerDurations } from "./timers.ts";

export type ClientNonInviteStateName = "trying" | "proceeding" | "completed" | "terminated";
export type ClientNonInviteTimer = "E" | "F" | "K";

export interface ClientNonInviteState<Req> {
  readonly name: ClientNonInviteStateName;
  readonly durations: TimerDurations;
  readonly request: Req;
  /** The TU has started the transaction (the request was sent). */
  readonly started: boolean;
  /** Interval Timer E is currently armed with (Trying/Proceeding, unreliable), else null. */
  readonly timerE: number | null;
}

export type ClientNonInviteEvent<Res> =
  | { readonly kind: "start" }
  | { readonly kind: "response"; readonly status: number; readonly response: Res }
  | { readonly kind: "timer"; readonly timer: ClientNonInviteTimer }
  | { readonly kind: "transport-error" };

export type ClientNonInviteAction<Req, Res> =
  /** Pass the request to the transport layer (first transmission or Timer E retransmission). */
  | { readonly kind: "send-request"; readonly request: Req }
  /** Pass the response to the TU. */
  | { readonly kind: "to-tu"; readonly status: number; readonly response: Res }
  /** Timer F fired: inform the TU of the timeout (§17.1.2.2). */
  | { readonly kind: "timeout" }
  | TimerAction<ClientNonInviteTimer>
  | Terminate;

type Step<Req, Res> = Transition<ClientNonInviteState<Req>, ClientNonInviteAction<Req, Res>>;

/** A new non-INVITE client transaction in "Trying", not started yet. */
export function initialClientNonInvite<Req>(request: Req, durations: TimerDurations): ClientNonInviteState<Req> {
  return { name: "trying", durations, request, started: false, timerE: null };
}

export function stepClientNonInvite<Req, Res>(state: ClientNonInviteState<Req>, event: ClientNonInviteEvent<Res>): Step<Req, Res> {
  if (state.name === "terminated") return discard(state);
  if (!state.started) return event.kind === "start" ? start(state) : discard(state);
  const d = state.durations;
  const awaitingFinal = state.name === "trying" || state.name === "proceeding";
  switch (event.kind) {
    case "start":
      return discard(state);
    case "response": {
      const toTu = { kind: "to-tu", status: event.status, response: event.response } as const;
      if (state.name === "completed") {
        // §17.1.2.2: retransmitted responses are absorbed in Completed.
        return isProvisional(event.status) || isFinal(event.status) ? { state, actions: [], handled: true } : discard(state);
      }
      if (isProvisional(event.status)) {
        // §17.1.2.2: Trying → Proceeding; Timer E keeps running (reset to T2 when it next fires).
        return { state: { ...state, name: "proceeding" }, actions: [toTu], handled: true };
      }
      if (!isFinal(event.status)) return discard(state);
      // §17.1.2.2: final → Completed, pass to TU, Timer K (T4 unreliable, zero reliable: terminate now).
      const actions: ClientNonInviteAction<Req, Res>[] = [...stopRunning(state), toTu];
      if (d.K === 0) return end<Req, Res>(state, actions, "normal");
      actions.push(startTimer("K", d.K));
      return { state: { ...state, name: "completed", timerE: null }, actions, handled: true };
    }
    case "timer":
      if (event.timer === "E" && awaitingFinal && state.timerE !== null) {
        // §17.1.2.2: Trying doubles E up to T2; Proceeding resets it to T2.
        const next = state.name === "trying" ? backoff(state.timerE, d.T2) : d.T2;
        return {
          state: { ...state, timerE: next },
          actions: [{ kind: "send-request", request: state.request }, startTimer("E", next)],
          handled: true,
        };
      }
      if (event.timer === "F" && awaitingFinal) return end<Req, Res>(state, [...stopRunning(state), { kind: "timeout" }], "timeout");
      if (event.timer === "K" && state.name === "completed") return end<Req, Res>(state, [], "normal");
      return discard(state);
    case "transport-error":
      // §17.1.2.2: Trying/Proceeding → Terminated, inform TU. Nothing is sent in Completed.
      return awaitingFinal ? end(state, stopRunning(state), "transport-error") : discard(state);
  }
}

function start<Req, Res>(state: ClientNonInviteState<Req>): Step<Req, Res> {
  // §17.1.2.2: send; Timer E = T1 on unreliable transports only; Timer F = 64*T1 always.
  const d = state.durations;
  const actions: ClientNonInviteAction<Req, Res>[] = [{ kind: "send-request", request: state.request }];
  if (d.E !== null) actions.push(startTimer("E", d.E));
  actions.push(startTimer("F", d.F));
  return { state: { ...state, started: true, timerE: d.E }, actions, handled: true };
}

function stopRunning<Req>(state: ClientNonInviteState<Req>): TimerAction<ClientNonInviteTimer>[] {
  if (state.name === "completed") return [stopTimer("K")];
  return state.timerE === null ? [stopTimer("F")] : [stopTimer("E"), stopTimer("F")];
}

function end<Req, Res>(state: ClientNonInviteState<Req>, actions: ClientNonInviteAction<Req, Res>[], reason: Terminate["reason"]): Step<Req, Res> {
  return { state: { ...state, name: "terminated", timerE: null }, actions: [...actions, terminate(reason)], handled: true };
}
