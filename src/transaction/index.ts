/**
 * RFC 3261 §17 transaction layer (with RFC 6026), independent of the SIP codec: generic over the request and
 * response types, status codes passed alongside.
 *
 * - `timers.ts` derives every timer (Table 4 + L, M); `clock.ts` is the time port, `fake-clock.ts` its test double.
 * - `*-fsm.ts` are the pure machines (`step(state, event) → { state, actions, handled }`).
 * - `server-invite.ts`, `server-non-invite.ts`, `client-invite.ts`, `client-non-invite.ts` are the drivers the TU
 *   uses; `engine.ts` documents their execution model (state first, FIFO callbacks, errors surfaced after).
 * - Left to the TU on purpose: transaction matching (§17.1.3, §17.2.3), building 100 Trying and ACKs, Timer C.
 */
export { DEFAULT_TIMER_SETTINGS, timerDurations, timerSettings, type TimerDurations, type TimerSettings } from "./timers.ts";
export { systemClock, type Clock, type TimerHandle } from "./clock.ts";
export { FakeClock } from "./fake-clock.ts";
export type { TerminationReason, TimerName, Transition } from "./fsm.ts";

export { ServerInviteTransaction, type ServerInviteOptions } from "./server-invite.ts";
export { ServerNonInviteTransaction, type ServerNonInviteOptions } from "./server-non-invite.ts";
export { ClientInviteTransaction, type ClientInviteOptions } from "./client-invite.ts";
export { ClientNonInviteTransaction, type ClientNonInviteOptions } from "./client-non-invite.ts";

export * from "./server-invite-fsm.ts";
export * from "./server-non-invite-fsm.ts";
export * from "./client-invite-fsm.ts";
export * from "./client-non-invite-fsm.ts";
