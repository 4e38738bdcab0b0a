/**
 * Vocabulary shared by the four pure transaction state machines (RFC 3261 §17 Figures 5-8, RFC 6026 Figures 5
 * and 7). A machine is a function `step(state, event) → Transition`: plain data in, plain data out, no clock,
 * no I/O. The drivers (`client-invite.ts`, ...) execute the returned actions in order.
 */

/** Why a transaction ended. "timeout": Timer B, F or H fired; "transport-error": §17.1.1.2 / §17.2.1 / §18.4. */
export type TerminationReason = "normal" | "timeout" | "transport-error";

/** Timer names of RFC 3261 Table 4 and RFC 6026. */
export type TimerName = "A" | "B" | "D" | "E" | "F" | "G" | "H" | "I" | "J" | "K" | "L" | "M";

/** Arm (or re-arm, replacing a running instance) a named timer. */
export interface StartTimer<T extends TimerName> {
  readonly kind: "start-timer";
  readonly timer: T;
  readonly ms: number;
}

/** Disarm a named timer if running. */
export interface StopTimer<T extends TimerName> {
  readonly kind: "stop-timer";
  readonly timer: T;
}

/** The machine entered "Terminated": it must be destroyed (§17.1.1.2, §17.2.1). Emitted exactly once. */
export interface Terminate {
  readonly kind: "terminated";
  readonly reason: TerminationReason;
}

export type TimerAction<T extends TimerName> = StartTimer<T> | StopTimer<T>;

export interface Transition<S, A> {
  readonly state: S;
  readonly actions: readonly A[];
  /**
   * false when the event does not apply in the current state and was discarded without effect (e.g. a 1xx from
   * the TU after a final response, a stale timer, an ACK in "Proceeding"). For an ACK in the server "Accepted"
   * state this is RFC 6026's "pass ACK to TU": the transaction does not consume it.
   */
  readonly handled: boolean;
}

export const startTimer = <T extends TimerName>(timer: T, ms: number): StartTimer<T> => ({ kind: "start-timer", timer, ms });
export const stopTimer = <T extends TimerName>(timer: T): StopTimer<T> => ({ kind: "stop-timer", timer });
export const terminate = (reason: TerminationReason): Terminate => ({ kind: "terminated", reason });

/** The event had no effect: same state, no actions. */
export const discard = <S, A>(state: S): Transition<S, A> => ({ state, actions: [], handled: false });

/** 1xx (RFC 3261 §21.1). */
export const isProvisional = (status: number): boolean => Number.isInteger(status) && status >= 100 && status <= 199;
/** 2xx (§21.2). */
export const isSuccess = (status: number): boolean => Number.isInteger(status) && status >= 200 && status <= 299;
/** 200-699: any final response (§7.2). */
export const isFinal = (status: number): boolean => Number.isInteger(status) && status >= 200 && status <= 699;
/** 300-699: a final response that is not a success, the ones the INVITE transaction ACKs itself (§17.1.1.3). */
export const isNonSuccessFinal = (status: number): boolean => isFinal(status) && status >= 300;

/** Next retransmission interval: double, optionally capped at T2 (§17.1.2.2 Timer E, §17.2.1 Timer G). */
export const backoff = (interval: number, cap?: number): number =>
  cap === undefined ? interval * 2 : Math.min(interval * 2, cap);
