/**
 * A real redis-server for tests (Debian's package: /usr/bin/redis-server; scripts/ensure-system-deps.sh installs
 * it). Listens on a free loopback port, keeps nothing on disk (`--save "" --appendonly no`, its own temp dir), is
 * ready once it printed "Ready to accept connections" and answered PING, and is stopped by PID (the child registry of
 * ./process.ts also kills it if a test forgets, and when the test process exits).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { freePort } from "./ports.ts";
import { startProcess, type ManagedProcess } from "./process.ts";
import { RespClient } from "./redis-resp.ts";

export const REDIS_SERVER_BIN = process.env.REDIS_SERVER_BIN ?? "/usr/bin/redis-server";

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** PID of the current process (changes on restart). */
  readonly pid: number;
  readonly process: ManagedProcess;
  /** A fresh raw RESP connection (caller closes it). */
  connect(): Promise<RespClient>;
  /** SIGKILL the server (simulate a crash); resolves once it exited. */
  kill(): Promise<void>;
  /** Start it again on the same port (empty: nothing is persisted). */
  restart(): Promise<void>;
  /** Stop by PID and remove its directory. */
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** Hard lifetime of the child (ms), default 5 minutes. */
  readonly maxLifetimeMs?: number;
  /** Readiness deadline (ms), default 10 s. */
  readonly readyTimeoutMs?: number;
}

async function spawnRedis(port: number, dir: string, opts: RedisServerOptions): Promise<ManagedProcess> {
  if (!existsSync(REDIS_SERVER_BIN)) {
    throw new Error(`${REDIS_SERVER_BIN} not found: install Debian's redis-server (scripts/ensure-system-deps.sh does)`);
  }
  const proc = startProcess(
    REDIS_SERVER_BIN,
    [
      "--port", String(port),
      "--bind", "127.0.0.1",
      "--save", "",
      "--appendonly", "no",
      "--dir", dir,
      "--daemonize", "no",
      "--protected-mode", "yes",
      "--loglevel", "notice",
      "--logfile", "",
    ],
    { name: `redis-server:${port}`, maxLifetimeMs: opts.maxLifetimeMs ?? 5 * 60_000 },
  );
  const timeout = opts.readyTimeoutMs ?? 10_000;
  await proc.waitForLine(/Ready to accept connections/, timeout);
  const c = await RespClient.connect(port, "127.0.0.1", timeout);
  try {
    const pong = await c.call("PING");
    if (pong !== "PONG") throw new Error(`redis-server:${port} answered PING with ${String(pong)}`);
  } finally {
    c.close();
  }
  return proc;
}

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "switchboard-redis-"));
  let proc = await spawnRedis(port, dir, opts).catch(async (e: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw e;
  });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return proc.pid;
    },
    get process() {
      return proc;
    },
    connect: () => RespClient.connect(port),
    async kill() {
      await proc.stop("SIGKILL");
    },
    async restart() {
      if (proc.running) await proc.stop("SIGTERM", 3000);
      proc = await spawnRedis(port, dir, opts);
    },
    async stop() {
      await proc.stop("SIGTERM", 3000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
