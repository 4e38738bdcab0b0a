/**
 * The Redis data model as one DialogStore, over any link that can run a script, a command and a pipeline: the Redis
 * adapter (TCP, ioredis) and the Upstash adapter (REST) are each a `RedisLink` and a constructor around this class.
 * Key layout and scripts: src/dialog/lua/scripts.ts. Runs on Node, Deno and Workers (Web Crypto only, no node:*).
 */
import {
  checkedCapacity,
  checkedTtl,
  checkedUnits,
  StoreError,
  type Dialog,
  type DialogFilter,
  type DialogStore,
  type Load,
  type ReconcileResult,
  type Reservation,
  type ReserveResult,
} from "./dialog.ts";
import { SCRIPTS, type ScriptName } from "./lua/scripts.ts";
import {
  HEALTH_FIELD_ORDER,
  HEALTH_FIELDS,
  HEALTH_RECORD_TTL_MS,
  checkedDestinationId,
  checkedNow,
  checkedPolicy,
  decodeHealth,
  type HealthStore,
  type RecordResult,
} from "./health.ts";
import { classify, HEALTH_STATES, type Evidence, type HealthPolicy, type HealthRecord, type HealthState } from "../health/state.ts";

/** A reply as both clients hand it over: strings, integers, null and arrays of those. */
export type Reply = string | number | null | Reply[];

/** One entry of a pipeline's replies: an error message, or a result. */
export type PipelineReply = { readonly error: string } | { readonly error?: undefined; readonly result: Reply };

/** The few things the store needs from a Redis client. Errors thrown are the client's own; the store wraps them. */
export interface RedisLink {
  /** Run one command (`["HMGET", key, ...]`). Rejects with the server's error message on a Redis error. */
  command(args: readonly string[]): Promise<Reply>;
  /** Run commands in one round trip (not atomically); one entry per command, errors kept per entry. */
  pipeline(commands: ReadonlyArray<readonly string[]>): Promise<PipelineReply[]>;
  /** Release the connection(s). */
  close(): Promise<void>;
}

export interface KeyspaceOptions {
  /** Prefix of every key (default `sb`). Lets several deployments, or tests, share one Redis. */
  readonly keyPrefix?: string;
}

/** Keys of one destination's capacity: reservations, their expiries, the load counters (hash tag `{dest:ID}`). */
export function capacityKeys(keyPrefix: string, destinationId: string): [res: string, exp: string, load: string] {
  const base = `${keyPrefix}:{dest:${destinationId}}`;
  return [`${base}:res`, `${base}:exp`, `${base}:load`];
}

/** Keys of one destination's health record and probe lease (hash tag `{dest:ID}`, like its capacity keys). */
export function healthKeys(keyPrefix: string, destinationId: string): [health: string, lease: string] {
  const base = `${keyPrefix}:{dest:${destinationId}}`;
  return [`${base}:health`, `${base}:lease`];
}

/** Key of one dialog record (hash tag `{dialogs}`, shared with the index). */
export function dialogKey(keyPrefix: string, id: string): string {
  return `${keyPrefix}:{dialogs}:d:${id}`;
}

/** The live-dialog index (sorted set id → expiresAt). */
export function dialogIndexKey(keyPrefix: string): string {
  return `${keyPrefix}:{dialogs}:index`;
}

interface Script {
  readonly source: string;
  readonly sha: Promise<string>;
}

