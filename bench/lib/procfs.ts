/**
 * What the benchmark reads from /proc (Linux only):
 *
 * - CPU time of a process tree: utime + stime of /proc/PID/stat (fields 14 and 15, clock ticks), summed over the
 *   balancer's PID and every descendant (Kamailio forks its workers; the gateway is one Node process plus the idle
 *   esbuild service tsx may have started). Deltas over a window give CPU seconds and % of one core.
 * - Memory of a process tree: Pss and Rss of /proc/PID/smaps_rollup, summed. PSS is the figure to add up across
 *   processes (Kamailio's shared memory segment is mapped by every worker: summing RSS would count it N times); for a
 *   single process PSS ≈ RSS.
 * - Machine CPU: the first line of /proc/stat (user, nice, system, idle, iowait, irq, softirq, steal).
 * - UDP receive-buffer drops: `Udp: RcvbufErrors` of /proc/net/snmp (system-wide) and the `drops` column of
 *   /proc/net/udp for the socket bound to a given port (that socket only).
 */
import { readFile, readdir } from "node:fs/promises";
import { execFileSync } from "node:child_process";

function clockTicks(): number {
  try {
    const v = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(v) && v > 0 ? v : 100;
  } catch {
    return 100;
  }
}

export const CLK_TCK = clockTicks();

async function text(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

interface StatFields {
  readonly ppid: number;
  readonly ticks: number;
}

/** ppid and utime+stime of one process; undefined when it is gone. */
async function statOf(pid: number): Promise<StatFields | undefined> {
  const t = await text(`/proc/${pid}/stat`);
  if (t === undefined) return undefined;
  // comm (field 2) may contain spaces and parentheses: split after the last ')'
  const rest = t.slice(t.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state): field N is rest[N - 3]
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return { ppid, ticks: utime + stime };
}

/** The command name of a process (/proc/PID/comm); undefined when it is gone. */
export async function commOf(pid: number): Promise<string | undefined> {
  return (await text(`/proc/${pid}/comm`))?.trim();
}

/** `pid` and all its descendants that are alive now (scan of /proc). */
export async function processTree(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = await readdir("/proc");
  } catch {
    return [pid];
  }
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (e) => {
        const p = Number(e);
        const st = await statOf(p);
        if (!st) return;
        const list = parents.get(st.ppid) ?? [];
        list.push(p);
        parents.set(st.ppid, list);
      }),
  );
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0 && out.length < 10_000) {
    const p = todo.pop() as number;
    out.push(p);
    todo.push(...(parents.get(p) ?? []));
  }
  return out;
}

/** Sum of utime+stime (clock ticks) over `pids` (processes that are gone count 0). */
export async function cpuTicks(pids: readonly number[]): Promise<number> {
  const all = await Promise.all(pids.map((p) => statOf(p)));
  return all.reduce((s, st) => s + (st?.ticks ?? 0), 0);
}

export interface Memory {
  /** kB */
  readonly pssKb: number;
  readonly rssKb: number;
  readonly processes: number;
}

export async function memoryOf(pids: readonly number[]): Promise<Memory> {
  let pssKb = 0;
  let rssKb = 0;
  let processes = 0;
  for (const p of pids) {
    const t = await text(`/proc/${p}/smaps_rollup`);
    if (t === undefined) continue;
    processes++;
    pssKb += Number(/^Pss:\s+(\d+)/m.exec(t)?.[1] ?? 0);
    rssKb += Number(/^Rss:\s+(\d+)/m.exec(t)?.[1] ?? 0);
  }
  return { pssKb, rssKb, processes };
}

export interface MachineCpu {
  /** clock ticks per column of the `cpu` line of /proc/stat */
  readonly user: number;
  readonly nice: number;
  readonly system: number;
  readonly idle: number;
  readonly iowait: number;
  readonly irq: number;
  readonly softirq: number;
  readonly steal: number;
}

export async function machineCpu(): Promise<MachineCpu> {
  const t = (await text("/proc/stat")) ?? "";
  const f = (t.split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const n = (i: number): number => (Number.isFinite(f[i]) ? (f[i] as number) : 0);
  return { user: n(0), nice: n(1), system: n(2), idle: n(3), iowait: n(4), irq: n(5), softirq: n(6), steal: n(7) };
}

export interface UdpCounters {
  readonly inDatagrams: number;
  readonly rcvbufErrors: number;
  readonly sndbufErrors: number;
  readonly inErrors: number;
}

export async function udpCounters(): Promise<UdpCounters> {
  const t = (await text("/proc/net/snmp")) ?? "";
  const lines = t.split("\n").filter((l) => l.startsWith("Udp:"));
  const names = (lines[0] ?? "").split(/\s+/).slice(1);
  const vals = (lines[1] ?? "").split(/\s+/).slice(1).map(Number);
  const get = (k: string): number => {
    const i = names.indexOf(k);
    return i >= 0 ? (vals[i] ?? 0) : 0;
  };
  return {
    inDatagrams: get("InDatagrams"),
    rcvbufErrors: get("RcvbufErrors"),
    sndbufErrors: get("SndbufErrors"),
    inErrors: get("InErrors"),
  };
}

/** The `drops` counter of the UDP socket(s) bound to 127.0.0.1:port or 0.0.0.0:port (sum; 0 if none). */
export async function udpSocketDrops(port: number): Promise<number> {
  const t = (await text("/proc/net/udp")) ?? "";
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let drops = 0;
  for (const line of t.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    const [ip, p] = (cols[1] ?? "").split(":");
    if (p !== hexPort || (ip !== "0100007F" && ip !== "00000000")) continue;
    drops += Number(cols[cols.length - 1] ?? 0) || 0;
  }
  return drops;
}

export async function sysctl(name: string): Promise<string> {
  return ((await text(`/proc/sys/${name.replace(/\./g, "/")}`)) ?? "?").trim();
}

export async function machineInfo(): Promise<{ cpus: number; model: string; memMb: number; kernel: string }> {
  const cpuinfo = (await text("/proc/cpuinfo")) ?? "";
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? "?";
  const cpus = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  const meminfo = (await text("/proc/meminfo")) ?? "";
  const memMb = Math.round(Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0) / 1024);
  const kernel = ((await text("/proc/sys/kernel/osrelease")) ?? "?").trim();
  return { cpus, model, memMb, kernel };
}
