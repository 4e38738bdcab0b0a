/**
 * Round robin (`round-robin`; kamailio dispatcher algorithm 4; OpenSIPS dispatcher algorithm 4 with equal weights,
 * OpenSIPS's alg 4 being weight-aware: see weighted-round-robin).
 *
 * Pure: the caller owns the counter (in-process, or in the store when functions are stateless) and passes it in.
 * The result is the candidate list rotated to start at this turn's pick, so serial failover walks on to the next
 * destinations in the same fair order (as ds_next_dst does after alg 4).
 *
 * Differences from kamailio/OpenSIPS: the counter is explicit data (`{ turn }`) rather than a per-set counter in
 * shared memory, so several gateway instances can share one counter in the store; weight-0 candidates are standbys
 * (rotated among themselves after the weighted ones) instead of taking a normal turn.
 */
import type { Candidate, Selection } from "./types.ts";
import { NO_DESTINATION, splitStandby } from "./shared.ts";

/** Rotate `candidates` to start at `turn` (modulo their count). The generic form, kept for functions/route.ts. */
export function roundRobin<T>(candidates: readonly T[], turn: number): T[] {
  const count = candidates.length;
  if (count === 0) return [];
  const start = ((turn % count) + count) % count;
  return [...candidates.slice(start), ...candidates.slice(0, start)];
}

/** The round-robin counter: the number of picks made so far (a non-negative safe integer). */
export interface RoundRobinState {
  readonly turn: number;
}

export const INITIAL_ROUND_ROBIN_STATE: RoundRobinState = Object.freeze({ turn: 0 });

/** Accept a stored state if it has the right shape, else start over (never throws: state may come from the store). */
export function parseRoundRobinState(state: unknown): RoundRobinState {
  if (typeof state === "object" && state !== null) {
    const turn = (state as { turn?: unknown }).turn;
    if (typeof turn === "number" && Number.isSafeInteger(turn) && turn >= 0) return { turn };
  }
  return INITIAL_ROUND_ROBIN_STATE;
}

/**
 * One round-robin pick. The weighted candidates are rotated by `state.turn` and the standbys (weight 0) follow,
 * rotated by the same turn. Returns the next state (turn + 1, wrapping to 0 past the safe-integer range).
 */
export function selectRoundRobin<C extends Candidate>(
  candidates: readonly C[],
  state: RoundRobinState = INITIAL_ROUND_ROBIN_STATE,
): { selection: Selection<C>; state: RoundRobinState } {
  const turn = state.turn;
  const next: RoundRobinState = { turn: turn >= Number.MAX_SAFE_INTEGER ? 0 : turn + 1 };
  if (candidates.length === 0) return { selection: NO_DESTINATION, state: next };
  const { order: grouped, split } = splitStandby(candidates);
  const order: C[] = new Array<C>(grouped.length);
  rotateInto(grouped, 0, split, turn, order);
  rotateInto(grouped, split, grouped.length, turn, order);
  return { selection: { kind: "ordered", order }, state: next };
}

function rotateInto<C>(source: readonly C[], from: number, to: number, turn: number, target: C[]): void {
  const count = to - from;
  if (count === 0) return;
  const start = turn % count;
  for (let i = 0; i < count; i++) target[from + i] = source[from + ((start + i) % count)]!;
}
