/**
 * Destination health as a pure state machine: what every gateway knows about whether a destination answers, built
 * from OPTIONS probes and from what real calls reveal. No clock, no socket, no store: `applyEvidence` takes the
 * record, one piece of evidence, the policy and `now`, and hands back the next record and the transition (if any).
 * The stores (src/dialog) run this same transition atomically: the memory store calls it, the Redis/Upstash script
 * (src/dialog/lua/health.ts) mirrors `applyVerdict` line by line, and a contract test compares both on random
 * sequences.
 *
 * States (health; the administrative state of src/destination/destination.ts is separate and wins, see
 * `effectiveState`):
 *
 *   active   ── failuresToProbing consecutive failures ──▶ probing ── failuresToInactive ──▶ inactive
 *   active   ── failuresToInactive consecutive failures (when both thresholds are equal) ─────▶ inactive
 *   probing | inactive ── successesToActive consecutive successes ──▶ active
 *
 * - `probing` is kamailio dispatcher's "trying" (T flag): something failed, the destination is watched (probed even
 *   in `when-inactive` mode) but still routable, so one lost reply never takes a node out of rotation.
 * - `inactive` is kamailio's "inactive + probing" (IP): not routable, probed until it answers again.
 * - Counters are consecutive and shared by every gateway (they live in the store): any success resets the failure
 *   count, any failure resets the success count. A local error on one gateway therefore needs to repeat, unbroken by
 *   anybody's success, before it takes a destination out.
 */
import * as v from "valibot";
import type { DestinationState, ProbeMode } from "../destination/destination.ts";

export type HealthState = "active" | "probing" | "inactive";
export const HEALTH_STATES: readonly HealthState[] = ["active", "probing", "inactive"];

/**
 * Outcome of the last probe: `alive` (a reply counted as alive), `not-alive` (a reply that does not count, e.g. 503),
 * `timeout` (no final reply in time), `transport-error` (ICMP unreachable, TCP refused or reset, DNS...).
 */
export type ProbeResult = "alive" | "not-alive" | "timeout" | "transport-error";
export const PROBE_RESULTS: readonly ProbeResult[] = ["alive", "not-alive", "timeout", "transport-error"];

/**
 * One destination's health: flat plain data (stored in Redis as one hash, field by field). Times are epoch ms.
 * `null` means "never happened".
 */
export interface HealthRecord {
  readonly state: HealthState;
  /** Consecutive failures (probe or traffic), reset by any success. */
  readonly failures: number;
  /** Consecutive successes (probe or traffic), reset by any failure. */
  readonly successes: number;
  /** When `state` last changed. */
  readonly changedAt: number | null;
  /** When the last probe was sent (recorded time minus the probe's elapsed time); drives the schedule. */
  readonly lastProbeAt: number | null;
  readonly lastProbeResult: ProbeResult | null;
  /** Status code of the last probe's reply; null after a timeout or transport error. */
  readonly lastProbeStatus: number | null;
  /** Round trip of the most recent probe reply (ms, 0.1 ms resolution). Timeouts leave it as it was. */
  readonly lastLatencyMs: number | null;
  /** Exponentially weighted moving average of probe round trips (weight `latencyAlpha` for the newest sample). */
  readonly avgLatencyMs: number | null;
  readonly lastFailureAt: number | null;
  readonly lastSuccessAt: number | null;
  /** Not routable before this time: a call got 503 with Retry-After (RFC 3261 §21.5.4, §20.33). */
  readonly pausedUntil: number | null;
  readonly updatedAt: number | null;
}

/** What a destination nobody has reported on is: active, no history. */
export function initialHealth(): HealthRecord {
  return {
    state: "active",
    failures: 0,
    successes: 0,
    changedAt: null,
    lastProbeAt: null,
    lastProbeResult: null,
    lastProbeStatus: null,
    lastLatencyMs: null,
    avgLatencyMs: null,
    lastFailureAt: null,
    lastSuccessAt: null,
    pausedUntil: null,
    updatedAt: null,
  };
}

