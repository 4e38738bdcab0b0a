/**
 * Call load (`call-load`; kamailio dispatcher algorithm 10 "call load distribution"; OpenSIPS has no dispatcher
 * equivalent, its load_balancer with a single "calls" resource is the closest).
 *
 * The pick is the candidate with the fewest active dialogs among those with room (activeCalls < maxCalls; an
 * undefined or infinite maxCalls is unlimited), random among equals; the failover order is the other candidates with
 * room by active dialogs, fewest first, random among equals. Candidates exist but none has room -> `no-capacity`.
 * Standbys (weight 0) with room come after every weighted candidate with room.
 *
 * Differences from kamailio alg 10: kamailio takes the FIRST destination with the minimum (ties always go to the
 * same one) and treats maxload=0 as unlimited; here ties are random and maxCalls 0 means no room (drain), undefined
 * means unlimited. A missing or invalid activeCalls counts as 0. The caller counts the dialog on the picked
 * destination (kamailio does it through the dialog module's duid).
 */
import type { Candidate, Random, Selection } from "./types.ts";
import { NO_DESTINATION, shuffleRange, sortByKey, splitStandby } from "./shared.ts";

export function activeCallsOf(candidate: Candidate): number {
  const active = candidate.activeCalls;
  return active !== undefined && active > 0 && active < Infinity ? active : 0;
}

/** Whether the candidate can take one more dialog. */
export function hasCallRoom(candidate: Candidate): boolean {
  const max = candidate.maxCalls;
  return max === undefined || activeCallsOf(candidate) < max;
}

export function selectCallLoad<C extends Candidate>(candidates: readonly C[], random: Random): Selection<C> {
  if (candidates.length === 0) return NO_DESTINATION;
  const { order, split } = splitStandby(candidates);
  shuffleRange(order, 0, split, random);
  shuffleRange(order, split, order.length, random);
  const keys = new Float64Array(order.length);
  let kept = 0;
  let keptSplit = 0;
  for (let i = 0; i < order.length; i++) {
    if (i === split) keptSplit = kept;
    const c = order[i]!;
    if (!hasCallRoom(c)) continue;
    order[kept] = c;
    keys[kept++] = activeCallsOf(c);
  }
  if (split === order.length) keptSplit = kept;
  if (kept === 0) return { kind: "no-capacity" };
  order.length = kept;
  sortByKey(order, keys, 0, keptSplit);
  sortByKey(order, keys, keptSplit, kept);
  return { kind: "ordered", order };
}
