/**
 * The catalog in plain maps: same contract as SqlCatalog (one contract suite runs against both), nothing persisted.
 * For unit tests of the admin API, the route function and anything else that only needs a catalog.
 */
import type { Destination, DestinationPatch, DestinationState } from "../destination/destination.ts";
import type { NewRule, RulePatch, RuleView } from "../routing/rule.ts";
import type { NewSet, SetPatch, SetView } from "../routing/set.ts";
import { conflict, notFound, ok, type Catalog, type CatalogResult, type CatalogSnapshot, type DestinationInput } from "./catalog.ts";
import { buildSnapshot, destinationId, newDestination, newRule, newSet, patchDestination, patchRule, patchSet, randomRuleId } from "./records.ts";

export class MemoryCatalog implements Catalog {
  readonly #sets = new Map<string, SetView>();
  readonly #destinations = new Map<string, Destination>();
  readonly #rules = new Map<string, RuleView>();
  readonly #now: () => number;
  #snapshot: CatalogSnapshot;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#snapshot = buildSnapshot(0, [], [], []);
  }

  snapshot(): CatalogSnapshot {
    return this.#snapshot;
  }

  get version(): number {
    return this.#snapshot.version;
  }

  async reload(): Promise<CatalogSnapshot> {
    return this.#refresh();
  }

  #refresh(): CatalogSnapshot {
    this.#snapshot = buildSnapshot(this.#snapshot.version + 1, [...this.#sets.values()], [...this.#destinations.values()], [...this.#rules.values()]);
    return this.#snapshot;
  }

  #changed<T>(value: T): CatalogResult<T> {
    this.#refresh();
    return ok(value);
  }

  async listSets(): Promise<SetView[]> {
    return [...this.#sets.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async getSet(name: string): Promise<SetView | undefined> {
    return this.#sets.get(name);
  }

  async createSet(input: NewSet): Promise<CatalogResult<SetView>> {
    if (this.#sets.has(input.name)) return conflict(`set ${input.name} exists`);
    const set = newSet(input, this.#now());
    this.#sets.set(set.name, set);
    return this.#changed(set);
  }

  async updateSet(name: string, patch: SetPatch): Promise<CatalogResult<SetView>> {
    const set = this.#sets.get(name);
    if (!set) return notFound(`no set ${name}`);
    const next = patchSet(set, patch, this.#now());
    this.#sets.set(name, next);
    return this.#changed(next);
  }

  async deleteSet(name: string): Promise<CatalogResult<SetView>> {
    const set = this.#sets.get(name);
    if (!set) return notFound(`no set ${name}`);
    const destinations = [...this.#destinations.values()].filter((d) => d.set === name).length;
    const rules = [...this.#rules.values()].filter((r) => r.set === name).length;
    if (destinations + rules > 0) return conflict(`set ${name} is still used by ${destinations} destination(s) and ${rules} rule(s)`);
    this.#sets.delete(name);
    return this.#changed(set);
  }

  async listDestinations(filter: { readonly set?: string } = {}): Promise<Destination[]> {
    return [...this.#destinations.values()].filter((d) => filter.set === undefined || d.set === filter.set);
  }

  async getDestination(id: string): Promise<Destination | undefined> {
    return this.#destinations.get(id);
  }

  #uriTaken(uri: string, except?: string): boolean {
    for (const d of this.#destinations.values()) if (d.uri === uri && d.id !== except) return true;
    return false;
  }

  async createDestination(input: DestinationInput): Promise<CatalogResult<Destination>> {
    if (!this.#sets.has(input.set)) return notFound(`no set ${input.set}`);
    if (input.id !== undefined && this.#destinations.has(input.id)) return conflict(`destination ${input.id} exists`);
    if (this.#uriTaken(input.uri)) return conflict(`destination ${input.uri} exists`);
    const id = destinationId(input, (candidate) => this.#destinations.has(candidate));
    const destination = newDestination(input, id, this.#now());
    this.#destinations.set(id, destination);
    return this.#changed(destination);
  }

  async updateDestination(id: string, patch: DestinationPatch): Promise<CatalogResult<Destination>> {
    const destination = this.#destinations.get(id);
    if (!destination) return notFound(`no destination ${id}`);
    if (patch.set !== undefined && !this.#sets.has(patch.set)) return notFound(`no set ${patch.set}`);
    if (patch.uri !== undefined && this.#uriTaken(patch.uri, id)) return conflict(`destination ${patch.uri} exists`);
    const next = patchDestination(destination, patch, this.#now());
    this.#destinations.set(id, next);
    return this.#changed(next);
  }

  async setDestinationState(id: string, state: DestinationState): Promise<CatalogResult<Destination>> {
    return this.updateDestination(id, { state });
  }

  async deleteDestination(id: string): Promise<CatalogResult<Destination>> {
    const destination = this.#destinations.get(id);
    if (!destination) return notFound(`no destination ${id}`);
    this.#destinations.delete(id);
    return this.#changed(destination);
  }

  async listRules(): Promise<RuleView[]> {
    return [...this.#snapshot.rules];
  }

  async getRule(id: string): Promise<RuleView | undefined> {
    return this.#rules.get(id);
  }

  async createRule(input: NewRule): Promise<CatalogResult<RuleView>> {
    if (!this.#sets.has(input.set)) return notFound(`no set ${input.set}`);
    if (input.id !== undefined && this.#rules.has(input.id)) return conflict(`rule ${input.id} exists`);
    let id = input.id ?? randomRuleId();
    while (this.#rules.has(id)) id = randomRuleId();
    const rule = newRule(input, id, this.#now());
    this.#rules.set(id, rule);
    return this.#changed(rule);
  }

  async updateRule(id: string, patch: RulePatch): Promise<CatalogResult<RuleView>> {
    const rule = this.#rules.get(id);
    if (!rule) return notFound(`no rule ${id}`);
    if (patch.set !== undefined && !this.#sets.has(patch.set)) return notFound(`no set ${patch.set}`);
    const next = patchRule(rule, patch, this.#now());
    this.#rules.set(id, next);
    return this.#changed(next);
  }

  async deleteRule(id: string): Promise<CatalogResult<RuleView>> {
    const rule = this.#rules.get(id);
    if (!rule) return notFound(`no rule ${id}`);
    this.#rules.delete(id);
    return this.#changed(rule);
  }

  async close(): Promise<void> {}
}
