/**
 * The OpenAPI 3.1 description of the admin API, written by hand beside functions/admin.ts (the valibot schemas in
 * src/ stay the validating truth; functions/admin.test.ts checks every route here exists there and the reverse).
 * Served at GET /v1/openapi.json without a token.
 */
import { ALGORITHMS, HASH_KEYS } from "../src/routing/set.ts";
import { DESTINATION_STATES, PROBE_MODES } from "../src/destination/destination.ts";
import { HEADER_OPS } from "../src/routing/match.ts";
import { LOWEST_PRECEDENCE } from "../src/routing/rule.ts";

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ "application/json": { schema } });
const reply = (description: string, schema?: object) => (schema ? { description, content: json(schema) } : { description });
const body = (schema: object) => ({ required: true, content: json(schema) });
const errors = {
  "400": { $ref: "#/components/responses/BadRequest" },
  "401": { $ref: "#/components/responses/Unauthorized" },
  "404": { $ref: "#/components/responses/NotFound" },
  "409": { $ref: "#/components/responses/Conflict" },
};
const pick = (...codes: (keyof typeof errors)[]) => Object.fromEntries(codes.map((code) => [code, errors[code]]));
const pathParam = (name: string, description: string) => ({ name, in: "path", required: true, description, schema: { type: "string" } });

const name = { type: "string", pattern: "^[A-Za-z0-9._-]{1,64}$" };
const resourceName = { type: "string", pattern: "^[A-Za-z][A-Za-z0-9_-]{0,31}$" };
const count = (minimum: number) => ({ type: "integer", minimum, maximum: 1_000_000_000 });
const timestamps = { createdAt: { type: "integer", description: "epoch ms" }, updatedAt: { type: "integer", description: "epoch ms" } };

const setFields = {
  algorithm: { enum: [...ALGORITHMS], default: "round-robin" },
  hashKey: { enum: [...HASH_KEYS], default: "call-id", description: "what the hash algorithm hashes" },
  resources: { type: "array", items: resourceName, uniqueItems: true, maxItems: 16, default: ["calls"], description: "resources the set balances on" },
  relative: { type: "boolean", default: false, description: "least-loaded compares used/capacity instead of free units" },
};

const probe = {
  type: ["object", "null"],
  additionalProperties: false,
  required: ["mode"],
  properties: {
    mode: { enum: [...PROBE_MODES] },
    aliveCodes: { type: "array", items: { type: "integer", minimum: 100, maximum: 699 }, minItems: 1, maxItems: 32, default: [200] },
    intervalMs: { type: "integer", minimum: 1000, maximum: 3_600_000, default: 10_000 },
  },
};

const destinationFields = {
  uri: { type: "string", description: "sip: URI; ;transport=tcp selects TCP", examples: ["sip:10.0.0.5:5060"] },
  set: { ...name, description: 'omitted: "default" (created round robin when missing)' },
  weight: { type: "integer", minimum: 0, maximum: 1_000_000, default: 1 },
  priority: { type: "integer", minimum: -1_000_000, maximum: 1_000_000, default: 0, description: "lower first (priority algorithm)" },
  resources: { type: "object", propertyNames: resourceName, additionalProperties: count(0), maxProperties: 16, default: {}, description: "resource → capacity; a resource not listed is not limited" },
  maxCalls: { type: ["integer", "null"], minimum: 0, default: null },
  probe: { ...probe, default: null },
  attributes: { type: "object", additionalProperties: { type: ["string", "number", "boolean"] }, maxProperties: 64, default: {} },
  state: { enum: [...DESTINATION_STATES], default: "active", description: "draining: no new calls, calls in progress go on" },
};

const match = {
  type: "object",
  additionalProperties: false,
  description: "every field given must hold (AND); {} matches every request",
  properties: {
    requestUserPrefix: { type: "string", description: "Request-URI user part starts with (case-sensitive)" },
    requestDomain: { type: "string", description: "Request-URI host equals (case-insensitive)" },
    fromUserPrefix: { type: "string", description: "From URI user part starts with" },
    fromDomain: { type: "string", description: "From URI host equals" },
    source: { type: "string", description: "source address or CIDR network, IPv4 or IPv6", examples: ["10.0.0.0/8", "2001:db8::/32"] },
    header: {
      type: "object",
      additionalProperties: false,
      required: ["name", "value"],
      properties: {
        name: { type: "string", description: "header name, case-insensitive" },
        op: { enum: [...HEADER_OPS], default: "exact", description: "exact (case-sensitive), prefix, regex (JavaScript, unanchored)" },
        value: { type: "string", maxLength: 256 },
      },
    },
  },
};

