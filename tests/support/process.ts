/**
 * Child processes for the e2e tests: spawn with captured output, wait for a line or for exit with a deadline, stop by
 * PID (SIGTERM, then SIGKILL after a grace period).
 *
 * Every child is entered in a registry the moment it is spawned; `stopAll()` (call it from `after()`) stops whatever
 * is still running, so a failing test never leaks a sipp or a gateway. Each child also has a hard lifetime: past it,
 * it is SIGKILLed whatever the test is doing. As a last resort, the test process SIGKILLs the survivors when it exits.
 * Only PIDs this module spawned are ever signalled.
 */
import { spawn, type ChildProcess } from "node:child_process";

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Short name used in messages. */
  readonly name: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Hard lifetime in ms: the child is SIGKILLed past it. Required: nothing runs unbounded. */
  readonly maxLifetimeMs: number;
  /** Output kept per stream (tail), bytes. Default 1 MiB. */
  readonly keepBytes?: number;
}

type LineListener = (line: string, stream: "stdout" | "stderr") => void;

const registry = new Set<ManagedProcess>();

/** How long after a child's exit its output pipes may stay open (a descendant writing its last lines). */
const STDIO_AFTER_EXIT_MS = 5000;

export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly command: string;
  readonly exited: Promise<ExitStatus>;
  private readonly child: ChildProcess;
  private exitStatus: ExitStatus | undefined;
  private readonly out: string[] = [];
  private readonly err: string[] = [];
  private outBytes = 0;
  private errBytes = 0;
  private readonly keepBytes: number;
  private readonly listeners = new Set<LineListener>();
  private readonly lifetimeTimer: NodeJS.Timeout;
  /** Set when the lifetime timer fired (the child was killed for running too long). */
  killedForLifetime = false;

  constructor(cmd: string, args: readonly string[], opts: SpawnOptions) {
    this.name = opts.name;
    this.keepBytes = opts.keepBytes ?? 1 << 20;
    this.command = [cmd, ...args].join(" ");
    this.child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (this.child.pid === undefined) {
      // spawn failed synchronously enough to have no pid (ENOENT); 'error' will follow.
      this.pid = -1;
    } else {
      this.pid = this.child.pid;
    }
    this.exited = new Promise<ExitStatus>((resolve) => {
      this.child.once("error", (e) => {
        if (this.exitStatus === undefined) {
          this.appendText("stderr", `[spawn error] ${String(e)}\n`);
          this.exitStatus = { code: -1, signal: null };
          resolve(this.exitStatus);
        }
      });
      this.child.once("close", (code, signal) => {
        if (this.exitStatus === undefined) this.exitStatus = { code, signal };
        resolve(this.exitStatus);
      });
      // 'close' waits for the output pipes too, and a descendant that outlives the child holds them open (Kamailio's
      // workers when its main process was killed before it told them, see KamailioSystem.stop): past
      // STDIO_AFTER_EXIT_MS the pipes are closed on our side, so 'close' still comes and nothing waits forever.
      this.child.once("exit", () => {
        const timer = setTimeout(() => {
          if (this.exitStatus !== undefined) return;
          this.appendText("stderr", `[the output pipes were still held open ${STDIO_AFTER_EXIT_MS} ms after exit, by a descendant: closed]\n`);
          this.child.stdout?.destroy();
          this.child.stderr?.destroy();
        }, STDIO_AFTER_EXIT_MS);
        timer.unref();
      });
    });
    void this.exited.then(() => {
      clearTimeout(this.lifetimeTimer);
      registry.delete(this);
    });
    this.pipeLines(this.child.stdout, "stdout");
    this.pipeLines(this.child.stderr, "stderr");
    this.lifetimeTimer = setTimeout(() => {
      if (this.running) {
        this.killedForLifetime = true;
        this.signal("SIGKILL");
      }
    }, opts.maxLifetimeMs);
    this.lifetimeTimer.unref();
    registry.add(this);
  }

  get running(): boolean {
    return this.exitStatus === undefined && this.pid > 0;
  }

  get status(): ExitStatus | undefined {
    return this.exitStatus;
  }

  stdout(): string {
    return this.out.join("");
  }

  stderr(): string {
    return this.err.join("");
  }

  /** Last `n` characters of stdout+stderr, for assertion messages. */
  tail(n = 4000): string {
    const all = `${this.stdout()}${this.err.length > 0 ? `\n--- stderr ---\n${this.stderr()}` : ""}`;
    return all.length > n ? `…${all.slice(all.length - n)}` : all;
  }

  onLine(listener: LineListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolve with the first output line (stdout or stderr) matching `re` printed from now on or already printed;
   * reject when the deadline passes or the process exits first.
   */
  waitForLine(re: RegExp, timeoutMs: number): Promise<string> {
    const seen = [...this.stdout().split("\n"), ...this.stderr().split("\n")].find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      let done = false;
      const finish = (f: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        off();
        f();
      };
      const off = this.onLine((line) => {
        if (re.test(line)) finish(() => resolve(line));
      });
      const timer = setTimeout(
        () => finish(() => reject(new Error(`${this.name}: no line matching ${re} within ${timeoutMs} ms\n${this.tail()}`))),
        timeoutMs,
      );
      void this.exited.then((st) =>
        finish(() =>
          reject(new Error(`${this.name}: exited (${describe(st)}) before printing a line matching ${re}\n${this.tail()}`)),
        ),
      );
    });
  }

  /** Wait for exit; reject on deadline (the process is left running: call stop()). */
  waitForExit(timeoutMs: number): Promise<ExitStatus> {
    if (this.exitStatus !== undefined) return Promise.resolve(this.exitStatus);
    return new Promise<ExitStatus>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name} (pid ${this.pid}) still running after ${timeoutMs} ms\n${this.tail()}`)),
        timeoutMs,
      );
      void this.exited.then((st) => {
        clearTimeout(timer);
        resolve(st);
      });
    });
  }

  /** Send a signal to this child's PID (only if it is still ours and running). */
  signal(sig: NodeJS.Signals): boolean {
    if (!this.running) return false;
    try {
      return this.child.kill(sig);
    } catch {
      return false;
    }
  }

  /**
   * Stop: `sig` (default SIGTERM), then SIGKILL if still running after `graceMs`. Resolves with the exit status and
   * whether SIGKILL was needed.
   */
  async stop(sig: NodeJS.Signals = "SIGTERM", graceMs = 5000): Promise<ExitStatus & { readonly forced: boolean }> {
    if (!this.running) return { ...(this.exitStatus ?? { code: null, signal: null }), forced: false };
    this.signal(sig);
    if (sig === "SIGKILL") return { ...(await this.exited), forced: false };
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    const st = await this.exited;
    clearTimeout(timer);
    return { ...st, forced: st.signal === "SIGKILL" };
  }

  private pipeLines(stream: NodeJS.ReadableStream | null, which: "stdout" | "stderr"): void {
    if (stream === null) return;
    let partial = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      this.appendText(which, chunk);
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) this.emitLine(line.replace(/\r$/, ""), which);
    });
    stream.on("end", () => {
      if (partial !== "") this.emitLine(partial, which);
      partial = "";
    });
  }

  private emitLine(line: string, which: "stdout" | "stderr"): void {
    for (const l of [...this.listeners]) l(line, which);
  }

  private appendText(which: "stdout" | "stderr", text: string): void {
    const buf = which === "stdout" ? this.out : this.err;
    buf.push(text);
    let bytes = (which === "stdout" ? this.outBytes : this.errBytes) + text.length;
    while (bytes > this.keepBytes && buf.length > 1) bytes -= buf.shift()?.length ?? 0;
    if (which === "stdout") this.outBytes = bytes;
    else this.errBytes = bytes;
  }
}

export function describe(st: ExitStatus): string {
  return st.signal !== null ? `signal ${st.signal}` : `code ${String(st.code)}`;
}

export function startProcess(cmd: string, args: readonly string[], opts: SpawnOptions): ManagedProcess {
  return new ManagedProcess(cmd, args, opts);
}

/** Processes started by this module that are still running. */
export function liveProcesses(): ManagedProcess[] {
  return [...registry].filter((p) => p.running);
}

/** Stop every process still running (SIGTERM, SIGKILL after graceMs). For `after()` hooks. */
export async function stopAll(graceMs = 3000): Promise<void> {
  await Promise.all(liveProcesses().map((p) => p.stop("SIGTERM", graceMs)));
}

/** Resolve when `pred` returns a truthy value; poll every `intervalMs`; reject after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  pred: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await pred();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// Last resort: never leave children behind when the test process itself goes away.
process.once("exit", () => {
  for (const p of registry) {
    if (p.running) p.signal("SIGKILL");
  }
});
