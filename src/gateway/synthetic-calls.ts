/**
 * Synthetic calls through a proxy core, with no sockets: a caller and two destinations played in-process, the
 * benchmark's call (INVITE; 100 (every other call), 180, 200 with SDP from the destination; ACK and BYE through the
 * Record-Route, RFC 3261 §12.1.2; 200 to the BYE), written in two common ways (SyntheticCall.variant); the core's
 * OPTIONS health probes are answered 200. Used by the JIT warm-up of a starting gateway (warmup.ts) and by `npm run
 * bench:core`. Every call is checked: the caller got its 100, 180, 200 and BYE 200, the destination its INVITE, ACK
 * and BYE.
 */
import { Buffer } from "node:buffer";
import type { Target } from "../proxy/route-token.ts";
import type { Source } from "./transport.ts";

export interface SyntheticPeers {
  readonly host: string;
  /** the core's own port, where the caller sends */
  readonly gateway: number;
  readonly caller: number;
  /** the destinations' ports (the core's catalog must route to these) */
  readonly destinations: readonly number[];
}

export interface SyntheticCall {
  readonly id: string;
  readonly tag: string;
  /**
   * Which of two common ways of writing the same call this one uses, so the JIT sees both before real traffic does
   * (code optimised on one and met by the other is deoptimised, `--trace-deopt`): 0 = caller's Via with rport, the
   * destination sends 100 Trying and one header line per Via and Record-Route value; 1 = no rport, a Subject
   * header, no 100 from the destination, and Via and Record-Route values comma-joined on one line (§7.3.1), as
   * sipp's `[last_Via:]` writes them.
   */
  readonly variant: 0 | 1;
  readonly seen: Set<string>;
  uas?: number;
  routes?: string[];
  contact?: string;
}

/** The core's side: feed it a datagram. */
export type Feed = (data: Uint8Array, source: Source) => void;

const SDP = "v=0\r\no=uac 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/**
 * `bytes` as a Buffer of the kind a UDP socket hands over. Node builds a received datagram's Buffer in C++ (a
 * Uint8Array given Buffer's prototype), which has another V8 map than a Buffer made in JS (Buffer.from): code
 * optimised on warm-up Buffers of the JS kind was deoptimised (`wrong map` in Buffer#toString and parseMessage, seen
 * with --trace-deopt) by the first real datagrams, and optimised again only later.
 */
function asReceived(bytes: Buffer): Buffer {
  const received = new Uint8Array(bytes.length);
  received.set(bytes);
  return Object.setPrototypeOf(received, Buffer.prototype) as Buffer;
}

/**
 * `text` as a string of the kind a UDP socket's source address is: Node makes rinfo.address in C++, a flat string
 * that is not internalised, while a literal or a string constant is internalised, and V8 gives the two other maps.
 * Code optimised on the warm-up's constant address was deoptimised (`wrong map` in parseIpv4, seen with
 * --trace-deopt) by the first real datagram.
 */
function receivedString(text: string): string {
  return Buffer.from(text, "latin1").toString("latin1");
}

