/**
 * The hold test: memory per concurrent dialog. A freshly started system gets a short warm-up (clean at the first or
 * second go), then its memory is read (baseline). Then calls are placed at a steady rate and held (sipp -d far beyond
 * the test) until the first target (e.g. 5,000) is up at once; after `settleS` seconds without new calls — long
 * enough for the finished transactions to be gone (64×T1 = 32 s covers RFC 6026's Accepted state and Kamailio's wait
 * timer), so what remains is dialog state — memory is read again. A second caller then tops up to the next target
 * (20,000), and so on. Per dialog = (memory at the plateau − baseline) / calls up. The held calls are not hung up:
 * the caller, the system and its destinations are stopped afterwards (the hold test is the last use of the
 * destinations).
 *
 * Memory = PSS summed over the balancer's processes (/proc/PID/smaps_rollup); for the Redis variant the
 * redis-server's PSS and its own `used_memory` are reported beside the gateway's; for Kamailio also its shared
 * memory in use (`kamcmd core.shmmem` real_used) and active dialogs (`dlg.stats_active`).
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "../../tests/support/ports.ts";
import { startSystem, LABELS, type GatewayEntry, type System, type SystemName } from "./systems.ts";
import { startUac, type Uac, type Uas } from "./sipp.ts";
import { memoryOf } from "./procfs.ts";
import { coolDown, runGate, runStep } from "./step.ts";

export interface MemorySample {
  readonly pssKb: number;
  readonly rssKb: number;
  readonly storePssKb: number;
  readonly extra: Record<string, number>;
}

export interface HoldResult {
  readonly system: SystemName;
  readonly label: string;
  readonly target: number;
  readonly rate: number;
  /** seconds without new calls before memory was read */
  readonly settleS: number;
  /** calls in progress at the callers when memory was read */
  readonly concurrent: number;
  readonly failed: number;
  readonly baseline: MemorySample;
  readonly plateau: MemorySample;
  /** (plateau − baseline) PSS of the balancer / concurrent, bytes */
  readonly bytesPerDialog: number;
  /** same for the store (redis-server PSS), bytes */
  readonly storeBytesPerDialog: number;
  readonly error?: string;
}

