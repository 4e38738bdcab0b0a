/**
 * INVITE client transaction, pure state machine: RFC 3261 §17.1.1 (Figure 5) as amended by RFC 6026 §7.2, §8.4
 * (Figure 5 of RFC 6026: the "Accepted" state).
 *
 * ```
 *   Calling --Timer A (unreliable): retransmit, A doubles (no cap)
 *     |  \--Timer B (64*T1) / transport error: inform TU, terminate
 *     | 1xx: to TU (stop A and B)
 *     v
 *   Proceeding --1xx: to TU
 *     |
 *     |-- 2xx (from Calling or Proceeding): to TU, start M --> Accepted --2xx: to TU (RFC 6026)
 *     |                                                          | Timer M (64*T1)
 *     | 300-699: send ACK, to TU, start D                        v
 *     v                                                       Terminated
 *   Completed --300-699 retransmission: send ACK again, absorb
 *     | Timer D (max(32 s, 64*T1) unreliable, 0 reliable) / transport error
 *     v
 *   Terminated
 * ```
 *
 * Timer B is not left running in Proceeding: Figure 5 only lets it act in Calling, and an INVITE may legitimately
 * ring for minutes. Bounding Proceeding is the proxy's Timer C (§16.6 step 11, §16.8), a TU concern.
 */
import {
  backoff, discard, isNonSuccessFinal, isProvisional, isSuccess, startTimer, stopTimer, terminate,
  type Terminate, type TimerAction, type Transition,
} from "./fsm.ts";
import type { TimerDurations } from "./timers.ts";

export type ClientInviteStateName = "calling" | "proceeding" | "completed" | "accepted" | "terminated";
export type ClientInviteTimer = "A" | "B" | "D" | "M";

export interface ClientInviteState<Req> {
  readonly name: ClientInviteStateName;
  readonly durations: TimerDurations;
  readonly request: Req;
  /** The TU has started the transaction (the INVITE was sent). */
  readonly started: boolean;
  /** Interval Timer A is currently armed with (Calling, unreliable), else null. */
  readonly timerA: number | null;
  /** A provisional response arrived; from then on a CANCEL may be sent (§9.1). */
  readonly provisionalReceived: boolean;
}

export type ClientInviteEvent<Res> =
  | { readonly kind: "start" }
  | { readonly kind: "response"; readonly status: number; readonly response: Res }
  | { readonly kind: "timer"; readonly timer: ClientInviteTimer }
  | { readonly kind: "transport-error" };

export type ClientInviteAction<Req, Res> =
  /** Pass the INVITE to the transport layer (first transmission or Timer A retransmission). */
  | { readonly kind: "send-request"; readonly request: Req }
  /** Send the hop-by-hop ACK for this 300-699 response (§17.1.1.3). */
  | { readonly kind: "send-ack"; readonly response: Res }
  /** Pass the response to the TU. */
  | { readonly kind: "to-tu"; readonly status: number; readonly response: Res }
  /** Timer B fired in Calling: inform the TU of the timeout (§17.1.1.2); a proxy core treats it as a 408. */
  | { readonly kind: "timeout" }
  | TimerAction<ClientInviteTimer>
  | Terminate;

type Step<Req, Res> = Transition<ClientInviteState<Req>, ClientInviteAction<Req, Res>>;

/** A new INVITE client transaction in "Calling", not started yet. */
export function initialClientInvite<Req>(request: Req, durations: TimerDurations): ClientInviteState<Req> {
  return { name: "calling", durations, request, started: false, timerA: null, provisionalReceived: false };
}

export function stepClientInvite<Req, Res>(state: ClientInviteState<Req>, event: ClientInviteEvent<Res>): Step<Req, Res> {
  if (state.name === "terminated") return discard(state);
  if (!state.started) return event.kind === "start" ? start(state) : discard(state);
  switch (event.kind) {
    case "start":
      return discard(state);
    case "response":
      return response(state, event.status, event.response);
    case "timer":
      return timer(state, event.timer);
    case "transport-error":
      // §17.1.1.2: transport error in Calling (and Completed, sending the ACK) informs the TU and terminates. A
      // dead connection in Proceeding means no final can arrive any more, so it is handled the same way. Nothing
      // is sent in Accepted, and RFC 6026 gives it no such transition: ignored there.
      if (state.name === "accepted") return discard(state);
      return end<Req, Res>(state, [...stopRunning(state)], "transport-error");
  }
}

