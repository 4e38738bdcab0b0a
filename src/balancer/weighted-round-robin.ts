/**
 * Smooth weighted round robin (`weighted-round-robin`), the nginx upstream algorithm.
 *
 * Each pick adds every candidate's weight to its running "current" value, picks the largest (first in input order
 * on ties) and subtracts the total weight from the winner. Over every cycle of sum(weights) picks (starting from the
 * empty state) each candidate is picked exactly `weight` times, and the picks are interleaved: weights 3:1 give
 * a a b a, not a a a b.
 *
 * Equivalents: OpenSIPS dispatcher alg 4 is a weighted round robin, but it serves a destination its weight's worth of
 * calls in a row (3:1 gives a a a b: bursts). kamailio alg 4 ignores weights; kamailio alg 9 ("weight-based") walks a
 * shuffled 100-slot table built from percentages, so it is only fair over 100 picks. Here the weights are any
 * positive numbers (integers give the exact per-window guarantee).
 *
 * State: `{ current: { [id]: number } }`, passed in and returned (JSON-compatible, so it may live in the store). Ids
 * no longer in the set are dropped (their value is spread over the rest, keeping the sum at 0); a new id starts at 0.
 * Values beyond the steady-state range (|current| <= sum of weights) are scaled back into it, so after any change of
 * set or weights each destination's count over any span stays within ±2 of its exact share. Standbys (weight 0) are
 * not tracked: they follow the weighted candidates in input order. When every candidate has weight 0 they are all
 * treated as weight 1 (plain RR).
 * Failover order after the pick: the other weighted candidates by their current value, highest first (the order in
 * which they are due).
 */
import type { Candidate, Selection } from "./types.ts";
import { NO_DESTINATION, sortByKey, splitStandby, weightOf } from "./shared.ts";

export interface SmoothWeightedState {
  readonly current: Readonly<Record<string, number>>;
}

export const INITIAL_SMOOTH_WEIGHTED_STATE: SmoothWeightedState = Object.freeze({ current: Object.freeze({}) });

/** Accept a stored state if it has the right shape (finite numbers), else start over. Never throws. */
export function parseSmoothWeightedState(state: unknown): SmoothWeightedState {
  if (typeof state !== "object" || state === null) return INITIAL_SMOOTH_WEIGHTED_STATE;
  const current = (state as { current?: unknown }).current;
  if (typeof current !== "object" || current === null || Array.isArray(current)) return INITIAL_SMOOTH_WEIGHTED_STATE;
  for (const id in current) {
    const value: unknown = (current as Record<string, unknown>)[id];
    if (typeof value !== "number" || !Number.isFinite(value)) return INITIAL_SMOOTH_WEIGHTED_STATE;
  }
  return { current: current as Record<string, number> };
}

export function selectSmoothWeighted<C extends Candidate>(
  candidates: readonly C[],
  state: SmoothWeightedState = INITIAL_SMOOTH_WEIGHTED_STATE,
): { selection: Selection<C>; state: SmoothWeightedState } {
  if (candidates.length === 0) return { selection: NO_DESTINATION, state: INITIAL_SMOOTH_WEIGHTED_STATE };
  const { order, split } = splitStandby(candidates);
  const allStandby = split === order.length && weightOf(order[0]!) === 0;
  const keys = new Float64Array(split);
  let drift = 0;
  for (let i = 0; i < split; i++) {
    const id = order[i]!.id;
    const previous = state.current[id]; // inherited members (constructor, __proto__) are never numbers
    keys[i] = typeof previous === "number" ? previous : 0;
    drift += keys[i]!;
  }
  // The current values sum to 0 as long as the set is unchanged. A removed destination takes its value with it; spread
  // that evenly over the rest so the sequence settles back to exact proportions instead of carrying the offset.
  const shift = Math.abs(drift) > 1e-6 ? drift / split : 0;
  let total = 0;
  let spread = 0;
  for (let i = 0; i < split; i++) {
    total += allStandby ? 1 : weightOf(order[i]!);
    keys[i] = keys[i]! - shift;
    spread = Math.max(spread, Math.abs(keys[i]!));
  }
  // In steady state every |current| <= total. Values from a bigger or differently weighted set can exceed it and would
  // skew the next cycles; scale them down (keeps the sum at 0 and who is due first).
  const scale = spread > total ? total / spread : 1;
  let best = 0;
  for (let i = 0; i < split; i++) {
    keys[i] = keys[i]! * scale + (allStandby ? 1 : weightOf(order[i]!));
    if (keys[i]! > keys[best]!) best = i;
  }
  keys[best] = keys[best]! - total;
  const current: Record<string, number> = {};
  for (let i = 0; i < split; i++) {
    const id = order[i]!.id;
    // "__proto__" is a valid destination id: define it as data rather than setting the prototype.
    if (id === "__proto__") {
      Object.defineProperty(current, id, { value: keys[i]!, enumerable: true, writable: true, configurable: true });
    } else current[id] = keys[i]!;
  }
  // The pick first, then the others by current value, highest first (stable: input order on ties).
  const picked = order[best]!;
  for (let i = best; i > 0; i--) {
    order[i] = order[i - 1]!;
    keys[i] = keys[i - 1]!;
  }
  order[0] = picked;
  for (let i = 1; i < split; i++) keys[i] = -keys[i]!;
  sortByKey(order, keys, 1, split);
  return { selection: { kind: "ordered", order }, state: { current } };
}
