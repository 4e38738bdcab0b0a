/**
 * Gateway configuration: one valibot schema, fed from a JSON file and environment variables (env wins), validated
 * once at start-up. The core never reads process.env; the entry point passes the env object in.
 *
 * A bad configuration fails with one error that lists every bad field, so an operator fixes them all in one go.
 */
import * as v from "valibot";
import { DEFAULT_TIMER_SETTINGS } from "./transaction/timers.ts";

export type SipTransportName = "udp" | "tcp";

export interface ListenSpec {
  readonly transport: SipTransportName;
  readonly host: string;
  readonly port: number;
}

const HOST = /^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:]+:[0-9a-fA-F:.]*|[A-Za-z0-9.-]+)$/;

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 0 && port <= 65535 ? port : undefined;
}

/** "udp:HOST:PORT" (IPv6 hosts in brackets). */
export function parseListenSpec(text: string): ListenSpec | undefined {
  const match = /^(udp|tcp):(.+):(\d+)$/i.exec(text.trim());
  if (!match) return undefined;
  const host = match[2]!.replace(/^\[(.*)\]$/, "$1");
  const port = parsePort(match[3]!);
  if (port === undefined || !HOST.test(match[2]!)) return undefined;
  return { transport: match[1]!.toLowerCase() as SipTransportName, host, port };
}

/** "HOST:PORT" */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const match = /^(.+):(\d+)$/.exec(text.trim());
  if (!match || !HOST.test(match[1]!)) return undefined;
  const port = parsePort(match[2]!);
  return port === undefined ? undefined : { host: match[1]!.replace(/^\[(.*)\]$/, "$1"), port };
}

function splitList(text: string): string[] {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

const listenList = v.pipe(
  v.string(),
  v.transform(splitList),
  v.minLength(1, "at least one listen address is needed"),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const specs: ListenSpec[] = [];
    for (const item of dataset.value) {
      const spec = parseListenSpec(item);
      if (spec) specs.push(spec);
      else addIssue({ message: `"${item}" is not udp:HOST:PORT or tcp:HOST:PORT` });
    }
    return specs.length === dataset.value.length ? specs : NEVER;
  }),
);

const hostPort = v.pipe(
  v.string(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const parsed = parseHostPort(dataset.value);
    if (!parsed) {
      addIssue({ message: `"${dataset.value}" is not HOST:PORT` });
      return NEVER;
    }
    return parsed;
  }),
);

const destinationList = v.pipe(
  v.string(),
  v.transform(splitList),
  v.check(
    (uris) => uris.every((uri) => /^sips?:[^\s,]+$/i.test(uri)),
    (issue) => `every destination must be a sip: URI, got ${JSON.stringify(issue.input)}`,
  ),
);

const integerFrom = (min: number, max: number) =>
  v.pipe(
    v.union([v.number(), v.pipe(v.string(), v.regex(/^\d+$/, "must be a whole number"), v.transform(Number))]),
    v.integer("must be a whole number"),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );

const optionalString = (min: number, what: string) =>
  v.optional(v.pipe(v.string(), v.minLength(min, `${what} must be at least ${min} characters`)));

