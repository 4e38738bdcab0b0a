/** Everything the proxy core needs from its surroundings, passed in (no globals): clock, I/O, store, identity. */
import type { Clock } from "../transaction/clock.ts";
import type { TimerSettings } from "../transaction/timers.ts";
import type { DialogStore } from "../dialog/dialog.ts";
import type { RouteSigner, Target } from "../proxy/route-token.ts";
import type { IdMint } from "../proxy/ids.ts";
import type { OurAddresses } from "./addresses.ts";
import type { Counters } from "./counters.ts";
import type { Logger } from "./log.ts";
import type { TrafficEvidence } from "../health/state.ts";
import type { FailoverPolicy } from "./response-context.ts";

export interface ProxyEnv {
  readonly clock: Clock;
  /** Wall-clock epoch ms, for records other processes read (dialogs); `clock` is monotonic and process-local. */
  readonly epochNow: () => number;
  readonly timers: TimerSettings;
  readonly addresses: OurAddresses;
  readonly ids: IdMint;
  readonly signer: RouteSigner;
  readonly dialogs: DialogStore;
  readonly dialogTtlMs: number;
  /** Life of a capacity reservation while its call is being set up (Timer C + a CANCEL's 64*T1 + slack). */
  readonly setupTtlMs: number;
  /** How long a destination may stay silent (not even 100 Trying) before we fail over (kamailio fr_timer). */
  readonly branchTimeoutMs: number;
  /** Timer C (RFC 3261 §16.8; kamailio fr_inv_timeout): how long a branch may ring before we CANCEL it. */
  readonly timerCMs: number;
  readonly gatewayId: string;
  /** What a branch revealed about its destination's health (passive failure detection). */
  readonly evidence?: (destinationId: string, evidence: TrafficEvidence) => void;
  /** Serial failover: codes, attempts, time budget. */
  readonly failover: FailoverPolicy;
  readonly log: Logger;
  readonly counters: Counters;
  /** Send to a target; transport failures come back through onError. */
  send(target: Target, data: Uint8Array, onError?: (error: Error) => void, connectionId?: number): void;
}
