/**
 * One load step: a fresh pair of sipp destinations, one sipp caller placing RATE short calls per second for
 * DURATION seconds through the system (or straight to destination A for the `direct` baseline), and what the step
 * cost, read from /proc around it.
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { System, SystemName } from "./systems.ts";
import { LABELS } from "./systems.ts";
import { startUac, type StatRow, type Uas } from "./sipp.ts";
import { distribution, type Distribution } from "./stats.ts";
import { Capture, findTcpdump } from "./capture.ts";
import {
  CLK_TCK,
  cpuTicks,
  machineCpu,
  memoryOf,
  udpCounters,
  udpSocketDrops,
  type MachineCpu,
  type UdpCounters,
} from "./procfs.ts";

export type Target = SystemName | "direct";

export interface StepSpec {
  readonly target: Target;
  readonly rate: number;
  readonly durationS: number;
  /** 1, or 2 for the confirmation run of an unclean step */
  readonly attempt: number;
  /** -d of the calls (ms), 0 = BYE right after the ACK */
  readonly holdMs?: number;
}

export interface StepResult {
  readonly target: Target;
  readonly label: string;
  readonly rate: number;
  readonly durationS: number;
  readonly attempt: number;
  readonly startedAt: string;
  readonly wallS: number;
  readonly calls: {
    readonly planned: number;
    readonly attempted: number;
    readonly succeeded: number;
    readonly failed: number;
    /** calls per second sipp actually placed (CallRate(C) of its last statistics row before the last call) */
    readonly achievedRate: number;
  };
  /** non-zero Failed* counters of the caller */
  readonly failures: Readonly<Record<string, number>>;
  readonly retransmissions: { readonly caller: number; readonly destinations: number };
  readonly destinations: { readonly received: number; readonly failed: number; readonly outOfCall: number };
  /** messages the caller did not expect and carried on after: 1xx overtaken by the 200 (harmless), others */
  readonly unexpected: { readonly lateProvisional: number; readonly other: number };
  /** INVITE → 200 and BYE → 200 at the caller, ms (sipp's clock: 1 ms resolution) */
  readonly invite: Distribution;
  readonly bye: Distribution;
  /**
   * The same response times measured on the wire (a tcpdump capture of the caller's and destinations' ports, µs
   * timestamps), ms, with the balancer's own share of each (see wire-latency.ts); absent when tcpdump is missing.
   */
  readonly wire?: {
    readonly invite: Distribution;
    readonly bye: Distribution;
    readonly inviteBalancer: Distribution;
    readonly byeBalancer: Distribution;
    readonly calls: number;
    readonly packets: number;
    /** packets the capture lost (kernel buffer overflow); the figures miss those calls */
    readonly dropped: number;
    /** tcpdump's CPU, % of one core */
    readonly capturePct: number;
  };
  readonly cpu: {
    /** balancer process tree, % of one core over the caller's run */
    readonly balancerPct: number;
    /** redis-server, % of one core */
    readonly storePct: number;
    /** (balancer + store) CPU time per successful call, µs */
    readonly usPerCall: number;
    readonly balancerUsPerCall: number;
    /** the three sipp processes, % of one core */
    readonly sippPct: number;
    /** whole machine busy (user+nice+system+irq+softirq), % of one core (max = 100 × cores) */
    readonly machinePct: number;
    /** user+nice+system time not accounted to our processes: other sessions, kernel work; % of one core */
    readonly otherPct: number;
    readonly stealPct: number;
  };
  readonly memory: {
    /** balancer tree PSS at the end of the step and its peak during the step, kB */
    readonly pssKbEnd: number;
    readonly pssKbPeak: number;
    readonly rssKbEnd: number;
    readonly storePssKbEnd: number;
  };
  readonly udp: {
    /** drops of the balancer's (direct: destination A's) socket, /proc/net/udp */
    readonly socketDrops: number;
    /** system-wide Udp RcvbufErrors delta, /proc/net/snmp */
    readonly rcvbufErrors: number;
    readonly inErrors: number;
  };
  /** remote mode: route decisions the function answered during the step, and those decided in-process instead */
  readonly route?: { readonly remote: number; readonly fallback: number };
  readonly clean: boolean;
  /** why the step is not clean */
  readonly problems: readonly string[];
  readonly exitCode: number | null;
  readonly dir: string;
}

