/**
 * A set: the group of destinations one balancing algorithm chooses among (kamailio dispatcher "set" / setid,
 * OpenSIPS load_balancer "group"). Rules send a call to a set; the set says how to pick the destination.
 */
import * as v from "valibot";
import { strictObject } from "./strict-object.ts";
import { ResourceNameSchema } from "./resources.ts";

/**
 * Algorithm names and hash keys come from the balancer, which implements one file each (kamailio dispatcher numbers
 * for comparison: 0 hash over Call-ID, 1 From URI, 2 To URI, 3 Request-URI, 4 round-robin, 6 random, 8 priority,
 * 9 weight, 10 call-load; OpenSIPS load_balancer's default is least-loaded over the requested resources).
 */
import { ALGORITHMS, type AlgorithmName } from "../balancer/index.ts";
import { HASH_KEYS, type HashKey } from "../balancer/hash.ts";
export { ALGORITHMS, HASH_KEYS };
export type Algorithm = AlgorithmName;
export type { HashKey };

export const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const NameSchema = v.pipe(v.string("must be a string"), v.regex(NAME_PATTERN, "must be 1-64 characters of [A-Za-z0-9._-]"));

/** The set the quick-start destinations (SWITCHBOARD_DESTINATIONS) and set-less POST /v1/destinations go to. */
export const DEFAULT_SET = "default";

export interface SetView {
  readonly name: string;
  readonly algorithm: Algorithm;
  /** Used by `hash` only. */
  readonly hashKey: HashKey;
  /** Resources the set balances on (least-loaded, call-load), e.g. ["calls"] or ["pstn", "transcoding"]. */
  readonly resources: readonly string[];
  /**
   * least-loaded compares load as a share of capacity (used/capacity) instead of free units (kamailio dispatcher
   * algorithm 11 "relative weight"; OpenSIPS lb flag "r" for relative/percentage mode).
   */
  readonly relative: boolean;
  /** Epoch ms. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

const algorithm = v.picklist(ALGORITHMS, `must be one of ${ALGORITHMS.join(", ")}`);
const hashKey = v.picklist(HASH_KEYS, `must be one of ${HASH_KEYS.join(", ")}`);
const resources = v.pipe(
  v.array(ResourceNameSchema, "must be a list of resource names"),
  v.maxLength(16, "at most 16 resources"),
  v.check((list) => new Set(list).size === list.length, "must not repeat a resource"),
);
const relative = v.boolean("must be true or false");

export const NewSetSchema = strictObject({
  name: NameSchema,
  algorithm: v.optional(algorithm, "round-robin"),
  hashKey: v.optional(hashKey, "call-id"),
  resources: v.optional(resources, ["calls"]),
  relative: v.optional(relative, false),
});
export type NewSet = v.InferOutput<typeof NewSetSchema>;

export const SetPatchSchema = strictObject({
  algorithm: v.optional(algorithm),
  hashKey: v.optional(hashKey),
  resources: v.optional(resources),
  relative: v.optional(relative),
});
export type SetPatch = v.InferOutput<typeof SetPatchSchema>;
