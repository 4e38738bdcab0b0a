/**
 * Record building shared by both catalog adapters: defaults, timestamps, patches, ids and the snapshot. Pure.
 */
import { destinationTarget, idFromUri, type Destination, type DestinationPatch, type DestinationView } from "../destination/destination.ts";
import { compareRules, type NewRule, type RulePatch, type RuleView } from "../routing/rule.ts";
import type { NewSet, SetPatch, SetView } from "../routing/set.ts";
import type { CatalogSnapshot, DestinationInput } from "./catalog.ts";

/** Drop keys whose value is undefined, so a patch never erases a field it does not name. */
function defined<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) as Partial<T>;
}

export function newSet(input: NewSet, now: number): SetView {
  const { name, algorithm, hashKey, resources, relative } = input;
  return { name, algorithm, hashKey, resources: [...resources], relative, createdAt: now, updatedAt: now };
}

export function patchSet(set: SetView, patch: SetPatch, now: number): SetView {
  return { ...set, ...defined(patch), updatedAt: now };
}

export function newDestination(input: DestinationInput, id: string, now: number): Destination {
  return {
    id,
    uri: input.uri,
    set: input.set,
    state: input.state,
    weight: input.weight,
    priority: input.priority,
    resources: { ...input.resources },
    maxCalls: input.maxCalls,
    probe: input.probe,
    attributes: { ...input.attributes },
    createdAt: now,
    updatedAt: now,
  };
}

export function patchDestination(destination: Destination, patch: DestinationPatch, now: number): Destination {
  return { ...destination, ...defined(patch), updatedAt: now };
}

export function newRule(input: NewRule, id: string, now: number): RuleView {
  const { priority, match, set, resources, replyNoMatch, maxDurationS, enabled } = input;
  return { id, priority, match, set, resources: { ...resources }, replyNoMatch, maxDurationS, enabled, createdAt: now, updatedAt: now };
}

export function patchRule(rule: RuleView, patch: RulePatch, now: number): RuleView {
  return { ...rule, ...defined(patch), updatedAt: now };
}

/** The id for a new destination: the one asked for, else one derived from its URI, suffixed while taken. */
export function destinationId(input: DestinationInput, taken: (id: string) => boolean): string {
  if (input.id !== undefined) return input.id;
  const base = idFromUri(input.uri);
  if (!taken(base)) return base;
  for (let n = 2; ; n++) if (!taken(`${base}-${n}`)) return `${base}-${n}`;
}

/** A fresh rule id: "r-" and 8 hex digits. */
export function randomRuleId(): string {
  return `r-${crypto.randomUUID().slice(0, 8)}`;
}

function freeze<T>(value: T): T {
  return Object.freeze(value);
}

/**
 * Build the immutable snapshot. Destinations come in creation order; one whose URI no longer resolves (edited by
 * hand in SQL) is left out of routing rather than failing every call.
 */
export function buildSnapshot(version: number, sets: readonly SetView[], destinations: readonly Destination[], rules: readonly RuleView[]): CatalogSnapshot {
  const setMap = new Map(sets.map((s) => [s.name, freeze({ ...s, resources: freeze([...s.resources]) })] as const));
  const views: DestinationView[] = [];
  for (const d of destinations) {
    const target = destinationTarget(d.uri);
    if (target) views.push(freeze({ ...d, resources: freeze({ ...d.resources }), attributes: freeze({ ...d.attributes }), target }));
  }
  const bySet = new Map<string, DestinationView[]>(sets.map((s) => [s.name, []]));
  for (const d of views) bySet.get(d.set)?.push(d);
  for (const list of bySet.values()) freeze(list);
  return freeze({
    version,
    sets: setMap,
    destinations: freeze(views),
    bySet,
    rules: freeze(rules.map((r) => freeze({ ...r })).sort(compareRules)),
  });
}
