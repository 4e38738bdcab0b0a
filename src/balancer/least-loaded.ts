/**
 * Least loaded by resources (`least-loaded`; OpenSIPS load_balancer lb_start / load_balance).
 *
 * A call may need several resources at once (e.g. 1 pstn channel and 1 transcoding slot). A candidate qualifies only
 * if it declares every requested resource and has room for the requested units in EACH of them
 * (capacity - used >= units). Its score is the minimum free capacity across the requested resources, absolute
 * (capacity - used, the OpenSIPS default) or relative (free / capacity, OpenSIPS flag "r"); the pick is the maximum
 * score, random among equal scores (OpenSIPS flag "s"; without it OpenSIPS takes the first in list order, which
 * piles ties onto one destination). The failover order (lb_next) is the remaining qualified candidates by score,
 * best first, random among equals. No qualified candidate -> `no-capacity` (OpenSIPS: lb_start returns false), with
 * the resource nobody has room in when there is one. There is no "negative availability" (flag "n"): capacity is
 * never exceeded.
 *
 * Standbys (weight 0) qualify like the others but come after every qualified weighted candidate.
 * With no requested resources the call needs 1 unit of each resource the candidate itself declares (a candidate
 * without resources then never qualifies). Capacity and use must be finite (negative use counts as 0); a
 * resource with non-finite numbers gives no room. The caller reserves the units on the picked destination
 * (lb_count_call) and releases them when the call ends.
 */
import type { Candidate, Random, Requested, ResourceUse, Selection } from "./types.ts";
import { NO_DESTINATION, shuffleRange, sortByKey, splitStandby } from "./shared.ts";

export interface LeastLoadedOptions {
  /** Resource -> units (or names, 1 unit each). */
  readonly requested?: Requested;
  /** Score by the free fraction (OpenSIPS flag "r") instead of the free units. */
  readonly relative?: boolean;
}

/** Units that are not a positive finite number count as 1. */
function unitsOf(units: number): number {
  return units > 0 && units < Infinity ? units : 1;
}

/** The resources and units a call needs, as parallel lists ([] = "1 of each resource the candidate declares"). */
function resolve(requested: Requested | undefined): { names: readonly string[]; units: readonly number[] | undefined } {
  if (requested === undefined) return { names: [], units: undefined };
  if (isNameList(requested)) {
    // A name listed n times needs n units.
    const counts = new Map<string, number>();
    for (const name of requested) counts.set(name, (counts.get(name) ?? 0) + 1);
    if (counts.size === requested.length) return { names: requested, units: undefined };
    return { names: [...counts.keys()], units: [...counts.values()] };
  }
  const names = Object.keys(requested);
  return { names, units: names.map((name) => unitsOf(requested[name]!)) };
}

function isNameList(requested: Requested): requested is readonly string[] {
  return Array.isArray(requested);
}

function resourceOf(candidate: Candidate, name: string): ResourceUse | undefined {
  const resources = candidate.resources;
  return resources !== undefined && Object.hasOwn(resources, name) ? resources[name] : undefined;
}

/** Free units of a resource, or NaN when its numbers are unusable. */
function freeOf(resource: ResourceUse): number {
  const { capacity, used } = resource;
  if (!Number.isFinite(capacity) || !Number.isFinite(used)) return NaN;
  return capacity - (used > 0 ? used : 0);
}

/** The score of one resource, or -1 when it has no room for `units`. */
function resourceScore(resource: ResourceUse | undefined, units: number, relative: boolean): number {
  if (resource === undefined) return -1;
  const free = freeOf(resource);
  if (!(free >= units)) return -1;
  return relative ? free / resource.capacity : free;
}

/** The candidate's score (minimum over the requested resources), or -1 when it does not qualify. */
function loadScore(
  candidate: Candidate,
  names: readonly string[],
  units: readonly number[] | undefined,
  relative: boolean,
): number {
  let score = Infinity;
  if (names.length === 0) {
    const resources = candidate.resources;
    if (resources === undefined) return -1;
    for (const name in resources) {
      if (!Object.hasOwn(resources, name)) continue;
      const s = resourceScore(resources[name], 1, relative);
      if (s < 0) return -1;
      if (s < score) score = s;
    }
    return score === Infinity ? -1 : score;
  }
  for (let r = 0; r < names.length; r++) {
    const s = resourceScore(resourceOf(candidate, names[r]!), units === undefined ? 1 : units[r]!, relative);
    if (s < 0) return -1;
    if (s < score) score = s;
  }
  return score;
}

export function selectLeastLoaded<C extends Candidate>(
  candidates: readonly C[],
  random: Random,
  options: LeastLoadedOptions = {},
): Selection<C> {
  if (candidates.length === 0) return NO_DESTINATION;
  const { names, units } = resolve(options.requested);
  const relative = options.relative === true;
  const { order, split } = splitStandby(candidates);
  // Shuffle first: the stable sort by score then leaves equal scores in uniformly random order.
  shuffleRange(order, 0, split, random);
  shuffleRange(order, split, order.length, random);
  const keys = new Float64Array(order.length);
  let kept = 0;
  let keptSplit = 0;
  for (let i = 0; i < order.length; i++) {
    if (i === split) keptSplit = kept;
    const c = order[i]!;
    const score = loadScore(c, names, units, relative);
    if (score < 0) continue;
    order[kept] = c;
    keys[kept++] = -score; // ascending sort = most free first
  }
  if (split === order.length) keptSplit = kept;
  if (kept === 0) return noCapacity(candidates, names, units);
  order.length = kept;
  sortByKey(order, keys, 0, keptSplit);
  sortByKey(order, keys, keptSplit, kept);
  return { kind: "ordered", order };
}

function noCapacity(
  candidates: readonly Candidate[],
  names: readonly string[],
  units: readonly number[] | undefined,
): Selection<never> {
  for (let r = 0; r < names.length; r++) {
    const name = names[r]!;
    const need = units === undefined ? 1 : units[r]!;
    if (!candidates.some((c) => resourceScore(resourceOf(c, name), need, false) >= 0)) {
      return { kind: "no-capacity", resource: name };
    }
  }
  return { kind: "no-capacity" };
}