// ---- evidence ---------------------------------------------------------------------------------------------------

/**
 * The result of one OPTIONS probe, as the gateway that sent it reports it.
 * - `reply`: a final response arrived after `latencyMs`; it counts as alive per `isAlive(status, aliveCodes)`.
 * - `timeout` / `transport-error`: no usable reply; `elapsedMs` is how long after sending the gateway gave up.
 */
export type ProbeEvidence =
  | {
      readonly source: "probe";
      readonly result: "reply";
      readonly status: number;
      readonly latencyMs: number;
      /** The destination's extra alive codes (`probe.aliveCodes`); 2xx always counts. */
      readonly aliveCodes?: readonly number[];
    }
  | { readonly source: "probe"; readonly result: "timeout" | "transport-error"; readonly elapsedMs: number };

/**
 * What a real call revealed about its destination.
 * - `success`: any final response other than 503/408 (a 486 proves the server alive as much as a 200).
 * - `transport-error`: sending failed (ICMP unreachable, TCP refused/reset). `timeout`: transaction timeout (Timer
 *   B/F, RFC 3261 §17.1) or the gateway's branch timeout without any response.
 * - `503`: Service Unavailable. With `retryAfterS` > 0 the destination is paused for that long (capped by
 *   `maxPauseMs`) instead of counting a failure: it answered, and told us when to come back.
 */
export type TrafficEvidence =
  | { readonly source: "traffic"; readonly result: "success" | "transport-error" | "timeout" }
  | { readonly source: "traffic"; readonly result: "503"; readonly retryAfterS?: number };

export type Evidence = ProbeEvidence | TrafficEvidence;

// ---- policy -----------------------------------------------------------------------------------------------------

/**
 * How evidence moves the state. Defaults and the issue's 30 s bars, with the default probe (every 10 s, jitter up to
 * 10 % early, timeout 4 s; src/health/schedule.ts): probes go out S apart, the due time rounded up to a tick:
 * S ≤ 10 s when the tick divides 10 s (1, 2, 5 s: the default tick is 5 s), S < 10 s + tick otherwise.
 * - A destination that stops answering fails the next two probes, sent at most S and 2S after its last good answer;
 *   the second times out 4 s later: inactive after ≤ 2S + 4 s = 24 s (28 s with a 3 s tick; a 7 s tick would miss).
 * - One that comes back answers the next two probes: active after ≤ 2S + RTT ≈ 20 s.
 * - Calls reveal a dead destination sooner: two failed calls in a row (from any gateways) take it out at once.
 * src/health/simulation.test.ts checks both bars on a simulated clock with 1-4 gateways and ticks of 0.25-5 s.
 */
export interface HealthPolicy {
  /**
   * Consecutive failures that move `active` to `probing` (still routable, watched). Default 1. Kamailio has no
   * number for this: its first failure sets "trying".
   */
  readonly failuresToProbing: number;
  /**
   * Consecutive failures that make a destination `inactive` (not routable). Default 2; at least 2 (one lost reply
   * never takes a destination out) and at least `failuresToProbing`. Kamailio: `ds_probing_threshold`.
   */
  readonly failuresToInactive: number;
  /**
   * Consecutive successes that bring `probing` or `inactive` back to `active`. Default 2. Kamailio:
   * `ds_inactive_threshold` (despite its name, a count of successful probes).
   */
  readonly successesToActive: number;
  /** Weight of the newest sample in the moving average of probe latency, in (0, 1]. Default 0.3. */
  readonly latencyAlpha: number;
  /** Longest pause a 503 Retry-After can impose. Default 300 000 ms (a server asking for a day gets 5 min). */
  readonly maxPauseMs: number;
  /**
   * For destinations never probed (mode `never`): how long after its last failure an `inactive` one is offered
   * traffic again as `probing` (calls are its probes; a success counts toward `successesToActive`, a failure closes
   * it for this long again). Default 30 000 ms. Without this nothing could ever bring such a destination back.
   */
  readonly unprobedRetryMs: number;
}

