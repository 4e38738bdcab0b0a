/**
 * A proxy core from the configuration and the ports it is given: the same settings for the main thread's core and
 * for every worker shard's (shard-worker.ts), so no shard can drift from another.
 */
import type { Config } from "../config.ts";
import type { DialogStore } from "../dialog/dialog.ts";
import type { TrafficEvidence } from "../health/state.ts";
import type { IdMint } from "../proxy/ids.ts";
import { RouteSigner, type Target } from "../proxy/route-token.ts";
import type { Clock } from "../transaction/clock.ts";
import { timerSettings } from "../transaction/timers.ts";
import type { OurAddresses } from "./addresses.ts";
import type { Counters } from "./counters.ts";
import type { Logger } from "./log.ts";
import { ProxyCore, type RouteHandler } from "./proxy-core.ts";

export interface CorePorts {
  readonly config: Config;
  readonly secret: string;
  readonly clock: Clock;
  readonly addresses: OurAddresses;
  readonly ids: IdMint;
  readonly dialogs: DialogStore;
  readonly gatewayId: string;
  readonly log: Logger;
  readonly counters: Counters;
  readonly route: RouteHandler;
  readonly eventHeaders: () => readonly string[];
  readonly evidence: (destinationId: string, evidence: TrafficEvidence) => void;
  readonly send: (target: Target, data: Uint8Array, onError?: (error: Error) => void, connectionId?: number) => void;
}

export function buildProxyCore(ports: CorePorts): ProxyCore {
  const { config } = ports;
  return new ProxyCore(
    {
      clock: ports.clock,
      epochNow: Date.now,
      timers: timerSettings(config.t1Ms, config.t2Ms, config.t4Ms),
      addresses: ports.addresses,
      ids: ports.ids,
      signer: new RouteSigner(ports.secret),
      dialogs: ports.dialogs,
      dialogTtlMs: config.dialogTtlS * 1000,
      setupTtlMs: config.timerCMs + 64 * config.t1Ms + config.branchTimeoutMs,
      branchTimeoutMs: config.branchTimeoutMs,
      timerCMs: config.timerCMs,
      evidence: ports.evidence,
      failover: { codes: new Set(config.failoverCodes), maxAttempts: config.failoverMaxAttempts, budgetMs: config.failoverBudgetMs },
      gatewayId: ports.gatewayId,
      log: ports.log,
      counters: ports.counters,
      send: ports.send,
    },
    { route: ports.route, maxMessageSize: config.maxMessageSize, eventHeaders: ports.eventHeaders },
  );
}

/** Dialog supervision settings from the configuration (keepalive, maximum duration). */
export function supervision(config: Config): { pingIntervalMs: number; maxDurationMs: number; timeoutMs: number } {
  return {
    pingIntervalMs: config.dialogPingMs,
    maxDurationMs: config.maxCallDurationS * 1000,
    timeoutMs: Math.min(4000, Math.max(500, config.dialogPingMs / 2)),
  };
}
