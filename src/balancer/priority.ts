/**
 * Priority (`priority`; kamailio dispatcher algorithm 8 "select destination sorted by priority attribute value",
 * OpenSIPS dispatcher algorithm 8 "first entry" of a set ordered by its priority column; DNS SRV, RFC 2782).
 *
 * The pick comes from the lowest priority number present; among candidates of equal priority it is weighted random
 * (w_i / sum(w) within the level). The failover order is every candidate ordered by priority, each level as a
 * weighted random sample without replacement, so failover exhausts a level before falling to the next one. Within a
 * level, standbys (weight 0) come last in random order (RFC 2782 gives weight-0 records a tiny chance instead); the
 * priority level always dominates the weight.
 *
 * Difference: kamailio/OpenSIPS alg 8 always take the list order within a priority (the first destination of a
 * level gets all the traffic); here equal priorities share the load by weight.
 */
import type { Candidate, Random, Selection } from "./types.ts";
import { NO_DESTINATION, priorityOf, shuffleRange, sortByKey, weightOf } from "./shared.ts";
import { orderWeightedRandom } from "./weighted-random.ts";

export function selectPriority<C extends Candidate>(candidates: readonly C[], random: Random): Selection<C> {
  if (candidates.length === 0) return NO_DESTINATION;
  const order = candidates.slice();
  const keys = new Float64Array(order.length);
  for (let i = 0; i < order.length; i++) keys[i] = priorityOf(order[i]!);
  sortByKey(order, keys, 0, order.length);
  // Each level: weighted ones (weighted random order), then its standbys (uniform random order).
  let start = 0;
  while (start < order.length) {
    let end = start + 1;
    while (end < order.length && keys[end] === keys[start]) end++;
    let split = start;
    for (let i = start; i < end; i++) {
      const c = order[i]!;
      if (weightOf(c) > 0) {
        order[i] = order[split]!;
        order[split++] = c;
      }
    }
    orderWeightedRandom(order, start, split, random);
    shuffleRange(order, split, end, random);
    start = end;
  }
  return { kind: "ordered", order };
}