function start<Req, Res>(state: ClientInviteState<Req>): Step<Req, Res> {
  // §17.1.1.2: send; Timer A = T1 on unreliable transports only; Timer B = 64*T1 always.
  const d = state.durations;
  const actions: ClientInviteAction<Req, Res>[] = [{ kind: "send-request", request: state.request }];
  if (d.A !== null) actions.push(startTimer("A", d.A));
  actions.push(startTimer("B", d.B));
  return { state: { ...state, started: true, timerA: d.A }, actions, handled: true };
}

function response<Req, Res>(state: ClientInviteState<Req>, status: number, res: Res): Step<Req, Res> {
  const d = state.durations;
  const toTu = { kind: "to-tu", status, response: res } as const;
  const awaitingFinal = state.name === "calling" || state.name === "proceeding";
  if (isProvisional(status)) {
    if (!awaitingFinal) return discard(state);
    return {
      state: { ...state, name: "proceeding", timerA: null, provisionalReceived: true },
      actions: [...stopRunning(state), toTu],
      handled: true,
    };
  }
  if (isSuccess(status)) {
    if (awaitingFinal) {
      // RFC 6026 §8.4: 2xx → Accepted, start Timer M, pass to TU.
      return { state: { ...state, name: "accepted", timerA: null }, actions: [...stopRunning(state), startTimer("M", d.M), toTu], handled: true };
    }
    // RFC 6026 §8.4: in Accepted every further 2xx (retransmission or another fork) goes to the TU, which for a
    // proxy forwards it upstream (§16.7 step 5 / step 10). RFC 3261 is silent about a 2xx racing in after a
    // non-2xx in Completed (a forking proxy downstream); it is passed on as well so the UAC can still ACK it.
    return { state, actions: [toTu], handled: true };
  }
  if (isNonSuccessFinal(status)) {
    if (state.name === "completed") {
      // §17.1.1.2: retransmitted final → ACK again, not passed to the TU.
      return { state, actions: [{ kind: "send-ack", response: res }], handled: true };
    }
    if (!awaitingFinal) return discard(state);
    // §17.1.1.2: 300-699 → Completed, ACK, pass to TU, Timer D (zero on reliable transports: terminate now).
    const actions: ClientInviteAction<Req, Res>[] = [...stopRunning(state), { kind: "send-ack", response: res }, toTu];
    if (d.D === 0) return end<Req, Res>(state, actions, "normal");
    actions.push(startTimer("D", d.D));
    return { state: { ...state, name: "completed", timerA: null }, actions, handled: true };
  }
  return discard(state);
}

function timer<Req, Res>(state: ClientInviteState<Req>, name: ClientInviteTimer): Step<Req, Res> {
  if (state.name === "calling" && name === "A" && state.timerA !== null) {
    // §17.1.1.2: retransmit and double Timer A (no T2 cap for INVITE requests).
    const next = backoff(state.timerA);
    return {
      state: { ...state, timerA: next },
      actions: [{ kind: "send-request", request: state.request }, startTimer("A", next)],
      handled: true,
    };
  }
  if (state.name === "calling" && name === "B") return end<Req, Res>(state, [...stopRunning(state), { kind: "timeout" }], "timeout");
  if (state.name === "completed" && name === "D") return end<Req, Res>(state, [], "normal");
  if (state.name === "accepted" && name === "M") return end<Req, Res>(state, [], "normal");
  return discard(state);
}

/** Stop whichever timers the current state has armed. */
function stopRunning<Req>(state: ClientInviteState<Req>): TimerAction<ClientInviteTimer>[] {
  switch (state.name) {
    case "calling": return state.timerA === null ? [stopTimer("B")] : [stopTimer("A"), stopTimer("B")];
    case "completed": return [stopTimer("D")];
    case "accepted": return [stopTimer("M")];
    case "proceeding":
    case "terminated": return [];
  }
}

function end<Req, Res>(state: ClientInviteState<Req>, actions: ClientInviteAction<Req, Res>[], reason: Terminate["reason"]): Step<Req, Res> {
  return { state: { ...state, name: "terminated", timerA: null }, actions: [...actions, terminate(reason)], handled: true };
}
