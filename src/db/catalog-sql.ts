/**
 * The catalog in SQL through drizzle (SQLite dialect: libsql files and servers for the Node gateway, D1 on Workers).
 * Every change goes to SQL first, then the whole catalog is re-read into a new snapshot: the tables are small
 * (hundreds of rows) and the hot path must never query.
 */
import { asc, count, eq, sql } from "drizzle-orm";
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import type { Destination, DestinationPatch, DestinationState } from "../destination/destination.ts";
import type { NewRule, RulePatch, RuleView } from "../routing/rule.ts";
import type { NewSet, SetPatch, SetView } from "../routing/set.ts";
import { conflict, notFound, ok, type Catalog, type CatalogResult, type CatalogSnapshot, type DestinationInput } from "./catalog.ts";
import { openDatabase } from "./client.ts";
import { buildSnapshot, destinationId, newDestination, newRule, newSet, patchDestination, patchRule, patchSet, randomRuleId } from "./records.ts";
import { destinations, rules, sets, type DestinationRow, type RuleRow, type Schema } from "./schema.ts";

/** Any asynchronous SQLite drizzle database: libsql or D1. */
export type CatalogDatabase = BaseSQLiteDatabase<"async", any, Schema>;

const destinationOf = (row: DestinationRow): Destination => ({
  id: row.id,
  uri: row.uri,
  set: row.setName,
  state: row.state,
  weight: row.weight,
  priority: row.priority,
  resources: row.resources,
  maxCalls: row.maxCalls,
  probe: row.probe,
  attributes: row.attributes,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});
const ruleOf = (row: RuleRow): RuleView => ({
  id: row.id,
  priority: row.priority,
  match: row.match,
  set: row.setName,
  resources: row.resources,
  replyNoMatch: row.replyNoMatch,
  maxDurationS: row.maxDurationS,
  enabled: row.enabled,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});
const destinationRow = ({ set, ...d }: Destination): DestinationRow => ({
  ...d,
  setName: set,
  resources: { ...d.resources },
  attributes: { ...d.attributes },
  probe: d.probe && { ...d.probe, aliveCodes: [...d.probe.aliveCodes] },
});
const ruleRow = ({ set, ...r }: RuleView): RuleRow => ({ ...r, setName: set, resources: { ...r.resources } });

/** A unique/primary-key/foreign-key violation, whatever driver wrapped it (drizzle, libsql, D1). */
function constraintViolation(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (/constraint failed|SQLITE_CONSTRAINT/i.test(`${e.message} ${(e as { code?: unknown }).code ?? ""}`)) return true;
  }
  return false;
}

export class SqlCatalog implements Catalog {
  readonly #db: CatalogDatabase;
  readonly #now: () => number;
  readonly #onClose: () => void;
  #snapshot: CatalogSnapshot = buildSnapshot(0, [], [], []);
  #started = 0;
  #applied = 0;

  private constructor(db: CatalogDatabase, now: () => number, onClose: () => void) {
    this.#db = db;
    this.#now = now;
    this.#onClose = onClose;
  }

  /** A catalog over an open, migrated database; reads the first snapshot before returning. */
  static async create(db: CatalogDatabase, options: { now?: () => number; onClose?: () => void } = {}): Promise<SqlCatalog> {
    const catalog = new SqlCatalog(db, options.now ?? Date.now, options.onClose ?? (() => {}));
    await catalog.reload();
    return catalog;
  }

  /** Open (and migrate) the database at `url`, then the catalog over it; close() closes the database too. */
  static async open(url: string, options: { now?: () => number } = {}): Promise<SqlCatalog> {
    const database = await openDatabase(url);
    try {
      return await SqlCatalog.create(database.db, { ...options, onClose: () => database.close() });
    } catch (error) {
      database.close();
      throw error;
    }
  }

  snapshot(): CatalogSnapshot {
    return this.#snapshot;
  }

  get version(): number {
    return this.#snapshot.version;
  }

  /** Re-read all three tables; a read that started before another one finished never overwrites the newer result. */
  async reload(): Promise<CatalogSnapshot> {
    const started = ++this.#started;
    const [allSets, allDestinations, allRules] = await Promise.all([this.listSets(), this.listDestinations(), this.listRules()]);
    if (started > this.#applied) {
      this.#applied = started;
      this.#snapshot = buildSnapshot(this.#snapshot.version + 1, allSets, allDestinations, allRules);
    }
    return this.#snapshot;
  }

