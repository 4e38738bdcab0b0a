/**
 * The switchboard benchmark: sipp against switchboard (in-process store, Redis store) and against Kamailio 5.6
 * (bench/kamailio.cfg), same destinations, same machine, same run, taking turns at every rate.
 *
 *   npm run bench                       full run (~25 min): steps 250 … 5000 calls/s, 10 s each; hold 5,000 and 20,000
 *   npm run bench -- --quick            2–3 min: steps 500, 1000, 2000 of 5 s; hold 5,000
 *   npm run bench -- --smoke --out DIR  CI smoke: one step of 200 calls at 50/s, no hold, report in DIR
 *
 * Options: --rates 500,1000  --duration S  --systems kamailio,switchboard,switchboard-redis,switchboard-workers  --hold 5000,20000 | --no-hold
 *          --hold-rate N (at most; lower for a system whose max clean rate is lower)
 *          --hold-settle S (seconds without new calls before memory is read; 35 = past 64×T1, 8 in --quick)
 *          --no-direct  --no-retry  --no-verify  --out DIR (default bench/)  --keep (keep the work dir)
 *          --max-minutes N (hard budget; remaining steps are skipped, the report is still written)
 *          --gateway dist|tsx (dist, the default: what `npm start` runs, built first with `npm run build`;
 *          tsx: node --import tsx src/gateway/main.ts start, what the e2e tests run)
 *          --render results.json [--out DIR] (only re-render RESULTS.md and chart.svg from a finished run)
 *          --profile DIR (switchboard runs with node --cpu-prof; one .cpuprofile per gateway process under DIR/<system>/;
 *          summarise with `node --import tsx bench/profile.ts DIR/switchboard/*.cpuprofile`)
 *          --no-capture (no tcpdump around the steps: sipp's response times only; with --keep each step's capture.pcap stays)
 *
 * Writes OUT/RESULTS.md, OUT/results.json, OUT/chart.svg. Exit code 0 when the harness ran (whatever the systems
 * did), 1 when it could not run at all. Logs, sipp statistics and response-time files go to a temporary work
 * directory, removed at the end unless --keep or something went wrong.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import { freePorts } from "../tests/support/ports.ts";
import { startProcess, stopAll } from "../tests/support/process.ts";
import {
  buildGateway,
  gatewayCommand,
  kamailioBinary,
  kamailioVersion,
  LABELS,
  startSystem,
  type GatewayEntry,
  type System,
  type SystemName,
  SYSTEM_NAMES,
} from "./lib/systems.ts";
import { bundleCore, coreNodeArgs } from "./lib/core-bundle.ts";
import { runGate, runStep, type StepResult } from "./lib/step.ts";
import { startUas, type Uas } from "./lib/sipp.ts";
import { holdSeconds, runHold, type HoldResult } from "./lib/hold.ts";
import { writeReport, summarize, type BenchRun, type SystemStatus } from "./lib/report.ts";
import { machineInfo, sysctl } from "./lib/procfs.ts";
import { fmt } from "./lib/stats.ts";
import { Pauser, type Pausable } from "./lib/pause.ts";

const BENCH_DIR = fileURLToPath(new URL("./", import.meta.url));
const REPO = fileURLToPath(new URL("../", import.meta.url));

interface Options {
  mode: BenchRun["meta"]["mode"];
  rates: number[];
  durationS: number;
  systems: SystemName[];
  hold: number[];
  holdRate: number;
  holdSettleS: number;
  direct: boolean;
  retry: boolean;
  verify: boolean;
  out: string;
  keep: boolean;
  maxMinutes: number;
  gateway: GatewayEntry;
  profileDir: string | undefined;
  /** capture each step's packets (tcpdump) for response times on the wire */
  capture: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const has = (f: string): boolean => argv.includes(f);
  const val = (f: string): string | undefined => {
    const i = argv.indexOf(f);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const nums = (s: string | undefined): number[] | undefined =>
    s === undefined ? undefined : s.split(",").map((x) => Number(x.trim())).filter((x) => Number.isFinite(x) && x > 0);
  const known = new Set([
    "--quick", "--smoke", "--rates", "--duration", "--systems", "--hold", "--no-hold", "--hold-rate", "--hold-settle", "--no-direct",
    "--no-retry", "--no-verify", "--out", "--keep", "--max-minutes", "--gateway", "--render", "--profile", "--no-capture", "--help",
  ]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith("--")) continue;
    if (!known.has(a)) throw new Error(`unknown option ${a} (see the comment at the top of bench/run.ts)`);
  }
  const smoke = has("--smoke");
  const quick = has("--quick");
  const mode: Options["mode"] = smoke ? "smoke" : quick ? "quick" : "full";
  const defaults = {
    // from 250/s in steps of 250 up to 1,500: a 2-core machine can be 3× slower than another (seen here), and the
    // ratio to Kamailio needs steps fine enough where both give up on the slow ones
    full: { rates: [250, 500, 750, 1000, 1250, 1500, 2000, 2500, 3000, 4000, 5000], durationS: 10, hold: [5000, 20000], maxMinutes: 40 },
    quick: { rates: [500, 1000, 2000], durationS: 5, hold: [5000], maxMinutes: 6 },
    smoke: { rates: [50], durationS: 4, hold: [] as number[], maxMinutes: 4 },
    custom: { rates: [1000], durationS: 10, hold: [], maxMinutes: 25 },
  }[mode];
  const rates = nums(val("--rates")) ?? defaults.rates;
  const custom = val("--rates") !== undefined || val("--duration") !== undefined;
  const systems = (val("--systems") ?? (smoke ? "kamailio,switchboard" : SYSTEM_NAMES.join(",")))
    .split(",")
    .map((s) => s.trim())
    .filter((s): s is SystemName => (SYSTEM_NAMES as readonly string[]).includes(s));
  return {
    mode: custom && mode === "full" ? "custom" : mode,
    rates: [...new Set(rates)].sort((a, b) => a - b),
    durationS: Number(val("--duration") ?? defaults.durationS),
    systems,
    hold: has("--no-hold") ? [] : (nums(val("--hold")) ?? defaults.hold),
    holdRate: Number(val("--hold-rate") ?? 1000),
    holdSettleS: Number(val("--hold-settle") ?? (quick ? 8 : 35)),
    direct: !has("--no-direct") && !smoke,
    retry: !has("--no-retry") && !smoke,
    verify: !has("--no-verify") && !smoke,
    out: val("--out") ?? BENCH_DIR,
    keep: has("--keep"),
    maxMinutes: Number(val("--max-minutes") ?? defaults.maxMinutes),
    gateway: val("--gateway") === "tsx" ? "tsx" : "dist",
    profileDir: val("--profile") === undefined ? undefined : resolve(val("--profile") as string),
    capture: !has("--no-capture"),
  };
}

