/**
 * Holding the systems that are not being measured still (SIGSTOP) while another system's step runs, and letting them
 * go again (SIGCONT) before their own.
 *
 * Every system of a run stays up from start to end, each with its own two sipp destinations, so that a switchboard
 * gateway keeps its warm code and the systems can take turns. Idle, they are still not quiet: ten sipp destinations
 * wake on their own timers, Kamailio's timer processes, the gateways' ticks, probes and the transaction timers of their
 * last step (32 s after it). Measured with `perf record -a` during a 2,000/s step of the in-process gateway with all five
 * systems up: the other systems' processes took about a tenth of a core in thousands of short wake-ups, and the
 * gateway spent 300 µs of CPU per call at 2,500/s in the full run against 217–219 µs in runs of its own steps only, with
 * stalls of 30–65 ms at 2,000–3,000/s that the runs of its own steps did not have. A real balancer does not share its
 * cores with four others; held still, the neighbours cost the measured system nothing, and each system is measured
 * alike.
 */
import { setTimeout as sleep } from "node:timers/promises";

/** Sends `signal` to every PID; a process that has already gone is skipped. Returns the PIDs that got it. */
export function signalAll(pids: readonly number[], signal: "SIGSTOP" | "SIGCONT"): number[] {
  const sent: number[] = [];
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
      sent.push(pid);
    } catch {
      // ESRCH: gone already (its owner notices through its own exit handling)
    }
  }
  return sent;
}

export interface Pausable<N extends string> {
  readonly name: N;
  /** The system's balancer processes (with descendants), its store, and its destinations, in the order to stop them. */
  pids(): Promise<number[]>;
}

/**
 * Keeps track of which systems are held still. `only(name)` holds every other system and lets `name` go; after letting
 * a system go it waits `settleMs`, so the timers that came due while it was held (transaction timers of its last
 * step, probes, ticks) run before the load starts rather than in its first second.
 */
export class Pauser<N extends string> {
  readonly #held = new Map<N, number[]>();

  constructor(private readonly settleMs: number) {}

  get held(): readonly N[] {
    return [...this.#held.keys()];
  }

  async only(current: Pausable<N>, others: Iterable<Pausable<N>>): Promise<void> {
    for (const sys of others) {
      if (sys.name === current.name || this.#held.has(sys.name)) continue;
      this.#held.set(sys.name, signalAll(await sys.pids(), "SIGSTOP"));
    }
    if (this.resume(current.name)) await sleep(this.settleMs);
  }

  /** Lets one system go; true when it was held. Destinations first, then the balancer, so queued probes find them up. */
  resume(name: N): boolean {
    const pids = this.#held.get(name);
    if (pids === undefined) return false;
    this.#held.delete(name);
    signalAll([...pids].reverse(), "SIGCONT");
    return true;
  }

  resumeAll(): void {
    for (const name of [...this.#held.keys()]) this.resume(name);
  }
}