export const DEFAULT_HEALTH_POLICY: HealthPolicy = {
  failuresToProbing: 1,
  failuresToInactive: 2,
  successesToActive: 2,
  latencyAlpha: 0.3,
  maxPauseMs: 300_000,
  unprobedRetryMs: 30_000,
};

const count = (max: number) =>
  v.pipe(v.number("must be a number"), v.integer("must be a whole number"), v.minValue(1, "must be at least 1"), v.maxValue(max, `must be at most ${max}`));

/** The policy as configuration gives it: every field optional (default above); one error lists every bad field. */
export const HealthPolicySchema = v.pipe(
  v.strictObject({
    failuresToProbing: v.optional(count(100), DEFAULT_HEALTH_POLICY.failuresToProbing),
    failuresToInactive: v.optional(
      v.pipe(count(100), v.minValue(2, "must be at least 2 (one failure never deactivates)")),
      DEFAULT_HEALTH_POLICY.failuresToInactive,
    ),
    successesToActive: v.optional(count(100), DEFAULT_HEALTH_POLICY.successesToActive),
    latencyAlpha: v.optional(
      v.pipe(v.number("must be a number"), v.gtValue(0, "must be above 0"), v.maxValue(1, "must be at most 1")),
      DEFAULT_HEALTH_POLICY.latencyAlpha,
    ),
    maxPauseMs: v.optional(
      v.pipe(v.number(), v.integer("must be a whole number"), v.minValue(0, "must be at least 0"), v.maxValue(86_400_000, "must be at most 86400000")),
      DEFAULT_HEALTH_POLICY.maxPauseMs,
    ),
    unprobedRetryMs: v.optional(
      v.pipe(v.number(), v.integer("must be a whole number"), v.minValue(1000, "must be at least 1000"), v.maxValue(86_400_000, "must be at most 86400000")),
      DEFAULT_HEALTH_POLICY.unprobedRetryMs,
    ),
  }),
  v.forward(
    v.check((p) => p.failuresToInactive >= p.failuresToProbing, "must be at least failuresToProbing"),
    ["failuresToInactive"],
  ),
);

/** Validate a policy; `{ ok: false, issues }` lists every bad field (`field: message`). */
export function checkPolicy(input: unknown): { ok: true; policy: HealthPolicy } | { ok: false; issues: string[] } {
  const r = v.safeParse(HealthPolicySchema, input);
  if (r.success) return { ok: true, policy: r.output };
  return { ok: false, issues: r.issues.map((i) => `${v.getDotPath(i) ?? "policy"}: ${i.message}`) };
}

// ---- classification ---------------------------------------------------------------------------------------------

/**
 * Does an OPTIONS reply mean "alive"? Any 2xx does; so do the destination's `aliveCodes` (kamailio
 * `ds_ping_reply_codes`), for servers that answer OPTIONS with 404, 405 or 501 while taking calls fine.
 * Provisional responses never do (the transaction is not over).
 */
export function isAlive(status: number, aliveCodes: readonly number[] = []): boolean {
  if (!Number.isInteger(status) || status < 200 || status > 699) return false;
  return (status >= 200 && status < 300) || aliveCodes.includes(status);
}

/** What one piece of evidence means, before it touches a record; the script receives exactly this. */
export interface Verdict {
  readonly outcome: "success" | "failure" | "pause";
  /** Human-readable cause, the start of a transition's reason: "probe timeout", "call 503"... */
  readonly cause: string;
  /** Present for probe evidence. */
  readonly probe?: {
    readonly result: ProbeResult;
    /** Whole ms between sending and the result; the probe was sent at now - elapsedMs. */
    readonly elapsedMs: number;
    readonly status: number | null;
    /** Round trip of a reply (0.1 ms resolution); null for timeouts and transport errors. */
    readonly latencyMs: number | null;
  };
  /** For `pause`: how long (ms, already capped). */
  readonly pauseMs: number;
}

