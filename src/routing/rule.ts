/**
 * A routing rule: "requests that look like this go to that set and take these resources". Rules are tried by
 * `priority`, lowest first (kamailio drouting and dialplan "pr", OpenSIPS drouting rule priority — there the
 * highest wins; here the lowest, like MX records and SRV priorities). Ties go by id, so the order never depends on
 * storage.
 */
import * as v from "valibot";
import { strictObject } from "./strict-object.ts";
import { CallResourcesSchema, DEFAULT_CALL_RESOURCES } from "./resources.ts";
import { MatchSchema, type Match } from "./match.ts";
import { NameSchema } from "./set.ts";

/** The precedence of the quick-start catch-all rule: below every rule an operator writes. */
export const LOWEST_PRECEDENCE = 1_000_000;

export interface RuleView {
  readonly id: string;
  readonly priority: number;
  readonly match: Match;
  /** The set a matching request goes to. */
  readonly set: string;
  /** Units of each resource one call takes. */
  readonly resources: Readonly<Record<string, number>>;
  /**
   * The reply when this rule took the request but its set has no destination able to take the call (none active,
   * all full): e.g. 486 or 503. Null: the engine's default. (OpenSIPS: the script's reply after lb_start fails.)
   */
  readonly replyNoMatch: number | null;
  /** Hard maximum duration (s) of the calls it routes: they are ended with a BYE to both sides. Null: the default. */
  readonly maxDurationS: number | null;
  readonly enabled: boolean;
  /** Epoch ms. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

const priority = v.pipe(v.number("must be a number"), v.integer("must be a whole number"), v.minValue(0, "must be at least 0"), v.maxValue(LOWEST_PRECEDENCE, `must be at most ${LOWEST_PRECEDENCE}`));
const replyCode = v.nullable(v.pipe(v.number("must be a number"), v.integer("must be a whole number"), v.minValue(300, "must be a SIP final failure code (300-699)"), v.maxValue(699, "must be a SIP final failure code (300-699)")));
const enabled = v.boolean("must be true or false");
const maxDuration = v.nullable(v.pipe(v.number("must be a number"), v.integer("must be a whole number"), v.minValue(1, "must be at least 1 second"), v.maxValue(7 * 86_400, "must be at most 7 days")));

export const NewRuleSchema = strictObject({
  id: v.optional(NameSchema),
  match: v.optional(MatchSchema, {}),
  set: NameSchema,
  priority: v.optional(priority, 100),
  resources: v.optional(CallResourcesSchema, () => ({ ...DEFAULT_CALL_RESOURCES })),
  replyNoMatch: v.optional(replyCode, null),
  maxDurationS: v.optional(maxDuration, null),
  enabled: v.optional(enabled, true),
});
export type NewRule = v.InferOutput<typeof NewRuleSchema>;

export const RulePatchSchema = strictObject({
  match: v.optional(MatchSchema),
  set: v.optional(NameSchema),
  priority: v.optional(priority),
  resources: v.optional(CallResourcesSchema),
  replyNoMatch: v.optional(replyCode),
  maxDurationS: v.optional(maxDuration),
  enabled: v.optional(enabled),
});
export type RulePatch = v.InferOutput<typeof RulePatchSchema>;

/** The order rules are tried in: priority, then id. */
export function compareRules(a: Pick<RuleView, "priority" | "id">, b: Pick<RuleView, "priority" | "id">): number {
  return a.priority - b.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