function cmdOut(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 5000 }).trim();
  } catch (e) {
    const o = e as { stdout?: string; stderr?: string };
    return `${o.stdout ?? ""}${o.stderr ?? ""}`.trim();
  }
}

const t00 = Date.now();
function log(line: string): void {
  const s = ((Date.now() - t00) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${s}s] ${line}\n`);
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help")) {
    process.stdout.write(`${/\/\*\*([\s\S]*?)\*\//.exec((await import("node:fs")).readFileSync(fileURLToPath(import.meta.url), "utf8"))?.[1] ?? ""}\n`);
    return 0;
  }
  const renderIndex = argv.indexOf("--render");
  if (renderIndex >= 0) {
    // re-render RESULTS.md and chart.svg from a results.json (e.g. after a change to the report's layout)
    const file = argv[renderIndex + 1];
    if (!file) throw new Error("--render needs a results.json");
    const { readFileSync } = await import("node:fs");
    const run = JSON.parse(readFileSync(file, "utf8")) as BenchRun;
    const outIndex = argv.indexOf("--out");
    const files = await writeReport(run, outIndex >= 0 ? (argv[outIndex + 1] ?? BENCH_DIR) : BENCH_DIR);
    log(`wrote ${files.md}, ${files.json}, ${files.svg}`);
    return 0;
  }
  const o = parseArgs(argv);
  const deadline = t00 + o.maxMinutes * 60_000;
  const quietWaitMs = o.mode === "smoke" ? 3000 : 20_000;
  const lifetimeMs = o.maxMinutes * 60_000 + 120_000;
  const workDir = await mkdtemp(join(tmpdir(), "switchboard-bench-"));
  let keep = o.keep;
  log(`mode ${o.mode}: rates ${o.rates.join(", ")}/s × ${o.durationS} s; systems ${o.systems.join(", ")}; hold ${o.hold.join(", ") || "none"}; work dir ${workDir}`);

  const machine = await machineInfo();
  const commit = cmdOut("git", ["-C", REPO, "rev-parse", "HEAD"]) || "unknown";
  // Untracked files (a benchmark checkout's node_modules symlink) are named, not counted as changes to the code.
  const status = cmdOut("git", ["-C", REPO, "status", "--porcelain"]).split("\n").filter((line) => line.length > 0);
  const dirty = status.some((line) => !line.startsWith("?? "));
  const untracked = status.filter((line) => line.startsWith("?? ")).map((line) => line.slice(3));
  const versions: Record<string, string> = {
    node: process.version,
    sipp: (/SIPp\s+(v[\d.]+)/.exec(cmdOut("sipp", ["-v"]))?.[1] ?? "?"),
    kamailio: await kamailioVersion(),
    "redis-server": (/v=([\d.]+)/.exec(cmdOut("redis-server", ["--version"]))?.[1] ?? "?"),
    "switchboard gateway": `node ${gatewayCommand(o.gateway).join(" ")}`,
  };
  const sysctls: Record<string, string> = {
    "net.core.rmem_default": await sysctl("net.core.rmem_default"),
    "net.core.rmem_max": await sysctl("net.core.rmem_max"),
  };

  // Each system (and the baseline) gets its own two destinations, running for the whole run (switchboard probes its
  // destinations with OPTIONS, so they must stay up between steps), and its own caller port: a balancer that fell
  // behind keeps retransmitting for up to 64×T1 = 32 s after its step, and that must not reach another system's step.
  const peers = new Map<SystemName | "direct", { uas: [Uas, Uas]; uacPort: number }>();
  const peersOf = (name: SystemName | "direct"): { uas: [Uas, Uas]; uacPort: number } =>
    peers.get(name) as { uas: [Uas, Uas]; uacPort: number };
  const startPeers = async (name: SystemName | "direct"): Promise<void> => {
    const [a, b, c] = (await freePorts(3)) as [number, number, number];
    const dir = join(workDir, "destinations", name);
    await mkdir(dir, { recursive: true });
    const lifetimeS = lifetimeMs / 1000;
    const uasA = await startUas({ dir, name: "uas-a", port: a, lifetimeS });
    const uasB = await startUas({ dir, name: "uas-b", port: b, lifetimeS });
    peers.set(name, { uas: [uasA, uasB], uacPort: c });
  };
  // ...and the same system's next step waits until its leftovers are over (after an unclean step)
  const LEFTOVER_MS = 35_000;
  const uncleanEnded = new Map<SystemName, number>();
  const waitLeftovers = async (name: SystemName): Promise<void> => {
    const end = uncleanEnded.get(name);
    if (end === undefined) return;
    const waitMs = end + LEFTOVER_MS - Date.now();
    if (waitMs > 0) {
      log(`  waiting ${Math.ceil(waitMs / 1000)} s for ${LABELS[name]}'s retransmissions from its unclean step to end (64×T1)`);
      await new Promise((r) => setTimeout(r, Math.min(waitMs, LEFTOVER_MS)));
    }
    uncleanEnded.delete(name);
  };
  const statuses = new Map<SystemName, SystemStatus>();
  const running = new Map<SystemName, System>();
  // While one system runs a step, the others are held still (bench/lib/pause.ts says why); 1.5 s after letting a system
  // go, the timers that came due meanwhile have run.
  const pauser = new Pauser<SystemName>(1500);
  const pausable = (name: SystemName): Pausable<SystemName> => ({
    name,
    pids: async () => {
      const sys = running.get(name);
      const own = sys ? [...(await sys.pids()), ...(await sys.storePids())] : [];
      return [...own, ...peersOf(name).uas.map((u) => u.proc.pid)];
    },
  });
  const verification: StepResult[] = [];
  const steps: StepResult[] = [];
  const direct: StepResult[] = [];
  const hold: HoldResult[] = [];
  let stoppedEarly: string | undefined;
  let index = 0;
  let core: BenchRun["core"];

  const meta = (): BenchRun["meta"] => ({
    date: new Date(t00).toISOString(),
    commit,
    dirty,
    untracked,
    command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}`,
    mode: o.mode,
    machine,
    versions,
    sysctl: sysctls,
    rates: o.rates,
    durationS: o.durationS,
    totalS: (Date.now() - t00) / 1000,
    ...(stoppedEarly ? { stoppedEarly } : {}),
  });
  const runSoFar = (): BenchRun => ({
    meta: meta(),
    systems: o.systems.map((n) => statuses.get(n) ?? { name: n, label: LABELS[n], status: "skipped" as const, note: "not reached" }),
    verification,
    steps,
    direct,
    hold,
    ...(core ? { core } : {}),
  });

  const stopSignal = (sig: NodeJS.Signals): void => {
    log(`${sig}: stopping everything`);
    pauser.resumeAll();
    void stopAll(2000).then(() => process.exit(130));
  };
  process.once("SIGINT", stopSignal);
  process.once("SIGTERM", stopSignal);

  try {
    // 1. build the gateway bundle (what `npm start` runs), start every system and prove it works
    if (o.gateway === "dist" && o.systems.some((n) => n !== "kamailio")) {
      log("npm run build (the gateway bundle npm start runs)");
      await buildGateway();
    }
    for (const name of o.systems) {
      if (name === "kamailio" && !kamailioBinary()) {
        statuses.set(name, { name, label: LABELS[name], status: "skipped", note: "kamailio not installed" });
        log(`kamailio not installed: skipped (apt-get install -y kamailio)`);
        continue;
      }
      try {
        log(`starting ${LABELS[name]}`);
        await startPeers(name);
        const sys = await startSystem(name, {
          dir: workDir,
          destinations: [peersOf(name).uas[0].port, peersOf(name).uas[1].port],
          lifetimeMs,
          gatewayEntry: o.gateway,
          ...(o.profileDir ? { profileDir: o.profileDir } : {}),
        });
        running.set(name, sys);
        if (o.verify) {
          const { last: v, attempts } = await runGate(
            (attempt) => runStep(
              { target: name, rate: 100, durationS: 3, attempt },
              { workDir, index: index++, system: sys, ...peersOf(name), log, deadline, quietWaitMs, capture: o.capture, keepCapture: o.keep },
            ),
            (first) => log(`  ${LABELS[name]}: verification run not clean (${first.problems.join("; ")}), once more`),
          );
          verification.push(...attempts);
          if (!v.clean) {
            statuses.set(name, { name, label: LABELS[name], status: "broken", note: `verification run not clean: ${v.problems.join("; ")}` });
            keep = true;
            await sys.stop();
            running.delete(name);
            continue;
          }
        }
        statuses.set(name, { name, label: LABELS[name], status: "measured" });
      } catch (e) {
        keep = true;
        log(`${LABELS[name]} could not start: ${String(e).slice(0, 2000)}`);
        statuses.set(name, { name, label: LABELS[name], status: "broken", note: String(e).split("\n")[0]?.slice(0, 200) });
      }
    }

    // 2. rate steps, the systems taking turns; a system stops climbing after its first unclean step
    const climbing = new Set([...running.keys()]);
    for (let i = 0; i < o.rates.length && climbing.size > 0; i++) {
      const rate = o.rates[i] as number;
      const order = [...climbing];
      for (let k = 0; k < i % Math.max(1, order.length); k++) order.push(order.shift() as SystemName);
      for (const name of order) {
        if (Date.now() + (o.durationS + 20) * 1000 > deadline) {
          stoppedEarly = `time budget of ${o.maxMinutes} minutes reached before ${LABELS[name]} @ ${rate}/s`;
          break;
        }
        const sys = running.get(name) as System;
        log(`step ${i + 1}/${o.rates.length}: ${LABELS[name]} @ ${fmt(rate)} calls/s for ${o.durationS} s`);
        const stepCtx = { workDir, system: sys, ...peersOf(name), log, deadline, quietWaitMs, capture: o.capture, keepCapture: o.keep };
        await pauser.only(pausable(name), [...running.keys()].map(pausable));
        await waitLeftovers(name);
        let r = await runStep({ target: name, rate, durationS: o.durationS, attempt: 1 }, { ...stepCtx, index: index++ });
        steps.push(r);
        if (!r.clean) uncleanEnded.set(name, Date.now());
        if (!r.clean && o.retry && sys.running && Date.now() + (o.durationS + 60) * 1000 < deadline) {
          log(`  not clean: running ${LABELS[name]} @ ${fmt(rate)}/s once more to confirm`);
          await waitLeftovers(name);
          r = await runStep({ target: name, rate, durationS: o.durationS, attempt: 2 }, { ...stepCtx, index: index++ });
          steps.push(r);
          if (!r.clean) uncleanEnded.set(name, Date.now());
        }
        if (!r.clean) {
          climbing.delete(name);
          log(`  ${LABELS[name]} stops climbing at ${fmt(rate)}/s`);
        }
        if (!sys.running) {
          keep = true;
          log(`  ${LABELS[name]} is no longer running:\n${sys.tail()}`);
        }
      }
      if (stoppedEarly) break;
    }

    pauser.resumeAll();
    for (const [name, sys] of running) {
      await sys.stop();
      running.delete(name);
    }

    // 3. the load tool alone at the top rate
    if (o.direct && Date.now() + (o.durationS + 20) * 1000 < deadline) {
      const top = o.rates[o.rates.length - 1] as number;
      await startPeers("direct");
      log(`baseline: sipp → UAS direct @ ${fmt(top)} calls/s for ${o.durationS} s`);
      direct.push(await runStep({ target: "direct", rate: top, durationS: o.durationS, attempt: 1 }, { workDir, index: index++, system: undefined, ...peersOf("direct"), log, deadline, capture: o.capture, keepCapture: o.keep }));
    }

    // 4. the proxy core alone (bench/core.ts): how much of the gateway's CPU per call is its own code
    if (o.systems.some((n) => n !== "kamailio") && Date.now() + 120_000 < deadline) {
      const args = o.mode === "smoke" ? ["--calls", "400", "--rounds", "1"] : ["--calls", "20000", "--rounds", "3"];
      log(`proxy core alone: npm run bench:core -- ${args.join(" ")}`);
      core = await runCore(args);
      log(`  ${"error" in core ? `failed: ${core.error}` : `${core.usPerCall.toFixed(0)} µs of core CPU per call`}`);
    }

    // 5. hold test: memory per concurrent dialog, each system freshly started, every target in one session
    const holdSystems = o.systems.filter((n) => statuses.get(n)?.status === "measured");
    if (o.hold.length > 0) {
      for (const name of holdSystems) {
        // place the held calls at a rate the system carries cleanly (after the settle time, memory per dialog
        // does not depend on it)
        const maxClean = summarize({ ...runSoFar(), hold: [] }).find((x) => x.system === name)?.maxClean ?? 0;
        const holdRate = Math.max(100, Math.min(o.holdRate, Math.floor((maxClean * 0.8) / 100) * 100 || 200));
        if (Date.now() + (holdSeconds(o.hold, holdRate, o.holdSettleS) + 35) * 1000 > deadline) {
          stoppedEarly = `${stoppedEarly ? `${stoppedEarly}; ` : ""}time budget reached before the hold test of ${LABELS[name]}`;
          break;
        }
        await waitLeftovers(name); // the destinations may still be retransmitting for that system's last unclean step
        log(`hold: ${LABELS[name]}, ${o.hold.map((n) => fmt(n)).join(" then ")} concurrent calls placed at ${fmt(holdRate)}/s`);
        hold.push(
          ...(await runHold(name, o.hold, holdRate, {
            workDir,
            ...peersOf(name),
            lifetimeMs,
            log,
            deadline,
            settleS: o.holdSettleS,
            gatewayEntry: o.gateway,
          })),
        );
      }
    }
  } finally {
    pauser.resumeAll();
    for (const sys of running.values()) await sys.stop().catch(() => undefined);
    for (const p of peers.values()) for (const u of p.uas) await u.stop().catch(() => undefined);
    await stopAll(3000);
  }

  const run = runSoFar();
  const files = await writeReport(run, o.out);
  for (const s of summarize(run)) {
    log(`${s.label}: ${s.measured ? `max clean rate ${fmt(s.maxClean)}/s${s.firstUnclean ? ` (first unclean ${fmt(s.firstUnclean)}/s)` : ""}` : "not measured"}`);
  }
  log(`wrote ${files.md}, ${files.json}, ${files.svg}`);
  if (keep) log(`work dir kept: ${workDir}`);
  else await rm(workDir, { recursive: true, force: true });
  return 0;
}

/** Run bench/core.ts (the proxy core without sockets) and read its per-round and median figures. */
async function runCore(args: readonly string[]): Promise<NonNullable<BenchRun["core"]>> {
  const command = `npm run bench:core -- ${args.join(" ")}`;
  let bundle: string;
  try {
    bundle = await bundleCore();
  } catch (e) {
    return { command, error: `bundling bench/core.ts failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  const proc = startProcess(process.execPath, coreNodeArgs(bundle, args), { name: "bench:core", cwd: REPO, maxLifetimeMs: 110_000 });
  const exit = await proc.waitForExit(105_000).catch(async () => proc.stop("SIGKILL"));
  const out = proc.stdout();
  const rounds = [...out.matchAll(/^round \d+: ([\d.]+) µs/gm)].map((m) => Number(m[1]));
  const median = /^median ([\d.]+) µs/m.exec(out);
  if (exit.code !== 0 || !median) return { command, error: `exit ${exit.signal ?? String(exit.code)}: ${proc.tail(400).replace(/\s+/g, " ")}` };
  return { command, usPerCall: Number(median[1]), rounds };
}

main().then(
  (code) => process.exit(code),
  async (e: unknown) => {
    log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    await stopAll(2000);
    process.exit(1);
  },
);
