/**
 * Quick start: SWITCHBOARD_DESTINATIONS as catalog rows, so one variable still gives a working balancer.
 *
 * The listed URIs go to the set "default" (round robin), which a catch-all rule (empty match, lowest precedence)
 * sends every call to. Idempotent across restarts: a URI already in the catalog keeps its row (id, state, set, as an
 * operator may have changed them); URIs this seeding added earlier and no longer listed are removed, so the list
 * stays the truth for what it owns. A default set an operator already changed (algorithm, rules) is left alone.
 */
import * as v from "valibot";
import { NewDestinationSchema } from "../destination/destination.ts";
import { LOWEST_PRECEDENCE, NewRuleSchema } from "../routing/rule.ts";
import { DEFAULT_SET, NewSetSchema } from "../routing/set.ts";
import type { Catalog } from "./catalog.ts";

/** Attribute that marks destinations this seeding owns. */
export const QUICK_START_ORIGIN = { key: "origin", value: "SWITCHBOARD_DESTINATIONS" } as const;

export const DEFAULT_RULE_ID = "default";

export class QuickStartError extends Error {
  override readonly name = "QuickStartError";
}

/**
 * Make sure the set "default" exists; when this call creates it, also create the catch-all rule that sends calls to
 * it. Returns whether the set was created.
 */
export async function ensureDefaultSet(catalog: Catalog): Promise<boolean> {
  if (await catalog.getSet(DEFAULT_SET)) return false;
  const created = await catalog.createSet(v.parse(NewSetSchema, { name: DEFAULT_SET, algorithm: "round-robin" }));
  if (!created.ok) return false; // another gateway created it a moment ago
  if (!(await catalog.getRule(DEFAULT_RULE_ID))) {
    await catalog.createRule(v.parse(NewRuleSchema, { id: DEFAULT_RULE_ID, set: DEFAULT_SET, priority: LOWEST_PRECEDENCE, match: {} }));
  }
  return true;
}

export interface QuickStartReport {
  readonly added: readonly string[];
  readonly kept: readonly string[];
  readonly removed: readonly string[];
}

export async function seedQuickStart(catalog: Catalog, uris: readonly string[]): Promise<QuickStartReport> {
  const inputs = uris.map((uri) => {
    const parsed = v.safeParse(NewDestinationSchema, { uri, attributes: { [QUICK_START_ORIGIN.key]: QUICK_START_ORIGIN.value } });
    if (!parsed.success) throw new QuickStartError(`destination ${uri}: not a reachable sip: URI (sip:, transport udp or tcp)`);
    return { ...parsed.output, set: DEFAULT_SET };
  });
  const existing = await catalog.listDestinations();
  const owned = existing.filter((d) => d.set === DEFAULT_SET && d.attributes[QUICK_START_ORIGIN.key] === QUICK_START_ORIGIN.value);
  const listed = new Set(uris);
  const removed: string[] = [];
  for (const d of owned) {
    if (listed.has(d.uri)) continue;
    if ((await catalog.deleteDestination(d.id)).ok) removed.push(d.id);
  }
  if (inputs.length === 0) return { added: [], kept: [], removed };

  await ensureDefaultSet(catalog);
  const byUri = new Map(existing.map((d) => [d.uri, d]));
  const added: string[] = [];
  const kept: string[] = [];
  for (const input of inputs) {
    const found = byUri.get(input.uri);
    if (found) {
      kept.push(found.id);
      continue;
    }
    const created = await catalog.createDestination(input);
    if (created.ok) added.push(created.value.id);
    else if (created.error.kind === "conflict") kept.push(input.uri); // added concurrently by another gateway
    else throw new QuickStartError(`destination ${input.uri}: ${created.error.message}`);
  }
  return { added, kept, removed };
}