const ruleFields = {
  match: { ...match, default: {} },
  set: name,
  priority: { type: "integer", minimum: 0, maximum: LOWEST_PRECEDENCE, default: 100, description: "lower first; ties by id" },
  resources: { type: "object", propertyNames: resourceName, additionalProperties: count(1), default: { calls: 1 }, description: "units of each resource one call takes" },
  replyNoMatch: { type: ["integer", "null"], minimum: 300, maximum: 699, default: null, description: "reply when the set has no destination able to take the call" },
  maxDurationS: { type: ["integer", "null"], minimum: 1, maximum: 604800, default: null, description: "hard maximum duration of the calls this rule routes (s): ended with a BYE to both sides" },
  enabled: { type: "boolean", default: true },
};

const object = (properties: object, required: string[] = []) => ({ type: "object", additionalProperties: false, required, properties });

export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "switchboard admin API",
    version: "1",
    description: "Sets, destinations, routing rules and dialogs of a switchboard SIP load balancer. Every /v1 route but this document needs the bearer token.",
  },
  security: [{ bearer: [] }],
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    schemas: {
      Error: { type: "object", required: ["error"], properties: { error: { type: "string" }, issues: { type: "array", items: { type: "string" }, description: '"field.path: message", one per bad field' } } },
      Set: { type: "object", required: ["name", ...Object.keys(setFields)], properties: { name, ...setFields, ...timestamps } },
      NewSet: object({ name, ...setFields }, ["name"]),
      SetPatch: object(setFields),
      Load: {
        type: "object",
        description: "per resource",
        additionalProperties: { type: "object", required: ["used", "capacity"], properties: { used: { type: "integer" }, capacity: { type: ["integer", "null"] } } },
        examples: [{ calls: { used: 3, capacity: 30 } }],
      },
      Destination: {
        type: "object",
        required: ["id", "uri", "set", "state", "weight", "priority", "resources", "load"],
        properties: { id: name, ...destinationFields, load: ref("Load"), ...timestamps },
      },
      NewDestination: object({ id: { ...name, description: "omitted: derived from the URI" }, ...destinationFields }, ["uri"]),
      DestinationPatch: object(destinationFields),
      StateChange: object({ state: destinationFields.state }, ["state"]),
      Match: match,
      Rule: { type: "object", required: ["id", ...Object.keys(ruleFields)], properties: { id: name, ...ruleFields, ...timestamps } },
      NewRule: object({ id: { ...name, description: "omitted: generated" }, ...ruleFields }, ["set"]),
      RulePatch: object(ruleFields),
      Dialog: {
        type: "object",
        properties: {
          id: { type: "string" },
          callId: { type: "string" },
          callerTag: { type: "string" },
          calleeTag: { type: "string" },
          destinationId: { type: "string" },
          destinationUri: { type: "string" },
          routeSet: { type: "array", items: { type: "string" } },
          gateway: { type: "string" },
          createdAt: { type: "integer" },
          updatedAt: { type: "integer" },
          expiresAt: { type: "integer" },
        },
      },
      Status: { type: "object", properties: { ready: { type: "boolean" }, draining: { type: "boolean" }, counters: { type: "object", additionalProperties: { type: "number" } } } },
    },
    responses: {
      BadRequest: reply("invalid body or query; issues lists every bad field", ref("Error")),
      Unauthorized: reply("missing or wrong bearer token", ref("Error")),
      NotFound: reply("no such object (or the set named in the body does not exist)", ref("Error")),
      Conflict: reply("id, URI or name taken; or the set is still used", ref("Error")),
    },
  },
  paths: {
    "/healthz": {
      get: { summary: "liveness", security: [], responses: { "200": reply("ok"), "503": reply("starting or draining") } },
    },
    "/v1/openapi.json": { get: { summary: "this document", security: [], responses: { "200": reply("OpenAPI 3.1") } } },
    "/v1/status": { get: { summary: "readiness and counters", responses: { "200": reply("status", ref("Status")), ...pick("401") } } },
    "/v1/sets": {
      get: { summary: "list sets", responses: { "200": reply("sets by name", { type: "array", items: ref("Set") }), ...pick("401") } },
      post: { summary: "create a set", requestBody: body(ref("NewSet")), responses: { "201": reply("created", ref("Set")), ...pick("400", "401", "409") } },
    },
    "/v1/sets/{name}": {
      parameters: [pathParam("name", "set name")],
      get: { summary: "one set", responses: { "200": reply("the set", ref("Set")), ...pick("401", "404") } },
      patch: { summary: "change a set", requestBody: body(ref("SetPatch")), responses: { "200": reply("updated", ref("Set")), ...pick("400", "401", "404") } },
      delete: { summary: "delete an unused set", responses: { "204": reply("deleted"), ...pick("401", "404", "409") } },
    },
    "/v1/destinations": {
      get: {
        summary: "list destinations with their load",
        parameters: [{ name: "set", in: "query", required: false, schema: name }],
        responses: { "200": reply("destinations in creation order", { type: "array", items: ref("Destination") }), ...pick("401") },
      },
      post: { summary: "create a destination", requestBody: body(ref("NewDestination")), responses: { "201": reply("created", ref("Destination")), ...pick("400", "401", "404", "409") } },
    },
    "/v1/destinations/{id}": {
      parameters: [pathParam("id", "destination id")],
      get: { summary: "one destination", responses: { "200": reply("the destination", ref("Destination")), ...pick("401", "404") } },
      patch: { summary: "change a destination", requestBody: body(ref("DestinationPatch")), responses: { "200": reply("updated", ref("Destination")), ...pick("400", "401", "404", "409") } },
      delete: { summary: "delete a destination (calls in progress go on)", responses: { "204": reply("deleted"), ...pick("401", "404") } },
    },
    "/v1/destinations/{id}/state": {
      parameters: [pathParam("id", "destination id")],
      post: { summary: "activate, disable or drain", requestBody: body(ref("StateChange")), responses: { "200": reply("updated", ref("Destination")), ...pick("400", "401", "404") } },
    },
    "/v1/rules": {
      get: { summary: "list rules in the order they are tried", responses: { "200": reply("rules", { type: "array", items: ref("Rule") }), ...pick("401") } },
      post: { summary: "create a rule", requestBody: body(ref("NewRule")), responses: { "201": reply("created", ref("Rule")), ...pick("400", "401", "404", "409") } },
    },
    "/v1/rules/{id}": {
      parameters: [pathParam("id", "rule id")],
      get: { summary: "one rule", responses: { "200": reply("the rule", ref("Rule")), ...pick("401", "404") } },
      patch: { summary: "change a rule", requestBody: body(ref("RulePatch")), responses: { "200": reply("updated", ref("Rule")), ...pick("400", "401", "404") } },
      delete: { summary: "delete a rule", responses: { "204": reply("deleted"), ...pick("401", "404") } },
    },
    "/v1/dialogs": {
      get: {
        summary: "confirmed dialogs",
        parameters: [
          { name: "destination", in: "query", required: false, schema: { type: "string" } },
          { name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 100_000, default: 1000 } },
        ],
        responses: { "200": reply("dialogs", { type: "array", items: ref("Dialog") }), ...pick("400", "401") },
      },
    },
    "/v1/dialogs/{id}": {
      parameters: [pathParam("id", "dialog id")],
      delete: { summary: "end a call: BYE to both sides", responses: { "202": reply("ending", { type: "object", properties: { id: { type: "string" }, status: { const: "ending" } } }), ...pick("401", "404") } },
    },
    "/functions/v1/route": {
      post: { summary: "the route function over HTTP (gateway only): a request event in, a decision out", responses: { "200": reply("decision"), ...pick("400", "401") } },
    },
  },
} as const;