/** The configuration before defaults are applied: every field optional, in file (camelCase) form. */
const ConfigInput = v.object({
  sipListen: v.optional(listenList, "udp:0.0.0.0:5060,tcp:0.0.0.0:5060"),
  httpListen: v.optional(hostPort, "127.0.0.1:8080"),
  adminToken: optionalString(16, "the admin token"),
  destinations: v.optional(destinationList, ""),
  secret: optionalString(16, "the secret"),
  advertise: v.optional(v.pipe(v.string(), v.regex(HOST, "must be a host name or IP address"))),
  dataDir: v.optional(v.string(), ".switchboard"),
  /** The SQL catalog (sets, destinations, rules); default `file:<dataDir>/switchboard.db`. */
  databaseUrl: v.optional(
    v.pipe(v.string(), v.regex(/^(file:.+|:memory:|libsql:\/\/.+|https?:\/\/.+|wss?:\/\/.+)$/, "must be file:PATH, :memory: or a libsql:// (http(s)://, ws(s)://) URL")),
  ),
  branchTimeoutMs: v.optional(integerFrom(100, 180_000), 4000),
  timerCMs: v.optional(integerFrom(1000, 86_400_000), 180_000),
  t1Ms: v.optional(integerFrom(50, 10_000), DEFAULT_TIMER_SETTINGS.t1),
  t2Ms: v.optional(integerFrom(100, 60_000), DEFAULT_TIMER_SETTINGS.t2),
  t4Ms: v.optional(integerFrom(100, 60_000), DEFAULT_TIMER_SETTINGS.t4),
  maxMessageSize: v.optional(integerFrom(1024, 1_048_576), 65_535),
  shutdownGraceMs: v.optional(integerFrom(0, 600_000), 5000),
  dialogTtlS: v.optional(integerFrom(60, 7 * 86_400), 7200),
  routeUrl: v.optional(v.pipe(v.string(), v.url("must be an http(s) URL"), v.regex(/^https?:/i, "must be an http(s) URL"))),
  routeToken: optionalString(16, "the route function token"),
  routeDeadlineMs: v.optional(integerFrom(5, 5000), 50),
  failoverCodes: v.optional(
    v.pipe(
      v.union([v.array(v.number()), v.pipe(v.string(), v.transform(splitList), v.transform((items) => items.map(Number)))]),
      v.check((codes) => codes.every((c) => Number.isInteger(c) && c >= 300 && c <= 699), "must be SIP codes 300-699, comma-separated"),
    ),
    "408,500,502,503,504",
  ),
  failoverMaxAttempts: v.optional(integerFrom(1, 16), 5),
  failoverBudgetMs: v.optional(integerFrom(100, 600_000), 30_000),
  /** Reply to requests no routing rule matches (kamailio/OpenSIPS scripts usually send 404 or 403). */
  noRouteStatus: v.optional(integerFrom(300, 699), 404),
  /** In-dialog OPTIONS to both sides of every call this often (ms); 0 = off (kamailio dialog keepalive). */
  dialogPingMs: v.optional(integerFrom(0, 3_600_000), 0),
  /** Hard maximum call duration (s); 0 = none. */
  maxCallDurationS: v.optional(integerFrom(0, 7 * 86_400), 0),
  /** From of our OPTIONS probes (kamailio ds_ping_from); default sip:switchboard@<advertised host>. */
  probeFrom: v.optional(v.pipe(v.string(), v.regex(/^(<sips?:[^<>\s]+>|sips?:[^<>\s;]+)$/, "must be a SIP URI, e.g. <sip:probe@example.com>"))),
  probeMaxForwards: v.optional(integerFrom(1, 255), 70),
  /** Receivers of destination state changes (comma-separated http(s) URLs), signed with webhookSecret. */
  webhookUrls: v.optional(
    v.pipe(
      v.string(),
      v.transform(splitList),
      v.check((urls) => urls.every((u) => /^https?:\/\/\S+$/i.test(u)), "must be comma-separated http(s) URLs"),
    ),
    "",
  ),
  webhookSecret: optionalString(16, "the webhook secret"),
  redisUrl: v.optional(v.pipe(v.string(), v.regex(/^rediss?:\/\/\S+$/i, "must be redis://HOST:PORT"))),
  tickIntervalMs: v.optional(integerFrom(100, 600_000), 5000),
  /**
   * Synthetic calls a starting gateway (and each worker thread) drives through a private core so V8 optimises the
   * proxy's code before real traffic needs it (gateway/warmup.ts); 0 = none.
   */
  warmupCalls: v.optional(integerFrom(0, 100_000), 2000),
  /**
   * Gateway workers (threads) sharing the SIP port, each owning the transactions of its share of Call-IDs
   * (gateway/shard-pool.ts): "auto" is one per core; 1 runs everything on the main thread.
   */
  workers: v.optional(
    v.union([
      v.pipe(v.literal("auto"), v.transform(() => 0)),
      integerFrom(1, 32),
    ], "must be auto or a whole number from 1 to 32"),
    1,
  ),
  logLevel: v.optional(v.picklist(["debug", "info", "warn", "error"], "must be debug, info, warn or error"), "info"),
});

export type Config = Omit<v.InferOutput<typeof ConfigInput>, "databaseUrl"> & { readonly databaseUrl: string };

