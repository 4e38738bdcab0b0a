/**
 * The catalog port: sets, destinations and routing rules (kamailio dispatcher list + drouting rules, OpenSIPS
 * load_balancer table + dr_rules), with two adapters of the same contract: `SqlCatalog` (drizzle: libsql files,
 * D1) and `MemoryCatalog` (plain maps, for unit tests of consumers).
 *
 * Changes are asynchronous (SQL). The hot path never waits on them: `snapshot()` returns the current immutable
 * in-memory picture, swapped after every change made through this catalog; `reload()` re-reads the source for
 * changes made elsewhere (another gateway, a migration, an operator's SQL). Conflicts and unknown names come back
 * as typed results, never as exceptions.
 */
import type { Destination, DestinationPatch, DestinationState, DestinationView, NewDestinationValue } from "../destination/destination.ts";
import type { NewRule, RulePatch, RuleView } from "../routing/rule.ts";
import type { NewSet, SetPatch, SetView } from "../routing/set.ts";

export type { SetView } from "../routing/set.ts";
export type { RuleView } from "../routing/rule.ts";
export type { Destination, DestinationView } from "../destination/destination.ts";

/** What the route path reads: plain immutable data, rebuilt whole on every change. */
export interface CatalogSnapshot {
  /** Bumped with every new snapshot of this catalog instance. */
  readonly version: number;
  readonly sets: ReadonlyMap<string, SetView>;
  /** Every routable destination, in creation order (the order round robin walks). */
  readonly destinations: readonly DestinationView[];
  /** The same destinations by set name (every set has an entry, possibly empty). */
  readonly bySet: ReadonlyMap<string, readonly DestinationView[]>;
  /** Rules in the order they are tried: priority, then id. */
  readonly rules: readonly RuleView[];
}

export type CatalogError =
  | { readonly kind: "not-found"; readonly message: string }
  /** Duplicate id/uri/name, or a set still in use. */
  | { readonly kind: "conflict"; readonly message: string };

export type CatalogResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: CatalogError };

/** A new destination with its set resolved (the admin API fills in "default"). */
export type DestinationInput = Omit<NewDestinationValue, "set"> & { readonly set: string };

export interface Catalog {
  snapshot(): CatalogSnapshot;
  readonly version: number;
  /** Re-read everything from the source and swap in a new snapshot. */
  reload(): Promise<CatalogSnapshot>;

  listSets(): Promise<SetView[]>;
  getSet(name: string): Promise<SetView | undefined>;
  createSet(input: NewSet): Promise<CatalogResult<SetView>>;
  updateSet(name: string, patch: SetPatch): Promise<CatalogResult<SetView>>;
  /** Conflict while a destination or rule still names the set. */
  deleteSet(name: string): Promise<CatalogResult<SetView>>;

  listDestinations(filter?: { readonly set?: string }): Promise<Destination[]>;
  getDestination(id: string): Promise<Destination | undefined>;
  /** Not found when the set does not exist; conflict on a taken id or URI. Without an id, one is derived from the URI. */
  createDestination(input: DestinationInput): Promise<CatalogResult<Destination>>;
  updateDestination(id: string, patch: DestinationPatch): Promise<CatalogResult<Destination>>;
  setDestinationState(id: string, state: DestinationState): Promise<CatalogResult<Destination>>;
  deleteDestination(id: string): Promise<CatalogResult<Destination>>;

  listRules(): Promise<RuleView[]>;
  getRule(id: string): Promise<RuleView | undefined>;
  createRule(input: NewRule): Promise<CatalogResult<RuleView>>;
  updateRule(id: string, patch: RulePatch): Promise<CatalogResult<RuleView>>;
  deleteRule(id: string): Promise<CatalogResult<RuleView>>;

  close(): Promise<void>;
}

export const ok = <T>(value: T): CatalogResult<T> => ({ ok: true, value });
export const notFound = <T>(message: string): CatalogResult<T> => ({ ok: false, error: { kind: "not-found", message } });
export const conflict = <T>(message: string): CatalogResult<T> => ({ ok: false, error: { kind: "conflict", message } });
