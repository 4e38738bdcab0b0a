/**
 * Resources: what a destination offers and what a call takes. OpenSIPS load_balancer calls them "resources"
 * ("pstn=32;transc=10" per destination, `lb_start(group, "pstn;transc")` per call); kamailio dispatcher knows one
 * implicit resource, the call, capped by the `maxload` attribute of its call-load algorithm.
 *
 * A destination states a capacity per resource; a rule states how many units of each resource a call takes (one
 * "calls" unit by default). Names start with a letter, so no name can be `__proto__` and plain objects stay safe.
 */
import * as v from "valibot";

export const RESOURCE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

export const ResourceNameSchema = v.pipe(
  v.string("must be a string"),
  v.regex(RESOURCE_NAME_PATTERN, "must start with a letter, then up to 31 of [A-Za-z0-9_-]"),
);

const count = (min: number, what: string) =>
  v.pipe(v.number(`${what} must be a number`), v.integer(`${what} must be a whole number`), v.minValue(min, `${what} must be at least ${min}`), v.maxValue(1_000_000_000, `${what} must be at most 1000000000`));

const entries = (most: number) => v.check<Record<string, number>, string>((r) => Object.keys(r).length <= most, `at most ${most} resources`);

/** A destination's capacities, resource → concurrent units (e.g. { calls: 30, pstn: 30 }). */
export const CapacitiesSchema = v.pipe(v.record(ResourceNameSchema, count(0, "a capacity")), entries(16));

/** What a call takes, resource → units (e.g. { calls: 1, transcoding: 1 }). */
export const CallResourcesSchema = v.pipe(v.record(ResourceNameSchema, count(1, "a unit count")), entries(16));

/** What a call takes when its rule says nothing: one "calls" unit. */
export const DEFAULT_CALL_RESOURCES: Readonly<Record<string, number>> = Object.freeze({ calls: 1 });