  async #changed<T>(value: T): Promise<CatalogResult<T>> {
    await this.reload();
    return ok(value);
  }

  async listSets(): Promise<SetView[]> {
    return this.#db.select().from(sets).orderBy(asc(sets.name));
  }

  async getSet(name: string): Promise<SetView | undefined> {
    const [row] = await this.#db.select().from(sets).where(eq(sets.name, name));
    return row;
  }

  async createSet(input: NewSet): Promise<CatalogResult<SetView>> {
    if (await this.getSet(input.name)) return conflict(`set ${input.name} exists`);
    const set = newSet(input, this.#now());
    try {
      await this.#db.insert(sets).values({ ...set, resources: [...set.resources] });
    } catch (error) {
      if (constraintViolation(error)) return conflict(`set ${input.name} exists`);
      throw error;
    }
    return this.#changed(set);
  }

  async updateSet(name: string, patch: SetPatch): Promise<CatalogResult<SetView>> {
    const set = await this.getSet(name);
    if (!set) return notFound(`no set ${name}`);
    const next = patchSet(set, patch, this.#now());
    await this.#db.update(sets).set({ ...next, resources: [...next.resources] }).where(eq(sets.name, name));
    return this.#changed(next);
  }

  async deleteSet(name: string): Promise<CatalogResult<SetView>> {
    const set = await this.getSet(name);
    if (!set) return notFound(`no set ${name}`);
    const [[d], [r]] = await Promise.all([
      this.#db.select({ n: count() }).from(destinations).where(eq(destinations.setName, name)),
      this.#db.select({ n: count() }).from(rules).where(eq(rules.setName, name)),
    ]);
    const inUse = `set ${name} is still used by ${d?.n ?? 0} destination(s) and ${r?.n ?? 0} rule(s)`;
    if ((d?.n ?? 0) + (r?.n ?? 0) > 0) return conflict(inUse);
    try {
      await this.#db.delete(sets).where(eq(sets.name, name));
    } catch (error) {
      if (constraintViolation(error)) return conflict(inUse);
      throw error;
    }
    return this.#changed(set);
  }

  async listDestinations(filter: { readonly set?: string } = {}): Promise<Destination[]> {
    const query = this.#db.select().from(destinations);
    const rows = await (filter.set === undefined ? query : query.where(eq(destinations.setName, filter.set))).orderBy(
      asc(destinations.createdAt),
      sql`rowid`,
    );
    return rows.map(destinationOf);
  }

  async getDestination(id: string): Promise<Destination | undefined> {
    const [row] = await this.#db.select().from(destinations).where(eq(destinations.id, id));
    return row && destinationOf(row);
  }

  async #uriTaken(uri: string, except?: string): Promise<boolean> {
    const [row] = await this.#db.select({ id: destinations.id }).from(destinations).where(eq(destinations.uri, uri));
    return row !== undefined && row.id !== except;
  }

  async createDestination(input: DestinationInput): Promise<CatalogResult<Destination>> {
    if (!(await this.getSet(input.set))) return notFound(`no set ${input.set}`);
    if (input.id !== undefined && (await this.getDestination(input.id))) return conflict(`destination ${input.id} exists`);
    if (await this.#uriTaken(input.uri)) return conflict(`destination ${input.uri} exists`);
    const ids = new Set((await this.#db.select({ id: destinations.id }).from(destinations)).map((row) => row.id));
    const destination = newDestination(input, destinationId(input, (id) => ids.has(id)), this.#now());
    try {
      await this.#db.insert(destinations).values(destinationRow(destination));
    } catch (error) {
      if (constraintViolation(error)) return conflict(`destination ${destination.id} or ${destination.uri} exists, or set ${input.set} is gone`);
      throw error;
    }
    return this.#changed(destination);
  }

  async updateDestination(id: string, patch: DestinationPatch): Promise<CatalogResult<Destination>> {
    const destination = await this.getDestination(id);
    if (!destination) return notFound(`no destination ${id}`);
    if (patch.set !== undefined && !(await this.getSet(patch.set))) return notFound(`no set ${patch.set}`);
    if (patch.uri !== undefined && (await this.#uriTaken(patch.uri, id))) return conflict(`destination ${patch.uri} exists`);
    const next = patchDestination(destination, patch, this.#now());
    try {
      await this.#db.update(destinations).set(destinationRow(next)).where(eq(destinations.id, id));
    } catch (error) {
      if (constraintViolation(error)) return conflict(`destination ${next.uri} exists, or set ${next.set} is gone`);
      throw error;
    }
    return this.#changed(next);
  }

  async setDestinationState(id: string, state: DestinationState): Promise<CatalogResult<Destination>> {
    return this.updateDestination(id, { state });
  }

  async deleteDestination(id: string): Promise<CatalogResult<Destination>> {
    const destination = await this.getDestination(id);
    if (!destination) return notFound(`no destination ${id}`);
    await this.#db.delete(destinations).where(eq(destinations.id, id));
    return this.#changed(destination);
  }

  async listRules(): Promise<RuleView[]> {
    const rows = await this.#db.select().from(rules).orderBy(asc(rules.priority), asc(rules.id));
    return rows.map(ruleOf);
  }

  async getRule(id: string): Promise<RuleView | undefined> {
    const [row] = await this.#db.select().from(rules).where(eq(rules.id, id));
    return row && ruleOf(row);
  }

  async createRule(input: NewRule): Promise<CatalogResult<RuleView>> {
    if (!(await this.getSet(input.set))) return notFound(`no set ${input.set}`);
    if (input.id !== undefined && (await this.getRule(input.id))) return conflict(`rule ${input.id} exists`);
    const rule = newRule(input, input.id ?? randomRuleId(), this.#now());
    try {
      await this.#db.insert(rules).values(ruleRow(rule));
    } catch (error) {
      if (constraintViolation(error)) return conflict(`rule ${rule.id} exists, or set ${input.set} is gone`);
      throw error;
    }
    return this.#changed(rule);
  }

  async updateRule(id: string, patch: RulePatch): Promise<CatalogResult<RuleView>> {
    const rule = await this.getRule(id);
    if (!rule) return notFound(`no rule ${id}`);
    if (patch.set !== undefined && !(await this.getSet(patch.set))) return notFound(`no set ${patch.set}`);
    const next = patchRule(rule, patch, this.#now());
    try {
      await this.#db.update(rules).set(ruleRow(next)).where(eq(rules.id, id));
    } catch (error) {
      if (constraintViolation(error)) return conflict(`set ${next.set} is gone`);
      throw error;
    }
    return this.#changed(next);
  }

  async deleteRule(id: string): Promise<CatalogResult<RuleView>> {
    const rule = await this.getRule(id);
    if (!rule) return notFound(`no rule ${id}`);
    await this.#db.delete(rules).where(eq(rules.id, id));
    return this.#changed(rule);
  }

  async close(): Promise<void> {
    this.#onClose();
  }
}
