/**
 * INVITE server transaction driver (RFC 3261 §17.2.1 + RFC 6026): binds {@link stepServerInvite} to a clock and to
 * the TU's callbacks. The TU (proxy core) matches requests to the transaction (§17.2.3) and builds responses; this
 * class decides what goes on the wire and when.
 */
import type { Clock } from "./clock.ts";
import { Engine } from "./engine.ts";
import type { TerminationReason } from "./fsm.ts";
import {
  initialServerInvite, stepServerInvite,
  type ServerInviteAction, type ServerInviteEvent, type ServerInviteState, type ServerInviteStateName, type ServerInviteTimer,
} from "./server-invite-fsm.ts";
import { DEFAULT_TIMER_SETTINGS, timerDurations, type TimerSettings } from "./timers.ts";

export interface ServerInviteOptions<Res> {
  /** Reliable transport (TCP, TLS, SCTP, WS): no Timer G, Timer I = 0. */
  reliable: boolean;
  timers?: TimerSettings;
  clock: Clock;
  /** Transmit or retransmit a response to the previous hop. */
  send(res: Res): void;
  /** Called exactly once (unless {@link ServerInviteTransaction.dispose} came first). "timeout": Timer H fired, no ACK to our non-2xx. */
  onTerminated(reason: TerminationReason): void;
  /** The ACK for our non-2xx final arrived (Completed → Confirmed). */
  onAck?(): void;
  /**
   * Optional extra. A transport error reported in "Accepted": RFC 6026 Figure 7 informs the TU and stays in
   * Accepted (so INVITE retransmissions are still absorbed until Timer L), instead of terminating.
   */
  onTransportError?(): void;
}

export class ServerInviteTransaction<Res> {
  readonly #engine: Engine<ServerInviteState<Res>, ServerInviteEvent<Res>, ServerInviteAction<Res>, ServerInviteTimer>;

  constructor(options: ServerInviteOptions<Res>) {
    this.#engine = new Engine({
      initial: initialServerInvite<Res>(timerDurations(options.timers ?? DEFAULT_TIMER_SETTINGS, options.reliable)),
      clock: options.clock,
      step: stepServerInvite,
      timerEvent: (timer) => ({ kind: "timer", timer }),
      perform(action) {
        switch (action.kind) {
          case "send": return options.send(action.response);
          case "ack-received": return options.onAck?.();
          case "transport-error": return options.onTransportError?.();
          case "terminated": return options.onTerminated(action.reason);
          case "start-timer":
          case "stop-timer": return; // handled by the engine
        }
      },
    });
  }

  get state(): ServerInviteStateName {
    return this.#engine.state.name;
  }

  /**
   * TU sends a response (§17.2.1, RFC 6026 §8.5-8.7). 1xx in Proceeding: sent and remembered for INVITE
   * retransmissions. 2xx in Proceeding: sent, → Accepted (Timer L); further 2xx in Accepted are sent too.
   * 3xx-6xx in Proceeding: sent, → Completed with Timer G (unreliable, doubling to T2) and H. Anything else (a 1xx
   * or non-2xx after a final, a status outside 100-699) is not sent and returns false.
   */
  respond(status: number, res: Res): boolean {
    return this.#engine.dispatch({ kind: "respond", status, response: res });
  }

  /** INVITE retransmission: resend the last provisional (Proceeding) or the final (Completed); absorbed otherwise. */
  receiveRequestRetransmission(): void {
    this.#engine.dispatch({ kind: "request-retransmission" });
  }

  /**
   * ACK matching this transaction (§17.2.3 matching is the caller's job). Returns true if absorbed here
   * (Completed → Confirmed, or a retransmitted ACK in Confirmed). Returns false otherwise, notably in Accepted,
   * where RFC 6026 §8.7 passes the ACK to the TU: for a proxy that ACK is an end-to-end request to forward.
   */
  receiveAck(): boolean {
    return this.#engine.dispatch({ kind: "ack" });
  }

  /**
   * The transport failed to deliver a response (§18.4, §17.2.1). Proceeding/Completed: → terminated
   * ("transport-error"). Accepted: `onTransportError` is called and the state is kept (RFC 6026 Figure 7).
   */
  transportError(): void {
    this.#engine.dispatch({ kind: "transport-error" });
  }

  /** Stop all timers immediately (shutdown). The transaction becomes "terminated" without calling onTerminated. */
  dispose(): void {
    this.#engine.dispose();
  }
}
