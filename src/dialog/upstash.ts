/**
 * DialogStore on Upstash Redis over its REST API (client: @upstash/redis), for edge functions (Workers, Deno, Node)
 * where a TCP connection to Redis is not an option. Same keys and Lua scripts as the Redis adapter
 * (src/dialog/scripted.ts, src/dialog/lua/scripts.ts): a gateway on TCP Redis and a function on Upstash REST can
 * share one database.
 *
 * Every request has a deadline (an AbortSignal per request) and network errors are retried a bounded number of
 * times, which is safe because every operation is idempotent (reserve is keyed by the dialog id). Failures reach the
 * caller as StoreError.
 */
import { Redis } from "@upstash/redis";
import { StoreError } from "./dialog.ts";
import { ScriptedDialogStore, type KeyspaceOptions, type PipelineReply, type RedisLink, type Reply } from "./scripted.ts";

export interface UpstashDialogStoreOptions extends KeyspaceOptions {
  /** UPSTASH_REDIS_REST_URL */
  readonly url: string;
  /** UPSTASH_REDIS_REST_TOKEN */
  readonly token: string;
  /** Deadline of one request, retries included. Default 1000 ms. */
  readonly requestTimeoutMs?: number;
  /** Retries after a network error (not after a Redis error). Default 2, 50 ms apart. */
  readonly retries?: number;
}

export const UPSTASH_URL_ENV = "UPSTASH_REDIS_REST_URL";
export const UPSTASH_TOKEN_ENV = "UPSTASH_REDIS_REST_TOKEN";

class UpstashLink implements RedisLink {
  readonly #redis: Redis;

  constructor(options: UpstashDialogStoreOptions) {
    const timeoutMs = options.requestTimeoutMs ?? 1000;
    this.#redis = new Redis({
      url: options.url,
      token: options.token,
      automaticDeserialization: false,
      enableAutoPipelining: false,
      enableTelemetry: false,
      readYourWrites: false,
      retry: { retries: options.retries ?? 2, backoff: () => 50 },
      signal: () => AbortSignal.timeout(timeoutMs),
    });
  }

  async command(args: readonly string[]): Promise<Reply> {
    const [name, ...rest] = args;
    if (name === undefined) throw new Error("empty command");
    return await this.#redis.exec<Reply>([name, ...rest]);
  }

  async pipeline(commands: ReadonlyArray<readonly string[]>): Promise<PipelineReply[]> {
    const p = this.#redis.pipeline();
    for (const [name, ...rest] of commands) {
      switch (name?.toUpperCase()) {
        case "EVAL":
        case "EVALSHA": {
          const [head, numKeys, ...tail] = rest;
          const n = Number(numKeys);
          if (head === undefined || !Number.isSafeInteger(n)) throw new Error(`malformed ${name}`);
          if (name.toUpperCase() === "EVAL") p.eval(head, tail.slice(0, n), tail.slice(n));
          else p.evalsha(head, tail.slice(0, n), tail.slice(n));
          break;
        }
        case "HMGET": {
          const [key, ...fields] = rest;
          if (key === undefined) throw new Error("malformed HMGET");
          p.hmget(key, ...fields);
          break;
        }
        default:
          throw new Error(`${String(name)} is not supported in an Upstash pipeline here`);
      }
    }
    const replies = (await p.exec({ keepErrors: true })) as ReadonlyArray<{ error?: string; result: unknown }>;
    return replies.map((r): PipelineReply => (r.error ? { error: r.error } : { result: r.result as Reply }));
  }

  async close(): Promise<void> {
    // Stateless HTTP: nothing to release.
  }
}

export class UpstashDialogStore extends ScriptedDialogStore {
  constructor(options: UpstashDialogStoreOptions) {
    super(new UpstashLink(options), "upstash", options);
  }

  /**
   * Build from an environment record (the caller passes it, e.g. the Workers `env` binding; nothing here reads
   * process.env). Names every missing variable in one error.
   */
  static fromEnv(
    env: Readonly<Record<string, string | undefined>>,
    options: Omit<UpstashDialogStoreOptions, "url" | "token"> = {},
  ): UpstashDialogStore {
    const url = env[UPSTASH_URL_ENV];
    const token = env[UPSTASH_TOKEN_ENV];
    const missing = [url ? undefined : UPSTASH_URL_ENV, token ? undefined : UPSTASH_TOKEN_ENV].filter((m) => m !== undefined);
    if (!url || !token) throw new StoreError("config", `${missing.join(" and ")} not set`);
    return new UpstashDialogStore({ ...options, url, token });
  }
}
