import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as v from "valibot";
import type { RoutingRequest } from "./match.ts";
import { NewRuleSchema, type RuleView } from "./rule.ts";
import { selectRule, type RoutingTable } from "./rules.ts";
import type { SetView } from "./set.ts";

const setOf = (name: string, algorithm: SetView["algorithm"] = "round-robin"): SetView => ({ name, algorithm, hashKey: "call-id", resources: ["calls"], relative: false, createdAt: 0, updatedAt: 0 });
const ruleOf = (input: v.InferInput<typeof NewRuleSchema> & { id: string }): RuleView => {
  const { id: _id, ...rest } = v.parse(NewRuleSchema, input);
  return { id: input.id, ...rest, createdAt: 0, updatedAt: 0 };
};

const sets = new Map([
  ["pstn", setOf("pstn", "least-loaded")],
  ["uk", setOf("uk", "weighted-random")],
  ["default", setOf("default")],
]);
const call = (requestUri: string, sourceAddress = "10.0.0.1"): RoutingRequest => ({ requestUri, fromUri: "sip:a@example.org", sourceAddress });

test("rules are tried by priority (lowest first), the first match names the set, algorithm and resources", () => {
  const table: RoutingTable = {
    sets,
    rules: [
      ruleOf({ id: "catch-all", set: "default", priority: 1_000_000 }),
      ruleOf({ id: "pstn", set: "pstn", priority: 20, match: { requestUserPrefix: "+" }, resources: { calls: 1, pstn: 1 } }),
      ruleOf({ id: "uk", set: "uk", priority: 10, match: { requestUserPrefix: "+44" } }),
    ],
  };
  const uk = selectRule(table, call("sip:+4420@x"));
  assert.ok(uk.ok);
  assert.deepEqual([uk.rule.id, uk.set.name, uk.algorithm, uk.resources], ["uk", "uk", "weighted-random", { calls: 1 }]);
  const pstn = selectRule(table, call("sip:+3312@x"));
  assert.ok(pstn.ok);
  assert.deepEqual([pstn.rule.id, pstn.algorithm, pstn.resources], ["pstn", "least-loaded", { calls: 1, pstn: 1 }]);
  const other = selectRule(table, call("sip:100@x"));
  assert.ok(other.ok && other.rule.id === "catch-all");
});

test("no rule matches: 404 No Route by default, or what the deployment configured; disabled rules and missing sets are skipped", () => {
  const table: RoutingTable = {
    sets,
    rules: [
      ruleOf({ id: "off", set: "default", enabled: false }),
      ruleOf({ id: "ghost", set: "gone" }),
      ruleOf({ id: "lan", set: "default", match: { source: "192.168.0.0/16" } }),
    ],
  };
  assert.deepEqual(selectRule(table, call("sip:1@x")), { ok: false, status: 404, reason: "No Route" });
  assert.deepEqual(selectRule(table, call("sip:1@x"), { status: 403, reason: "Forbidden" }), { ok: false, status: 403, reason: "Forbidden" });
  assert.deepEqual(selectRule({ sets, rules: [] }, call("sip:1@x")), { ok: false, status: 404, reason: "No Route" });
  const lan = selectRule(table, call("sip:1@x", "192.168.1.1"));
  assert.ok(lan.ok && lan.rule.id === "lan");
});

test("property: the chosen rule is the lowest (priority, id) among enabled matching rules, whatever the input order", () => {
  const prefixes = ["", "1", "12", "2"];
  const arbRule = fc.record({
    id: fc.constantFrom("a", "b", "c", "d", "e", "f"),
    priority: fc.nat(5),
    prefix: fc.option(fc.constantFrom(...prefixes), { nil: undefined }),
    enabled: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.uniqueArray(arbRule, { selector: (r) => r.id, maxLength: 6 }), fc.constantFrom("1", "123", "2", "3"), (specs, user) => {
      const rules = specs.map((s) => ruleOf({ id: s.id, set: "default", priority: s.priority, enabled: s.enabled, match: s.prefix === undefined ? {} : { requestUserPrefix: s.prefix } }));
      const expected = specs
        .filter((s) => s.enabled && (s.prefix === undefined || user.startsWith(s.prefix)))
        .sort((x, y) => x.priority - y.priority || (x.id < y.id ? -1 : 1))[0];
      const result = selectRule({ sets, rules }, call(`sip:${user}@x`));
      return expected === undefined ? !result.ok : result.ok && result.rule.id === expected.id;
    }),
  );
});
