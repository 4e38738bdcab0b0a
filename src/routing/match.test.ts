import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as v from "valibot";
import { describeIssues } from "../events/route.ts";
import { MatchSchema, matches, routingRequest, type Match, type RoutingRequest } from "./match.ts";

const request: RoutingRequest = {
  requestUri: "sip:+442071234567@PSTN.example.com;user=phone",
  fromUri: "sip:alice@Example.org",
  sourceAddress: "10.1.2.3",
  headers: { "x-tenant": ["acme-eu"], "p-asserted-identity": ["<sip:+15551234@carrier.example>", "<tel:+15551234>"] },
};

const parse = (m: unknown): Match => v.parse(MatchSchema, m);

test("every field ANDed; the empty match takes everything", () => {
  assert.equal(matches(parse({}), request), true);
  assert.equal(matches(parse({ requestUserPrefix: "+44" }), request), true);
  assert.equal(matches(parse({ requestUserPrefix: "+44", source: "10.0.0.0/8" }), request), true);
  assert.equal(matches(parse({ requestUserPrefix: "+44", source: "192.168.0.0/16" }), request), false);
  assert.equal(matches(parse({ requestUserPrefix: "+33" }), request), false);
});

test("domains compare case-insensitively and exactly; user prefixes case-sensitively", () => {
  assert.equal(matches(parse({ requestDomain: "pstn.EXAMPLE.com" }), request), true);
  assert.equal(matches(parse({ requestDomain: "example.com" }), request), false, "no suffix matching");
  assert.equal(matches(parse({ fromDomain: "example.org", fromUserPrefix: "ali" }), request), true);
  assert.equal(matches(parse({ fromUserPrefix: "Ali" }), request), false);
  assert.equal(matches(parse({ requestDomain: "2001:db8::1" }), { ...request, requestUri: "sip:bob@[2001:DB8::1]:5060" }), true);
  assert.equal(matches(parse({ requestUserPrefix: "" }), { ...request, requestUri: "sip:pbx.example.com" }), false, "no user part, no user match");
  assert.equal(matches(parse({ requestUserPrefix: "+1555" }), { ...request, requestUri: "tel:+15551234" }), true, "a tel: URI's number is its user");
  assert.equal(matches(parse({ fromDomain: "example.org" }), { ...request, fromUri: "<sip:alice@example.org>" }), true);
  assert.equal(matches(parse({ requestDomain: "x" }), { ...request, requestUri: "garbage" }), false);
});

test("source: an address, an IPv4 or IPv6 network; dual-stack mapped sources count as IPv4", () => {
  assert.equal(matches(parse({ source: "10.1.2.3" }), request), true);
  assert.equal(matches(parse({ source: "10.1.2.4" }), request), false);
  assert.equal(matches(parse({ source: "2001:db8::/32" }), { ...request, sourceAddress: "2001:db8:5::9" }), true);
  assert.equal(matches(parse({ source: "10.0.0.0/8" }), { ...request, sourceAddress: "::ffff:10.9.8.7" }), true);
  assert.equal(matches(parse({ source: "10.0.0.0/8" }), { ...request, sourceAddress: "not-an-ip" }), false);
});

test("header: name case-insensitive, any value of the header; exact, prefix, regex; a missing header never matches", () => {
  assert.equal(matches(parse({ header: { name: "X-Tenant", value: "acme-eu" } }), request), true, "exact is the default");
  assert.equal(matches(parse({ header: { name: "X-Tenant", value: "acme" } }), request), false);
  assert.equal(matches(parse({ header: { name: "x-tenant", op: "prefix", value: "acme" } }), request), true);
  assert.equal(matches(parse({ header: { name: "P-Asserted-Identity", op: "regex", value: "^<tel:\\+1" } }), request), true, "second value");
  assert.equal(matches(parse({ header: { name: "P-Asserted-Identity", op: "regex", value: "^<tel:\\+44" } }), request), false);
  assert.equal(matches(parse({ header: { name: "X-Missing", op: "regex", value: ".*" } }), request), false);
  assert.equal(matches(parse({ header: { name: "X-Tenant", value: "acme-eu" } }), { ...request, headers: undefined }), false);
  assert.equal(matches(parse({ header: { name: "constructor", op: "regex", value: "" } }), request), false, "no prototype lookups");
});

test("the schema lists every bad field, rejects unknown keys and uncompilable regexes", () => {
  const result = v.safeParse(MatchSchema, { source: "10.0.0.0/40", requestDomain: "a b", header: { name: "X Bad", op: "regex", value: "(" }, requestUser: "+44" });
  assert.equal(result.success, false);
  const issues = describeIssues(result.issues ?? []);
  for (const field of ["source", "requestDomain", "header.name", "requestUser"]) assert.ok(issues.some((i) => i.startsWith(`${field}`)), `${field} in ${JSON.stringify(issues)}`);
  const regex = v.safeParse(MatchSchema, { header: { name: "X-A", op: "regex", value: "(" } });
  assert.deepEqual(describeIssues(regex.issues ?? []), ["header.value: must be a valid regular expression"]);
});

test("routingRequest takes the request event's fields", () => {
  const r = routingRequest({ requestUri: "sip:1@a", from: { uri: "sip:2@b" }, source: { transport: "udp", address: "192.0.2.1", port: 5060 } }, { "x-a": ["1"] });
  assert.deepEqual(r, { requestUri: "sip:1@a", fromUri: "sip:2@b", sourceAddress: "192.0.2.1", headers: { "x-a": ["1"] } });
});

test("property: a match with several fields holds exactly when each single-field match holds (AND)", () => {
  const fields = fc.record(
    {
      requestUserPrefix: fc.constantFrom("+44", "+4420", "+33", ""),
      requestDomain: fc.constantFrom("pstn.example.com", "other.example.com"),
      fromUserPrefix: fc.constantFrom("al", "bob"),
      fromDomain: fc.constantFrom("example.org", "example.net"),
      source: fc.constantFrom("10.0.0.0/8", "10.1.2.3", "192.168.0.0/16", "::/0"),
      header: fc.constantFrom({ name: "X-Tenant", op: "prefix" as const, value: "acme" }, { name: "X-Tenant", op: "exact" as const, value: "acme" }),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(fields, (m) => {
      const each = Object.entries(m).every(([key, value]) => matches(parse({ [key]: value }), request));
      return matches(parse(m), request) === each;
    }),
  );
});
