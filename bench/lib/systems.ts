/**
 * The systems under test, each started on loopback with fresh ports and stopped by PID:
 *
 * - `kamailio`: Debian's kamailio with bench/kamailio.cfg in the foreground (-DD -E), the dispatcher list written
 *   here (set 1 = the two sipp destinations);
 * - `switchboard`: the gateway as `npm start` runs it (`node <heap flags> --enable-source-maps dist/gateway/main.mjs
 *   start`, built by the harness; `--gateway tsx` runs `node --import tsx src/gateway/main.ts start` instead) with
 *   the in-process dialog store, UDP only, its default timers, SWITCHBOARD_LOG_LEVEL=warn;
 * - `switchboard-redis`: the same gateway with SWITCHBOARD_REDIS_URL pointing at a redis-server started here;
 * - `switchboard-workers`: the in-process store with SWITCHBOARD_WORKERS=2 (two threads sharing the SIP port, one
 *   per core of the benchmark machine; src/gateway/shard-pool.ts);
 * - `switchboard-remote`: remote mode, the deployment the product is built for: the route function as its own HTTP
 *   service on Node (`functions/entry/node.ts`, what `npm run functions` runs) and the gateway POSTing every initial
 *   request to it (SWITCHBOARD_ROUTE_URL), both on one redis-server. Its CPU is counted with the gateway's, and a
 *   step where any decision fell back in-process (the function missed the 50 ms deadline) is not clean: it would
 *   not have measured remote mode.
 *
 * Every system gives the PIDs whose CPU and memory are its cost: the balancer's process tree, plus the store's
 * (redis-server) reported separately.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { startProcess, waitUntil, type ManagedProcess } from "../../tests/support/process.ts";
import { freePorts, isBound } from "../../tests/support/ports.ts";
import { REPO_ROOT } from "../../tests/support/gateway.ts";
import { GATEWAY_HEAP_FLAGS } from "../../src/gateway/v8-tuning.ts";
import { startRedisServer, type RedisServer } from "../../tests/support/redis-server.ts";
import { RespClient } from "../../tests/support/redis-resp.ts";
import { commOf, processTree } from "./procfs.ts";

export const KAMAILIO_CFG = fileURLToPath(new URL("../kamailio.cfg", import.meta.url));
const INSPECTOR_GC = fileURLToPath(new URL("./inspector-gc.mjs", import.meta.url));

export type SystemName = "kamailio" | "switchboard" | "switchboard-redis" | "switchboard-workers" | "switchboard-remote";
export type SwitchboardName = Exclude<SystemName, "kamailio">;
export const SYSTEM_NAMES: readonly SystemName[] = ["kamailio", "switchboard", "switchboard-redis", "switchboard-workers", "switchboard-remote"];
/** Gateway workers of the workers variant. */
export const BENCH_WORKERS = 2;

export const LABELS: Record<SystemName | "direct", string> = {
  kamailio: "Kamailio 5.6",
  switchboard: "switchboard (in-process store)",
  "switchboard-redis": "switchboard (Redis store)",
  "switchboard-workers": `switchboard (${BENCH_WORKERS} workers, in-process store)`,
  "switchboard-remote": "switchboard (route function over HTTP, Redis store)",
  direct: "sipp → UAS direct",
};

export interface System {
  readonly name: SystemName;
  /** UDP port the callers send to. */
  readonly port: number;
  /** The balancer's own processes (main PID and descendants), alive now. */
  pids(): Promise<number[]>;
  /** The store's processes (redis-server), [] when in-process. */
  storePids(): Promise<number[]>;
  readonly running: boolean;
  /** Extra figures: Kamailio shared memory in use and active dialogs; Redis used_memory. */
  extra(): Promise<Record<string, number>>;
  /** Remote mode only: route decisions the function answered and those decided in-process instead, so far. */
  routeDecisions?(): Promise<{ remote: number; fallback: number } | undefined>;
  /**
   * Started with `inspect`: a full GC in each of the balancer's Node processes (the main thread's heap; gateway worker
   * threads keep theirs). Resolves false when it could not be done.
   */
  collectGarbage?(): Promise<boolean>;
  /** Output tail for error messages. */
  tail(): string;
  stop(): Promise<void>;
}

