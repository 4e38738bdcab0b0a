/**
 * The proxy core alone: CPU per call of the gateway's own code, without sockets, sipp or the kernel.
 *
 *   npm run bench:core                      20,000 calls in batches of 20, 3 rounds; prints µs per call per round
 *   npm run bench:core -- --calls N --batch B --rounds R [--profile DIR]
 *
 * `npm run bench` measures what an operator sees, but its figures move by ±10% with the state of a shared machine
 * and include the kernel's UDP path (about a third of the gateway's CPU): too coarse to tell whether a change to the
 * parser or the proxy saved 3%. This drives the core the gateway builds (buildProxyCore, the in-process dialog store,
 * the built-in route function over a quick-start catalog of two destinations, the real clock) with the same call
 * as the benchmark's sipp scenarios: INVITE, 100/180/200 from the destination, ACK and BYE through the Record-Route,
 * 200 to the BYE. `batch` calls are in flight at once, like concurrent calls under load. Every call is checked
 * (the caller gets its 100, 180, 200 and BYE 200; the destination its INVITE, ACK and BYE), so a change that breaks
 * the flow cannot look fast.
 *
 * Reported: CPU time (user + system) of the whole run ÷ calls, minus the time this script spent building and reading
 * messages (measured around that code), i.e. the core's CPU per call including GC. Compare runs of one machine only.
 */
import { Buffer } from "node:buffer";
import { performance } from "node:perf_hooks";
import { decideRoute, localState } from "../functions/route.ts";
import { parseConfig } from "../src/config.ts";
import { MemoryCatalog } from "../src/db/catalog-memory.ts";
import { seedQuickStart } from "../src/db/quick-start.ts";
import { MemoryDialogStore } from "../src/dialog/memory.ts";
import { OurAddresses } from "../src/gateway/addresses.ts";
import { buildProxyCore } from "../src/gateway/core-build.ts";
import { Counters } from "../src/gateway/counters.ts";
import type { Source } from "../src/gateway/transport.ts";
import { IdMint } from "../src/proxy/ids.ts";
import type { Target } from "../src/proxy/route-token.ts";
import { systemClock } from "../src/transaction/clock.ts";

const argv = process.argv.slice(2);
const arg = (name: string, fallback: number): number => {
  const i = argv.indexOf(name);
  const n = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
};
const CALLS = arg("--calls", 20_000);
const BATCH = arg("--batch", 20);
const ROUNDS = arg("--rounds", 3);

const GW = 5060;
const UAC = 5062;
const UAS = [5070, 5072] as const;
const HOST = "127.0.0.1";

const parsed = parseConfig({
  SWITCHBOARD_SIP_LISTEN: `udp:${HOST}:${GW}`,
  SWITCHBOARD_DESTINATIONS: UAS.map((p) => `sip:${HOST}:${p}`).join(","),
  SWITCHBOARD_LOG_LEVEL: "warn",
});
if (!parsed.ok) throw new Error(parsed.error.message);
const config = parsed.config;

const catalog = new MemoryCatalog();
await seedQuickStart(catalog, config.destinations);
const dialogs = new MemoryDialogStore(Date.now);
const counters = new Counters();
const routePorts = {
  snapshot: () => catalog.snapshot(),
  routable: () => true,
  load: (ids: readonly string[]) => dialogs.load(ids),
  state: localState(),
  random: Math.random,
  noRoute: { status: 404, reason: "No Route" },
};

interface Sent {
  readonly port: number;
  readonly data: Uint8Array;
}
let sent: Sent[] = [];
const core = buildProxyCore({
  config,
  secret: "bench-core-secret-0123456789abcdef",
  clock: systemClock,
  addresses: new OurAddresses(HOST, [{ transport: "udp", host: HOST, port: GW }]),
  ids: new IdMint(),
  dialogs,
  gatewayId: "bench-core",
  log: { enabled: () => false, log: () => {} },
  counters,
  route: (event) => decideRoute(event, routePorts),
  eventHeaders: () => [],
  evidence: () => {},
  send: (target: Target, data: Uint8Array) => void sent.push({ port: target.port, data }),
});