export interface StepContext {
  readonly workDir: string;
  readonly index: number;
  readonly system: System | undefined;
  /** the system's two destinations, running for the whole run */
  readonly uas: readonly [Uas, Uas];
  readonly uacPort: number;
  readonly log: (line: string) => void;
  /** absolute deadline (ms epoch) after which the step is cut short */
  readonly deadline: number;
  /** how long to wait for the machine to be quiet before the step (default 20 s) */
  readonly quietWaitMs?: number;
  /** capture the step's packets for wire response times (default: when tcpdump is installed) */
  readonly capture?: boolean;
  /** keep the step's capture file (capture.pcap in the step's folder) */
  readonly keepCapture?: boolean;
}

async function selfChildTicks(): Promise<{ self: number; children: number }> {
  const t = await readFile("/proc/self/stat", "utf8");
  const rest = t.slice(t.lastIndexOf(")") + 2).split(" ");
  return { self: Number(rest[11]) + Number(rest[12]), children: Number(rest[13]) + Number(rest[14]) };
}

const busy = (c: MachineCpu): number => c.user + c.nice + c.system + c.irq + c.softirq;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Before a step: wait until the balancer is idle (< 5% of a core) and the machine as a whole is quiet (< 25% of a
 * core busy: other work sharing the machine would skew the step), each judged over 500 ms, at most maxMs. Returns
 * whether it got quiet.
 */
export async function coolDown(system: System | undefined, maxMs = 20_000): Promise<boolean> {
  const until = Date.now() + maxMs;
  while (Date.now() < until) {
    const pids = system ? [...(await system.pids()), ...(await system.storePids())] : [];
    const a = await cpuTicks(pids);
    const ma = await machineCpu();
    await sleep(500);
    const b = await cpuTicks(pids);
    const mb = await machineCpu();
    const balancerPct = ((b - a) / CLK_TCK / 0.5) * 100;
    const machinePct = ((busy(mb) - busy(ma)) / CLK_TCK / 0.5) * 100;
    if (balancerPct < 5 && machinePct < 25) return true;
  }
  return false;
}

function lastBefore(rows: readonly StatRow[], calls: number): number {
  let rate = NaN;
  for (const r of rows) {
    if ((r.c.OutgoingCall ?? 0) < calls) rate = r.c.CallRate ?? rate;
  }
  return rate;
}

/**
 * A step that gates what follows (a verification run, a hold test's warm-up): attempt 1 and, when it was not clean,
 * attempt 2, the rule for unclean rate steps. The first pass may be what warms up a freshly started route function
 * (remote mode: a cold one missed its deadline on 31 of 500 warm-up calls once). `last` decides; `attempts` lists
 * both for the report.
 */
export async function runGate(
  run: (attempt: number) => Promise<StepResult>,
  onRetry: (first: StepResult) => void,
): Promise<{ readonly last: StepResult; readonly attempts: readonly StepResult[] }> {
  const first = await run(1);
  if (first.clean) return { last: first, attempts: [first] };
  onRetry(first);
  const second = await run(2);
  return { last: second, attempts: [first, second] };
}

