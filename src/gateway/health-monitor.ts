/**
 * The gateway side of health checking: it keeps this gateway's view of every destination's health (refreshed from
 * the shared store each tick, updated at once by its own evidence), sends the OPTIONS probes the schedule says are
 * due (one gateway per destination per interval, by a lease in the store), feeds what real calls reveal into the
 * same state machine, and announces every state change: log line, counter, signed webhook.
 *
 * The decisions are pure (src/health: state machine, schedule); this file only moves data between them, the store,
 * the SIP core and the webhook sender.
 */
import type { CatalogSnapshot, DestinationView } from "../db/catalog.ts";
import type { HealthStore, RecordResult } from "../dialog/health.ts";
import { dueProbes, probeSettings, type ProbeTask } from "../health/schedule.ts";
import { effectiveState, successMatters, type EffectiveView, type Evidence, type HealthPolicy, type HealthRecord, type TrafficEvidence } from "../health/state.ts";
import { destinationStateEvent } from "../webhook/event.ts";
import type { WebhookSender } from "../webhook/sender.ts";
import type { Counters } from "./counters.ts";
import type { Logger } from "./log.ts";
import type { ProbeOptions, ProbeOutcome } from "./proxy-core.ts";
import type { Target } from "../proxy/route-token.ts";

export interface HealthMonitorDeps {
  readonly store: HealthStore;
  readonly snapshot: () => CatalogSnapshot;
  readonly probe: (target: Target, uri: string, options: ProbeOptions) => Promise<ProbeOutcome>;
  /** Wall-clock epoch ms: health records are shared between gateways. */
  readonly now: () => number;
  readonly policy: HealthPolicy;
  readonly gatewayId: string;
  readonly probeFrom: string;
  readonly probeMaxForwards: number;
  readonly log: Logger;
  readonly counters: Counters;
  readonly webhooks?: WebhookSender;
}

/**
 * A probe timeout observed later than its deadline by more than the timeout itself (and at least this long) is our
 * own overload, not the destination's fault.
 */
const LATE_TIMEOUT_MIN_MS = 1000;

export class HealthMonitor {
  readonly #deps: HealthMonitorDeps;
  #view: Record<string, HealthRecord> = {};

  constructor(deps: HealthMonitorDeps) {
    this.#deps = deps;
  }

  /** This gateway's latest view of a destination's health (undefined: nothing reported yet, i.e. healthy). */
  record(destinationId: string): HealthRecord | undefined {
    return this.#view[destinationId];
  }

  /** What the destination is, all things considered (admin state wins), and whether new calls may go there. */
  effective(destination: Pick<DestinationView, "id" | "state" | "probe">): EffectiveView {
    return effectiveState(destination.state, this.#view[destination.id], this.#deps.now(), {
      probeMode: probeSettings(destination).mode,
      policy: this.#deps.policy,
    });
  }

  /** One timer run: refresh the shared view, then send the probes that are due. */
  async tick(): Promise<void> {
    const destinations = this.#deps.snapshot().destinations;
    if (destinations.length === 0) return;
    const view = await this.#deps.store.health(destinations.map((d) => d.id));
    await this.apply(view, dueProbes(destinations, view, this.#deps.now()).due);
  }

  /** Act on a timers-function decision: adopt its health view and send the probes it found due. */
  async apply(view: Readonly<Record<string, HealthRecord>>, due: readonly ProbeTask[]): Promise<void> {
    this.#view = { ...view };
    const byId = new Map(this.#deps.snapshot().destinations.map((d) => [d.id, d] as const));
    await Promise.all(due.map((task) => this.#probe(task, byId.get(task.destinationId))));
  }

  async #probe(task: ProbeTask, destination: DestinationView | undefined): Promise<void> {
    if (!destination) return;
    const deps = this.#deps;
    // Exactly one gateway probes a destination per interval, however many share the store.
    if (!(await deps.store.acquireProbeLease(task.destinationId, deps.gatewayId, task.leaseTtlMs))) return;
    const outcome = await deps.probe(destination.target, destination.uri, {
      from: deps.probeFrom,
      maxForwards: deps.probeMaxForwards,
      timeoutMs: task.timeoutMs,
    });
    deps.counters.inc(`probes.${outcome.result}`);
    // A timeout noticed far past its deadline means this gateway was too busy to read the reply, not that the
    // destination is gone: one overloaded balancer must not mark every destination down (a known complaint about
    // kamailio/OpenSIPS probing). Such a probe is not evidence either way.
    if (outcome.result === "timeout" && outcome.elapsedMs - task.timeoutMs > Math.max(task.timeoutMs, LATE_TIMEOUT_MIN_MS)) {
      deps.counters.inc("probes.discarded-overload");
      return;
    }
    const evidence: Evidence =
      outcome.result === "reply"
        ? { source: "probe", result: "reply", status: outcome.status, latencyMs: outcome.latencyMs, aliveCodes: task.aliveCodes }
        : { source: "probe", result: outcome.result, elapsedMs: outcome.elapsedMs };
    await this.#record(task.destinationId, evidence);
  }

  /**
   * What a real call revealed. Failures always count; successes only when they could change something (a
   * destination recovering), so healthy destinations cost no store write per call. Never blocks the call.
   */
  traffic(destinationId: string, evidence: TrafficEvidence): void {
    if (evidence.result === "success" && !successMatters(this.#view[destinationId])) return;
    this.#deps.counters.inc(`health.traffic.${evidence.result}`);
    this.#record(destinationId, evidence).catch(() => {});
  }

  async #record(destinationId: string, evidence: Evidence): Promise<void> {
    const deps = this.#deps;
    let result: RecordResult;
    try {
      result = await deps.store.recordEvidence(destinationId, evidence, deps.policy);
    } catch (error) {
      deps.counters.inc("health.store-errors");
      deps.log.log("warn", "could not record health evidence", { destination: destinationId, error: String(error) });
      return;
    }
    this.#view = { ...this.#view, [destinationId]: result.record };
    if (result.paused) {
      deps.counters.inc("health.paused");
      deps.log.log("info", "destination paused by Retry-After", { destination: destinationId, until: new Date(result.paused.until).toISOString() });
    }
    const change = result.changed;
    if (!change) return;
    deps.counters.inc(`health.changes.${change.to}`);
    deps.log.log(change.to === "active" ? "info" : "warn", "destination state changed", { destination: destinationId, from: change.from, to: change.to, reason: change.reason });
    if (deps.webhooks && !deps.webhooks.send(destinationStateEvent(destinationId, change, deps.now()))) deps.counters.inc("webhooks.dropped");
  }
}