// ------------------------------------------------------------------ the peers (this script's own cost is timed)

let harnessMs = 0;
const timed = <T>(f: () => T): T => {
  const t0 = performance.now();
  try {
    return f();
  } finally {
    harnessMs += performance.now() - t0;
  }
};
const msg = (startLine: string, headers: readonly string[], body = ""): Buffer =>
  Buffer.from(`${startLine}\r\n${headers.join("\r\n")}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, "latin1");
const lines = (text: string, name: string): string[] => text.split("\r\n").filter((l) => l.toLowerCase().startsWith(`${name}:`));
const value = (line: string): string => line.slice(line.indexOf(":") + 1).trim();
const from = (port: number): Source => ({ transport: "udp", address: HOST, port });
const SDP = "v=0\r\no=uac 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

interface Call {
  readonly id: string;
  readonly tag: string;
  seen: Set<string>;
  uas?: number;
  routes?: string[];
  contact?: string;
  toTag?: string;
}

const callerHeaders = (c: Call, method: string, cseq: number, branch: string, to: string): string[] => [
  `Via: SIP/2.0/UDP ${HOST}:${UAC};branch=z9hG4bK-${branch};rport`,
  ...(c.routes ?? []).map((r) => `Route: ${r}`),
  `From: sipp <sip:sipp@${HOST}:${UAC}>;tag=${c.tag}`,
  `To: ${to}`,
  `Call-ID: ${c.id}`,
  `CSeq: ${cseq} ${method}`,
  `Contact: <sip:sipp@${HOST}:${UAC};transport=UDP>`,
  "Max-Forwards: 70",
];

/** The destination's answer to a request it got: every Via, From, To (tagged), Call-ID, CSeq, Record-Route. */
function answer(text: string, status: string, toTag: string, contactPort: number, body = ""): Buffer {
  const to = value(lines(text, "to")[0] ?? "");
  return msg(`SIP/2.0 ${status}`, [
    ...lines(text, "via"),
    ...lines(text, "record-route"),
    ...lines(text, "from"),
    `To: ${to.includes(";tag=") ? to : `${to};tag=${toTag}`}`,
    ...lines(text, "call-id"),
    ...lines(text, "cseq"),
    `Contact: <sip:uas@${HOST}:${contactPort}>`,
  ], body);
}

/** Take what the core sent, by Call-ID; each delivery is recorded as "port method-or-status". */
function deliver(calls: Map<string, Call>): { text: string; port: number; call: Call; first: string }[] {
  const out = sent.map((s) => {
    const text = Buffer.from(s.data).toString("latin1");
    const id = value(lines(text, "call-id")[0] ?? "");
    const call = calls.get(id);
    if (!call) throw new Error(`a message for an unknown call: ${text.slice(0, 200)}`);
    const first = text.slice(0, text.indexOf("\r\n"));
    const what = first.startsWith("SIP/2.0 ") ? `${first.split(" ")[1]} ${value(lines(text, "cseq")[0] ?? "").split(" ")[1]}` : first.split(" ")[0]!;
    call.seen.add(`${s.port} ${what}`);
    return { text, port: s.port, call, first };
  });
  sent = [];
  return out;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Let the core's promise chains (store, route function) finish: a few event-loop turns. */
async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) await turn();
}

let callNo = 0;
async function batch(size: number): Promise<Call[]> {
  const calls = new Map<string, Call>();
  timed(() => {
    for (let i = 0; i < size; i++) {
      const n = callNo++;
      const call: Call = { id: `bench-core-${n}@${HOST}`, tag: `t${n}`, seen: new Set() };
      calls.set(call.id, call);
    }
  });
  for (const c of calls.values()) {
    const data = timed(() => msg("INVITE sip:svc@127.0.0.1:5060 SIP/2.0", [...callerHeaders(c, "INVITE", 1, `i${c.tag}`, "svc <sip:svc@127.0.0.1:5060>"), "Content-Type: application/sdp"], SDP));
    core.handle(data, from(UAC));
  }
  await settle();
  // destination: 100, 180, 200 (with SDP) to each INVITE
  const answers = timed(() =>
    deliver(calls).filter((d) => d.first.startsWith("INVITE")).flatMap((d) => {
      d.call.uas = d.port;
      const tag = `u${d.call.tag}`;
      return [answer(d.text, "100 Trying", "", d.port), answer(d.text, "180 Ringing", tag, d.port), answer(d.text, "200 OK", tag, d.port, SDP)].map(
        (data, i) => ({ data: i === 0 ? Buffer.from(Buffer.from(data).toString("latin1").replace(/;tag=$/m, ""), "latin1") : data, port: d.port }),
      );
    }),
  );
  for (const a of answers) core.handle(a.data, from(a.port));
  await settle();
  // caller: ACK and BYE through the Record-Route (§12.1.2: the route set is the Record-Route in reverse order)
  const byes: Buffer[] = [];
  const acks = timed(() =>
    deliver(calls).filter((d) => d.first === "SIP/2.0 200 OK" && d.port === UAC).map((d) => {
      const c = d.call;
      c.routes = lines(d.text, "record-route").map(value).flatMap((v) => v.split(/,\s*/)).reverse();
      c.contact = /<([^>]+)>/.exec(value(lines(d.text, "contact")[0] ?? ""))?.[1] ?? "";
      const to = value(lines(d.text, "to")[0] ?? "");
      byes.push(msg(`BYE ${c.contact} SIP/2.0`, callerHeaders(c, "BYE", 2, `b${c.tag}`, to)));
      return msg(`ACK ${c.contact} SIP/2.0`, callerHeaders(c, "ACK", 1, `a${c.tag}`, to));
    }),
  );
  for (const a of acks) core.handle(a, from(UAC));
  for (const b of byes) core.handle(b, from(UAC));
  await settle();
  // destination: 200 to each BYE
  const oks = timed(() =>
    deliver(calls).filter((d) => d.first.startsWith("BYE")).map((d) => ({ data: answer(d.text, "200 OK", "", d.port), port: d.port })),
  );
  for (const o of oks) core.handle(o.data, from(o.port));
  await settle();
  timed(() => deliver(calls));
  return [...calls.values()];
}

function check(calls: readonly Call[]): void {
  for (const c of calls) {
    const want = [`${UAC} 100 INVITE`, `${UAC} 180 INVITE`, `${UAC} 200 INVITE`, `${c.uas} INVITE`, `${c.uas} ACK`, `${c.uas} BYE`, `${UAC} 200 BYE`];
    const missing = want.filter((w) => !c.seen.has(w));
    if (c.uas === undefined || missing.length > 0) throw new Error(`call ${c.id} incomplete: missing ${missing.join(", ")}; saw ${[...c.seen].join(", ")}`);
  }
}

const warm = await batch(BATCH);
check(warm);
process.stdout.write(`proxy core, ${CALLS} calls per round in batches of ${BATCH} (node ${process.version})\n`);
const results: number[] = [];
for (let r = 1; r <= ROUNDS; r++) {
  harnessMs = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let done = 0; done < CALLS; done += BATCH) check(await batch(Math.min(BATCH, CALLS - done)));
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const coreUs = ((cpuMs - harnessMs) * 1000) / CALLS;
  results.push(coreUs);
  process.stdout.write(
    `round ${r}: ${coreUs.toFixed(1)} µs of core CPU per call (process ${((cpuMs * 1000) / CALLS).toFixed(1)} µs, of which this script ${((harnessMs * 1000) / CALLS).toFixed(1)} µs; wall ${(wallMs / 1000).toFixed(1)} s)\n`,
  );
}
const sorted = [...results].sort((a, b) => a - b);
const load = await dialogs.load(catalog.snapshot().destinations.map((d) => d.id));
const busy = Object.entries(load).filter(([, l]) => Object.values(l).some((n) => n !== 0));
if (busy.length > 0) throw new Error(`capacity still held after every call ended: ${JSON.stringify(load)}`);
process.stdout.write(`median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} µs of core CPU per call; every call complete, no capacity left held\n`);
process.exit(0);
