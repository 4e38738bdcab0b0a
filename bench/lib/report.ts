/**
 * RESULTS.md, results.json and chart.svg from one run.
 */
import { writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { StepResult } from "./step.ts";
import type { HoldResult } from "./hold.ts";
import { LABELS, type SystemName } from "./systems.ts";
import { renderChart, type ChartSeries } from "./chart.ts";
import { fmt, mb } from "./stats.ts";

export interface SystemStatus {
  readonly name: SystemName;
  readonly label: string;
  readonly status: "measured" | "skipped" | "broken";
  readonly note?: string;
}

export interface BenchRun {
  readonly meta: {
    readonly date: string;
    readonly commit: string;
    readonly dirty: boolean;
    /** Untracked paths in the working tree (not part of `dirty`); absent in runs before it was recorded. */
    readonly untracked?: readonly string[];
    readonly command: string;
    readonly mode: "full" | "quick" | "smoke" | "custom";
    readonly machine: { readonly cpus: number; readonly model: string; readonly memMb: number; readonly kernel: string };
    readonly versions: Readonly<Record<string, string>>;
    readonly sysctl: Readonly<Record<string, string>>;
    readonly rates: readonly number[];
    readonly durationS: number;
    readonly totalS: number;
    readonly stoppedEarly?: string;
  };
  readonly systems: readonly SystemStatus[];
  readonly verification: readonly StepResult[];
  readonly steps: readonly StepResult[];
  readonly direct: readonly StepResult[];
  readonly hold: readonly HoldResult[];
  /** `npm run bench:core` in the same run: the proxy core's own CPU per call (no sockets, no peers) */
  readonly core?: { readonly command: string; readonly usPerCall: number; readonly rounds: readonly number[] } | { readonly command: string; readonly error: string };
}

export interface Summary {
  readonly system: SystemName;
  readonly label: string;
  /** highest rate whose final attempt was clean with every lower rate clean; 0 if the first step was not clean */
  readonly maxClean: number;
  /** first rate that was not clean (after its retry), if any */
  readonly firstUnclean: number | undefined;
  readonly measured: boolean;
}

export const COLORS: Record<SystemName | "direct", string> = {
  kamailio: "#d62728",
  switchboard: "#1f77b4",
  "switchboard-redis": "#2ca02c",
  "switchboard-workers": "#9467bd",
  "switchboard-remote": "#ff7f0e",
  direct: "#7f7f7f",
};

/** The step that counts for (system, rate): the last attempt. */
export function finalSteps(steps: readonly StepResult[], system: SystemName): StepResult[] {
  const byRate = new Map<number, StepResult>();
  for (const s of steps) if (s.target === system) byRate.set(s.rate, s);
  return [...byRate.values()].sort((a, b) => a.rate - b.rate);
}

export function summarize(run: BenchRun): Summary[] {
  return run.systems.map((sys) => {
    const finals = finalSteps(run.steps, sys.name);
    let maxClean = 0;
    let firstUnclean: number | undefined;
    for (const s of finals) {
      if (s.clean && firstUnclean === undefined) maxClean = s.rate;
      else if (!s.clean && firstUnclean === undefined) firstUnclean = s.rate;
    }
    return { system: sys.name, label: sys.label, maxClean, firstUnclean, measured: finals.length > 0 };
  });
}

function stepAt(run: BenchRun, system: SystemName, rate: number): StepResult | undefined {
  return finalSteps(run.steps, system).find((s) => s.rate === rate);
}

function ms(v: number): string {
  return Number.isFinite(v) ? String(v) : "–";
}

/** A wire figure (ms, µs-resolution source): two decimals under 10 ms, one under 100, whole above. */
export function wms(v: number): string {
  if (!Number.isFinite(v)) return "–";
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
}

/** The step's INVITE→200 p99 in ms: measured on the wire when the step was captured, else sipp's. */
export function p99Of(s: StepResult): number {
  return s.wire ? s.wire.invite.p99 : s.invite.p99;
}

/** {@link p99Of} as text, at the precision of its source. */
function p99Text(s: StepResult): string {
  return s.wire ? wms(p99Of(s)) : ms(p99Of(s));
}

function latency(s: StepResult, which: "invite" | "bye"): string {
  const w = s.wire?.[which];
  if (w && w.n > 0) return `${wms(w.p50)} / ${wms(w.p99)} / ${wms(w.max)}`;
  const d = s[which];
  return `${ms(d.p50)} / ${ms(d.p99)} / ${ms(d.max)} (sipp)`;
}

function stepRow(s: StepResult): string {
  const ret = `${s.retransmissions.caller}/${s.retransmissions.destinations}`;
  const cpu = s.target === "direct" ? "–" : `${fmt(s.cpu.balancerPct)}${s.cpu.storePct > 0.5 ? ` + ${fmt(s.cpu.storePct)}` : ""}`;
  const per = s.target === "direct" ? "–" : fmt(s.cpu.usPerCall);
  const mem = s.target === "direct" ? "–" : `${mb(s.memory.pssKbEnd, 0)} / ${mb(s.memory.pssKbPeak, 0)}`;
  return (
    `| ${s.label}${s.attempt > 1 ? " (retry)" : ""} | ${fmt(s.rate)} | ${fmt(s.calls.achievedRate)} | ${fmt(s.calls.attempted)} | ${fmt(s.calls.succeeded)} | ${fmt(s.calls.failed)} | ${ret} ` +
    `| ${latency(s, "invite")} | ${latency(s, "bye")} | ${s.wire ? `${wms(s.wire.inviteBalancer.p50)} / ${wms(s.wire.inviteBalancer.p99)}` : "–"} | ${ms(s.invite.p99)} / ${ms(s.bye.p99)} ` +
    `| ${cpu} | ${per} | ${mem} | ${fmt(s.udp.socketDrops)} / ${fmt(s.udp.rcvbufErrors)} | ${fmt(s.cpu.otherPct)} | ${s.clean ? "✔" : `✘ ${s.problems.join("; ")}`}${s.unexpected.lateProvisional > 0 ? ` (${fmt(s.unexpected.lateProvisional)} late 180s ignored)` : ""} |`
  );
}

const STEP_HEADER = [
  "| system | offered /s | placed /s | attempted | succeeded | failed | retrans (caller/dest.) | INVITE→200 ms p50 / p99 / max | BYE→200 ms p50 / p99 / max | balancer's share of INVITE→200 ms p50 / p99 | sipp's own p99 INVITE / BYE (ms ticks) | balancer CPU % of a core | CPU µs per call | PSS MB end / peak | UDP drops (socket / system) | other load % | clean |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
];

export function chartSeries(run: BenchRun): ChartSeries[] {
  const series: ChartSeries[] = run.systems
    .filter((s) => s.status === "measured")
    .map((s) => ({
      label: s.label,
      color: COLORS[s.name],
      points: finalSteps(run.steps, s.name).map((p) => ({ rate: p.rate, p99: p99Of(p), clean: p.clean })),
    }));
  if (run.direct.length > 0) {
    series.push({
      label: LABELS.direct,
      color: COLORS.direct,
      dashed: true,
      points: run.direct.map((p) => ({ rate: p.rate, p99: p99Of(p), clean: p.clean })),
    });
  }
  return series;
}

/**
 * INVITE→200 p99 of every system at every rate, with switchboard's as a multiple of Kamailio's at the same rate
 * (the issue's bar: at most 2×), where both steps were clean.
 */
function latencyTable(run: BenchRun): string[] {
  const measured = run.systems.filter((s) => s.status === "measured");
  const rates = [...new Set(run.steps.map((s) => s.rate))].sort((a, b) => a - b);
  if (measured.length === 0 || rates.length === 0) return [];
  const wire = run.steps.some((s) => s.wire);
  const out = [
    `INVITE→200 p99 (ms) at each rate${wire ? ", measured on the wire (µs timestamps of a loopback capture; see below)" : ""}; ` +
      "for switchboard, × Kamailio's p99 at the same rate where both steps were clean; ✘ = the step was not clean.",
    "",
    `| system | ${rates.map((r) => `${fmt(r)}/s`).join(" | ")} |`,
    `| --- | ${rates.map(() => "---:").join(" | ")} |`,
  ];
  for (const sys of measured) {
    const cells = rates.map((rate) => {
      const st = stepAt(run, sys.name, rate);
      if (!st) return "–";
      const v = p99Of(st);
      const text = p99Text(st);
      if (!st.clean) return `${text} ✘`;
      const k = sys.name === "kamailio" ? undefined : stepAt(run, "kamailio", rate);
      const kv = k && k.clean ? p99Of(k) : NaN;
      return Number.isFinite(kv) && kv > 0 ? `${text} (${(v / kv).toFixed(1)}×)` : text;
    });
    out.push(`| ${sys.label} | ${cells.join(" | ")} |`);
  }
  return out;
}

function kb(bytes: number): string {
  return Number.isFinite(bytes) ? fmt(bytes / 1024, 1) : "–";
}

export function renderMarkdown(run: BenchRun, chartFile: string): string {
  const m = run.meta;
  const sums = summarize(run);
  const kam = sums.find((s) => s.system === "kamailio");
  const out: string[] = [];
  out.push("# switchboard benchmark results", "");
  out.push(
    `Generated by \`bench/run.ts\` on ${m.date}. Re-run with \`npm run bench\` (about 25 minutes; \`npm run bench -- --quick\` for a 4–5 minute run); it rewrites this file, \`results.json\` and \`${chartFile}\`.`,
    "",
  );
  out.push("| | |", "| --- | --- |");
  out.push(`| command | \`${m.command}\` (mode: ${m.mode}) |`);
  const untracked = m.untracked?.length ? `untracked in the working tree: ${m.untracked.join(", ")}` : "";
  const tree = m.dirty ? `working tree had uncommitted changes${untracked ? `; ${untracked}` : ""}` : untracked;
  out.push(`| commit | \`${m.commit}\`${tree ? ` (${tree})` : ""} |`);
  out.push(`| machine | ${m.machine.cpus} × ${m.machine.model}, ${fmt(m.machine.memMb)} MB RAM, Linux ${m.machine.kernel} |`);
  out.push(`| software | ${Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join("; ")} |`);
  out.push(`| UDP buffers | ${Object.entries(m.sysctl).map(([k, v]) => `${k} = ${v}`).join(", ")} (not changed by the harness) |`);
  out.push(`| steps | ${m.rates.map((r) => fmt(r)).join(", ")} calls/s, ${m.durationS} s each, calls with no hold time (BYE right after the ACK) |`);
  out.push(`| duration | ${fmt(m.totalS / 60, 1)} minutes${m.stoppedEarly ? `; stopped early: ${m.stoppedEarly}` : ""} |`);
  out.push("");

  out.push("## Summary", "");
  out.push(
    "| system | max clean rate (calls/s) | vs Kamailio | INVITE→200 p99 at 1,000/s | at 3,000/s | CPU per call at 1,000/s | memory per dialog, 5,000 held | 20,000 held |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const s of sums) {
    const st = run.systems.find((x) => x.name === s.system);
    if (st?.status !== "measured") {
      out.push(`| ${s.label} | ${st?.status ?? "?"}${st?.note ? `: ${st.note}` : ""} | | | | | | |`);
      continue;
    }
    const a = stepAt(run, s.system, 1000);
    const b = stepAt(run, s.system, 3000);
    const h5 = run.hold.find((h) => h.system === s.system && h.target === 5000);
    const h20 = run.hold.find((h) => h.system === s.system && h.target === 20000);
    const holdCell = (h: HoldResult | undefined): string => {
      if (!h) return "–";
      if (h.error) return "error";
      const store = Number.isFinite(h.storeBytesPerDialog) && h.plateau.storePssKb > 0 ? ` + ${kb(h.storeBytesPerDialog)} KB redis` : "";
      const prev = run.hold.filter((x) => x.system === h.system && x.target < h.target && !x.error).at(-1);
      const marginal =
        prev && h.concurrent > prev.concurrent ? ` (marginal ${kb(((h.plateau.pssKb - prev.plateau.pssKb) * 1024) / (h.concurrent - prev.concurrent))} KB)` : "";
      return `${kb(h.bytesPerDialog)} KB${marginal}${store}`;
    };
    const ratio =
      kam && kam.maxClean > 0 && s.system !== "kamailio" ? `${((s.maxClean / kam.maxClean) * 100).toFixed(0)}%` : s.system === "kamailio" ? "100%" : "–";
    const maxCell =
      s.maxClean > 0 ? `${fmt(s.maxClean)}${s.firstUnclean === undefined ? "+ (never unclean)" : ""}` : `< ${fmt(s.firstUnclean ?? 0)}`;
    const p99 = (x: StepResult | undefined): string => (x ? `${p99Text(x)} ms${x.clean ? "" : " (not clean)"}` : "–");
    out.push(
      `| ${s.label} | ${maxCell} | ${ratio} | ${p99(a)} | ${p99(b)} | ${a ? `${fmt(a.cpu.usPerCall)} µs` : "–"} | ${holdCell(h5)} | ${holdCell(h20)} |`,
    );
  }
  out.push("");
  out.push(
    "A step is **clean** when every planned call was placed and succeeded with 0 failed calls and 0 retransmissions " +
      "at the caller and at both destinations. *Max clean rate* is the highest step that was clean with every lower step clean; " +
      "an unclean step is run once more right away and only the second attempt counts (both are listed below), and a system stops climbing after its first unclean step. " +
      "`+` means the system was still clean at the highest step offered. Memory per dialog is (memory with N calls up − memory before) ÷ N; " +
      "*marginal* is the growth from 5,000 to 20,000 calls ÷ 15,000, which is less sensitive to a garbage-collected heap's slack " +
      "or an allocator's first pages at the baseline (see the hold test below).",
    "",
  );
  out.push(...latencyTable(run), "");
  out.push(`![offered load against INVITE→200 p99](${chartFile})`, "");

  if (run.core) {
    out.push("## The proxy core alone", "");
    if ("error" in run.core) {
      out.push(`\`${run.core.command}\` failed in this run: ${run.core.error}`, "");
    } else {
      const own = run.core.usPerCall;
      const at = (rate: number): StepResult | undefined => stepAt(run, "switchboard", rate);
      const seen = [1000, 2000].map((r) => at(r)).filter((x): x is StepResult => x !== undefined && x.clean);
      out.push(
        `\`${run.core.command}\` in this run (bench/core.ts: the core the gateway builds, driven in-process with the same call as the ` +
          `sipp scenarios, no sockets): **${fmt(own)} µs of CPU per call** for switchboard's own code (rounds: ${run.core.rounds.map((r) => fmt(r)).join(", ")} µs). ` +
          (seen.length > 0
            ? `The in-process gateway spent ${seen.map((x) => `${fmt(x.cpu.usPerCall)} µs per call at ${fmt(x.rate)}/s`).join(" and ")}: ` +
              `the difference is Node's event loop and UDP socket layer and the kernel's loopback path, where each of the 7 datagrams a call sends ` +
              "also runs the receiving side's network stack and wakes the sipp process waiting for it."
            : ""),
        "",
      );
    }
  }

  out.push("## Steps", "");
  out.push("In the order they ran (the systems take turns at each rate, the order rotating from one rate to the next).", "");
  out.push(...STEP_HEADER);
  for (const s of run.steps) out.push(stepRow(s));
  out.push("");

  if (run.direct.length > 0) {
    out.push("## Load tool baseline", "");
    out.push("sipp caller straight to one sipp destination (no balancer): if this is not clean, the load tool is the limit at that rate.", "");
    out.push(...STEP_HEADER);
    for (const s of run.direct) out.push(stepRow(s));
    out.push("");
  }

  if (run.verification.length > 0) {
    out.push("## Verification", "");
    out.push("Before measuring, each system carried a short run that had to be clean (0 failed calls), or the system was left out.", "");
    out.push(...STEP_HEADER);
    for (const s of run.verification) out.push(stepRow(s));
    out.push("");
  }

  if (run.hold.length > 0) {
    out.push("## Memory per concurrent dialog (hold test)", "");
    out.push(
      "Each system freshly started and warmed up with 500 short calls; memory read (before); then calls placed at the rate shown and held, " +
        "up to the first target, then topped up to the next. At each target, after *settle* seconds without new calls (35 s is past 64×T1, " +
        "so finished transactions are gone and what remains is dialog state), memory is read again. " +
        "Per dialog = (PSS at the plateau − PSS before) ÷ calls up; *marginal* = growth from the previous target to this one ÷ the calls added " +
        "(less sensitive to a garbage-collected heap's slack at the baseline). PSS = proportional set size summed over the balancer's processes " +
        "(Kamailio: main process and every worker, so its shared memory is counted once). switchboard's processes (gateway; in remote mode " +
        "also the route function) run in the hold test with the inspector on a loopback port, and every reading of them follows a full GC " +
        "forced through it (`HeapProfiler.collectGarbage`), so both readings are live data rather than whatever garbage the heap held; " +
        "in the workers variant only the main thread's heap is collected.",
      "",
    );
    out.push(
      "| system | calls held | rate /s | settle s | calls up at the plateau | failed | PSS before → plateau (MB) | per dialog | marginal per dialog | store (redis-server PSS) before → plateau (MB) | store per dialog | notes |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    );
    for (const h of run.hold) {
      const notes: string[] = [];
      if (h.error) notes.push(h.error);
      const e0 = h.baseline.extra;
      const e1 = h.plateau.extra;
      if (e1.shmRealUsedBytes !== undefined && e0.shmRealUsedBytes !== undefined && h.concurrent > 0) {
        notes.push(`shm real_used ${mb(e0.shmRealUsedBytes / 1024)} → ${mb(e1.shmRealUsedBytes / 1024)} MB (${kb((e1.shmRealUsedBytes - e0.shmRealUsedBytes) / h.concurrent)} KB per dialog)`);
      }
      if (e1.activeDialogs !== undefined) notes.push(`dlg.stats_active ${fmt(e1.activeDialogs)}`);
      if (e0.forcedGc === 1 && e1.forcedGc === 1) notes.push("read after a forced full GC");
      else if (e0.forcedGc === 0 || e1.forcedGc === 0) notes.push("the forced GC failed: garbage included in a reading");
      if (e1.redisUsedMemoryBytes !== undefined && e0.redisUsedMemoryBytes !== undefined && h.concurrent > 0) {
        notes.push(
          `redis used_memory ${mb(e0.redisUsedMemoryBytes / 1024)} → ${mb(e1.redisUsedMemoryBytes / 1024)} MB (${kb((e1.redisUsedMemoryBytes - e0.redisUsedMemoryBytes) / h.concurrent)} KB per dialog), ${fmt(e1.redisKeys)} keys`,
        );
      }
      const store = h.plateau.storePssKb > 0;
      const prev = run.hold.filter((x) => x.system === h.system && x.target < h.target && !x.error).at(-1);
      const marginal =
        prev && !h.error && h.concurrent > prev.concurrent
          ? `${kb(((h.plateau.pssKb - prev.plateau.pssKb) * 1024) / (h.concurrent - prev.concurrent))} KB`
          : "–";
      out.push(
        `| ${h.label} | ${fmt(h.target)} | ${fmt(h.rate)} | ${fmt(h.settleS)} | ${fmt(h.concurrent)} | ${fmt(h.failed)} | ${mb(h.baseline.pssKb)} → ${mb(h.plateau.pssKb)} | ${h.error ? "–" : `${kb(h.bytesPerDialog)} KB`} | ${marginal} ` +
          `| ${store ? `${mb(h.baseline.storePssKb)} → ${mb(h.plateau.storePssKb)}` : "–"} | ${store ? `${kb(h.storeBytesPerDialog)} KB` : "–"} | ${notes.join("; ")} |`,
      );
    }
    out.push("");
  }

  // sipp's clock granularity, seen in the figures themselves: the gcd of every non-zero response time reported
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const tick = [...run.steps, ...run.direct, ...run.verification]
    .flatMap((x) => [x.invite.p50, x.invite.p99, x.invite.max, x.bye.p50, x.bye.p99, x.bye.max])
    .filter((v) => Number.isInteger(v) && v > 0)
    .reduce((g, v) => gcd(v, g), 0);
  out.push("## How each figure is measured", "");
  out.push(
    "- **Setup.** Everything on 127.0.0.1 over UDP, on free ports, started and stopped by PID by the harness. Each system has its own two sipp " +
      "destinations (`bench/scenarios/uas.xml`: 180, 200, then ACK and BYE accepted in either order; OPTIONS answered 200, since switchboard " +
      "probes its destinations), running for the whole run, and its own caller port, so that a balancer still retransmitting after an " +
      "overloaded step cannot disturb another system's step (and a system's next step waits 35 s, past 64×T1, after an unclean one). " +
      "The caller (`bench/scenarios/uac.xml`) stores the 200's Record-Route and sends ACK and BYE to the callee's Contact with that route " +
      "set, i.e. back through the balancer. Kamailio runs `bench/kamailio.cfg` (tm, rr with loose_route, dialog with `dlg_manage`, " +
      "dispatcher round robin (algorithm 4), failure_route with `ds_next_dst` on 5xx/408; 2 UDP workers, `-m 512 -M 16`); switchboard runs " +
      `\`${m.versions["switchboard gateway"] ?? "node --import tsx src/gateway/main.ts start"}\` with \`SWITCHBOARD_LOG_LEVEL=warn\`, UDP only, its default timers, and for the Redis ` +
      "variant `SWITCHBOARD_REDIS_URL` naming a redis-server the harness started (no persistence); the remote variant adds the route " +
      "function as its own HTTP service (`functions/entry/node.ts`, on the same redis-server) and `SWITCHBOARD_ROUTE_URL` pointing at it, " +
      "and a step of it where any decision fell back in-process is not clean. Before each step the harness waits " +
      "(up to 20 s) for the balancer to be idle and the machine quiet.",
    "- **Calls attempted / succeeded / failed, retransmissions**: sipp's cumulative counters (`-trace_stat`, last row) — " +
      "`OutgoingCall`, `SuccessfulCall`, `FailedCall`, `Retransmissions` — of the caller, plus `Retransmissions` and `FailedCall` of both " +
      "destinations. A call fails when its next expected message does not come within 10 s (`-recv_timeout`). *placed /s* is the rate sipp " +
      "actually achieved (`CallRate(C)` before the last call). The caller carries on after an unexpected message " +
      "(`-default_behaviors all,-abortunexp`) and the harness classifies sipp's log of them: a 180 arriving after its 200 (Kamailio's " +
      "workers can forward the two in either order; a real UA ignores it) is counted and shown, anything else makes the step unclean.",
    "- **INVITE→200, BYE→200 (on the wire)**: tcpdump (Debian's) captures the step's UDP datagrams on `lo`, filtered in the kernel to the " +
      "caller's and the two destinations' ports, and the harness reads the pcap (`bench/lib/pcap.ts`, `wire-latency.ts`): per call, from the " +
      "kernel timestamp of the request's first transmission by the caller to the first 200 the balancer sent back to it, in microseconds. " +
      "*Balancer's share* = (request reaching a destination − request leaving the caller) + (200 reaching the caller − the destination's 200): " +
      "the time both messages spent inside the balancer, without the destination's own time. p50/p99 are nearest-rank percentiles over " +
      "all calls of the step. tcpdump's CPU is counted apart (not in the balancer's, not in sipp's), and every system's steps are captured alike.",
    "- **sipp's own p99**: sipp's response-time counters (`start_rtd`/`rtd` 1 and 2 in `uac.xml`), every call's value written by `-trace_rtt`. " +
      `sipp counts whole ticks of its main loop${tick > 1 ? `, which advanced in ${tick} ms steps on this machine (every value is a multiple of ${tick}), so 0 means under ${tick} ms` : ", so 0 means under 1 ms"}: ` +
      "too coarse to compare balancers whose p99 is a few milliseconds, hence the capture; it is shown as a cross-check.",
    "- **Balancer CPU**: utime + stime from `/proc/PID/stat`, summed over the balancer's process tree (Kamailio: main process and workers), " +
      "delta over the caller's run, as % of one core; *CPU µs per call* = that CPU time (plus redis-server's for the Redis variant) ÷ successful calls. " +
      "The Redis variant's column shows gateway + redis-server; the remote variant's balancer is the gateway and the route function's service.",
    "- **Memory**: PSS from `/proc/PID/smaps_rollup`, summed over the balancer's process tree, at the end of the step and its peak " +
      "(sampled every second).",
    "- **UDP drops**: *socket* = the `drops` column of `/proc/net/udp` for the balancer's socket (for the baseline, the destination's); " +
      "*system* = delta of `Udp: RcvbufErrors` in `/proc/net/snmp`, machine-wide (sipp's sockets included). Buffers are the kernel defaults above.",
    "- **Other load**: user + nice + system time of the whole machine (`/proc/stat`) minus the CPU of the balancer, redis-server, the three " +
      "sipp processes and the harness, as % of one core. It shows how busy the machine was with anything else during the step " +
      "(other work sharing the machine, kernel time not charged to a process); large values mean that step's figures are pessimistic.",
    "",
  );

  const notes = observations(run, sums);
  if (notes.length > 0) {
    out.push("## Observations (computed from this run)", "");
    for (const n of notes) out.push(`- ${n}`);
    out.push("");
  }
  return `${out.join("\n")}\n`;
}

function observations(run: BenchRun, sums: readonly Summary[]): string[] {
  const notes: string[] = [];
  const kam = sums.find((s) => s.system === "kamailio" && s.measured);
  for (const s of sums) {
    if (!s.measured) continue;
    const finals = finalSteps(run.steps, s.system);
    const bad = finals.find((f) => !f.clean);
    const good = finals.filter((f) => f.clean).at(-1);
    if (good) {
      notes.push(
        `${s.label}: clean up to ${fmt(good.rate)}/s (p99 INVITE→200 ${p99Text(good)} ms, balancer CPU ${fmt(good.cpu.balancerPct)}% of a core, ${fmt(good.cpu.usPerCall)} µs per call).`,
      );
    }
    if (bad) {
      const why = bad.problems.join("; ");
      notes.push(
        `${s.label} at ${fmt(bad.rate)}/s: ${why}; balancer CPU ${fmt(bad.cpu.balancerPct)}% of a core${bad.cpu.storePct > 0.5 ? ` + redis ${fmt(bad.cpu.storePct)}%` : ""}, ` +
          `machine ${fmt(bad.cpu.machinePct)}% of ${run.meta.machine.cpus * 100}%, UDP drops at its socket ${fmt(bad.udp.socketDrops)}.` +
          (s.system !== "kamailio" && s.system !== "switchboard-workers" && s.system !== "switchboard-remote" && bad.cpu.balancerPct >= 85
            ? " The gateway is one Node.js process (one JavaScript thread), so about 100% of one core is its ceiling: it is CPU-bound here."
            : s.system === "switchboard-workers" && bad.cpu.machinePct >= 140
              ? ` Its threads and the three sipp processes had ${fmt(bad.cpu.machinePct)}% of the machine's ${run.meta.machine.cpus * 100}% busy between them.`
              : ""),
      );
    }
    if (kam && s.system !== "kamailio" && kam.maxClean > 0) {
      notes.push(`${s.label}: max clean rate ${fmt(s.maxClean)}/s = ${((s.maxClean / kam.maxClean) * 100).toFixed(0)}% of Kamailio's ${fmt(kam.maxClean)}/s on this machine.`);
    }
  }
  const top = run.direct.at(-1);
  if (top) {
    notes.push(
      `Load tool: sipp straight to a destination at ${fmt(top.rate)}/s was ${top.clean ? "clean" : `not clean (${top.problems.join("; ")})`}` +
        ` (INVITE→200 p99 ${p99Text(top)} ms), so ${top.clean ? "the caller and destinations are not what limits the balancers at these rates" : "the load tool itself is a limit at that rate"}.`,
    );
  }
  const noisy = [...run.steps].filter((s) => s.cpu.otherPct > 25);
  if (noisy.length > 0) {
    notes.push(
      `${noisy.length} step(s) ran while more than 25% of a core went to other work (see *other load*): ${noisy
        .slice(0, 6)
        .map((s) => `${s.label} @ ${fmt(s.rate)}/s ${fmt(s.cpu.otherPct)}%`)
        .join(", ")}${noisy.length > 6 ? ", …" : ""}.`,
    );
  }
  return notes;
}

export async function writeReport(run: BenchRun, outDir: string): Promise<{ md: string; json: string; svg: string }> {
  await mkdir(outDir, { recursive: true });
  const svgName = "chart.svg";
  const files = { md: join(outDir, "RESULTS.md"), json: join(outDir, "results.json"), svg: join(outDir, svgName) };
  const sums = summarize(run);
  const kam = sums.find((s) => s.system === "kamailio");
  const sb = sums.find((s) => s.system === "switchboard");
  const subtitle =
    `${run.meta.machine.cpus} × ${run.meta.machine.model}, ${run.meta.date.slice(0, 10)}, commit ${run.meta.commit.slice(0, 10)}` +
    (kam?.measured && sb?.measured && kam.maxClean > 0 ? ` — max clean: switchboard ${fmt(sb.maxClean)}/s, Kamailio ${fmt(kam.maxClean)}/s` : "");
  await writeFile(files.svg, renderChart(chartSeries(run), "SIP balancers: offered load vs INVITE→200 p99", subtitle));
  await writeFile(files.md, renderMarkdown(run, svgName));
  await writeFile(files.json, `${JSON.stringify({ ...run, summary: sums }, null, 2)}\n`);
  return files;
}
