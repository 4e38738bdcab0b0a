/**
 * The balancing algorithms: a registry and one entry point.
 *
 * `select(name, candidates, input)` runs one pick and returns `{ selection, state }`: the selection (an ordered
 * failover list, `no-destination` or `no-capacity`) and the state to keep for the next pick of the same group
 * (`null` for stateless algorithms). State comes from the caller (memory or the store) as `unknown`; a malformed or
 * foreign state is ignored and the algorithm starts over, never throws.
 *
 * | name                 | kamailio / OpenSIPS equivalent                        | state       | uses                 |
 * |----------------------|-------------------------------------------------------|-------------|----------------------|
 * | round-robin          | kamailio dispatcher alg 4                             | { turn }    | -                    |
 * | weighted-round-robin | OpenSIPS dispatcher alg 4 (which bursts); nginx SWRR  | { current } | weight               |
 * | weighted-random      | kamailio alg 9 (weight-based), alg 6 (random)         | null        | weight, random       |
 * | hash                 | dispatcher algs 0 (Call-ID), 1, 2, 3, 7 (modulo hash) | null        | weight, hashKey      |
 * | priority             | dispatcher alg 8 (priority order)                     | null        | priority, weight     |
 * | least-loaded         | OpenSIPS load_balancer lb_start (flags r, s)          | null        | resources, requested |
 * | call-load            | kamailio dispatcher alg 10 (call load distribution)   | null        | activeCalls/maxCalls |
 *
 * Each file documents the exact semantics and how they differ from the originals.
 */
import * as v from "valibot";
import type { Candidate, Random, Requested, Selection } from "./types.ts";
import { parseRoundRobinState, selectRoundRobin, type RoundRobinState } from "./round-robin.ts";
import {
  parseSmoothWeightedState,
  selectSmoothWeighted,
  type SmoothWeightedState,
} from "./weighted-round-robin.ts";
import { selectWeightedRandom } from "./weighted-random.ts";
import { selectHash } from "./hash.ts";
import { selectPriority } from "./priority.ts";
import { selectLeastLoaded } from "./least-loaded.ts";
import { selectCallLoad } from "./call-load.ts";

export type { Candidate, Random, Requested, ResourceUse, Selection } from "./types.ts";
export { roundRobin, selectRoundRobin, parseRoundRobinState, type RoundRobinState } from "./round-robin.ts";
export {
  selectSmoothWeighted,
  parseSmoothWeightedState,
  type SmoothWeightedState,
} from "./weighted-round-robin.ts";
export { selectWeightedRandom } from "./weighted-random.ts";
export {
  selectHash,
  hashKeyFor,
  pairHash,
  rendezvousScore,
  HASH_KEYS,
  type HashKey,
  type HashKeyFields,
} from "./hash.ts";
export { selectPriority } from "./priority.ts";
export { selectLeastLoaded, type LeastLoadedOptions } from "./least-loaded.ts";
export { selectCallLoad, hasCallRoom, activeCallsOf } from "./call-load.ts";

export const ALGORITHMS = [
  "round-robin",
  "weighted-round-robin",
  "weighted-random",
  "hash",
  "priority",
  "least-loaded",
  "call-load",
] as const;

export type AlgorithmName = (typeof ALGORITHMS)[number];

/** For the admin API: validates an algorithm name. */
export const AlgorithmNameSchema = v.picklist(ALGORITHMS, "must be one of " + ALGORITHMS.join(", "));

export function isAlgorithmName(value: unknown): value is AlgorithmName {
  return typeof value === "string" && (ALGORITHMS as readonly string[]).includes(value);
}

/** Whether the algorithm keeps state between picks (the caller must store `state` and pass it back). */
export const STATEFUL: Readonly<Record<AlgorithmName, boolean>> = Object.freeze({
  "round-robin": true,
  "weighted-round-robin": true,
  "weighted-random": false,
  hash: false,
  priority: false,
  "least-loaded": false,
  "call-load": false,
});

/** JSON-compatible state to keep between picks; null when there is nothing to keep. */
export type BalancerState = RoundRobinState | SmoothWeightedState | null;

export interface SelectInput {
  /** Uniform in [0, 1). */
  readonly random: Random;
  /** For `hash`: the key the caller extracted (see HashKey / hashKeyFor). Missing -> weighted random (the call is
   *  still routed, just not sticky; kamailio would fail the ds_select instead). */
  readonly hashKey?: string;
  /** For `least-loaded`: resource -> units (default 1 each). */
  readonly requested?: Requested;
  /** For `least-loaded`: score by free fraction (OpenSIPS flag "r"). */
  readonly relative?: boolean;
  /** The state returned by the previous pick of this group (anything else is ignored). */
  readonly state?: unknown;
}

export interface SelectResult<C extends Candidate = Candidate> {
  readonly selection: Selection<C>;
  readonly state: BalancerState;
}

export function select<C extends Candidate>(
  name: AlgorithmName,
  candidates: readonly C[],
  input: SelectInput,
): SelectResult<C> {
  switch (name) {
    case "round-robin":
      return selectRoundRobin(candidates, parseRoundRobinState(input.state));
    case "weighted-round-robin":
      return selectSmoothWeighted(candidates, parseSmoothWeightedState(input.state));
    case "weighted-random":
      return { selection: selectWeightedRandom(candidates, input.random), state: null };
    case "hash":
      return {
        selection:
          input.hashKey === undefined
            ? selectWeightedRandom(candidates, input.random)
            : selectHash(candidates, input.hashKey),
        state: null,
      };
    case "priority":
      return { selection: selectPriority(candidates, input.random), state: null };
    case "least-loaded":
      return {
        selection: selectLeastLoaded(candidates, input.random, {
          requested: input.requested,
          relative: input.relative,
        }),
        state: null,
      };
    case "call-load":
      return { selection: selectCallLoad(candidates, input.random), state: null };
    default: {
      const unknown: never = name;
      throw new RangeError(`unknown balancing algorithm: ${String(unknown)}`);
    }
  }
}