export function kamailioBinary(): string | undefined {
  for (const p of ["/usr/sbin/kamailio", "/usr/local/sbin/kamailio", "/usr/bin/kamailio"]) if (existsSync(p)) return p;
  return undefined;
}

function run(cmd: string, args: string[], timeoutMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: "utf8" }, (err, stdout) => resolve(err ? "" : stdout));
  });
}

export async function kamailioVersion(): Promise<string> {
  const bin = kamailioBinary();
  if (!bin) return "not installed";
  return (/version:\s*(.*)/.exec(await run(bin, ["-v"]))?.[1] ?? "?").trim();
}

export interface StartOptions {
  /** Work directory for this system's files. */
  readonly dir: string;
  /** The two destinations' UDP ports. */
  readonly destinations: readonly [number, number];
  /** Hard lifetime of the processes (ms). */
  readonly lifetimeMs: number;
  /** Kamailio UDP workers (-n). */
  readonly kamailioChildren?: number;
  /** How the switchboard gateway is run (default dist). */
  readonly gatewayEntry?: GatewayEntry;
  /** When set, the gateway runs with `--cpu-prof` and writes its profile under DIR/<system>/ at SIGTERM. */
  readonly profileDir?: string;
  /**
   * Hold test: switchboard's processes run with the inspector on a loopback port, so collectGarbage() can force a full
   * GC before memory is read (a garbage-collected heap otherwise holds whatever garbage the last cycle left).
   */
  readonly inspect?: boolean;
}

