/**
 * Running sipp (3.6) from the tests.
 *
 * Every sipp is loopback-only (`-i 127.0.0.1 -bind_local`, control socket `-ci 127.0.0.1`), has no stdin, traces its
 * messages (`-trace_msg`), unexpected messages (`-trace_err`) and statistics (`-trace_stat`) into the test's work
 * directory, and is bounded: UACs by call count (`-m`) and a global timeout that fails the run (`-timeout Ns
 * -timeout_error`), UASes by a global timeout; both by the harness's kill timer (process.ts).
 *
 * Exit codes (sipp docs): 0 all calls succeeded, 1 at least one call failed, 97 stopped by an internal command,
 * 99 normal exit without calls processed, 255 fatal error, 254 fatal error binding a socket.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readFile } from "node:fs/promises";
import { startProcess, waitUntil, type ExitStatus, type ManagedProcess } from "./process.ts";
import { isBound } from "./ports.ts";
import { readSippTrace, type TracedMessage } from "./sipp-log.ts";

export type SipTransport = "udp" | "tcp";

export const SCENARIOS_DIR = fileURLToPath(new URL("../scenarios/", import.meta.url));
export const LOOPBACK = "127.0.0.1";

export function scenarioPath(name: string): string {
  return name.includes("/") ? name : join(SCENARIOS_DIR, name.endsWith(".xml") ? name : `${name}.xml`);
}

interface SippCommon {
  /** Scenario file name in tests/scenarios ("uas.xml") or a path. */
  readonly scenario: string;
  /** Local SIP port (UDP or TCP as per transport). */
  readonly port: number;
  readonly transport: SipTransport;
  /** Directory for the trace/stat/error files. */
  readonly dir: string;
  /** Name for files and messages, unique within dir ("uas-a"). */
  readonly name: string;
  /** sipp -key NAME VALUE pairs (scenario keywords [NAME]). */
  readonly keys?: Readonly<Record<string, string>>;
  readonly extraArgs?: readonly string[];
}

export interface UasOptions extends SippCommon {
  /** Hard lifetime (ms): sipp's own -timeout and the harness kill timer. Default 120 s. */
  readonly maxLifetimeMs?: number;
}

export interface UacOptions extends SippCommon {
  readonly target: { readonly host: string; readonly port: number };
  /** -m: calls to place, then exit. */
  readonly calls: number;
  /** -r: calls per rate period (default 10). */
  readonly rate?: number;
  /** -rp: rate period in ms (default 1000). */
  readonly ratePeriodMs?: number;
  /** -l: maximum simultaneous calls. */
  readonly limit?: number;
  /** -d: duration of the scenario's <pause/> (ms), default 0. */
  readonly holdMs?: number;
  /** -s: user part of the Request-URI (default "service"). */
  readonly service?: string;
  /** Global timeout in seconds: sipp fails (exit != 0) past it. Default 60. */
  readonly timeoutS?: number;
}

export interface SippStats {
  readonly successful: number;
  readonly failed: number;
  readonly created: number;
  readonly retransmissions: number;
  /** Every cumulative counter of the last -trace_stat line, by column name without "(C)". */
  readonly all: Readonly<Record<string, string>>;
}

export interface SippFiles {
  readonly messages: string;
  readonly errors: string;
  readonly stats: string;
}

export interface SippResult {
  readonly exit: ExitStatus;
  /** Undefined when sipp wrote no statistics (it died before its first dump). */
  readonly stats: SippStats | undefined;
  readonly messages: TracedMessage[];
  /** Unexpected-message log (-trace_err), "" if none. */
  readonly errors: string;
  readonly output: string;
  readonly files: SippFiles;
}

function filesFor(dir: string, name: string): SippFiles {
  return {
    messages: join(dir, `${name}.messages.log`),
    errors: join(dir, `${name}.errors.log`),
    stats: join(dir, `${name}.stats.csv`),
  };
}

function commonArgs(o: SippCommon, files: SippFiles): string[] {
  const args = [
    "-sf",
    scenarioPath(o.scenario),
    "-i",
    LOOPBACK,
    "-bind_local",
    "-ci",
    LOOPBACK,
    "-p",
    String(o.port),
    "-t",
    o.transport === "udp" ? "u1" : "t1",
    "-nostdin",
    "-trace_msg",
    "-message_file",
    files.messages,
    "-trace_err",
    "-error_file",
    files.errors,
    "-trace_stat",
    "-stf",
    files.stats,
    "-fd",
    "1",
  ];
  for (const [k, v] of Object.entries(o.keys ?? {})) args.push("-key", k, v);
  args.push(...(o.extraArgs ?? []));
  return args;
}

/** Parse the last line of a -trace_stat CSV into cumulative counters. */
export function parseStatsCsv(text: string): SippStats | undefined {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = lines[0]?.split(";");
  const last = lines.length > 1 ? lines[lines.length - 1]?.split(";") : undefined;
  if (!header || !last) return undefined;
  const all: Record<string, string> = {};
  header.forEach((h, i) => {
    const m = /^(.*)\(C\)$/.exec(h.trim());
    if (m?.[1]) all[m[1]] = (last[i] ?? "").trim();
  });
  const num = (k: string): number => Number(all[k] ?? NaN);
  return {
    successful: num("SuccessfulCall"),
    failed: num("FailedCall"),
    created: num("OutgoingCall") + num("IncomingCall"),
    retransmissions: num("Retransmissions"),
    all,
  };
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "latin1");
  } catch {
    return "";
  }
}

