/**
 * Summary of V8 CPU profiles (`.cpuprofile`, as written by `node --cpu-prof`, e.g. by `npm run bench -- --profile DIR`):
 * where the gateway's CPU goes, without a browser.
 *
 *   node --import tsx bench/profile.ts FILE.cpuprofile [...] [--top N]
 *
 * Prints, over all samples of all files: the share of (idle) time, then the functions with the most self time and the
 * most inclusive time (a function counted once per sample however deep it recurses), then self time by source file.
 * Shares are of busy time (samples that are not idle), so they read as "of the CPU the gateway spent".
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const argv = process.argv.slice(2);
const topIndex = argv.indexOf("--top");
const top = topIndex >= 0 ? Number(argv[topIndex + 1]) : 25;
const files = argv.filter((a, i) => !a.startsWith("--") && i !== topIndex + 1);
if (files.length === 0) {
  process.stderr.write("usage: node --import tsx bench/profile.ts FILE.cpuprofile [...] [--top N]\n");
  process.exit(2);
}

const where = (f: CallFrame): string => {
  const file = f.url === "" ? "" : basename(f.url.replace(/^file:\/\//, ""));
  return file === "" ? "" : `${file}:${f.lineNumber + 1}`;
};
const label = (f: CallFrame): string => `${f.functionName || "(anonymous)"} ${where(f)}`.trim();

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const byFile = new Map<string, number>();
let idleUs = 0;
let busyUs = 0;

for (const file of files) {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; charge it to the sample (the usual approximation)
    const us = p.timeDeltas[i] ?? 0;
    const leaf = byId.get(p.samples[i] as number);
    if (!leaf) continue;
    if (leaf.callFrame.functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const l = label(leaf.callFrame);
    self.set(l, (self.get(l) ?? 0) + us);
    const fileName = leaf.callFrame.url === "" ? leaf.callFrame.functionName || "(native)" : basename(leaf.callFrame.url);
    byFile.set(fileName, (byFile.get(fileName) ?? 0) + us);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id) as ProfileNode;
      const k = label(n.callFrame);
      if (seen.has(k) || k === "(root)") continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
}

const pct = (us: number): string => `${((100 * us) / Math.max(1, busyUs)).toFixed(1).padStart(5)} %`;
const ms = (us: number): string => `${(us / 1000).toFixed(0).padStart(7)} ms`;
const table = (title: string, m: Map<string, number>): void => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${ms(v)} ${pct(v)}  ${k}\n`);
};
process.stdout.write(`${files.length} profile(s): busy ${(busyUs / 1e6).toFixed(1)} s, idle ${(idleUs / 1e6).toFixed(1)} s\n`);
table("self time (of busy)", self);
table("inclusive time (of busy)", inclusive);
table("self time by file", byFile);
