/**
 * The balancing engine from the outside: gateways sharing one Redis (dialogs, load) and one SQL catalog file, the
 * admin calls that build a catalog (sets, destinations, rules), reading load and dialogs back, and the destination-
 * and caller-side counts the engine tests assert on.
 *
 *   SWITCHBOARD_REDIS_URL      redis://127.0.0.1:PORT   dialogs and destination load, shared by the gateways
 *   SWITCHBOARD_DATABASE_URL   file:/path/db.sqlite     the SQL catalog, shared by the gateways
 *   SWITCHBOARD_TICK_INTERVAL  ms                       timers: load reconciliation and catalog reload
 *   SWITCHBOARD_DIALOG_TTL     s (min 60)               reservation / dialog lifetime without traffic
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Gateway, startGateway } from "./gateway.ts";
import { freePorts } from "./ports.ts";
import type { RedisServer } from "./redis-server.ts";
import { select, type TracedMessage } from "./sipp-log.ts";

export interface EngineGatewayOptions {
  /** Name for logs and the gateway's own data dir ("gw-a"). */
  readonly name: string;
  readonly dir: string;
  readonly redis: RedisServer;
  /** file:PATH of the shared catalog. */
  readonly databaseUrl: string;
  /** SWITCHBOARD_TICK_INTERVAL (ms). Default 500. */
  readonly tickMs?: number;
  /** SWITCHBOARD_DIALOG_TTL (s). Default: the gateway's. */
  readonly dialogTtlS?: number;
  readonly env?: Readonly<Record<string, string>>;
}

/** A gateway on fresh ports with the engine's environment; no SWITCHBOARD_DESTINATIONS (the catalog says). */
export async function startEngineGateway(o: EngineGatewayOptions): Promise<Gateway> {
  const [sipPort, httpPort] = (await freePorts(2)) as [number, number];
  return startGateway({
    name: o.name,
    sipPort,
    httpPort,
    transports: ["udp"],
    destinations: [],
    dir: o.dir,
    env: {
      SWITCHBOARD_REDIS_URL: o.redis.url,
      SWITCHBOARD_DATABASE_URL: o.databaseUrl,
      SWITCHBOARD_TICK_INTERVAL: String(o.tickMs ?? 500),
      SWITCHBOARD_DATA_DIR: join(o.dir, `${o.name}-data`),
      ...(o.dialogTtlS === undefined ? {} : { SWITCHBOARD_DIALOG_TTL: String(o.dialogTtlS) }),
      ...(o.env ?? {}),
    },
  });
}

export function catalogUrl(dir: string): string {
  return `file:${join(dir, "catalog.sqlite")}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Admin API

async function expectStatus(
  what: string,
  call: Promise<{ status: number; body: unknown }>,
  ok: readonly number[],
): Promise<Record<string, unknown>> {
  const r = await call;
  assert.ok(ok.includes(r.status), `${what}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  assert.ok(typeof r.body === "object" && r.body !== null, `${what}: not a JSON object: ${JSON.stringify(r.body)}`);
  return r.body as Record<string, unknown>;
}

export function createSet(gw: Gateway, set: Record<string, unknown>): Promise<Record<string, unknown>> {
  return expectStatus(`POST /v1/sets ${JSON.stringify(set)}`, gw.adminPost("/v1/sets", set), [201]);
}

/** POST /v1/destinations; returns the new id. */
export async function createDestination(gw: Gateway, d: Record<string, unknown>): Promise<string> {
  const body = await expectStatus(`POST /v1/destinations ${JSON.stringify(d)}`, gw.adminPost("/v1/destinations", d), [201]);
  assert.equal(typeof body.id, "string", `POST /v1/destinations: no id in ${JSON.stringify(body)}`);
  return body.id as string;
}

export function createRule(gw: Gateway, rule: Record<string, unknown>): Promise<Record<string, unknown>> {
  return expectStatus(`POST /v1/rules ${JSON.stringify(rule)}`, gw.adminPost("/v1/rules", rule), [201]);
}

export function setDestinationState(gw: Gateway, id: string, state: "active" | "draining" | "disabled"): Promise<Record<string, unknown>> {
  return expectStatus(`POST /v1/destinations/${id}/state ${state}`, gw.adminPost(`/v1/destinations/${id}/state`, { state }), [200]);
}

export interface LoadEntry {
  readonly used: number;
  readonly capacity: number | null;
}

/** A row of GET /v1/destinations (the fields the engine tests read). */
export interface DestinationRow {
  readonly id: string;
  readonly uri: string;
  readonly set: string;
  readonly state: string;
  readonly load: Readonly<Record<string, LoadEntry>>;
}

export async function destinationRows(gw: Gateway): Promise<DestinationRow[]> {
  const rows = await gw.destinations();
  for (const r of rows) {
    const row = r as Partial<DestinationRow>;
    if (typeof row.id !== "string" || typeof row.uri !== "string" || typeof row.load !== "object" || row.load === null) {
      throw new Error(`GET /v1/destinations: a row without id, uri or load: ${JSON.stringify(r)}`);
    }
  }
  return rows as DestinationRow[];
}