const msg = (startLine: string, headers: readonly string[], body = ""): Buffer =>
  asReceived(Buffer.from(`${startLine}\r\n${headers.join("\r\n")}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, "latin1"));
const lines = (text: string, name: string): string[] => text.split("\r\n").filter((l) => l.toLowerCase().startsWith(`${name}:`));
const value = (line: string): string => line.slice(line.indexOf(":") + 1).trim();
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Let the core's promise chains (store, route function) finish: a few event-loop turns. */
async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) await turn();
}

export class SyntheticCalls {
  #sent: { port: number; data: Uint8Array }[] = [];
  /** OPTIONS the core sent (its health probes), answered 200 by the destination it went to at the next stage. */
  #options: { text: string; port: number }[] = [];
  /** OPTIONS answered so far. */
  probesAnswered = 0;
  #callNo = 0;
  readonly #peers: SyntheticPeers;
  readonly #prefix: string;
  /** Wraps this driver's own work (building and reading messages), so a benchmark can leave it out of its figure. */
  readonly #timed: <T>(f: () => T) => T;

  constructor(peers: SyntheticPeers, options: { readonly prefix?: string; readonly timed?: <T>(f: () => T) => T } = {}) {
    this.#peers = peers;
    this.#prefix = options.prefix ?? "synthetic";
    this.#timed = options.timed ?? ((f) => f());
  }

  /** The core's send port: what it sends is kept for the peers to answer. */
  readonly send = (target: Target, data: Uint8Array): void => void this.#sent.push({ port: target.port, data });

  /** Run `size` calls at once through `feed`; resolves when they are over. */
  async batch(size: number, feed: Feed): Promise<SyntheticCall[]> {
    const { host, gateway, caller } = this.#peers;
    const from = (port: number): Source => ({ transport: "udp", address: receivedString(host), port });
    const calls = new Map<string, SyntheticCall>();
    const invites = this.#timed(() => {
      const out: Buffer[] = [];
      for (let i = 0; i < size; i++) {
        const n = this.#callNo++;
        const call: SyntheticCall = { id: `${this.#prefix}-${n}@${host}`, tag: `t${n}`, variant: (n & 1) as 0 | 1, seen: new Set() };
        calls.set(call.id, call);
        out.push(msg(`INVITE sip:svc@${host}:${gateway} SIP/2.0`, [
          ...this.#callerHeaders(call, "INVITE", 1, `i${call.tag}`, `svc <sip:svc@${host}:${gateway}>`),
          ...(call.variant === 1 ? ["Subject: synthetic call"] : []),
          "Content-Type: application/sdp",
        ], SDP));
      }
      return out;
    });
    for (const data of invites) feed(data, from(caller));
    await settle();
    // destination: 100 (variant 0), 180, 200 (with SDP) to each INVITE; 200 to each health probe
    const answers = this.#timed(() => [
      ...this.#deliver(calls).filter((d) => d.first.startsWith("INVITE")).flatMap((d) => {
        d.call.uas = d.port;
        const tag = `u${d.call.tag}`;
        const v = d.call.variant;
        return [
          ...(v === 0 ? [{ data: this.#answer(d.text, "100 Trying", undefined, d.port, v), port: d.port }] : []),
          { data: this.#answer(d.text, "180 Ringing", tag, d.port, v), port: d.port },
          { data: this.#answer(d.text, "200 OK", tag, d.port, v, SDP), port: d.port },
        ];
      }),
      ...this.#answerProbes(),
    ]);
    for (const a of answers) feed(a.data, from(a.port));
    await settle();
    // caller: ACK and BYE through the Record-Route (§12.1.2: the route set is the Record-Route in reverse order)
    const byes: Buffer[] = [];
    const acks = this.#timed(() =>
      this.#deliver(calls).filter((d) => d.first === "SIP/2.0 200 OK" && d.port === caller).map((d) => {
        const c = d.call;
        c.routes = lines(d.text, "record-route").map(value).flatMap((v) => v.split(/,\s*/)).reverse();
        c.contact = /<([^>]+)>/.exec(value(lines(d.text, "contact")[0] ?? ""))?.[1] ?? "";
        const to = value(lines(d.text, "to")[0] ?? "");
        byes.push(msg(`BYE ${c.contact} SIP/2.0`, this.#callerHeaders(c, "BYE", 2, `b${c.tag}`, to)));
        return msg(`ACK ${c.contact} SIP/2.0`, this.#callerHeaders(c, "ACK", 1, `a${c.tag}`, to));
      }),
    );
    for (const a of acks) feed(a, from(caller));
    for (const b of byes) feed(b, from(caller));
    await settle();
    // destination: 200 to each BYE
    const oks = this.#timed(() =>
      this.#deliver(calls).filter((d) => d.first.startsWith("BYE")).map((d) => ({ data: this.#answer(d.text, "200 OK", undefined, d.port, d.call.variant), port: d.port })),
    );
    for (const o of oks) feed(o.data, from(o.port));
    await settle();
    this.#timed(() => this.#deliver(calls));
    return [...calls.values()];
  }

  /** Calls that did not go through completely, with what is missing. */
  incomplete(calls: readonly SyntheticCall[]): string[] {
    const { caller } = this.#peers;
    const out: string[] = [];
    for (const c of calls) {
      const want = [`${caller} 100 INVITE`, `${caller} 180 INVITE`, `${caller} 200 INVITE`, `${c.uas} INVITE`, `${c.uas} ACK`, `${c.uas} BYE`, `${caller} 200 BYE`];
      const missing = want.filter((w) => !c.seen.has(w));
      if (c.uas === undefined || missing.length > 0) out.push(`call ${c.id}: missing ${missing.join(", ")}; saw ${[...c.seen].join(", ")}`);
    }
    return out;
  }

  #callerHeaders(c: SyntheticCall, method: string, cseq: number, branch: string, to: string): string[] {
    const { host, caller } = this.#peers;
    return [
      `Via: SIP/2.0/UDP ${host}:${caller};branch=z9hG4bK-${branch}${c.variant === 0 ? ";rport" : ""}`,
      ...(c.routes ?? []).map((r) => `Route: ${r}`),
      `From: sipp <sip:sipp@${host}:${caller}>;tag=${c.tag}`,
      `To: ${to}`,
      `Call-ID: ${c.id}`,
      `CSeq: ${cseq} ${method}`,
      `Contact: <sip:sipp@${host}:${caller};transport=UDP>`,
      "Max-Forwards: 70",
    ];
  }

  /** The destination's answer to a request it got (§8.2.6.2): every Via, Record-Route, From, To (tagged), Call-ID, CSeq. */
  #answer(text: string, status: string, toTag: string | undefined, contactPort: number, variant: 0 | 1, body = ""): Buffer {
    const to = value(lines(text, "to")[0] ?? "");
    const copy = (name: string, display: string): string[] => {
      const all = lines(text, name);
      return variant === 0 || all.length === 0 ? all : [`${display}: ${all.map(value).join(", ")}`];
    };
    return msg(`SIP/2.0 ${status}`, [
      ...copy("via", "Via"),
      ...copy("record-route", "Record-Route"),
      ...lines(text, "from"),
      `To: ${toTag === undefined || to.includes(";tag=") ? to : `${to};tag=${toTag}`}`,
      ...lines(text, "call-id"),
      ...lines(text, "cseq"),
      `Contact: <sip:uas@${this.#peers.host}:${contactPort}>`,
    ], body);
  }

  /** 200 to each OPTIONS taken so far, from the destination it was sent to. */
  #answerProbes(): { data: Buffer; port: number }[] {
    const out = this.#options.map((o) => ({ data: this.#answer(o.text, "200 OK", "probe", o.port, 0), port: o.port }));
    this.probesAnswered += out.length;
    this.#options = [];
    return out;
  }

  /** Take what the core sent, by Call-ID; each delivery is recorded on its call as "port method-or-status". */
  #deliver(calls: Map<string, SyntheticCall>): { text: string; port: number; call: SyntheticCall; first: string }[] {
    const out: { text: string; port: number; call: SyntheticCall; first: string }[] = [];
    for (const s of this.#sent) {
      const text = Buffer.from(s.data).toString("latin1");
      if (text.startsWith("OPTIONS ")) {
        this.#options.push({ text, port: s.port });
        continue;
      }
      const call = calls.get(value(lines(text, "call-id")[0] ?? ""));
      if (!call) continue; // not one of this batch's calls (a late retransmission): the peers ignore it
      const first = text.slice(0, text.indexOf("\r\n"));
      const what = first.startsWith("SIP/2.0 ") ? `${first.split(" ")[1]} ${value(lines(text, "cseq")[0] ?? "").split(" ")[1]}` : first.split(" ")[0]!;
      call.seen.add(`${s.port} ${what}`);
      out.push({ text, port: s.port, call, first });
    }
    this.#sent = [];
    return out;
  }
}