async function sha1Hex(text: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const scripts = new Map<ScriptName, Script>();

function script(name: ScriptName): Script {
  let s = scripts.get(name);
  if (!s) {
    const source = SCRIPTS[name];
    s = { source, sha: sha1Hex(source) };
    scripts.set(name, s);
  }
  return s;
}

function isNoScript(message: string): boolean {
  return message.includes("NOSCRIPT");
}

function messageOf(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  // Upstash's client appends the whole command (a Lua script with EVAL) to its messages: keep them readable.
  return m.length > 300 ? `${m.slice(0, 300)}…` : m;
}

function asArray(op: string, reply: Reply): Reply[] {
  if (!Array.isArray(reply)) throw new StoreError(op, `unexpected reply ${JSON.stringify(reply)}`);
  return reply;
}

function asInt(op: string, reply: Reply | undefined): number {
  const n = typeof reply === "number" ? reply : typeof reply === "string" ? Number(reply) : NaN;
  if (!Number.isFinite(n)) throw new StoreError(op, `unexpected reply ${JSON.stringify(reply)}`);
  return n;
}

function asString(reply: Reply | undefined): string | undefined {
  if (typeof reply === "string") return reply;
  if (typeof reply === "number") return String(reply);
  return undefined;
}

/** A flat `field, value, ...` reply as a Load; negative or malformed counters read as absent (never below 0). */
function toLoad(op: string, flat: readonly Reply[], from = 0): Load {
  const load: Load = {};
  for (let i = from; i + 1 < flat.length; i += 2) {
    const resource = asString(flat[i]);
    const n = asInt(op, flat[i + 1] ?? null);
    if (resource !== undefined && n > 0) load[resource] = n;
  }
  return load;
}

export class ScriptedDialogStore implements DialogStore, HealthStore {
  readonly #link: RedisLink;
  readonly #prefix: string;
  readonly #layer: string;
  #closed = false;

  /** `layer` names the adapter in error messages ("redis", "upstash"). */
  constructor(link: RedisLink, layer: string, options: KeyspaceOptions = {}) {
    this.#link = link;
    this.#layer = layer;
    this.#prefix = options.keyPrefix ?? "sb";
  }

  // ---- keys ----------------------------------------------------------------------------------------------------

  #destKeys(destinationId: string): [string, string, string] {
    return capacityKeys(this.#prefix, destinationId);
  }

  #dialogKey(id: string): string {
    return dialogKey(this.#prefix, id);
  }

  #indexKey(): string {
    return dialogIndexKey(this.#prefix);
  }

  // ---- plumbing ------------------------------------------------------------------------------------------------

  #fail(op: string, e: unknown): StoreError {
    if (e instanceof StoreError) return e;
    return new StoreError(op, `${this.#layer}: ${messageOf(e)}`, { cause: e });
  }

  /** EVALSHA, then EVAL when the server does not know the script yet (restart, SCRIPT FLUSH, new replica). */
  async #run(op: string, name: ScriptName, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<Reply> {
    if (this.#closed) throw new StoreError(op, `${this.#layer}: store is closed`);
    const s = script(name);
    const tail = [String(keys.length), ...keys, ...args.map(String)];
    try {
      try {
        return await this.#link.command(["EVALSHA", await s.sha, ...tail]);
      } catch (e) {
        if (!isNoScript(messageOf(e))) throw e;
        return await this.#link.command(["EVAL", s.source, ...tail]);
      }
    } catch (e) {
      throw this.#fail(op, e);
    }
  }

  // ---- dialogs -------------------------------------------------------------------------------------------------

  async put(dialog: Dialog, ttlMs: number): Promise<void> {
    const ttl = checkedTtl("put", ttlMs);
    await this.#run("put", "dialogPut", [this.#dialogKey(dialog.id), this.#indexKey()], [
      dialog.id,
      JSON.stringify(dialog),
      ttl,
    ]);
  }

  #decodeDialog(op: string, json: Reply | undefined, updatedAt: Reply | undefined, expiresAt: Reply | undefined): Dialog | undefined {
    const text = asString(json);
    if (text === undefined) return undefined;
    let parsed: Dialog;
    try {
      parsed = JSON.parse(text) as Dialog;
    } catch (e) {
      throw new StoreError(op, `${this.#layer}: dialog record is not JSON`, { cause: e });
    }
    return { ...parsed, updatedAt: asInt(op, updatedAt ?? null), expiresAt: asInt(op, expiresAt ?? null) };
  }

  async get(id: string): Promise<Dialog | undefined> {
    if (this.#closed) throw new StoreError("get", `${this.#layer}: store is closed`);
    let reply: Reply;
    try {
      reply = await this.#link.command(["HMGET", this.#dialogKey(id), "j", "u", "e"]);
    } catch (e) {
      throw this.#fail("get", e);
    }
    const [j, u, e] = asArray("get", reply);
    return this.#decodeDialog("get", j, u, e);
  }

  async touch(id: string, ttlMs: number): Promise<boolean> {
    const ttl = checkedTtl("touch", ttlMs);
    return asInt("touch", await this.#run("touch", "dialogTouch", [this.#dialogKey(id), this.#indexKey()], [id, ttl])) === 1;
  }

  async remove(id: string): Promise<Dialog | undefined> {
    const reply = asArray("remove", await this.#run("remove", "dialogRemove", [this.#dialogKey(id), this.#indexKey()], [id]));
    return this.#decodeDialog("remove", reply[0], reply[1], reply[2]);
  }

  /** Live dialogs, soonest expiry first; with a destination filter every live dialog is read (fine for admin use). */
  async list(filter: DialogFilter = {}): Promise<Dialog[]> {
    const limit = filter.limit ?? Infinity;
    const out: Dialog[] = [];
    if (limit <= 0) return out;
    const ids = asArray("list", await this.#run("list", "dialogIds", [this.#indexKey()], []))
      .map(asString)
      .filter((id): id is string => id !== undefined);
    const batch = 500;
    for (let i = 0; i < ids.length && out.length < limit; i += batch) {
      const chunk = ids.slice(i, i + batch);
      let replies: PipelineReply[];
      try {
        replies = await this.#link.pipeline(chunk.map((id) => ["HMGET", this.#dialogKey(id), "j", "u", "e"]));
      } catch (e) {
        throw this.#fail("list", e);
      }
      for (const r of replies) {
        if (r.error !== undefined) throw new StoreError("list", `${this.#layer}: ${r.error}`);
        const [j, u, e] = asArray("list", r.result);
        const dialog = this.#decodeDialog("list", j, u, e);
        if (!dialog) continue; // expired or removed since the ids were read
        if (filter.destinationId !== undefined && dialog.destinationId !== filter.destinationId) continue;
        out.push(dialog);
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  async count(): Promise<number> {
    return asInt("count", await this.#run("count", "dialogCount", [this.#indexKey()], []));
  }

  // ---- capacity ------------------------------------------------------------------------------------------------

  async reserve(r: Reservation, capacities: Readonly<Record<string, number>>, ttlMs: number): Promise<ReserveResult> {
    const units = checkedUnits("reserve", r.units);
    const ttl = checkedTtl("reserve", ttlMs);
    const args: Array<string | number> = [r.id, ttl, units.length];
    for (const [resource, n] of units) args.push(resource, n, checkedCapacity("reserve", resource, capacities[resource]) ?? -1);
    const reply = asArray("reserve", await this.#run("reserve", "reserve", this.#destKeys(r.destinationId), args));
    if (asInt("reserve", reply[0]) === 1) return { ok: true };
    return { ok: false, resource: asString(reply[1]) ?? "" };
  }

  async refresh(destinationId: string, id: string, ttlMs: number): Promise<boolean> {
    const ttl = checkedTtl("refresh", ttlMs);
    return asInt("refresh", await this.#run("refresh", "refresh", this.#destKeys(destinationId), [id, ttl])) === 1;
  }

  async release(destinationId: string, id: string): Promise<boolean> {
    return asInt("release", await this.#run("release", "release", this.#destKeys(destinationId), [id])) === 1;
  }

  /** One pipeline of LOAD scripts (each destination's keys live in their own slot); EVAL again on NOSCRIPT. */
  async load(destinationIds: readonly string[]): Promise<Record<string, Load>> {
    const out: Record<string, Load> = {};
    const ids = [...new Set(destinationIds)];
    if (ids.length === 0) return out;
    if (this.#closed) throw new StoreError("load", `${this.#layer}: store is closed`);
    const s = script("load");
    const commands = async (how: "EVALSHA" | "EVAL"): Promise<PipelineReply[]> => {
      const head = how === "EVALSHA" ? await s.sha : s.source;
      return this.#link.pipeline(ids.map((id) => [how, head, "3", ...this.#destKeys(id)]));
    };
    let replies: PipelineReply[];
    try {
      replies = await commands("EVALSHA");
      if (replies.some((r) => r.error !== undefined && isNoScript(r.error))) replies = await commands("EVAL");
    } catch (e) {
      throw this.#fail("load", e);
    }
    ids.forEach((id, i) => {
      const r = replies[i];
      if (r === undefined) throw new StoreError("load", `${this.#layer}: pipeline returned ${replies.length} replies for ${ids.length}`);
      if (r.error !== undefined) throw new StoreError("load", `${this.#layer}: ${r.error}`);
      out[id] = toLoad("load", asArray("load", r.result));
    });
    return out;
  }

  async reconcile(destinationId: string): Promise<ReconcileResult> {
    const reply = asArray("reconcile", await this.#run("reconcile", "reconcile", this.#destKeys(destinationId), []));
    return { expired: asInt("reconcile", reply[0]), load: toLoad("reconcile", reply, 1) };
  }

  // ---- health (src/dialog/health.ts) --------------------------------------------------------------------------

  async acquireProbeLease(destinationId: string, holder: string, ttlMs: number): Promise<boolean> {
    const [, lease] = healthKeys(this.#prefix, checkedDestinationId("acquireProbeLease", destinationId));
    const ttl = checkedTtl("acquireProbeLease", ttlMs);
    if (this.#closed) throw new StoreError("acquireProbeLease", `${this.#layer}: store is closed`);
    let reply: Reply;
    try {
      reply = await this.#link.command(["SET", lease, holder, "NX", "PX", String(ttl)]);
    } catch (e) {
      throw this.#fail("acquireProbeLease", e);
    }
    return reply === "OK";
  }

  async recordEvidence(destinationId: string, evidence: Evidence, policy?: HealthPolicy, now?: number): Promise<RecordResult> {
    const op = "recordEvidence";
    const [key] = healthKeys(this.#prefix, checkedDestinationId(op, destinationId));
    const p = checkedPolicy(op, policy);
    const at = checkedNow(op, now);
    const verdict = classify(evidence, p);
    const probe = verdict.probe;
    const reply = asArray(
      op,
      await this.#run(op, "healthRecord", [key], [
        at === undefined ? "" : at,
        p.failuresToProbing,
        p.failuresToInactive,
        p.successesToActive,
        p.latencyAlpha,
        HEALTH_RECORD_TTL_MS,
        verdict.outcome,
        verdict.cause,
        probe ? "1" : "0",
        probe?.result ?? "",
        probe?.elapsedMs ?? 0,
        probe?.status ?? "",
        probe?.latencyMs ?? "",
        verdict.pauseMs,
      ]),
    );
    const [from, to, reason, paused] = reply.slice(0, 4).map(asString);
    const record = decodeHealth(reply.slice(4).map((x) => (Array.isArray(x) ? null : x)));
    const isState = (s: string | undefined): s is HealthState => s !== undefined && (HEALTH_STATES as readonly string[]).includes(s);
    return {
      record,
      ...(isState(from) && isState(to) ? { changed: { from, to, reason: reason ?? "" } } : {}),
      ...(paused !== undefined && paused !== "" ? { paused: { until: asInt(op, paused) } } : {}),
    };
  }

  /** One pipeline of HMGETs (each destination's hash lives in its own slot). */
  async health(destinationIds: readonly string[]): Promise<Record<string, HealthRecord>> {
    const out: Record<string, HealthRecord> = {};
    const ids = [...new Set(destinationIds)];
    if (ids.length === 0) return out;
    if (this.#closed) throw new StoreError("health", `${this.#layer}: store is closed`);
    const fields = HEALTH_FIELD_ORDER.map((f) => HEALTH_FIELDS[f]);
    let replies: PipelineReply[];
    try {
      replies = await this.#link.pipeline(ids.map((id) => ["HMGET", healthKeys(this.#prefix, checkedDestinationId("health", id))[0], ...fields]));
    } catch (e) {
      throw this.#fail("health", e);
    }
    ids.forEach((id, i) => {
      const r = replies[i];
      if (r === undefined) throw new StoreError("health", `${this.#layer}: pipeline returned ${replies.length} replies for ${ids.length}`);
      if (r.error !== undefined) throw new StoreError("health", `${this.#layer}: ${r.error}`);
      out[id] = decodeHealth(asArray("health", r.result).map((x) => (Array.isArray(x) ? null : x)));
    });
    return out;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#link.close();
  }
}