async function collect(proc: ManagedProcess, files: SippFiles, exit: ExitStatus): Promise<SippResult> {
  return {
    exit,
    stats: parseStatsCsv(await readText(files.stats)),
    messages: await readSippTrace(files.messages),
    errors: await readText(files.errors),
    output: proc.tail(6000),
    files,
  };
}

/** Human summary of a sipp run for assertion messages. */
export function summarize(name: string, r: SippResult): string {
  const s = r.stats;
  const failures = s
    ? Object.entries(s.all)
        .filter(([k, v]) => k.startsWith("Failed") && k !== "FailedCall" && v !== "0")
        .map(([k, v]) => `${k}=${v}`)
        .join(" ")
    : "";
  return [
    `${name}: exit ${r.exit.signal ?? String(r.exit.code)}; ` +
      (s ? `successful=${s.successful} failed=${s.failed} retrans=${s.retransmissions} ${failures}` : "no statistics"),
    `trace: ${r.files.messages}`,
    r.errors ? `unexpected messages (first 3000 chars):\n${r.errors.slice(0, 3000)}` : "",
    `output tail:\n${r.output.slice(-2500)}`,
  ]
    .filter((x) => x !== "")
    .join("\n");
}

export class SippUas {
  readonly files: SippFiles;
  constructor(
    readonly opts: UasOptions,
    readonly proc: ManagedProcess,
  ) {
    this.files = filesFor(opts.dir, opts.name);
  }

  get port(): number {
    return this.opts.port;
  }

  /** The trace so far (sipp writes it as it goes). */
  messages(): Promise<TracedMessage[]> {
    return readSippTrace(this.files.messages);
  }

  /** SIGTERM (sipp exits at once, flushing its logs), SIGKILL after 5 s; then the collected result. */
  async stop(): Promise<SippResult> {
    const st = await this.proc.stop("SIGTERM", 5000);
    return collect(this.proc, this.files, st);
  }
}

/** Start a UAS and resolve once its SIP port is bound (read from /proc/net, bounded by 10 s). */
export async function startUas(o: UasOptions): Promise<SippUas> {
  const files = filesFor(o.dir, o.name);
  const lifetime = o.maxLifetimeMs ?? 120_000;
  // -aa: answer OPTIONS (and INFO/NOTIFY/UPDATE) outside the scenario with 200, as a real server answers the
  // gateway's health probes; without it every destination would look dead after two probe intervals.
  const args = [...commonArgs(o, files), "-aa", "-timeout", `${Math.ceil(lifetime / 1000)}s`];
  const proc = startProcess("sipp", args, { name: o.name, cwd: o.dir, maxLifetimeMs: lifetime + 5000 });
  const uas = new SippUas(o, proc);
  await waitUntil(
    `${o.name} (sipp pid ${proc.pid}) to bind ${o.transport}:${o.port}`,
    async () => {
      if (!proc.running) throw new Error(`${o.name} exited: ${proc.tail()}`);
      return isBound(o.transport, o.port);
    },
    10_000,
    20,
  );
  // A sipp that could not bind exits at once; the port being bound by someone else would be caught here.
  if (!proc.running) throw new Error(`${o.name} exited right after start:\n${proc.tail()}`);
  return uas;
}

export class SippUac {
  readonly files: SippFiles;
  constructor(
    readonly opts: UacOptions,
    readonly proc: ManagedProcess,
  ) {
    this.files = filesFor(opts.dir, opts.name);
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** sipp's default Call-ID for call number n (1-based): "%u-%p@%s". */
  callId(n: number): string {
    return `${n}-${this.proc.pid}@${LOOPBACK}`;
  }

  messages(): Promise<TracedMessage[]> {
    return readSippTrace(this.files.messages);
  }

  /** Wait for sipp to finish (bounded by its own -timeout plus a margin), then collect the result. */
  async result(): Promise<SippResult> {
    const timeoutMs = (this.opts.timeoutS ?? 60) * 1000 + 15_000;
    let st: ExitStatus;
    try {
      st = await this.proc.waitForExit(timeoutMs);
    } catch {
      st = await this.proc.stop("SIGTERM", 3000);
    }
    return collect(this.proc, this.files, st);
  }
}

export function startUac(o: UacOptions): SippUac {
  const files = filesFor(o.dir, o.name);
  const timeoutS = o.timeoutS ?? 60;
  const args = [
    `${o.target.host}:${o.target.port}`,
    ...commonArgs(o, files),
    "-m",
    String(o.calls),
    "-r",
    String(o.rate ?? 10),
    "-rp",
    String(o.ratePeriodMs ?? 1000),
    "-d",
    String(o.holdMs ?? 0),
    "-s",
    o.service ?? "service",
    "-timeout",
    `${timeoutS}s`,
    "-timeout_error",
  ];
  if (o.limit !== undefined) args.push("-l", String(o.limit));
  const proc = startProcess("sipp", args, { name: o.name, cwd: o.dir, maxLifetimeMs: timeoutS * 1000 + 20_000 });
  return new SippUac(o, proc);
}

/** Run a UAC to completion. */
export function runUac(o: UacOptions): Promise<SippResult> {
  return startUac(o).result();
}
