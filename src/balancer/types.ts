/**
 * The common contract of the balancing algorithms (see index.ts for the registry and `select`).
 *
 * Every algorithm is a pure function over plain data: candidates in, an ordered failover list (or a distinct
 * "nothing" outcome) out. Randomness is injected (`random`), state that must survive between picks (the round-robin
 * turn, the smooth weighted round-robin current weights) is passed in and handed back as JSON-compatible data, so it
 * can live in process memory or in the store for stateless deployments.
 *
 * Conventions shared by all algorithms:
 * - The caller passes only usable candidates (disabled/probing-failed destinations are filtered out before). Ids are
 *   assumed unique within one call.
 * - `weight` 0 means STANDBY: a weight-0 candidate is never picked while a weight > 0 candidate of the same rank is
 *   usable; standbys are appended after the weighted ones in the failover order. The rank is the whole set, except for
 *   `priority`, where the priority level dominates and the rule applies within a level (as SRV weight 0 in RFC 2782).
 *   When every candidate of a rank has weight 0 they are treated as equal (weight 1). This differs from kamailio,
 *   where weight 0 in alg 9 means "never" and in other algorithms means nothing. Negative, NaN or infinite weights
 *   count as 0.
 * - A non-finite `priority` counts as the least preferred (+Infinity).
 */

/** Capacity and current use of one resource on one destination (OpenSIPS load_balancer "resources"). */
export interface ResourceUse {
  readonly capacity: number;
  readonly used: number;
}

export interface Candidate {
  /** Destination id (unique in the set). */
  readonly id: string;
  /** >= 0; 0 = standby (see above). Used by weighted-round-robin, weighted-random, hash, priority, and as the
   *  standby marker by every algorithm. */
  readonly weight: number;
  /** Lower = preferred (SRV style). Used by `priority` only. */
  readonly priority: number;
  /** Per resource: capacity and current use (OpenSIPS load_balancer resources, e.g. pstn=30;transcoding=8). */
  readonly resources?: Readonly<Record<string, ResourceUse>>;
  /** Active dialogs on this destination, for call-load (default 0). */
  readonly activeCalls?: number;
  /** Dialog limit for call-load; undefined (or +Infinity) = unlimited, 0 = no room. */
  readonly maxCalls?: number;
}

/** The outcome of one pick. */
export type Selection<C extends Candidate = Candidate> =
  /** First = the pick; the rest = the serial failover order (lb_next / ds_next_dst). */
  | { readonly kind: "ordered"; readonly order: readonly C[] }
  /** No candidate at all (empty set, everything disabled): 503 "No Destination Available" by default. */
  | { readonly kind: "no-destination" }
  /** Candidates exist but none has room (least-loaded, call-load): 503 by default, a distinct outcome for stats and
   *  for routing to an overflow group. `resource` names a requested resource no candidate has room in, when there is
   *  one (undefined when each resource has room somewhere but no single candidate has room in all of them). */
  | { readonly kind: "no-capacity"; readonly resource?: string };

/** A uniform random source in [0, 1). Injected so algorithms stay pure and tests can seed it. */
export type Random = () => number;

/**
 * Resources a call needs: resource name -> units, or a list of names (1 unit each, like OpenSIPS lb_start's
 * "pstn;transcoding"). Units that are not a positive finite number count as 1.
 */
export type Requested = Readonly<Record<string, number>> | readonly string[];