/** Units of `resource` in use on the row (0 when the resource is absent from its load). */
export function used(row: DestinationRow | undefined, resource = "calls"): number {
  return row?.load[resource]?.used ?? 0;
}

/** Used calls by destination id. */
export async function loadById(gw: Gateway, resource = "calls"): Promise<Map<string, number>> {
  return new Map((await destinationRows(gw)).map((r) => [r.id, used(r, resource)]));
}

/** GET /v1/dialogs?destination=ID */
export async function dialogsOf(gw: Gateway, destinationId: string): Promise<{ id: string; callId: string; destinationId?: string }[]> {
  const r = await gw.adminGet(`/v1/dialogs?destination=${encodeURIComponent(destinationId)}`);
  if (r.status !== 200 || !Array.isArray(r.body)) {
    throw new Error(`GET /v1/dialogs?destination=${destinationId}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  }
  return r.body as { id: string; callId: string; destinationId?: string }[];
}

/**
 * Samples GET /v1/destinations every `intervalMs` until stopped: the test asserts that no sample ever showed a
 * negative count or more than the capacity. A failed poll (gateway busy, killed) is recorded, not thrown.
 */
export class LoadWatcher {
  readonly samples: { at: number; rows: DestinationRow[] }[] = [];
  readonly errors: string[] = [];
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private gw: Gateway,
    intervalMs = 100,
  ) {
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          this.samples.push({ at: Date.now(), rows: await destinationRows(this.gw) });
        } catch (e) {
          this.errors.push(String(e));
        }
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    })();
  }

  /** Poll another gateway from now on (the watched one is about to be killed). */
  switchTo(gw: Gateway): void {
    this.gw = gw;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /** Samples where some destination had a negative count or more than its capacity, described. */
  violations(resource = "calls"): string[] {
    const out: string[] = [];
    for (const s of this.samples) {
      for (const r of s.rows) {
        const l = r.load[resource];
        if (!l) continue;
        if (l.used < 0) out.push(`${new Date(s.at).toISOString()} ${r.id} ${r.uri}: used ${l.used} < 0`);
        if (l.capacity !== null && l.used > l.capacity) out.push(`${new Date(s.at).toISOString()} ${r.id} ${r.uri}: used ${l.used} > capacity ${l.capacity}`);
      }
    }
    return out;
  }

  /** Lowest count seen per destination id. */
  minimum(resource = "calls"): Map<string, number> {
    const m = new Map<string, number>();
    for (const s of this.samples) for (const r of s.rows) m.set(r.id, Math.min(m.get(r.id) ?? Infinity, used(r, resource)));
    return m;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Destination-side and caller-side counts

/**
 * Calls a UAS holds, from its own message trace, in trace order: a call starts when the UAS sends the 200 for its
 * INVITE (first one per Call-ID), ends when it receives the BYE (first one). `current` is what it holds at the end
 * of the trace, `max` the most it ever held at once.
 */
export function uasCalls(messages: readonly TracedMessage[]): {
  answered: Set<string>;
  ended: Set<string>;
  current: Set<string>;
  max: number;
} {
  const answered = new Set<string>();
  const ended = new Set<string>();
  const current = new Set<string>();
  let max = 0;
  for (const m of messages) {
    if (m.direction === "sent" && m.kind === "response" && m.status === 200 && m.cseqMethod === "INVITE" && !answered.has(m.callId)) {
      answered.add(m.callId);
      current.add(m.callId);
      max = Math.max(max, current.size);
    } else if (m.direction === "received" && m.method === "BYE" && answered.has(m.callId) && !ended.has(m.callId)) {
      ended.add(m.callId);
      current.delete(m.callId);
    }
  }
  return { answered, ended, current, max };
}

/** The first final response the caller got for each INVITE it sent (Call-ID → message). */
export function inviteOutcomes(messages: readonly TracedMessage[]): Map<string, TracedMessage> {
  const out = new Map<string, TracedMessage>();
  for (const m of messages) {
    if (m.direction === "received" && m.kind === "response" && m.cseqMethod === "INVITE" && (m.status ?? 0) >= 200 && !out.has(m.callId)) {
      out.set(m.callId, m);
    }
  }
  return out;
}

/** Call-IDs whose BYE got a 200 at the caller. */
export function byeAnswered(messages: readonly TracedMessage[]): Set<string> {
  return new Set(select(messages, { direction: "received", status: 200, cseqMethod: "BYE" }).map((m) => m.callId));
}

/** Port of a `sip:127.0.0.1:P...` destination URI. */
export function uriPort(uri: string): number {
  const m = /^sips?:(?:[^@]*@)?[^:;>]+:(\d+)/.exec(uri);
  if (!m) throw new Error(`no port in ${uri}`);
  return Number(m[1]);
}

/** Counts of a Map<string, T> by a key function, as a readable object. */
export function tally<T>(items: Iterable<T>, key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of items) out[key(t)] = (out[key(t)] ?? 0) + 1;
  return out;
}