export async function runStep(spec: StepSpec, ctx: StepContext): Promise<StepResult> {
  const label = LABELS[spec.target];
  const name = `${String(ctx.index).padStart(2, "0")}-${spec.target}-${spec.rate}${spec.attempt > 1 ? `-retry${spec.attempt - 1}` : ""}`;
  const dir = join(ctx.workDir, "steps", name);
  await mkdir(dir, { recursive: true });
  const quietWaitMs = ctx.quietWaitMs ?? 20_000;
  const quiet = await coolDown(ctx.system, quietWaitMs);
  if (!quiet) ctx.log(`  the machine did not get quiet within ${quietWaitMs / 1000} s (other work is running): measuring anyway`);

  const uas = ctx.uas;
  for (const u of uas) if (!u.proc.running) throw new Error(`destination ${u.name} is not running:\n${u.proc.tail(2000)}`);
  const uasBefore = await Promise.all(uas.map((u) => u.lastStats()));

  const planned = Math.max(1, Math.round(spec.rate * spec.durationS));
  const target = spec.target === "direct" ? (uas[0].port) : (ctx.system?.port ?? 0);
  const balancerPids = async (): Promise<number[]> => (ctx.system ? ctx.system.pids() : []);
  const storePids = async (): Promise<number[]> => (ctx.system ? ctx.system.storePids() : []);

  const t0 = Date.now();
  const cpu0 = { bal: await cpuTicks(await balancerPids()), store: await cpuTicks(await storePids()) };
  const m0 = await machineCpu();
  const u0: UdpCounters = await udpCounters();
  const d0 = await udpSocketDrops(target);
  const me0 = await selfChildTicks();
  const route0 = await ctx.system?.routeDecisions?.();

  const timeoutS = Math.ceil(spec.durationS * 3 + 40);
  const capture =
    (ctx.capture ?? true) && findTcpdump() !== null
      ? await Capture.start(join(dir, "capture.pcap"), ctx.uacPort, uas.map((u) => u.port), timeoutS * 1000 + 60_000)
      : undefined;
  const capCpu0 = capture ? await cpuTicks([capture.proc.pid]) : 0;
  const uac = startUac({
    dir,
    name: "uac",
    port: ctx.uacPort,
    target,
    calls: planned,
    rate: spec.rate,
    limit: Math.max(200, spec.rate * 4),
    holdMs: spec.holdMs ?? 0,
    timeoutS,
    recvTimeoutMs: 10_000,
  });

  // progress and peak memory while the caller runs (bounded by its own timeout and the run's deadline)
  let peakPss = 0;
  let lastPrint = 0;
  let prevTicks = cpu0.bal;
  let prevAt = t0;
  let cutShort = false;
  while (uac.proc.running) {
    await Promise.race([uac.proc.exited, sleep(1000)]);
    if (!uac.proc.running) break;
    const pids = await balancerPids();
    const mem = await memoryOf(pids);
    peakPss = Math.max(peakPss, mem.pssKb);
    const now = Date.now();
    if (now - lastPrint >= 2000) {
      const ticks = await cpuTicks(pids);
      const pct = ((ticks - prevTicks) / CLK_TCK / ((now - prevAt) / 1000)) * 100;
      prevTicks = ticks;
      prevAt = now;
      lastPrint = now;
      const row = (await uac.rows()).at(-1);
      const c = row?.c ?? {};
      ctx.log(
        `  ${label} @ ${spec.rate}/s: ${((now - t0) / 1000).toFixed(0)} s, calls ${c.OutgoingCall ?? 0}/${planned}, ` +
          `ok ${c.SuccessfulCall ?? 0}, failed ${c.FailedCall ?? 0}, retrans ${c.Retransmissions ?? 0}, ` +
          `in progress ${c.CurrentCall ?? 0}` +
          (ctx.system ? `, balancer CPU ${pct.toFixed(0)}%, PSS ${(mem.pssKb / 1024).toFixed(0)} MB` : ""),
      );
    }
    if (now > ctx.deadline) {
      ctx.log(`  run deadline reached: stopping this step`);
      cutShort = true;
      await uac.proc.stop("SIGTERM", 3000);
      break;
    }
  }
  const exit = await uac.wait();
  const t1 = Date.now();
  // tcpdump is a child of this process: its CPU is taken out of the children's (sipp's) time below
  const capS = capture ? Math.max(0, ((await cpuTicks([capture.proc.pid])) - capCpu0) / CLK_TCK) : 0;
  const balPidsEnd = await balancerPids();
  const cpu1 = { bal: await cpuTicks(balPidsEnd), store: await cpuTicks(await storePids()) };
  const m1 = await machineCpu();
  const u1 = await udpCounters();
  const d1 = await udpSocketDrops(target);
  const memEnd = await memoryOf(balPidsEnd);
  const storeMem = await memoryOf(await storePids());
  peakPss = Math.max(peakPss, memEnd.pssKb);

  const uasAfter = await Promise.all(uas.map((u) => u.settle()));
  const wireRaw = capture ? await capture.finish(ctx.keepCapture ?? false) : undefined;
  const me1 = await selfChildTicks();
  const route1 = await ctx.system?.routeDecisions?.();
  const route = route0 && route1 ? { remote: route1.remote - route0.remote, fallback: route1.fallback - route0.fallback } : undefined;

  const rows = await uac.rows();
  const last = rows.at(-1)?.c ?? {};
  const rtt = await uac.rtt();
  const unexpected = await uac.unexpected();
  const invite = distribution(rtt.get(1) ?? []);
  const bye = distribution(rtt.get(2) ?? []);

  const wallS = (t1 - t0) / 1000;
  // a process that died in the window counts 0 at the end: never report negative CPU
  const balS = Math.max(0, (cpu1.bal - cpu0.bal) / CLK_TCK);
  const storeS = Math.max(0, (cpu1.store - cpu0.store) / CLK_TCK);
  // tcpdump's CPU is in the children's time once it exited: count it once, as the capture's (what it spends idle
  // after the caller's last call stays in the children's)
  const sippS = Math.max(0, (me1.children - me0.children) / CLK_TCK - capS);
  const harnessS = (me1.self - me0.self) / CLK_TCK;
  const machS = (busy(m1) - busy(m0)) / CLK_TCK;
  const userSysS = (m1.user + m1.nice + m1.system - (m0.user + m0.nice + m0.system)) / CLK_TCK;
  const stealS = (m1.steal - m0.steal) / CLK_TCK;
  const succeeded = last.SuccessfulCall ?? 0;
  const attempted = last.OutgoingCall ?? 0;
  const failed = last.FailedCall ?? 0;

  const failures: Record<string, number> = {};
  for (const [k, v] of Object.entries(last)) if (k.startsWith("Failed") && k !== "FailedCall" && v > 0) failures[k] = v;

  // the destinations run for the whole run: their counters over this step are deltas of cumulative counters
  const uasDelta = (k: string): number =>
    uas.reduce((sum, _u, i) => sum + Math.max(0, (uasAfter[i]?.c[k] ?? 0) - (uasBefore[i]?.c[k] ?? 0)), 0);
  const uasRetrans = uasDelta("Retransmissions");
  const uasFailed = uasDelta("FailedCall");
  const uasReceived = uasDelta("IncomingCall");
  const uasOutOfCall = uasDelta("OutOfCallMsgs") + uasDelta("DeadCallMsgs");
  const retransCaller = last.Retransmissions ?? 0;

  const problems: string[] = [];
  if (cutShort) problems.push("cut short by the run deadline");
  if (rows.length === 0) problems.push(`sipp wrote no statistics: ${uac.proc.tail(600).replace(/\s+/g, " ")}`);
  if (attempted < planned) problems.push(`${planned - attempted} calls never placed`);
  if (failed > 0) problems.push(`${failed} failed calls (${Object.entries(failures).map(([k, v]) => `${k} ${v}`).join(", ")})`);
  if (succeeded < planned) problems.push(`${succeeded}/${planned} succeeded`);
  if (retransCaller > 0) problems.push(`${retransCaller} retransmissions by the caller`);
  if (uasRetrans > 0) problems.push(`${uasRetrans} retransmissions by the destinations`);
  if (uasFailed > 0) problems.push(`${uasFailed} failed calls at the destinations`);
  if (unexpected.other > 0) problems.push(`${unexpected.other} unexpected messages at the caller (e.g. ${unexpected.example.slice(0, 160)})`);
  if (exit.code !== 0 && problems.length === 0) problems.push(`sipp exit ${exit.signal ?? String(exit.code)}`);
  if (ctx.system && !ctx.system.running) problems.push("the balancer died");
  if (ctx.system?.name === "switchboard-remote" && route === undefined) problems.push("the gateway's route counters could not be read");
  if (route && route.fallback > 0) {
    problems.push(`${route.fallback} of ${route.remote + route.fallback} route decisions fell back in-process (the route function missed its deadline or failed)`);
  }
  for (const u of uas) if (!u.proc.running) problems.push(`destination ${u.name} died`);

  const result: StepResult = {
    target: spec.target,
    label,
    rate: spec.rate,
    durationS: spec.durationS,
    attempt: spec.attempt,
    startedAt: new Date(t0).toISOString(),
    wallS,
    calls: { planned, attempted, succeeded, failed, achievedRate: Number.isFinite(lastBefore(rows, planned)) ? lastBefore(rows, planned) : attempted / spec.durationS },
    failures,
    retransmissions: { caller: retransCaller, destinations: uasRetrans },
    destinations: { received: uasReceived, failed: uasFailed, outOfCall: uasOutOfCall },
    unexpected: { lateProvisional: unexpected.lateProvisional, other: unexpected.other },
    invite,
    bye,
    ...(wireRaw
      ? {
          wire: {
            invite: distribution(wireRaw.invite.total),
            bye: distribution(wireRaw.bye.total),
            inviteBalancer: distribution(wireRaw.invite.balancer),
            byeBalancer: distribution(wireRaw.bye.balancer),
            calls: wireRaw.calls,
            packets: wireRaw.packets,
            dropped: wireRaw.dropped,
            capturePct: (capS / wallS) * 100,
          },
        }
      : {}),
    cpu: {
      balancerPct: (balS / wallS) * 100,
      storePct: (storeS / wallS) * 100,
      usPerCall: succeeded > 0 ? ((balS + storeS) / succeeded) * 1e6 : NaN,
      balancerUsPerCall: succeeded > 0 ? (balS / succeeded) * 1e6 : NaN,
      sippPct: (sippS / wallS) * 100,
      machinePct: (machS / wallS) * 100,
      otherPct: Math.max(0, ((userSysS - balS - storeS - sippS - capS - harnessS) / wallS) * 100),
      stealPct: (stealS / wallS) * 100,
    },
    memory: { pssKbEnd: memEnd.pssKb, pssKbPeak: peakPss, rssKbEnd: memEnd.rssKb, storePssKbEnd: storeMem.pssKb },
    udp: { socketDrops: d1 - d0, rcvbufErrors: u1.rcvbufErrors - u0.rcvbufErrors, inErrors: u1.inErrors - u0.inErrors },
    ...(route ? { route } : {}),
    clean: problems.length === 0,
    problems,
    exitCode: exit.code,
    dir,
  };
  ctx.log(
    `  => ${label} @ ${spec.rate}/s: ${result.clean ? "clean" : `NOT clean (${problems.join("; ")})`}; ` +
      `INVITE→200 p50/p99/max ${invite.p50}/${invite.p99}/${invite.max} ms, BYE→200 p99 ${bye.p99} ms` +
      (result.wire
        ? ` (wire: INVITE→200 p50/p99/max ${result.wire.invite.p50.toFixed(2)}/${result.wire.invite.p99.toFixed(2)}/${result.wire.invite.max.toFixed(1)} ms, ` +
          `balancer's share p99 ${result.wire.inviteBalancer.p99.toFixed(2)} ms, ${result.wire.calls} calls, ${result.wire.dropped} dropped)`
        : "") +
      (ctx.system ? `, CPU ${result.cpu.balancerPct.toFixed(0)}%${storeS > 0 ? ` + redis ${result.cpu.storePct.toFixed(0)}%` : ""}, ${result.cpu.usPerCall.toFixed(0)} µs/call` : "") +
      (route ? `, route function answered ${route.remote}` : "") +
      `, other load ${result.cpu.otherPct.toFixed(0)}%`,
  );
  return result;
}