/** Round to 0.1 ms, the same way in JS and Lua (floor(x * 10 + 0.5) / 10, not Math.round). */
export function tenths(x: number): number {
  return Math.floor(x * 10 + 0.5) / 10;
}

const MAX_ELAPSED_MS = 3_600_000;

function cleanMs(x: number): number {
  return Number.isFinite(x) ? Math.min(Math.max(x, 0), MAX_ELAPSED_MS) : 0;
}

/** Evidence → verdict (pure; malformed numbers are clamped, not thrown: a bad latency must not lose a failure). */
export function classify(evidence: Evidence, policy: HealthPolicy = DEFAULT_HEALTH_POLICY): Verdict {
  if (evidence.source === "probe") {
    if (evidence.result === "reply") {
      const latencyMs = tenths(cleanMs(evidence.latencyMs));
      const alive = isAlive(evidence.status, evidence.aliveCodes);
      const status = Number.isInteger(evidence.status) && evidence.status >= 100 && evidence.status <= 699 ? evidence.status : null;
      return {
        outcome: alive ? "success" : "failure",
        cause: `probe ${status ?? "malformed reply"}`,
        probe: { result: alive ? "alive" : "not-alive", elapsedMs: Math.floor(latencyMs), status, latencyMs },
        pauseMs: 0,
      };
    }
    return {
      outcome: "failure",
      cause: evidence.result === "timeout" ? "probe timeout" : "probe transport error",
      probe: { result: evidence.result, elapsedMs: Math.floor(cleanMs(evidence.elapsedMs)), status: null, latencyMs: null },
      pauseMs: 0,
    };
  }
  switch (evidence.result) {
    case "success":
      return { outcome: "success", cause: "call answered", pauseMs: 0 };
    case "transport-error":
      return { outcome: "failure", cause: "call transport error", pauseMs: 0 };
    case "timeout":
      return { outcome: "failure", cause: "call timeout", pauseMs: 0 };
    case "503": {
      const s = evidence.retryAfterS;
      if (s !== undefined && Number.isFinite(s) && s > 0 && policy.maxPauseMs > 0) {
        const pauseMs = Math.min(Math.floor(s) * 1000, policy.maxPauseMs);
        if (pauseMs > 0) return { outcome: "pause", cause: `call 503 Retry-After ${Math.floor(s)}`, pauseMs };
      }
      return { outcome: "failure", cause: "call 503", pauseMs: 0 };
    }
  }
}

// ---- transition -------------------------------------------------------------------------------------------------

export interface StateChange {
  readonly from: HealthState;
  readonly to: HealthState;
  /** e.g. "probe timeout (2 consecutive)", "probe 200 (2 consecutive)". */
  readonly reason: string;
}

export interface ApplyResult {
  readonly record: HealthRecord;
  /** Present when the state changed: log it, count it, post it to the webhooks. */
  readonly changed?: StateChange;
  /** Present when this evidence started or extended a pause (503 Retry-After). */
  readonly paused?: { readonly until: number };
}

/** The transition for one piece of evidence (classify, then applyVerdict). `record` undefined: never reported on. */
export function applyEvidence(
  record: HealthRecord | undefined,
  evidence: Evidence,
  policy: HealthPolicy = DEFAULT_HEALTH_POLICY,
  now: number,
): ApplyResult {
  return applyVerdict(record ?? initialHealth(), classify(evidence, policy), policy, now);
}

/**
 * The transition proper. The Lua script HEALTH_RECORD (src/dialog/lua/health.ts) mirrors this function step for
 * step; change both together (the health contract compares them on random sequences).
 */
