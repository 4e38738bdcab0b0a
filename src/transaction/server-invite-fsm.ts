/**
 * INVITE server transaction, pure state machine: RFC 3261 §17.2.1 (Figure 7) as amended by RFC 6026 §7.1, §8.5-8.7
 * (Figure 7 of RFC 6026: the "Accepted" state).
 *
 * ```
 *   Proceeding --1xx from TU: send-------------------------------------------------------+ (loop)
 *       |  \      INVITE retransmission: resend last provisional                          |
 *       |   \---2xx from TU: send, start L--------------------> Accepted                   |
 *       |                                                        | INVITE: absorb          |
 *  3xx-6xx from TU: send, start G (unreliable), H                 | 2xx from TU: send       |
 *       v                                                        | ACK: pass to TU         |
 *   Completed --INVITE / Timer G: resend final (G doubles, cap T2)| Transport err: inform TU
 *       |  \-- Timer H: timeout; transport error                 | Timer L: terminate
 *   ACK |                                                        v
 *       v                                                     Terminated
 *   Confirmed --ACK / INVITE: absorb; Timer I (T4, 0 reliable): terminate
 * ```
 *
 * Sending 100 (Trying) within 200 ms (§17.2.1 first paragraph) is left to the TU: building a response needs the SIP
 * codec, which this layer deliberately does not know. The TU passes it in as an ordinary provisional.
 */
import {
  backoff, discard, isNonSuccessFinal, isProvisional, isSuccess, startTimer, stopTimer, terminate,
  type Terminate, type TimerAction, type Transition,
} from "./fsm.ts";
import type { TimerDurations } from "./timers.ts";

export type ServerInviteStateName = "proceeding" | "completed" | "confirmed" | "accepted" | "terminated";
export type ServerInviteTimer = "G" | "H" | "I" | "L";

export interface ServerInviteState<Res> {
  readonly name: ServerInviteStateName;
  readonly durations: TimerDurations;
  /** Most recent provisional (Proceeding) or the final (Completed and later); what INVITE retransmissions get. */
  readonly lastResponse: Res | undefined;
  /** Interval Timer G is currently armed with (Completed on unreliable transports), else null. */
  readonly timerG: number | null;
}

export type ServerInviteEvent<Res> =
  | { readonly kind: "respond"; readonly status: number; readonly response: Res }
  | { readonly kind: "request-retransmission" }
  | { readonly kind: "ack" }
  | { readonly kind: "timer"; readonly timer: ServerInviteTimer }
  | { readonly kind: "transport-error" };

export type ServerInviteAction<Res> =
  /** Pass a response to the transport layer (first transmission or retransmission). */
  | { readonly kind: "send"; readonly response: Res }
  /** Completed → Confirmed: the ACK for our non-2xx final arrived. */
  | { readonly kind: "ack-received" }
  /** RFC 6026 Accepted: transport error sending a 2xx; inform TU, stay in Accepted. */
  | { readonly kind: "transport-error" }
  | TimerAction<ServerInviteTimer>
  | Terminate;

type Step<Res> = Transition<ServerInviteState<Res>, ServerInviteAction<Res>>;

/** A new INVITE server transaction: "Proceeding" (§17.2.1). The INVITE itself goes to the TU, not through here. */
export function initialServerInvite<Res>(durations: TimerDurations): ServerInviteState<Res> {
  return { name: "proceeding", durations, lastResponse: undefined, timerG: null };
}

export function stepServerInvite<Res>(state: ServerInviteState<Res>, event: ServerInviteEvent<Res>): Step<Res> {
  switch (state.name) {
    case "proceeding": return proceeding(state, event);
    case "completed": return completed(state, event);
    case "confirmed": return confirmed(state, event);
    case "accepted": return accepted(state, event);
    case "terminated": return discard(state);
  }
}

