/**
 * Weighted random (`weighted-random`; kamailio dispatcher algorithm 9 "weight-based", and kamailio/OpenSIPS alg 6
 * "random" when all weights are equal).
 *
 * The pick is candidate i with probability w_i / sum(w) (independently per call: no state). The failover order is a
 * weighted random sample without replacement (Efraimidis–Spirakis: ascending exponential keys -ln(1-u)/w), so the
 * second choice is again weight-proportional among the rest. Standbys (weight 0) follow in uniformly random order;
 * when every candidate has weight 0 they are all equal.
 *
 * Differences: kamailio alg 9 takes weights as percentages and cycles through a pre-shuffled 100-slot table (so the
 * weights must sum to 100 and the sequence repeats); this takes any non-negative weights and draws from the injected
 * random source. Its failover (ds_next_dst) walks the set in list order; ours stays weight-proportional.
 */
import type { Candidate, Random, Selection } from "./types.ts";
import { NO_DESTINATION, exponentialKey, shuffleRange, sortByKey, splitStandby, weightOf } from "./shared.ts";

export function selectWeightedRandom<C extends Candidate>(candidates: readonly C[], random: Random): Selection<C> {
  if (candidates.length === 0) return NO_DESTINATION;
  const { order, split } = splitStandby(candidates);
  orderWeightedRandom(order, 0, split, random);
  shuffleRange(order, split, order.length, random);
  return { kind: "ordered", order };
}

/** Order items[from, to) in place as a weighted random sample without replacement (weight 0 counts as 1). */
export function orderWeightedRandom<C extends Candidate>(items: C[], from: number, to: number, random: Random): void {
  if (to - from < 2) return;
  const keys = new Float64Array(to);
  for (let i = from; i < to; i++) keys[i] = exponentialKey(random, weightOf(items[i]!) || 1);
  sortByKey(items, keys, from, to);
}