export function applyVerdict(record: HealthRecord, verdict: Verdict, policy: HealthPolicy, nowMs: number): ApplyResult {
  const now = Math.floor(nowMs);
  const r: { -readonly [K in keyof HealthRecord]: HealthRecord[K] } = { ...record, updatedAt: now };
  const p = verdict.probe;
  if (p) {
    r.lastProbeAt = now - p.elapsedMs;
    r.lastProbeResult = p.result;
    r.lastProbeStatus = p.status;
    if (p.latencyMs !== null) {
      r.lastLatencyMs = p.latencyMs;
      r.avgLatencyMs =
        r.avgLatencyMs === null ? p.latencyMs : tenths(policy.latencyAlpha * p.latencyMs + (1 - policy.latencyAlpha) * r.avgLatencyMs);
    }
  }
  let to: HealthState | undefined;
  let reason = "";
  let paused: { until: number } | undefined;
  if (verdict.outcome === "success") {
    r.successes += 1;
    r.failures = 0;
    r.lastSuccessAt = now;
    if (r.state !== "active" && r.successes >= policy.successesToActive) to = "active";
    reason = `${verdict.cause} (${r.successes} consecutive)`;
  } else if (verdict.outcome === "failure") {
    r.failures += 1;
    r.successes = 0;
    r.lastFailureAt = now;
    if (r.state !== "inactive" && r.failures >= policy.failuresToInactive) to = "inactive";
    else if (r.state === "active" && r.failures >= policy.failuresToProbing) to = "probing";
    reason = `${verdict.cause} (${r.failures} consecutive)`;
  } else {
    const until = now + verdict.pauseMs;
    if (r.pausedUntil === null || until > r.pausedUntil) {
      r.pausedUntil = until;
      paused = { until };
    }
  }
  let changed: StateChange | undefined;
  if (to !== undefined) {
    changed = { from: r.state, to, reason };
    r.state = to;
    r.changedAt = now;
  }
  return { record: r, ...(changed ? { changed } : {}), ...(paused ? { paused } : {}) };
}

// ---- what routing and the API see ---------------------------------------------------------------------------------

export type EffectiveState = HealthState | "disabled" | "draining";

export interface EffectiveView {
  readonly state: EffectiveState;
  /** May new calls go there? */
  readonly routable: boolean;
  /** Set while a 503 Retry-After pause lasts (then `routable` is false whatever the state). */
  readonly pausedUntil?: number;
}

export interface EffectiveOptions {
  /** The destination's probe mode: `never` turns on the retry window of `unprobedRetryMs`. */
  readonly probeMode?: ProbeMode;
  readonly policy?: HealthPolicy;
}

/**
 * What a destination is, all things considered, for the admin API and the route function:
 * - the administrative state wins: `disabled` and `draining` take no new calls (calls in progress go on);
 * - `active` and `probing` are routable (probing = something failed lately, still trying it, like kamailio's
 *   "trying"); `inactive` is not;
 * - a Retry-After pause makes any health state unroutable until it ends;
 * - an `inactive` destination that is never probed is offered traffic again (`probing`) once `unprobedRetryMs` passed
 *   since its last failure: calls are the only probes it gets.
 */
export function effectiveState(
  adminState: DestinationState,
  health: HealthRecord | undefined,
  now: number,
  options: EffectiveOptions = {},
): EffectiveView {
  if (adminState === "disabled" || adminState === "draining") return { state: adminState, routable: false };
  if (!health) return { state: "active", routable: true };
  let state: HealthState = health.state;
  if (state === "inactive" && options.probeMode === "never") {
    const policy = options.policy ?? DEFAULT_HEALTH_POLICY;
    const since = health.lastFailureAt ?? health.changedAt ?? 0;
    if (now - since >= policy.unprobedRetryMs) state = "probing";
  }
  if (health.pausedUntil !== null && health.pausedUntil > now) {
    return { state, routable: false, pausedUntil: health.pausedUntil };
  }
  return { state, routable: state !== "inactive" };
}

/**
 * Should a gateway report a call's success to the store? Only when it could change something (failures to reset or
 * a state to restore): healthy destinations then cost no store write per call. `record` is the gateway's latest view.
 */
export function successMatters(record: HealthRecord | undefined): boolean {
  return record !== undefined && (record.state !== "active" || record.failures > 0);
}
