/**
 * sipp for the benchmark: destinations (bench/scenarios/uas.xml) and callers (bench/scenarios/uac.xml), loopback only,
 * with statistics every second (-trace_stat -fd 1), per-call response times (-trace_rtt) and unexpected messages
 * (-trace_err); no message trace (it would cost more than the proxy under test). Every sipp is bounded by its own
 * -timeout and by a kill timer (tests/support/process.ts).
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startProcess, waitUntil, type ExitStatus, type ManagedProcess } from "../../tests/support/process.ts";
import { isBound } from "../../tests/support/ports.ts";

export const BENCH_SCENARIOS = fileURLToPath(new URL("../scenarios/", import.meta.url));
const LOOPBACK = "127.0.0.1";

/** One row of a -trace_stat CSV: cumulative counters by name (without "(C)"), plus a few periodic ones. */
export interface StatRow {
  readonly epoch: number;
  readonly c: Readonly<Record<string, number>>;
  readonly raw: Readonly<Record<string, string>>;
}

export function parseStatRows(text: string): StatRow[] {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = (lines[0] ?? "").split(";").map((h) => h.trim());
  const rows: StatRow[] = [];
  for (const line of lines.slice(1)) {
    const cols = line.split(";");
    if (cols.length < header.length - 1) continue; // partial line being written
    const c: Record<string, number> = {};
    const raw: Record<string, string> = {};
    header.forEach((h, i) => {
      const v = (cols[i] ?? "").trim();
      raw[h] = v;
      const m = /^(.*)\(C\)$/.exec(h);
      if (m?.[1]) c[m[1]] = Number(v);
      else if (!/\(P\)$/.test(h) && /^-?\d+(\.\d+)?$/.test(v)) c[h] = Number(v);
    });
    const epoch = Number((raw.CurrentTime ?? "").split(/\s+/).pop() ?? NaN);
    rows.push({ epoch, c, raw });
  }
  return rows;
}

export async function readStatRows(file: string): Promise<StatRow[]> {
  try {
    return parseStatRows(await readFile(file, "latin1"));
  } catch {
    return [];
  }
}

async function readText(file: string, max = 200_000): Promise<string> {
  try {
    const t = await readFile(file, "latin1");
    return t.length > max ? `${t.slice(0, max)}\n… (${t.length - max} more characters)` : t;
  } catch {
    return "";
  }
}

/** Response times (ms) per rtd counter from the -trace_rtt files sipp wrote in `dir` for pid. */
export async function readRtt(dir: string, pid: number): Promise<Map<number, number[]>> {
  const out = new Map<number, number[]>();
  let files: string[] = [];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith(`_${pid}_rtt.csv`));
  } catch {
    return out;
  }
  for (const f of files) {
    const t = await readFile(join(dir, f), "latin1");
    for (const line of t.split("\n")) {
      const [, ms, no] = line.split(";");
      const v = Number(ms);
      const k = Number(no);
      if (!Number.isFinite(v) || !Number.isInteger(k) || ms === undefined || ms.trim() === "") continue;
      let list = out.get(k);
      if (!list) out.set(k, (list = []));
      list.push(v);
    }
  }
  return out;
}

interface Common {
  readonly dir: string;
  readonly name: string;
  readonly port: number;
}

function commonArgs(o: Common, scenario: string): string[] {
  return [
    "-sf", join(BENCH_SCENARIOS, scenario),
    "-i", LOOPBACK,
    "-bind_local",
    "-ci", LOOPBACK,
    "-p", String(o.port),
    "-t", "u1",
    "-nostdin",
    "-trace_stat", "-stf", join(o.dir, `${o.name}.stats.csv`),
    "-fd", "1",
    "-trace_err", "-error_file", join(o.dir, `${o.name}.errors.log`),
  ];
}

export class Uas {
  constructor(
    readonly name: string,
    readonly port: number,
    readonly dir: string,
    readonly proc: ManagedProcess,
  ) {}

  statsFile(): string {
    return join(this.dir, `${this.name}.stats.csv`);
  }

  async lastStats(): Promise<StatRow | undefined> {
    return (await readStatRows(this.statsFile())).at(-1);
  }

  /**
   * Wait (bounded by maxWaitMs) until the UAS holds no more than `idleCalls` calls (a balancer's OPTIONS probes are
   * short calls too) in a statistics row written after this call began; return that row (or the last one).
   */
  async settle(maxWaitMs = 6000, idleCalls = 2): Promise<StatRow | undefined> {
    const since = Date.now();
    const deadline = since + maxWaitMs;
    let last: StatRow | undefined;
    while (Date.now() < deadline && this.proc.running) {
      last = await this.lastStats();
      if (last && last.epoch * 1000 > since && (last.c.CurrentCall ?? 0) <= idleCalls) return last;
      await new Promise((r) => setTimeout(r, 250));
    }
    return last ?? (await this.lastStats());
  }

