/**
 * The health port: destination health shared by every gateway through the store (memory, Redis, Upstash implement
 * it beside DialogStore). The transition itself is pure (src/health/state.ts); the store makes it atomic across
 * gateways and hands back its result, so the gateway whose evidence caused a change is the one that logs it and posts
 * the webhook (exactly once per change).
 *
 * Redis keys (hash tag per destination, so the script runs on Redis Cluster and Upstash):
 *   {P}:{dest:ID}:health   hash   the HealthRecord, one field per property (see HEALTH_FIELDS)
 *   {P}:{dest:ID}:lease    string the probe lease holder, SET NX PX
 */
import {
  DEFAULT_HEALTH_POLICY,
  HEALTH_STATES,
  PROBE_RESULTS,
  checkPolicy,
  initialHealth,
  type Evidence,
  type HealthPolicy,
  type HealthRecord,
  type StateChange,
} from "../health/state.ts";
import { StoreError } from "./dialog.ts";

export interface RecordResult {
  /** The record after this evidence. */
  readonly record: HealthRecord;
  /** The transition this evidence caused (the caller logs, counts and posts it). */
  readonly changed?: StateChange;
  /** Set when this evidence started or extended a Retry-After pause. */
  readonly paused?: { readonly until: number };
}

export interface HealthStore {
  /**
   * Take the probe lease of a destination for `ttlMs` (SET NX PX): true for exactly one caller until it expires,
   * whoever asks (the holder included). Not released early: it spaces probes as much as it excludes duplicates.
   */
  acquireProbeLease(destinationId: string, holder: string, ttlMs: number): Promise<boolean>;
  /**
   * Apply one piece of evidence atomically (read, transition as src/health/state.ts, write) and return the result.
   * `now` defaults to the store's clock (Redis: the server's TIME, so gateways with skewed clocks agree).
   */
  recordEvidence(destinationId: string, evidence: Evidence, policy?: HealthPolicy, now?: number): Promise<RecordResult>;
  /** Health of several destinations in one round trip; every id is a key (never reported on: `initialHealth()`). */
  health(destinationIds: readonly string[]): Promise<Record<string, HealthRecord>>;
}

/** Does this store share health too? (Every adapter of src/dialog does; wrappers may not.) */
export function isHealthStore<T extends object>(store: T): store is T & HealthStore {
  const s = store as Partial<HealthStore>;
  return typeof s.acquireProbeLease === "function" && typeof s.recordEvidence === "function" && typeof s.health === "function";
}

/** A health record not written for this long is forgotten (a deleted destination leaves nothing behind). */
export const HEALTH_RECORD_TTL_MS = 86_400_000;

/** Redis hash field of each record property (short: one hash per destination, written on every probe). */
export const HEALTH_FIELDS = {
  state: "s",
  failures: "f",
  successes: "k",
  changedAt: "c",
  lastProbeAt: "pa",
  lastProbeResult: "pr",
  lastProbeStatus: "ps",
  lastLatencyMs: "pl",
  avgLatencyMs: "al",
  lastFailureAt: "lf",
  lastSuccessAt: "ls",
  pausedUntil: "pu",
  updatedAt: "u",
} as const satisfies Record<keyof HealthRecord, string>;

export const HEALTH_FIELD_ORDER = Object.keys(HEALTH_FIELDS) as Array<keyof HealthRecord>;

/** The record from the hash values in HEALTH_FIELD_ORDER (null/undefined: absent). Garbage reads as absent. */
export function decodeHealth(values: ReadonlyArray<string | number | null | undefined>): HealthRecord {
  const r: Record<string, unknown> = { ...initialHealth() };
  const num = (x: string | number | null | undefined): number | null => {
    if (x === null || x === undefined || x === "") return null;
    const n = typeof x === "number" ? x : Number(x);
    return Number.isFinite(n) ? n : null;
  };
  HEALTH_FIELD_ORDER.forEach((field, i) => {
    const raw = values[i];
    switch (field) {
      case "state":
        if (typeof raw === "string" && (HEALTH_STATES as readonly string[]).includes(raw)) r.state = raw;
        break;
      case "lastProbeResult":
        if (typeof raw === "string" && (PROBE_RESULTS as readonly string[]).includes(raw)) r.lastProbeResult = raw;
        break;
      case "failures":
      case "successes":
        r[field] = num(raw) ?? 0;
        break;
      default:
        r[field] = num(raw);
    }
  });
  return r as unknown as HealthRecord;
}

/** A policy the stores accept (StoreError listing every bad field otherwise). */
export function checkedPolicy(op: string, policy: HealthPolicy | undefined): HealthPolicy {
  if (policy === undefined) return DEFAULT_HEALTH_POLICY;
  const r = checkPolicy(policy);
  if (!r.ok) throw new StoreError(op, `invalid health policy: ${r.issues.join("; ")}`);
  return r.policy;
}

/** A time the stores accept: a finite number, floored to whole ms. */
export function checkedNow(op: string, now: number | undefined): number | undefined {
  if (now === undefined) return undefined;
  if (!Number.isFinite(now) || now < 0) throw new StoreError(op, `now must be a finite time in ms, got ${now}`);
  return Math.floor(now);
}

const DESTINATION_ID = /^[^{}\s]{1,128}$/;

/** A destination id usable inside a hash tag (no braces, no spaces). */
export function checkedDestinationId(op: string, id: string): string {
  if (!DESTINATION_ID.test(id)) throw new StoreError(op, `invalid destination id ${JSON.stringify(id)}`);
  return id;
}
