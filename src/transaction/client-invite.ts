/**
 * INVITE client transaction driver (RFC 3261 §17.1.1 + RFC 6026): binds {@link stepClientInvite} to a clock and to
 * the TU's callbacks. The TU (proxy core) builds the INVITE and, from each non-2xx final, the ACK (§17.1.1.3).
 */
import type { Clock } from "./clock.ts";
import {
  initialClientInvite, stepClientInvite,
  type ClientInviteAction, type ClientInviteEvent, type ClientInviteState, type ClientInviteStateName, type ClientInviteTimer,
} from "./client-invite-fsm.ts";
import { Engine } from "./engine.ts";
import type { TerminationReason } from "./fsm.ts";
import { DEFAULT_TIMER_SETTINGS, timerDurations, type TimerSettings } from "./timers.ts";

export interface ClientInviteOptions<Req, Res> {
  request: Req;
  /** Reliable transport (TCP, TLS, SCTP, WS): no Timer A, Timer D = 0. */
  reliable: boolean;
  timers?: TimerSettings;
  clock: Clock;
  /** Transmit / retransmit the INVITE (Timer A, unreliable only). */
  send(req: Req): void;
  /** Send the hop-by-hop ACK for a 3xx-6xx final (§17.1.1.3); called again for each retransmitted final in Completed. */
  sendAck(res: Res): void;
  /** To TU: every 1xx, the FIRST 3xx-6xx (retransmissions absorbed), EVERY 2xx (first and retransmissions, RFC 6026). */
  onResponse(status: number, res: Res): void;
  /** Timer B fired in Calling (§17.1.1.2): the TU treats it as a 408. Followed by onTerminated("timeout"). */
  onTimeout(): void;
  /** Called exactly once (unless {@link ClientInviteTransaction.dispose} came first). */
  onTerminated(reason: TerminationReason): void;
}

export class ClientInviteTransaction<Req, Res> {
  readonly #engine: Engine<ClientInviteState<Req>, ClientInviteEvent<Res>, ClientInviteAction<Req, Res>, ClientInviteTimer>;

  constructor(options: ClientInviteOptions<Req, Res>) {
    this.#engine = new Engine({
      initial: initialClientInvite(options.request, timerDurations(options.timers ?? DEFAULT_TIMER_SETTINGS, options.reliable)),
      clock: options.clock,
      step: stepClientInvite<Req, Res>,
      timerEvent: (timer) => ({ kind: "timer", timer }),
      perform(action) {
        switch (action.kind) {
          case "send-request": return options.send(action.request);
          case "send-ack": return options.sendAck(action.response);
          case "to-tu": return options.onResponse(action.status, action.response);
          case "timeout": return options.onTimeout();
          case "terminated": return options.onTerminated(action.reason);
          case "start-timer":
          case "stop-timer": return;
        }
      },
    });
  }

  get state(): ClientInviteStateName {
    return this.#engine.state.name;
  }

  /** True once any provisional (100 included) arrived: a CANCEL may only be sent after that (§9.1). */
  get provisionalReceived(): boolean {
    return this.#engine.state.provisionalReceived;
  }

  /** Send the INVITE, start Timer A (unreliable only, T1) and Timer B (64*T1). Calls after the first are ignored. */
  start(): void {
    this.#engine.dispatch({ kind: "start" });
  }

  /** A response matched to this transaction (§17.1.3 matching is the caller's job). Ignored before start(). */
  receiveResponse(status: number, res: Res): void {
    this.#engine.dispatch({ kind: "response", status, response: res });
  }

  /**
   * The transport failed (§17.1.1.2, §18.4): in Calling, Proceeding or Completed → onTerminated("transport-error")
   * and no onTimeout; the TU fails over to the next target or treats it as a 503 (§16.9). Ignored in Accepted,
   * where nothing is sent and RFC 6026 defines no such transition.
   */
  transportError(): void {
    this.#engine.dispatch({ kind: "transport-error" });
  }

  /** Stop all timers immediately (shutdown). The transaction becomes "terminated" without calling onTerminated. */
  dispose(): void {
    this.#engine.dispose();
  }
}
