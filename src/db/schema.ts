/**
 * The SQL catalog (drizzle, SQLite dialect: libsql files for the Node gateway, D1 on Workers): sets, destinations and
 * routing rules. kamailio keeps the same in its `dispatcher` table (setid, destination, flags, priority, attrs) and
 * OpenSIPS in `load_balancer` (group_id, dst_uri, resources, probe_mode) and `dr_rules`.
 *
 * JSON columns hold small structured values (resource maps, probe settings, matches) that are always read whole.
 * Times are epoch milliseconds. `drizzle-kit generate` turns this file into migrations/.
 */
import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { Algorithm, HashKey } from "../routing/set.ts";
import type { AttributeValue, DestinationState, Probe } from "../destination/destination.ts";
import type { Match } from "../routing/match.ts";

export const sets = sqliteTable(
  "sets",
  {
    name: text("name").primaryKey(),
    algorithm: text("algorithm").$type<Algorithm>().notNull().default("round-robin"),
    hashKey: text("hash_key").$type<HashKey>().notNull().default("call-id"),
    /** JSON list of the resource names the set balances on. */
    resources: text("resources", { mode: "json" }).$type<string[]>().notNull().default(sql`'["calls"]'`),
    /** least-loaded in relative (percentage) mode. */
    relative: integer("relative", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    check("sets_algorithm", sql`${t.algorithm} in ('round-robin', 'weighted-round-robin', 'weighted-random', 'hash', 'priority', 'least-loaded', 'call-load')`),
    check("sets_hash_key", sql`${t.hashKey} in ('call-id', 'from-uri', 'to-uri', 'request-uri', 'source')`),
  ],
);

export const destinations = sqliteTable(
  "destinations",
  {
    id: text("id").primaryKey(),
    uri: text("uri").notNull().unique(),
    setName: text("set_name")
      .notNull()
      .references(() => sets.name),
    weight: integer("weight").notNull().default(1),
    priority: integer("priority").notNull().default(0),
    /** JSON object resource → capacity, e.g. {"calls":30,"pstn":30}. */
    resources: text("resources", { mode: "json" }).$type<Record<string, number>>().notNull().default(sql`'{}'`),
    maxCalls: integer("max_calls"),
    /** JSON {mode, aliveCodes, intervalMs}; null: the deployment's default. */
    probe: text("probe", { mode: "json" }).$type<Probe>(),
    attributes: text("attributes", { mode: "json" }).$type<Record<string, AttributeValue>>().notNull().default(sql`'{}'`),
    state: text("state").$type<DestinationState>().notNull().default("active"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("destinations_set_name").on(t.setName),
    check("destinations_weight", sql`${t.weight} >= 0`),
    check("destinations_max_calls", sql`${t.maxCalls} is null or ${t.maxCalls} >= 0`),
    check("destinations_state", sql`${t.state} in ('active', 'disabled', 'draining')`),
  ],
);

export const rules = sqliteTable(
  "rules",
  {
    id: text("id").primaryKey(),
    /** Lower first. */
    priority: integer("priority").notNull().default(100),
    /** JSON match object (src/routing/match.ts); {} matches every request. */
    match: text("match", { mode: "json" }).$type<Match>().notNull().default(sql`'{}'`),
    setName: text("set_name")
      .notNull()
      .references(() => sets.name),
    /** JSON object resource → units one call takes. */
    resources: text("resources", { mode: "json" }).$type<Record<string, number>>().notNull().default(sql`'{"calls":1}'`),
    /** SIP code to reply when the set has no destination able to take the call; null: the engine's default. */
    replyNoMatch: integer("reply_no_match"),
    /** Hard maximum duration (s) of the calls this rule routes; null: the gateway's default. */
    maxDurationS: integer("max_duration_s"),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("rules_priority").on(t.priority),
    index("rules_set_name").on(t.setName),
    check("rules_reply_no_match", sql`${t.replyNoMatch} is null or (${t.replyNoMatch} between 300 and 699)`),
  ],
);

export const schema = { sets, destinations, rules };
export type Schema = typeof schema;
export type SetRow = typeof sets.$inferSelect;
export type DestinationRow = typeof destinations.$inferSelect;
export type RuleRow = typeof rules.$inferSelect;