/** Environment variable → config field. Documented in the README; scripts rely on these names. */
export const ENV_FIELDS: Readonly<Record<string, keyof Config>> = {
  SWITCHBOARD_SIP_LISTEN: "sipListen",
  SWITCHBOARD_HTTP_LISTEN: "httpListen",
  SWITCHBOARD_ADMIN_TOKEN: "adminToken",
  SWITCHBOARD_DESTINATIONS: "destinations",
  SWITCHBOARD_SECRET: "secret",
  SWITCHBOARD_SIP_ADVERTISE: "advertise",
  SWITCHBOARD_DATA_DIR: "dataDir",
  SWITCHBOARD_DATABASE_URL: "databaseUrl",
  SWITCHBOARD_BRANCH_TIMEOUT: "branchTimeoutMs",
  SWITCHBOARD_TIMER_C: "timerCMs",
  SWITCHBOARD_T1: "t1Ms",
  SWITCHBOARD_T2: "t2Ms",
  SWITCHBOARD_T4: "t4Ms",
  SWITCHBOARD_MAX_MESSAGE_SIZE: "maxMessageSize",
  SWITCHBOARD_SHUTDOWN_GRACE: "shutdownGraceMs",
  SWITCHBOARD_DIALOG_TTL: "dialogTtlS",
  SWITCHBOARD_ROUTE_URL: "routeUrl",
  SWITCHBOARD_ROUTE_TOKEN: "routeToken",
  SWITCHBOARD_ROUTE_DEADLINE: "routeDeadlineMs",
  SWITCHBOARD_NO_ROUTE_STATUS: "noRouteStatus",
  SWITCHBOARD_FAILOVER_CODES: "failoverCodes",
  SWITCHBOARD_FAILOVER_MAX_ATTEMPTS: "failoverMaxAttempts",
  SWITCHBOARD_FAILOVER_BUDGET: "failoverBudgetMs",
  SWITCHBOARD_REDIS_URL: "redisUrl",
  SWITCHBOARD_PROBE_FROM: "probeFrom",
  SWITCHBOARD_DIALOG_PING: "dialogPingMs",
  SWITCHBOARD_MAX_CALL_DURATION: "maxCallDurationS",
  SWITCHBOARD_PROBE_MAX_FORWARDS: "probeMaxForwards",
  SWITCHBOARD_WEBHOOK_URLS: "webhookUrls",
  SWITCHBOARD_WEBHOOK_SECRET: "webhookSecret",
  SWITCHBOARD_TICK_INTERVAL: "tickIntervalMs",
  SWITCHBOARD_WARMUP_CALLS: "warmupCalls",
  SWITCHBOARD_LOG_LEVEL: "logLevel",
  SWITCHBOARD_WORKERS: "workers",
};

const FIELD_TO_ENV = new Map(Object.entries(ENV_FIELDS).map(([env, field]) => [field as string, env]));

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; error: ConfigError };

/**
 * Merge a config file object (camelCase keys) with environment variables (SWITCHBOARD_*) and validate.
 * Unknown keys in the file are reported too: a typo must not silently fall back to a default.
 */
export function parseConfig(env: Readonly<Record<string, string | undefined>>, file: unknown = {}): ConfigResult {
  const problems: string[] = [];
  const merged: Record<string, unknown> = {};
  if (file !== null && typeof file === "object" && !Array.isArray(file)) {
    for (const [key, value] of Object.entries(file)) {
      if (FIELD_TO_ENV.has(key)) merged[key] = value;
      else problems.push(`${key}: unknown setting in the config file`);
    }
  } else {
    problems.push("config file: must be a JSON object");
  }
  for (const [name, field] of Object.entries(ENV_FIELDS)) {
    const value = env[name];
    if (value !== undefined && value !== "") merged[field] = value;
  }
  const result = v.safeParse(ConfigInput, merged);
  if (!result.success) {
    for (const issue of result.issues) {
      const key = issue.path?.map((item) => String(item.key)).join(".") ?? "config";
      const env = FIELD_TO_ENV.get(key.split(".")[0] ?? "");
      problems.push(`${env ? `${env} (${key})` : key}: ${issue.message}`);
    }
  }
  if (result.success && result.output.webhookUrls.length > 0 && !result.output.webhookSecret) {
    problems.push("SWITCHBOARD_WEBHOOK_SECRET (webhookSecret): required when webhook URLs are set (webhooks are signed)");
  }
  if (result.success && result.output.t2Ms < result.output.t1Ms) {
    problems.push("SWITCHBOARD_T2 (t2Ms): must not be below T1");
  }
  if (problems.length > 0 || !result.success) return { ok: false, error: new ConfigError(problems) };
  const { databaseUrl, ...rest } = result.output;
  return { ok: true, config: { ...rest, databaseUrl: databaseUrl ?? `file:${rest.dataDir.replace(/\/+$/, "")}/switchboard.db` } };
}