class KamailioSystem implements System {
  readonly name = "kamailio" as const;
  constructor(
    readonly port: number,
    private readonly proc: ManagedProcess,
    private readonly ctl: string,
  ) {}
  get running(): boolean {
    return this.proc.running;
  }
  pids(): Promise<number[]> {
    return this.proc.running ? processTree(this.proc.pid) : Promise.resolve([]);
  }
  async storePids(): Promise<number[]> {
    return [];
  }
  async extra(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    const kamcmd = ["/usr/sbin/kamcmd", "/usr/bin/kamcmd"].find((p) => existsSync(p));
    if (!kamcmd || !this.proc.running) return out;
    const shm = await run(kamcmd, ["-s", this.ctl, "core.shmmem"]);
    const used = /real_used:\s*(\d+)/.exec(shm)?.[1];
    if (used) out.shmRealUsedBytes = Number(used);
    const dlg = await run(kamcmd, ["-s", this.ctl, "dlg.stats_active"]);
    const all = /all:\s*(\d+)/.exec(dlg)?.[1];
    if (all) out.activeDialogs = Number(all);
    return out;
  }
  tail(): string {
    return this.proc.tail(3000);
  }
  /**
   * Kamailio's main process keeps one signal at a time and drops any other that comes before its loop has handled it
   * (`sig_usr` in main.c: "previous sig. not processed yet, ignoring"). Each worker let go after a pause
   * (bench/lib/pause.ts) sends it a SIGCHLD, so a SIGTERM right behind those can be lost: the main process was then
   * killed after the grace time, its workers, never told, kept its output pipes open, and the harness waited for
   * them (a CI smoke run hung so for 258 s; 1 of 2 smoke runs here). So the SIGTERM is repeated each second until
   * the main process goes, and whatever is left of its tree after 8 s is killed.
   */
  async stop(): Promise<void> {
    const tree = await this.pids();
    for (let i = 0; i < 8 && this.proc.running; i++) {
      this.proc.signal("SIGTERM");
      await Promise.race([this.proc.exited, sleep(1000)]);
    }
    if (!this.proc.running) return;
    for (const pid of tree) {
      if ((await commOf(pid)) !== "kamailio") continue; // gone, or the PID is someone else's now
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    await this.proc.stop("SIGKILL");
  }
}

export async function startKamailio(o: StartOptions): Promise<System> {
  const bin = kamailioBinary();
  if (!bin) throw new Error("kamailio is not installed (apt-get install -y kamailio)");
  const dir = join(o.dir, "kamailio");
  await mkdir(dir, { recursive: true });
  const [port] = (await freePorts(1)) as [number];
  const list = join(dir, "dispatcher.list");
  await writeFile(list, o.destinations.map((p) => `1 sip:127.0.0.1:${p}\n`).join(""));
  const ctl = `unix:${join(dir, "kamailio_ctl")}`;
  const args = [
    "-DD", "-E",
    "-f", KAMAILIO_CFG,
    "-l", `udp:127.0.0.1:${port}`,
    "-n", String(o.kamailioChildren ?? 2),
    "-m", "512",
    "-M", "16",
    "-Y", dir,
    "-w", dir,
    "-A", `DS_LIST="${list}"`,
    "-A", `CTL_SOCK="${ctl}"`,
  ];
  const proc = startProcess(bin, args, { name: "kamailio", cwd: dir, maxLifetimeMs: o.lifetimeMs });
  try {
    await waitUntil(
      `kamailio (pid ${proc.pid}) to bind udp:${port}`,
      async () => {
        if (!proc.running) throw new Error(`kamailio exited:\n${proc.tail()}`);
        return isBound("udp", port);
      },
      15_000,
      50,
    );
    // the workers fork after the socket is bound: wait for them (main + workers + timers + ctl)
    await waitUntil(
      "kamailio workers",
      async () => (await processTree(proc.pid)).length >= 2 + (o.kamailioChildren ?? 2),
      10_000,
      100,
    );
  } catch (e) {
    await proc.stop("SIGKILL");
    throw e;
  }
  return new KamailioSystem(port, proc, ctl);
}

/**
 * How the gateway is run: `dist` = what `npm start` runs (`node <GATEWAY_HEAP_FLAGS> --enable-source-maps
 * dist/gateway/main.mjs start`, the esbuild bundle the harness builds first with `npm run build`); `tsx` = `node
 * --import tsx src/gateway/main.ts start` (what the e2e tests run), with the same heap flags.
 */
export type GatewayEntry = "dist" | "tsx";

export function gatewayCommand(entry: GatewayEntry): string[] {
  const script = entry === "dist" ? ["--enable-source-maps", "dist/gateway/main.mjs"] : ["--import", "tsx", "src/gateway/main.ts"];
  return [...GATEWAY_HEAP_FLAGS, ...script, "start"];
}

/** `npm run build` (esbuild bundle into dist/); throws with its output when it fails. */
export async function buildGateway(): Promise<void> {
  const proc = startProcess("npm", ["run", "--silent", "build"], { name: "npm run build", cwd: REPO_ROOT, maxLifetimeMs: 120_000 });
  const st = await proc.waitForExit(115_000).catch(async () => proc.stop("SIGKILL"));
  if (st.code !== 0) throw new Error(`npm run build failed (${st.signal ?? String(st.code)}):\n${proc.tail(3000)}`);
}

const ADMIN_TOKEN = "bench-admin-token-0123456789abcdef";
const SECRET = "bench-record-route-secret-0123456789abcdef";

class SwitchboardSystem implements System {
  constructor(
    readonly name: SwitchboardName,
    readonly port: number,
    private readonly proc: ManagedProcess,
    private readonly redis: RedisServer | undefined,
    private readonly logFile: string,
    private readonly httpPort: number,
    /** remote mode: the route function's HTTP service */
    private readonly functions: ManagedProcess | undefined,
    /** inspector ports of the gateway and the route function, when started with `inspect` */
    private readonly inspectPorts: readonly number[],
  ) {}
  async collectGarbage(): Promise<boolean> {
    if (this.inspectPorts.length === 0) return false;
    const done = await Promise.all(
      this.inspectPorts.map(async (port) => {
        const proc = startProcess(process.execPath, ["--experimental-websocket", "--no-warnings", INSPECTOR_GC, String(port)], {
          name: "inspector gc",
          cwd: REPO_ROOT,
          maxLifetimeMs: 15_000,
        });
        const exit = await proc.waitForExit(14_000).catch(async () => proc.stop("SIGKILL"));
        return exit.code === 0;
      }),
    );
    return done.every(Boolean);
  }
  get running(): boolean {
    return this.proc.running && (this.redis?.process.running ?? true) && (this.functions?.running ?? true);
  }
  async pids(): Promise<number[]> {
    const gateway = this.proc.running ? await processTree(this.proc.pid) : [];
    return this.functions?.running ? [...gateway, ...(await processTree(this.functions.pid))] : gateway;
  }
  async routeDecisions(): Promise<{ remote: number; fallback: number } | undefined> {
    if (!this.functions) return undefined;
    try {
      const res = await fetch(`http://127.0.0.1:${this.httpPort}/v1/status`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        signal: AbortSignal.timeout(3000),
      });
      const body = (await res.json()) as { counters?: Record<string, number> };
      let fallback = 0;
      for (const [k, v] of Object.entries(body.counters ?? {})) if (k.startsWith("route.remote.fallback.")) fallback += v;
      return { remote: body.counters?.["route.remote.ok"] ?? 0, fallback };
    } catch {
      return undefined;
    }
  }
  async storePids(): Promise<number[]> {
    return this.redis?.process.running ? [this.redis.pid] : [];
  }
  async extra(): Promise<Record<string, number>> {
    if (!this.redis?.process.running) return {};
    let c: RespClient | undefined;
    try {
      c = await RespClient.connect(this.redis.port, "127.0.0.1", 2000);
      const info = String(await c.call("INFO", "memory"));
      const used = /used_memory:(\d+)/.exec(info)?.[1];
      const keys = String(await c.call("DBSIZE"));
      return { ...(used ? { redisUsedMemoryBytes: Number(used) } : {}), redisKeys: Number(keys) };
    } catch {
      return {};
    } finally {
      c?.close();
    }
  }
  tail(): string {
    const fn = this.functions ? `\n[route function pid ${this.functions.pid}]\n${this.functions.tail(1500)}` : "";
    return `[${this.name} pid ${this.proc.pid}]\n${this.proc.tail(3000)}${fn}`;
  }
  async stop(): Promise<void> {
    await this.proc.stop("SIGTERM", 10_000).catch(() => undefined);
    await writeFile(this.logFile, `${this.proc.stdout()}\n--- stderr ---\n${this.proc.stderr()}`).catch(() => undefined);
    if (this.functions) {
      await this.functions.stop("SIGTERM", 5000).catch(() => undefined);
      await writeFile(`${this.logFile}.functions`, `${this.functions.stdout()}\n--- stderr ---\n${this.functions.stderr()}`).catch(() => undefined);
    }
    await this.redis?.stop().catch(() => undefined);
  }
}