export interface HoldContext {
  readonly workDir: string;
  readonly uas: readonly [Uas, Uas];
  readonly uacPort: number;
  readonly lifetimeMs: number;
  readonly log: (line: string) => void;
  readonly deadline: number;
  readonly settleS: number;
  readonly gatewayEntry?: GatewayEntry;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const EMPTY: MemorySample = { pssKb: 0, rssKb: 0, storePssKb: 0, extra: {} };

async function readMem(sys: System): Promise<MemorySample> {
  // switchboard: a full GC first, so the reading is live data (Kamailio's shared memory has no such garbage)
  const gc = sys.collectGarbage ? await sys.collectGarbage() : undefined;
  if (gc) await sleep(500);
  const m = await memoryOf(await sys.pids());
  const s = await memoryOf(await sys.storePids());
  const extra = await sys.extra();
  return { pssKb: m.pssKb, rssKb: m.rssKb, storePssKb: s.pssKb, extra: gc === undefined ? extra : { ...extra, forcedGc: gc ? 1 : 0 } };
}

/** Seconds the hold test of one system takes at most (for the time budget). */
export function holdSeconds(targets: readonly number[], rate: number, settleS: number): number {
  const top = Math.max(0, ...targets);
  return 20 + top / rate + targets.length * (settleS + 8);
}

/** Every target of `targets` (ascending) on one freshly started system. */
export async function runHold(system: SystemName, targets: readonly number[], rate: number, ctx: HoldContext): Promise<HoldResult[]> {
  const label = LABELS[system];
  const dir = join(ctx.workDir, "hold", system);
  await mkdir(dir, { recursive: true });
  const sorted = [...targets].sort((a, b) => a - b);
  const results: HoldResult[] = [];
  const fail = (target: number, e: unknown): HoldResult => ({
    system,
    label,
    target,
    rate,
    settleS: ctx.settleS,
    concurrent: 0,
    failed: 0,
    baseline: EMPTY,
    plateau: EMPTY,
    bytesPerDialog: NaN,
    storeBytesPerDialog: NaN,
    error: String(e).split("\n")[0]?.slice(0, 300) ?? "error",
  });
  let sys: System | undefined;
  const uacs: Uac[] = [];
  try {
    const started = await startSystem(system, {
      dir,
      destinations: [ctx.uas[0].port, ctx.uas[1].port],
      lifetimeMs: ctx.lifetimeMs,
      ...(ctx.gatewayEntry ? { gatewayEntry: ctx.gatewayEntry } : {}),
      inspect: true,
    });
    sys = started;
    const { last: warm } = await runGate(
      (attempt) => runStep(
        { target: system, rate: 250, durationS: 2, attempt },
        { workDir: dir, index: 0, system: started, uas: ctx.uas, uacPort: ctx.uacPort, log: ctx.log, deadline: ctx.deadline, capture: false },
      ),
      (first) => ctx.log(`  ${label} hold: warm-up not clean (${first.problems.join("; ")}), once more`),
    );
    if (!warm.clean) throw new Error(`warm-up not clean: ${warm.problems.join("; ")}`);
    await sleep(3000);
    await coolDown(sys, 10_000);
    const baseline = await readMem(sys);
    const holdMs = Math.ceil(ctx.lifetimeMs); // held far beyond the test: the callers are stopped, not hung up
    let placed = 0;
    for (const target of sorted) {
      try {
        const calls = target - placed;
        if (calls <= 0) continue;
        const port = uacs.length === 0 ? ctx.uacPort : await freePort();
        const rampS = calls / rate;
        const uac = startUac({
          dir,
          name: `hold-uac-${target}`,
          port,
          target: sys.port,
          calls,
          rate,
          limit: calls,
          holdMs,
          timeoutS: Math.ceil(holdMs / 1000),
          recvTimeoutMs: 10_000,
        });
        uacs.push(uac);
        placed = target;
        // all of this caller's calls up (bounded by the ramp + 10 s)
        const until = Date.now() + rampS * 1000 + 10_000;
        let lastLog = 0;
        for (;;) {
          await sleep(500);
          const c = (await uac.rows()).at(-1)?.c ?? {};
          if (Date.now() - lastLog > 5000) {
            lastLog = Date.now();
            const m = await memoryOf(await sys.pids());
            ctx.log(`  ${label} hold ${target}: placed ${c.OutgoingCall ?? 0}/${calls} more, ${c.CurrentCall ?? 0} up, failed ${c.FailedCall ?? 0}, PSS ${(m.pssKb / 1024).toFixed(0)} MB`);
          }
          if (((c.OutgoingCall ?? 0) >= calls && (c.CurrentCall ?? 0) + (c.FailedCall ?? 0) >= calls) || !uac.proc.running) break;
          if (Date.now() > until) throw new Error(`only ${c.CurrentCall ?? 0} of ${calls} calls up after ${Math.round(rampS + 10)} s`);
        }
        ctx.log(`  ${label} hold ${target}: all placed; ${ctx.settleS} s without new calls before reading memory`);
        await sleep(ctx.settleS * 1000);
        let concurrent = 0;
        let failed = 0;
        for (const u of uacs) {
          const c = (await u.rows()).at(-1)?.c ?? {};
          concurrent += c.CurrentCall ?? 0;
          failed += c.FailedCall ?? 0;
        }
        const plateau = await readMem(sys);
        const r: HoldResult = {
          system,
          label,
          target,
          rate,
          settleS: ctx.settleS,
          concurrent,
          failed,
          baseline,
          plateau,
          bytesPerDialog: concurrent > 0 ? ((plateau.pssKb - baseline.pssKb) * 1024) / concurrent : NaN,
          storeBytesPerDialog: concurrent > 0 ? ((plateau.storePssKb - baseline.storePssKb) * 1024) / concurrent : NaN,
        };
        results.push(r);
        ctx.log(
          `  => ${label} hold ${target}: ${concurrent} up, PSS ${(baseline.pssKb / 1024).toFixed(1)} → ${(plateau.pssKb / 1024).toFixed(1)} MB ` +
            `(${(r.bytesPerDialog / 1024).toFixed(1)} KB per dialog)` +
            (plateau.storePssKb > 0 ? `, redis ${(baseline.storePssKb / 1024).toFixed(1)} → ${(plateau.storePssKb / 1024).toFixed(1)} MB` : ""),
        );
        if (Date.now() > ctx.deadline) throw new Error("run deadline reached");
      } catch (e) {
        ctx.log(`  ${label} hold ${target}: ${String(e)}`);
        results.push(fail(target, e));
        break;
      }
    }
  } catch (e) {
    ctx.log(`  ${label} hold: ${String(e)}`);
    for (const t of sorted) if (!results.some((r) => r.target === t)) results.push(fail(t, e));
  } finally {
    for (const u of uacs) await u.proc.stop("SIGTERM", 3000);
    await sys?.stop();
    // the destinations still hold the calls: they are stopped (the hold test is their last use)
    for (const u of ctx.uas) await u.stop();
  }
  for (const t of sorted) if (!results.some((r) => r.target === t)) results.push(fail(t, "not reached"));
  return results.sort((a, b) => a.target - b.target);
}