function proceeding<Res>(state: ServerInviteState<Res>, event: ServerInviteEvent<Res>): Step<Res> {
  const d = state.durations;
  switch (event.kind) {
    case "respond": {
      const send = { kind: "send", response: event.response } as const;
      if (isProvisional(event.status)) {
        return { state: { ...state, lastResponse: event.response }, actions: [send], handled: true };
      }
      if (isSuccess(event.status)) {
        // RFC 6026 §8.5: 2xx from TU → send, enter Accepted, start Timer L.
        return { state: { ...state, name: "accepted", lastResponse: event.response }, actions: [send, startTimer("L", d.L)], handled: true };
      }
      if (isNonSuccessFinal(event.status)) {
        // §17.2.1: 300-699 → Completed; Timer G (unreliable only) and Timer H.
        const actions: ServerInviteAction<Res>[] = [send];
        if (d.G !== null) actions.push(startTimer("G", d.G));
        actions.push(startTimer("H", d.H));
        return { state: { ...state, name: "completed", lastResponse: event.response, timerG: d.G }, actions, handled: true };
      }
      return discard(state);
    }
    case "request-retransmission":
      // §17.2.1: "the most recent provisional response that was received from the TU MUST be passed to the
      // transport layer for retransmission". Nothing to resend if the TU has not responded yet.
      return { state, actions: state.lastResponse === undefined ? [] : [{ kind: "send", response: state.lastResponse }], handled: true };
    case "transport-error":
      return end(state, [], "transport-error");
    case "ack":
    case "timer":
      return discard(state);
  }
}

function completed<Res>(state: ServerInviteState<Res>, event: ServerInviteEvent<Res>): Step<Res> {
  const d = state.durations;
  const stopRetransmit: ServerInviteAction<Res>[] = state.timerG === null ? [] : [stopTimer("G")];
  switch (event.kind) {
    case "request-retransmission":
      return resendFinal(state, state.timerG);
    case "ack": {
      // §17.2.1: ACK → Confirmed, stop G, start I (T4 unreliable, zero reliable: terminate at once).
      const actions: ServerInviteAction<Res>[] = [...stopRetransmit, stopTimer("H"), { kind: "ack-received" }];
      if (d.I === 0) return end(state, actions, "normal");
      actions.push(startTimer("I", d.I));
      return { state: { ...state, name: "confirmed", timerG: null }, actions, handled: true };
    }
    case "timer":
      if (event.timer === "G" && state.timerG !== null) {
        // §17.2.1: retransmit, reset G to min(2*G, T2).
        return resendFinal(state, backoff(state.timerG, d.T2), [startTimer("G", backoff(state.timerG, d.T2))]);
      }
      if (event.timer === "H") return end(state, stopRetransmit, "timeout");
      return discard(state);
    case "transport-error":
      return end(state, [...stopRetransmit, stopTimer("H")], "transport-error");
    case "respond":
      return discard(state);
  }
}

function confirmed<Res>(state: ServerInviteState<Res>, event: ServerInviteEvent<Res>): Step<Res> {
  switch (event.kind) {
    case "ack":
    case "request-retransmission":
      // §17.2.1: "any ACKs that are received are absorbed without being passed to the TU".
      return { state, actions: [], handled: true };
    case "timer":
      return event.timer === "I" ? end(state, [], "normal") : discard(state);
    case "respond":
    case "transport-error":
      return discard(state);
  }
}

function accepted<Res>(state: ServerInviteState<Res>, event: ServerInviteEvent<Res>): Step<Res> {
  switch (event.kind) {
    case "respond":
      // RFC 6026 §8.7: further 2xx from the TU (retransmissions, other forks) are sent; nothing else is.
      if (!isSuccess(event.status)) return discard(state);
      return { state: { ...state, lastResponse: event.response }, actions: [{ kind: "send", response: event.response }], handled: true };
    case "request-retransmission":
      // RFC 6026 §8.7: INVITE retransmissions are absorbed (2xx retransmission is the UAS core's job, §13.3.1.4).
      return { state, actions: [], handled: true };
    case "ack":
      // RFC 6026 §8.7: the ACK is passed to the TU; the transaction does not consume it.
      return discard(state);
    case "transport-error":
      // RFC 6026 Figure 7: Accepted --Transport Err./Inform TU--> Accepted.
      return { state, actions: [{ kind: "transport-error" }], handled: true };
    case "timer":
      return event.timer === "L" ? end(state, [], "normal") : discard(state);
  }
}

function resendFinal<Res>(state: ServerInviteState<Res>, timerG: number | null, extra: ServerInviteAction<Res>[] = []): Step<Res> {
  const actions: ServerInviteAction<Res>[] = state.lastResponse === undefined ? [] : [{ kind: "send", response: state.lastResponse }];
  return { state: { ...state, timerG }, actions: [...actions, ...extra], handled: true };
}

function end<Res>(state: ServerInviteState<Res>, actions: ServerInviteAction<Res>[], reason: Terminate["reason"]): Step<Res> {
  return { state: { ...state, name: "terminated", timerG: null }, actions: [...actions, terminate(reason)], handled: true };
}