export async function startSwitchboard(name: SwitchboardName, o: StartOptions): Promise<System> {
  const dir = join(o.dir, name);
  await mkdir(dir, { recursive: true });
  const remote = name === "switchboard-remote";
  const redis = name === "switchboard-redis" || remote ? await startRedisServer({ maxLifetimeMs: o.lifetimeMs }) : undefined;
  const [sipPort, httpPort, functionsPort, gatewayInspect, functionsInspect] = (await freePorts(5)) as [number, number, number, number, number];
  // loopback only, and only in a hold test of the benchmark
  const inspectArg = (port: number): string[] => (o.inspect ? [`--inspect=127.0.0.1:${port}`] : []);
  const destinations = o.destinations.map((p) => `sip:127.0.0.1:${p}`).join(",");
  let functions: ManagedProcess | undefined;
  if (remote) {
    // the functions service seeds its own catalog with the same destinations and reads load from the same Redis
    const fnEnv: NodeJS.ProcessEnv = {
      ...process.env,
      SWITCHBOARD_HTTP_LISTEN: `127.0.0.1:${functionsPort}`,
      SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
      SWITCHBOARD_DESTINATIONS: destinations,
      SWITCHBOARD_DATA_DIR: join(dir, "functions-data"),
      SWITCHBOARD_REDIS_URL: (redis as RedisServer).url,
    };
    delete fnEnv.SWITCHBOARD_CONFIG;
    delete fnEnv.SWITCHBOARD_DATABASE_URL;
    const fnProfile = o.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${join(o.profileDir, "route-function")}`] : [];
    functions = startProcess(process.execPath, [...fnProfile, ...inspectArg(functionsInspect), "--import", "tsx", "functions/entry/node.ts"], {
      name: "route function",
      cwd: REPO_ROOT,
      env: fnEnv,
      maxLifetimeMs: o.lifetimeMs,
    });
    try {
      await functions.waitForLine(/switchboard functions on/, 60_000);
    } catch (e) {
      await functions.stop("SIGKILL");
      await redis?.stop().catch(() => undefined);
      throw e;
    }
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SWITCHBOARD_SIP_LISTEN: `udp:127.0.0.1:${sipPort}`,
    SWITCHBOARD_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
    SWITCHBOARD_ADMIN_TOKEN: ADMIN_TOKEN,
    SWITCHBOARD_SECRET: SECRET,
    SWITCHBOARD_DESTINATIONS: destinations,
    SWITCHBOARD_DATA_DIR: join(dir, "data"),
    SWITCHBOARD_LOG_LEVEL: "warn",
    ...(redis ? { SWITCHBOARD_REDIS_URL: redis.url } : {}),
    SWITCHBOARD_WORKERS: name === "switchboard-workers" ? String(BENCH_WORKERS) : "1",
    ...(remote ? { SWITCHBOARD_ROUTE_URL: `http://127.0.0.1:${functionsPort}/v1/route`, SWITCHBOARD_ROUTE_TOKEN: ADMIN_TOKEN } : {}),
  };
  // the gateway's own defaults otherwise (SWITCHBOARD_BRANCH_TIMEOUT 4000 = Kamailio's fr_timer in bench/kamailio.cfg)
  delete env.SWITCHBOARD_BRANCH_TIMEOUT;
  delete env.SWITCHBOARD_CONFIG;
  delete env.SWITCHBOARD_ROUTE_DEADLINE;
  // --cpu-prof: V8 writes the profile when the process exits, which the gateway does by itself on SIGTERM
  const profile = o.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${join(o.profileDir, name)}`] : [];
  const proc = startProcess(process.execPath, [...profile, ...inspectArg(gatewayInspect), ...gatewayCommand(o.gatewayEntry ?? "dist")], {
    name,
    cwd: REPO_ROOT,
    env,
    maxLifetimeMs: o.lifetimeMs,
  });
  try {
    await proc.waitForLine(/switchboard ready/, 60_000);
  } catch (e) {
    await proc.stop("SIGKILL");
    await functions?.stop("SIGKILL");
    await redis?.stop().catch(() => undefined);
    throw e;
  }
  const inspectPorts = o.inspect ? [gatewayInspect, ...(functions ? [functionsInspect] : [])] : [];
  return new SwitchboardSystem(name, sipPort, proc, redis, join(dir, `${name}.log`), httpPort, functions, inspectPorts);
}

export function startSystem(name: SystemName, o: StartOptions): Promise<System> {
  return name === "kamailio" ? startKamailio(o) : startSwitchboard(name, o);
}
