/**
 * DialogStore on Redis over TCP, for gateways (client: ioredis). The data model and scripts are shared with the
 * Upstash adapter (src/dialog/scripted.ts, src/dialog/lua/scripts.ts).
 *
 * Connection loss never takes the process down and never leaves a caller waiting unbounded: no offline queue (a
 * command issued while disconnected rejects at once), commands in flight when the connection drops reject at once
 * and are not resent after reconnecting (a caller that was told "failed" must not see the write happen later),
 * every command has a timeout, and the client reconnects in the background with capped backoff. Every failure
 * reaches the caller as a StoreError.
 */
import { Redis, ReplyError } from "ioredis";
import { StoreError } from "./dialog.ts";
import { ScriptedDialogStore, type KeyspaceOptions, type PipelineReply, type RedisLink, type Reply } from "./scripted.ts";

export interface RedisDialogStoreOptions extends KeyspaceOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://...` (what the gateway reads from SWITCHBOARD_REDIS_URL). */
  readonly url: string;
  /** TCP connect (and handshake) deadline. Default 2000 ms. */
  readonly connectTimeoutMs?: number;
  /** Deadline of one command, script or pipeline. Default 1000 ms. */
  readonly commandTimeoutMs?: number;
  /** Longest pause between reconnection attempts. Default 2000 ms. */
  readonly maxReconnectDelayMs?: number;
  /** Connection-level errors (the client reconnects by itself); default: ignored. */
  readonly onConnectionError?: (error: Error) => void;
}

/** Environment variable the gateway's config reads the Redis URL from. */
export const REDIS_URL_ENV = "SWITCHBOARD_REDIS_URL";

class IoredisLink implements RedisLink {
  readonly client: Redis;
  readonly #commandTimeoutMs: number;
  #everReady = false;

  constructor(options: RedisDialogStoreOptions) {
    this.#commandTimeoutMs = options.commandTimeoutMs ?? 1000;
    const maxDelay = options.maxReconnectDelayMs ?? 2000;
    this.client = new Redis(options.url, {
      connectTimeout: options.connectTimeoutMs ?? 2000,
      commandTimeout: this.#commandTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 10), maxDelay),
      lazyConnect: false,
      // Commands issued in one event-loop turn (the reservations, dialog writes and releases of every message the
      // turn handled) go out in one socket write: one syscall and one wake-up of redis-server per batch, not per
      // command. Replies and failures stay per command; a pipeline is never resent (autoResendUnfulfilledCommands).
      enableAutoPipelining: true,
      // After close(), a half-open socket is destroyed this soon (default 2 s keeps a closing process alive).
      disconnectTimeout: 200,
    });
    const onError = options.onConnectionError;
    // Without a listener ioredis prints every connection error; with one it just reconnects.
    this.client.on("error", (e: Error) => onError?.(e));
    this.client.on("ready", () => {
      this.#everReady = true;
    });
  }

  /** Settles at the next "ready" (or "end"); one pair of listeners however many callers wait. */
  #nextReady: Promise<void> | undefined;

  /** Wait for the connection to be ready, at most `timeoutMs`. */
  ready(timeoutMs: number): Promise<void> {
    if (this.client.status === "ready") return Promise.resolve();
    if (this.client.status === "end") return Promise.reject(new Error("connection closed"));
    this.#nextReady ??= new Promise<void>((resolve, reject) => {
      const settle = (f: () => void): void => {
        this.client.off("ready", onReady);
        this.client.off("end", onEnd);
        this.#nextReady = undefined;
        f();
      };
      const onReady = (): void => settle(resolve);
      const onEnd = (): void => settle(() => reject(new Error("connection closed")));
      this.client.on("ready", onReady);
      this.client.on("end", onEnd);
    });
    const next = this.#nextReady;
    next.catch(() => {}); // a caller that timed out no longer listens
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`not connected within ${timeoutMs} ms (status ${this.client.status})`)),
        timeoutMs,
      );
      next.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  /**
   * Before the first connection ever succeeded (process start), wait for it within the command timeout; after that,
   * a disconnected client fails at once (no offline queue) while it reconnects in the background.
   */
  async #usable(): Promise<void> {
    if (!this.#everReady && this.client.status !== "ready") await this.ready(this.#commandTimeoutMs);
  }

  async command(args: readonly string[]): Promise<Reply> {
    await this.#usable();
    const [name, ...rest] = args;
    if (name === undefined) throw new Error("empty command");
    return (await this.client.call(name, ...rest)) as Reply;
  }

  async pipeline(commands: ReadonlyArray<readonly string[]>): Promise<PipelineReply[]> {
    await this.#usable();
    const p = this.client.pipeline();
    for (const [name, ...rest] of commands) {
      if (name === undefined) throw new Error("empty command");
      void p.call(name, ...rest);
    }
    const results = await p.exec();
    if (results === null) throw new Error("pipeline aborted");
    // A connection-level failure fails the whole pipeline; only Redis's own replies are per-entry errors.
    const broken = results.find(([error]) => error && !(error instanceof ReplyError));
    if (broken?.[0]) throw broken[0];
    return results.map(([error, result]): PipelineReply =>
      error ? { error: error.message } : { result: result as Reply },
    );
  }

  async close(): Promise<void> {
    if (this.client.status === "end") return;
    try {
      if (this.client.status === "ready") {
        await this.client.quit();
        return;
      }
    } catch {
      // fall through: drop the socket
    }
    this.client.disconnect(false);
  }
}

export class RedisDialogStore extends ScriptedDialogStore {
  readonly #link: IoredisLink;

  constructor(options: RedisDialogStoreOptions) {
    const link = new IoredisLink(options);
    super(link, "redis", options);
    this.#link = link;
  }

  /**
   * Build from an environment record (the caller passes it; nothing here reads process.env). Names the missing
   * variable in the error.
   */
  static fromEnv(env: Readonly<Record<string, string | undefined>>, options: Omit<RedisDialogStoreOptions, "url"> = {}): RedisDialogStore {
    const url = env[REDIS_URL_ENV];
    if (url === undefined || url === "") throw new StoreError("config", `${REDIS_URL_ENV} is not set`);
    return new RedisDialogStore({ ...options, url });
  }

  /** Resolve once connected (startup check); rejects with StoreError after `timeoutMs` (default 5000). */
  async ready(timeoutMs = 5000): Promise<void> {
    try {
      await this.#link.ready(timeoutMs);
    } catch (e) {
      throw new StoreError("ready", `redis: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }

  /** Connection state as ioredis reports it ("ready", "reconnecting", ...), for status pages. */
  get connectionStatus(): string {
    return this.#link.client.status;
  }
}
