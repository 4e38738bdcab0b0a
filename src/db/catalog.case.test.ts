/**
 * The catalog contract: every adapter (memory, SQL on :memory:, SQL on a file) runs these same cases.
 * Exports `runCatalogCases`; has no tests of its own.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { NewDestinationSchema, type NewDestination } from "../destination/destination.ts";
import { NewRuleSchema, type NewRule } from "../routing/rule.ts";
import { NewSetSchema } from "../routing/set.ts";
import type { Catalog, CatalogResult, DestinationInput } from "./catalog.ts";

export interface CatalogCaseOptions {
  readonly name: string;
  /** A fresh, empty catalog per case. */
  open(): Promise<Catalog>;
}

export const set = (name: string, extra: Record<string, unknown> = {}) => v.parse(NewSetSchema, { name, ...extra });
export const destination = (input: NewDestination & { set: string }): DestinationInput => ({ ...v.parse(NewDestinationSchema, input), set: input.set });
export const rule = (input: v.InferInput<typeof NewRuleSchema>): NewRule => v.parse(NewRuleSchema, input);

function value<T>(result: CatalogResult<T>): T {
  if (!result.ok) assert.fail(`expected ok, got ${result.error.kind}: ${result.error.message}`);
  return result.value;
}

function failure<T>(result: CatalogResult<T>, kind: "not-found" | "conflict"): void {
  assert.equal(result.ok, false, "expected a failure");
  if (!result.ok) assert.equal(result.error.kind, kind, result.error.message);
}