  errors(): Promise<string> {
    return readText(join(this.dir, `${this.name}.errors.log`), 20_000);
  }

  async stop(): Promise<ExitStatus> {
    return this.proc.stop("SIGTERM", 5000);
  }
}

export async function startUas(o: Common & { lifetimeS: number }): Promise<Uas> {
  const args = [
    ...commonArgs(o, "uas.xml"),
    "-timeout", `${Math.ceil(o.lifetimeS)}s`,
    // The harness holds a system's destinations still (SIGSTOP) while other systems run their steps (pause.ts): each
    // pause trips sipp's watchdog (a main loop late by more than 3 s), and after 10 trips sipp quits as overloaded.
    "-watchdog_major_maxtriggers", "1000000",
    "-watchdog_minor_maxtriggers", "1000000",
  ];
  const proc = startProcess("sipp", args, { name: o.name, cwd: o.dir, maxLifetimeMs: o.lifetimeS * 1000 + 10_000 });
  await waitUntil(
    `${o.name} (sipp pid ${proc.pid}) to bind udp:${o.port}`,
    async () => {
      if (!proc.running) throw new Error(`${o.name} exited: ${proc.tail()}`);
      return isBound("udp", o.port);
    },
    10_000,
    20,
  );
  return new Uas(o.name, o.port, o.dir, proc);
}

export interface UacOptions extends Common {
  readonly target: number;
  readonly calls: number;
  readonly rate: number;
  /** -l */
  readonly limit: number;
  /** -d (ms) */
  readonly holdMs: number;
  /** -timeout (s): sipp gives up and fails past it */
  readonly timeoutS: number;
  /** -recv_timeout (ms): a call whose next expected message does not come within it fails */
  readonly recvTimeoutMs: number;
}

export class Uac {
  constructor(
    readonly opts: UacOptions,
    readonly proc: ManagedProcess,
  ) {}

  statsFile(): string {
    return join(this.opts.dir, `${this.opts.name}.stats.csv`);
  }

  async rows(): Promise<StatRow[]> {
    return readStatRows(this.statsFile());
  }

  async wait(): Promise<ExitStatus> {
    try {
      return await this.proc.waitForExit(this.opts.timeoutS * 1000 + 15_000);
    } catch {
      return this.proc.stop("SIGTERM", 3000);
    }
  }

  errors(): Promise<string> {
    return readText(join(this.opts.dir, `${this.opts.name}.errors.log`), 20_000);
  }

  /**
   * The unexpected messages sipp logged and carried on after (-default_behaviors all,-abortunexp): late provisional
   * responses to the INVITE (harmless: a 1xx overtaken by the 200) and anything else (a problem).
   */
  async unexpected(): Promise<{ lateProvisional: number; other: number; example: string }> {
    let t = "";
    try {
      t = await readFile(join(this.opts.dir, `${this.opts.name}.errors.log`), "latin1");
    } catch {
      return { lateProvisional: 0, other: 0, example: "" };
    }
    let lateProvisional = 0;
    let other = 0;
    let example = "";
    const re = /unexpected message for Call-Id '[^']*': ([^\n]*?)received '([^']*)'/g;
    for (let m = re.exec(t); m !== null; m = re.exec(t)) {
      const msg = m[2] ?? "";
      if (/^SIP\/2\.0 1\d\d /.test(msg) && /^CSeq:\s*\d+\s+INVITE/im.test(msg)) lateProvisional++;
      else {
        other++;
        if (example === "") example = `${m[1] ?? ""}${msg.split("\n")[0] ?? ""}`.trim();
      }
    }
    return { lateProvisional, other, example };
  }

  rtt(): Promise<Map<number, number[]>> {
    return readRtt(this.opts.dir, this.proc.pid);
  }
}

export function startUac(o: UacOptions): Uac {
  const args = [
    `${LOOPBACK}:${o.target}`,
    ...commonArgs(o, "uac.xml"),
    "-m", String(o.calls),
    "-r", String(o.rate),
    "-rp", "1000",
    "-l", String(o.limit),
    "-d", String(o.holdMs),
    "-s", "bench",
    "-recv_timeout", String(o.recvTimeoutMs),
    "-timeout", `${o.timeoutS}s`,
    "-timeout_error",
    // A real UA ignores a 180 that arrives after the 200 (Kamailio's workers can forward the two in either order);
    // sipp would abort the call. Unexpected messages are logged instead (-trace_err) and classified by the harness.
    "-default_behaviors", "all,-abortunexp",
    "-trace_rtt", "-rtt_freq", "10", // sipp writes response times in batches of 10 entries and drops the last partial batch at exit
  ];
  const proc = startProcess("sipp", args, { name: o.name, cwd: o.dir, maxLifetimeMs: o.timeoutS * 1000 + 20_000 });
  return new Uac(o, proc);
}
