/**
 * Which rule takes a request (pure): enabled rules in order (priority, then id), the first whose match holds wins
 * and names the set, its algorithm and the resources the call takes. No rule → a rejection, 404 "No Route" unless
 * the deployment says otherwise (kamailio drouting `do_routing` failing / OpenSIPS drouting: the script replies,
 * typically 404 or 503).
 */
import { compileMatch, prepareRequest, type CompiledMatch, type RoutingRequest } from "./match.ts";
import { compareRules, type RuleView } from "./rule.ts";
import type { SetView } from "./set.ts";

export interface NoRoute {
  readonly status: number;
  readonly reason: string;
}

export const DEFAULT_NO_ROUTE: NoRoute = { status: 404, reason: "No Route" };

/** What the rules read: the catalog snapshot satisfies it. */
export interface RoutingTable {
  readonly rules: readonly RuleView[];
  readonly sets: ReadonlyMap<string, SetView>;
}

export type RuleResult =
  | {
      readonly ok: true;
      readonly rule: RuleView;
      readonly set: SetView;
      readonly algorithm: SetView["algorithm"];
      /** Units of each resource the call takes. */
      readonly resources: Readonly<Record<string, number>>;
    }
  | { readonly ok: false; readonly status: number; readonly reason: string };

interface CompiledRule {
  readonly rule: RuleView;
  readonly test: CompiledMatch;
}

/** Compiled rules per rules array: snapshots are immutable, so one compilation serves until the next change. */
const compiled = new WeakMap<readonly RuleView[], readonly CompiledRule[]>();

function compile(rules: readonly RuleView[]): readonly CompiledRule[] {
  let table = compiled.get(rules);
  if (!table) {
    table = rules
      .filter((rule) => rule.enabled)
      .sort(compareRules)
      .map((rule) => ({ rule, test: compileMatch(rule.match) }));
    compiled.set(rules, table);
  }
  return table;
}

/** The first enabled rule (by priority, then id) whose match holds and whose set exists. */
export function selectRule(table: RoutingTable, request: RoutingRequest, noRoute: NoRoute = DEFAULT_NO_ROUTE): RuleResult {
  const prepared = prepareRequest(request);
  for (const { rule, test } of compile(table.rules)) {
    if (!test(prepared)) continue;
    const set = table.sets.get(rule.set);
    if (!set) continue;
    return { ok: true, rule, set, algorithm: set.algorithm, resources: rule.resources };
  }
  return { ok: false, status: noRoute.status, reason: noRoute.reason };
}

/** Header names the routing rules match on (cached per snapshot): only those are copied into request events. */
const headerNameCache = new WeakMap<readonly RuleView[], readonly string[]>();
export function headerNames(table: Pick<RoutingTable, "rules">): readonly string[] {
  let names = headerNameCache.get(table.rules);
  if (!names) {
    names = [...new Set(table.rules.flatMap((rule) => (rule.match.header ? [rule.match.header.name.toLowerCase()] : [])))];
    headerNameCache.set(table.rules, names);
  }
  return names;
}