export function runCatalogCases(options: CatalogCaseOptions): void {
  const caseTest = (title: string, body: (catalog: Catalog) => Promise<void>) =>
    test(`${options.name}: ${title}`, async () => {
      const catalog = await options.open();
      try {
        await body(catalog);
      } finally {
        await catalog.close();
      }
    });

  caseTest("sets: create, get, list by name, patch, conflict on duplicates", async (c) => {
    const pstn = value(await c.createSet(set("pstn", { algorithm: "least-loaded", resources: ["calls", "pstn"], relative: true })));
    assert.deepEqual({ ...pstn, createdAt: 0, updatedAt: 0 }, { name: "pstn", algorithm: "least-loaded", hashKey: "call-id", resources: ["calls", "pstn"], relative: true, createdAt: 0, updatedAt: 0 });
    value(await c.createSet(set("a-first")));
    failure(await c.createSet(set("pstn")), "conflict");
    assert.deepEqual((await c.listSets()).map((s) => s.name), ["a-first", "pstn"]);
    const patched = value(await c.updateSet("pstn", { algorithm: "hash", hashKey: "from-uri" }));
    assert.equal(patched.algorithm, "hash");
    assert.deepEqual(patched.resources, ["calls", "pstn"], "a patch keeps what it does not name");
    assert.deepEqual(await c.getSet("pstn"), patched);
    failure(await c.updateSet("nope", { relative: false }), "not-found");
    assert.equal(await c.getSet("nope"), undefined);
  });

  caseTest("destinations: 404 on an unknown set, 409 on a taken id or uri, ids derived from the URI", async (c) => {
    failure(await c.createDestination(destination({ uri: "sip:10.0.0.5", set: "pstn" })), "not-found");
    value(await c.createSet(set("pstn")));
    const first = value(await c.createDestination(destination({ uri: "sip:10.0.0.5:5070;transport=tcp", set: "pstn", weight: 3, resources: { calls: 30, pstn: 30 } })));
    assert.equal(first.id, "10.0.0.5-5070-tcp");
    assert.deepEqual(
      { ...first, createdAt: 0, updatedAt: 0 },
      { id: "10.0.0.5-5070-tcp", uri: "sip:10.0.0.5:5070;transport=tcp", set: "pstn", weight: 3, priority: 0, resources: { calls: 30, pstn: 30 }, maxCalls: null, probe: null, attributes: {}, state: "active", createdAt: 0, updatedAt: 0 },
    );
    failure(await c.createDestination(destination({ uri: "sip:10.0.0.5:5070;transport=tcp", set: "pstn" })), "conflict");
    failure(await c.createDestination(destination({ id: "10.0.0.5-5070-tcp", uri: "sip:10.0.0.9", set: "pstn" })), "conflict");
    const other = value(await c.createDestination(destination({ uri: "sip:10.0.0.5:5070;transport=TCP", set: "pstn" })));
    assert.equal(other.id, "10.0.0.5-5070-tcp-2", "a derived id that is taken gets a suffix");
    const named = value(await c.createDestination(destination({ id: "pbx3", uri: "sip:[2001:db8::7]:5062", set: "pstn", probe: { mode: "always" }, attributes: { site: "fra", tier: 1 } })));
    assert.deepEqual(named.probe, { mode: "always", aliveCodes: [200], intervalMs: 10_000 });
    assert.deepEqual(await c.getDestination("pbx3"), named);
    assert.deepEqual((await c.listDestinations()).map((d) => d.id), ["10.0.0.5-5070-tcp", "10.0.0.5-5070-tcp-2", "pbx3"], "creation order");
    assert.deepEqual((await c.listDestinations({ set: "other" })).length, 0);
  });

  caseTest("destinations: patch, state changes and delete", async (c) => {
    value(await c.createSet(set("a")));
    value(await c.createSet(set("b")));
    value(await c.createDestination(destination({ id: "x", uri: "sip:10.0.0.1", set: "a" })));
    value(await c.createDestination(destination({ id: "y", uri: "sip:10.0.0.2", set: "a" })));
    failure(await c.updateDestination("x", { uri: "sip:10.0.0.2" }), "conflict");
    failure(await c.updateDestination("x", { set: "zzz" }), "not-found");
    failure(await c.updateDestination("nope", { weight: 2 }), "not-found");
    const moved = value(await c.updateDestination("x", { set: "b", weight: 0, maxCalls: 10, resources: { calls: 5 } }));
    assert.deepEqual([moved.set, moved.weight, moved.maxCalls, moved.resources, moved.uri], ["b", 0, 10, { calls: 5 }, "sip:10.0.0.1"]);
    assert.equal(value(await c.updateDestination("x", { maxCalls: null })).maxCalls, null, "null clears");
    assert.equal(value(await c.setDestinationState("x", "draining")).state, "draining");
    assert.equal((await c.getDestination("x"))?.state, "draining");
    failure(await c.setDestinationState("nope", "disabled"), "not-found");
    assert.equal(value(await c.deleteDestination("x")).id, "x");
    failure(await c.deleteDestination("x"), "not-found");
    assert.deepEqual((await c.listDestinations()).map((d) => d.id), ["y"]);
  });

  caseTest("rules: create (404 unknown set, 409 taken id), ordered by priority then id, patch, delete", async (c) => {
    failure(await c.createRule(rule({ set: "pstn" })), "not-found");
    value(await c.createSet(set("pstn")));
    value(await c.createSet(set("local")));
    const any = value(await c.createRule(rule({ id: "catch-all", set: "pstn", priority: 1000 })));
    assert.deepEqual({ ...any, createdAt: 0, updatedAt: 0 }, { id: "catch-all", priority: 1000, match: {}, set: "pstn", resources: { calls: 1 }, replyNoMatch: null, maxDurationS: null, enabled: true, createdAt: 0, updatedAt: 0 });
    const uk = value(await c.createRule(rule({ set: "pstn", priority: 10, match: { requestUserPrefix: "+44", source: "10.0.0.0/8" }, resources: { calls: 1, pstn: 1 }, replyNoMatch: 486 })));
    assert.match(uk.id, /^r-[0-9a-f]{8}$/);
    value(await c.createRule(rule({ id: "b", set: "local", priority: 10 })));
    failure(await c.createRule(rule({ id: "b", set: "local" })), "conflict");
    assert.deepEqual((await c.listRules()).map((r) => r.id), ["b", uk.id, "catch-all"], "priority 10 twice: by id (b < r-...), then 1000");
    assert.deepEqual(await c.getRule(uk.id), uk);
    const patched = value(await c.updateRule(uk.id, { enabled: false, match: { fromDomain: "example.com" }, maxDurationS: 3600 }));
    assert.deepEqual([patched.enabled, patched.match, patched.resources, patched.replyNoMatch, patched.maxDurationS], [false, { fromDomain: "example.com" }, { calls: 1, pstn: 1 }, 486, 3600]);
    failure(await c.updateRule(uk.id, { set: "zzz" }), "not-found");
    failure(await c.updateRule("nope", { priority: 1 }), "not-found");
    value(await c.deleteRule("b"));
    failure(await c.deleteRule("b"), "not-found");
  });

  caseTest("a set still used by a destination or rule cannot be deleted (conflict)", async (c) => {
    value(await c.createSet(set("s")));
    value(await c.createDestination(destination({ id: "d", uri: "sip:10.0.0.1", set: "s" })));
    value(await c.createRule(rule({ id: "r", set: "s" })));
    failure(await c.deleteSet("s"), "conflict");
    value(await c.deleteDestination("d"));
    failure(await c.deleteSet("s"), "conflict");
    value(await c.deleteRule("r"));
    assert.equal(value(await c.deleteSet("s")).name, "s");
    failure(await c.deleteSet("s"), "not-found");
  });

  caseTest("the snapshot follows every change: version, sets, destinations by set with targets, sorted rules", async (c) => {
    const before = c.snapshot();
    value(await c.createSet(set("s")));
    value(await c.createSet(set("empty")));
    value(await c.createDestination(destination({ id: "d2", uri: "sip:10.0.0.2:5080;transport=tcp", set: "s" })));
    value(await c.createDestination(destination({ id: "d1", uri: "sip:10.0.0.1", set: "s", state: "disabled" })));
    value(await c.createRule(rule({ id: "z", set: "s", priority: 1 })));
    value(await c.createRule(rule({ id: "a", set: "s", priority: 2 })));
    const snap = c.snapshot();
    assert.ok(snap.version > before.version && c.version === snap.version);
    assert.equal(before.destinations.length, 0, "an old snapshot never changes");
    assert.deepEqual([...snap.sets.keys()].sort(), ["empty", "s"]);
    assert.deepEqual(snap.bySet.get("s")?.map((d) => [d.id, d.state]), [["d2", "active"], ["d1", "disabled"]]);
    assert.deepEqual(snap.bySet.get("empty"), []);
    assert.deepEqual(snap.destinations[0]?.target, { transport: "tcp", host: "10.0.0.2", port: 5080 });
    assert.deepEqual(snap.rules.map((r) => r.id), ["z", "a"]);
    assert.ok(Object.isFrozen(snap.destinations) && Object.isFrozen(snap.destinations[0]));
    value(await c.setDestinationState("d1", "active"));
    assert.equal(c.snapshot().bySet.get("s")?.[1]?.state, "active");
    const reloaded = await c.reload();
    assert.ok(reloaded.version > snap.version);
    assert.deepEqual(reloaded.bySet.get("s")?.map((d) => d.id), ["d2", "d1"]);
  });
}
