/** Test helpers for the balancer tests (not used by the algorithms). */
import type { Candidate, Selection } from "./types.ts";

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). Deterministic so statistical tests are reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function candidate(id: string, fields: Partial<Omit<Candidate, "id">> = {}): Candidate {
  return { id, weight: 1, priority: 0, ...fields };
}

/** The ids in a selection's order ([] for the no-* outcomes). */
export function idsOf(selection: Selection): string[] {
  return selection.kind === "ordered" ? selection.order.map((c) => c.id) : [];
}

export function firstId(selection: Selection): string {
  if (selection.kind !== "ordered") throw new Error(`expected an ordered selection, got ${selection.kind}`);
  return selection.order[0]!.id;
}

export function sorted(values: readonly string[]): string[] {
  return [...values].sort();
}
