/**
 * A loopback packet capture around one load step: tcpdump (Debian's) writes the UDP datagrams of the caller's and
 * the destinations' ports to a pcap file, with the kernel's timestamps; {@link wireLatencies} turns it into
 * response times with microsecond resolution. The kernel filters (BPF), so tcpdump only sees the step's own ports.
 */
import { execFileSync } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { udpPackets } from "./pcap.ts";
import { wireLatencies, type WireLatencies } from "./wire-latency.ts";
import { startProcess, type ManagedProcess } from "../../tests/support/process.ts";

export interface CaptureResult extends WireLatencies {
  /** packets tcpdump reported dropped by the kernel (its buffer overflowed): the figures then miss those */
  readonly dropped: number;
}

let tcpdumpPath: string | null | undefined;

/** tcpdump's path, or null when it is not installed (the harness then reports sipp's figures only). */
export function findTcpdump(): string | null {
  if (tcpdumpPath !== undefined) return tcpdumpPath;
  for (const p of ["/usr/bin/tcpdump", "/usr/sbin/tcpdump"]) {
    try {
      execFileSync(p, ["--version"], { stdio: "ignore" });
      return (tcpdumpPath = p);
    } catch {
      // next
    }
  }
  return (tcpdumpPath = null);
}

export class Capture {
  private constructor(
    readonly proc: ManagedProcess,
    private readonly file: string,
    private readonly caller: number,
    private readonly destinations: readonly number[],
  ) {}

  /** Starts tcpdump on `lo` for the given ports and resolves once it is capturing. */
  static async start(file: string, caller: number, destinations: readonly number[], lifetimeMs: number): Promise<Capture> {
    const bin = findTcpdump();
    if (!bin) throw new Error("tcpdump is not installed");
    const ports = [caller, ...destinations];
    const filter = `udp and (${ports.map((p) => `port ${p}`).join(" or ")})`;
    const proc = startProcess(
      bin,
      // -B: a 64 MiB kernel buffer (KiB), so a burst does not overflow it; -s: whole datagrams; -p: no promiscuous mode
      ["-i", "lo", "-n", "-p", "-q", "-B", "65536", "-s", "2048", "-w", file, filter],
      { name: "tcpdump", maxLifetimeMs: lifetimeMs },
    );
    await proc.waitForLine(/listening on lo/, 10_000);
    return new Capture(proc, file, caller, destinations);
  }

  /** Stops tcpdump (it flushes the file on SIGINT), reads the file, deletes it unless `keep`. */
  async finish(keep: boolean): Promise<CaptureResult> {
    await this.proc.stop("SIGINT", 10_000);
    const dropped = Number(/(\d+) packets? dropped by kernel/.exec(this.proc.stderr())?.[1] ?? 0);
    const data = await readFile(this.file);
    const lat = wireLatencies(udpPackets(data), this.caller, this.destinations);
    if (!keep) await rm(this.file, { force: true });
    return { ...lat, dropped };
  }
}
