/**
 * Small helpers shared by the algorithms. Internal to src/balancer (index.ts does not re-export them).
 */
import type { Candidate, Random, Selection } from "./types.ts";

export const NO_DESTINATION: Selection<never> = Object.freeze({ kind: "no-destination" });

/** The effective weight: a positive finite number, or 0 (standby). */
export function weightOf(candidate: Candidate): number {
  const w = candidate.weight;
  return w > 0 && w < Infinity ? w : 0;
}

/** The effective priority: NaN counts as the least preferred. */
export function priorityOf(candidate: Candidate): number {
  const p = candidate.priority;
  return p === p ? p : Infinity;
}

/** One draw from the injected source, forced into [0, 1) so a faulty source cannot produce NaN/Infinity keys. */
export function draw(random: Random): number {
  const u = random();
  return u >= 0 && u < 1 ? u : 0;
}

/** An exponential variate with rate `weight` (> 0): -ln(1 - u) / weight, finite for u in [0, 1). Sorting candidates
 *  ascending by it is Efraimidis–Spirakis weighted sampling without replacement: the first is candidate i with
 *  probability w_i / sum(w), the rest follow the same rule among the remaining ones. */
export function exponentialKey(random: Random, weight: number): number {
  return -Math.log1p(-draw(random)) / weight;
}

/**
 * Copy `candidates` into a new array with the weighted ones (weight > 0) first and the standbys after, each group in
 * input order. Returns the array and the index where standbys start. When nothing has weight, all are "weighted" (the
 * split is at the end) so callers treat them as equals.
 */
export function splitStandby<C extends Candidate>(candidates: readonly C[]): { order: C[]; split: number } {
  const order: C[] = new Array<C>(candidates.length);
  let front = 0;
  for (const c of candidates) if (weightOf(c) > 0) order[front++] = c;
  const split = front;
  for (const c of candidates) if (weightOf(c) <= 0) order[front++] = c;
  return { order, split: split === 0 ? candidates.length : split };
}

/** Fisher–Yates shuffle of items[from, to) in place. */
export function shuffleRange<T>(items: T[], from: number, to: number, random: Random): void {
  for (let i = to - 1; i > from; i--) {
    const j = from + Math.floor(draw(random) * (i - from + 1));
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
}

/**
 * Stable in-place ascending sort of items[from, to) by keys (keys[i] belongs to items[i] and moves with it).
 * `tie` breaks equal keys (otherwise the existing order is kept: shuffle first for a random order among equals).
 * Insertion sort for the usual small sets (no allocation); a native sort over an index array beyond that.
 */
export function sortByKey<T>(
  items: T[],
  keys: Float64Array,
  from: number,
  to: number,
  tie?: (a: T, b: T) => number,
): void {
  if (to - from <= 48) {
    for (let i = from + 1; i < to; i++) {
      const item = items[i]!;
      const key = keys[i]!;
      let j = i - 1;
      while (j >= from && (keys[j]! > key || (tie !== undefined && keys[j]! === key && tie(items[j]!, item) > 0))) {
        items[j + 1] = items[j]!;
        keys[j + 1] = keys[j]!;
        j--;
      }
      items[j + 1] = item;
      keys[j + 1] = key;
    }
    return;
  }
  const index: number[] = [];
  for (let i = from; i < to; i++) index.push(i);
  index.sort((a, b) => keys[a]! - keys[b]! || (tie ? tie(items[a]!, items[b]!) : 0) || a - b);
  const sortedItems = index.map((i) => items[i]!);
  const sortedKeys = index.map((i) => keys[i]!);
  for (let i = from; i < to; i++) {
    items[i] = sortedItems[i - from]!;
    keys[i] = sortedKeys[i - from]!;
  }
}
