/**
 * Test support for the proxy core: a fake network that records every `send(target, bytes)` (parsed back), injects
 * messages as if they came from a given source, and builds SIP messages from small templates. No sockets, no real
 * time: the core runs on a {@link FakeClock}.
 */
import { Buffer } from "node:buffer";
import type { SipMessage, SipRequest, SipResponse } from "../sip/message.ts";
import { getHeaderValues, parseMessage } from "../sip/parse.ts";
import type { Target } from "../proxy/route-token.ts";
import { FakeClock } from "../transaction/fake-clock.ts";
import { MemoryDialogStore } from "../dialog/memory.ts";
import { IdMint } from "../proxy/ids.ts";
import { RouteSigner } from "../proxy/route-token.ts";
import { OurAddresses } from "./addresses.ts";
import { Counters } from "./counters.ts";
import type { Logger } from "./log.ts";
import type { ProxyEnv } from "./proxy-env.ts";
import { DEFAULT_FAILOVER, type FailoverPolicy } from "./response-context.ts";
import { ProxyCore, type RouteHandler } from "./proxy-core.ts";
import type { Source } from "./transport.ts";

export interface Sent {
  readonly target: Target;
  readonly connectionId: number | undefined;
  /** The bytes as latin1 text (byte for byte). */
  readonly text: string;
  readonly message: SipMessage;
}

export const quietLogger: Logger = { enabled: () => false, log: () => {} };

export interface Unparsed {
  readonly target: Target;
  readonly connectionId: number | undefined;
  readonly text: string;
  readonly error: string;
}

export class FakeNetwork {
  /** Every message sent that parses back (the normal case). */
  readonly sent: Sent[] = [];
  /** Sends that do not parse back (e.g. a 400 to a request that lacked Call-ID cannot carry one either). */
  readonly unparsed: Unparsed[] = [];
  /**
   * Targets ("host:port") whose sends fail: "sync" calls onError inside send() (as a closed transport does),
   * "deferred" queues it for {@link FakeNetwork.flushErrors} (as a failed TCP connect does).
   */
  readonly failing = new Map<string, "sync" | "deferred">();
  readonly #deferred: (() => void)[] = [];

  readonly send = (target: Target, data: Uint8Array, onError?: (error: Error) => void, connectionId?: number): void => {
    const text = Buffer.from(data).toString("latin1");
    const parsed = parseMessage(data, { stream: target.transport === "tcp" });
    if (parsed.ok) this.sent.push({ target, connectionId, text, message: parsed.message });
    else this.unparsed.push({ target, connectionId, text, error: `${parsed.error.code}: ${parsed.error.detail}` });
    const failing = this.failing.get(`${target.host}:${target.port}`);
    if (failing === "sync") onError?.(new Error("unreachable"));
    else if (failing === "deferred" && onError) this.#deferred.push(() => onError(new Error("unreachable")));
  };

  /** Report the deferred transport errors queued so far. */
  flushErrors(): void {
    for (const report of this.#deferred.splice(0)) report();
  }

  /** Everything (parseable) sent since the last take(), and forget it. */
  take(): Sent[] {
    return this.sent.splice(0);
  }

  takeUnparsed(): Unparsed[] {
    return this.unparsed.splice(0);
  }
}

export function isRequest(s: Sent, method?: string): s is Sent & { message: SipRequest } {
  return s.message.type === "request" && (method === undefined || s.message.method === method);
}

export function isResponse(s: Sent, status?: number): s is Sent & { message: SipResponse } {
  return s.message.type === "response" && (status === undefined || s.message.status === status);
}

export function to(list: readonly Sent[], port: number, host = "127.0.0.1"): Sent[] {
  return list.filter((s) => s.target.port === port && s.target.host === host);
}

export function requests(list: readonly Sent[], method?: string): (Sent & { message: SipRequest })[] {
  return list.filter((s): s is Sent & { message: SipRequest } => isRequest(s, method));
}

export function responses(list: readonly Sent[], status?: number): (Sent & { message: SipResponse })[] {
  return list.filter((s): s is Sent & { message: SipResponse } => isResponse(s, status));
}

/** The raw wire lines (without CRLF) of the header section, start line excluded. */
export function headerLines(text: string): string[] {
  const end = text.indexOf("\r\n\r\n");
  return text.slice(0, end < 0 ? text.length : end).split("\r\n").slice(1);
}

/** Every value of a header, list headers split at top-level commas (as the parser does). */
export function headerValues(message: SipMessage, name: string): string[] {
  return getHeaderValues(message, name);
}

export function headerValue(message: SipMessage, name: string): string | undefined {
  return message.headers.find((h) => h.name === name)?.value;
}

/** Join header lines into a message with CRLF, an empty line and an optional body (Content-Length added). */
export function sipMessage(startLine: string, lines: readonly string[], body = ""): Uint8Array {
  const bodyBytes = Buffer.from(body, "utf8");
  const head = [startLine, ...lines, `Content-Length: ${bodyBytes.length}`, "", ""].join("\r\n");
  return Buffer.concat([Buffer.from(head, "latin1"), bodyBytes]);
}

/** Reply to a received request (as a UAS would): its Via, From, To (tag added), Call-ID, CSeq, then extra lines. */
export function replyTo(request: SipRequest, status: number, reason: string, options: { toTag?: string; extra?: readonly string[] } = {}): Uint8Array {
  const lines: string[] = [];
  for (const h of request.headers) {
    if (h.name === "via" || h.name === "record-route" || h.name === "from" || h.name === "call-id" || h.name === "cseq") {
      lines.push(h.raw ?? `${h.name}: ${h.value}`);
    } else if (h.name === "to") {
      const value = options.toTag !== undefined && request.toTag === undefined ? `${h.value};tag=${options.toTag}` : h.value;
      lines.push(`To: ${value}`);
    }
  }
  return sipMessage(`SIP/2.0 ${status} ${reason}`, [...lines, ...(options.extra ?? [])]);
}

/** Re-serialise something we received, as a raw buffer, to feed it back in (loop tests). */
export function bytesOf(sent: Sent): Uint8Array {
  return Buffer.from(sent.text, "latin1");
}

export const CALLER: Source = { transport: "udp", address: "127.0.0.1", port: 5062 };
export const DEST1 = { id: "d1", uri: "sip:127.0.0.1:5070" } as const;
export const DEST2 = { id: "d2", uri: "sip:127.0.0.1:5072" } as const;
export const fromDest = (port: number, transport: "udp" | "tcp" = "udp"): Source => ({ transport, address: "127.0.0.1", port });

export interface HarnessOptions {
  destinations?: readonly { id: string; uri: string }[];
  failover?: FailoverPolicy;
  route?: RouteHandler;
  branchTimeoutMs?: number;
  timerCMs?: number;
}

export interface Harness {
  readonly clock: FakeClock;
  readonly net: FakeNetwork;
  readonly core: ProxyCore;
  readonly env: ProxyEnv;
  readonly dialogs: MemoryDialogStore;
  readonly counters: Counters;
  readonly signer: RouteSigner;
  /** Route calls seen. */
  readonly routed: unknown[];
  inject(data: Uint8Array | string, source: Source): void;
}

export const TEST_SECRET = "test-secret-do-not-use";

export function harness(options: HarnessOptions = {}): Harness {
  const clock = new FakeClock(1_000_000);
  const net = new FakeNetwork();
  const dialogs = new MemoryDialogStore(() => clock.now());
  const counters = new Counters();
  const signer = new RouteSigner(TEST_SECRET);
  const addresses = new OurAddresses("127.0.0.1", [
    { transport: "udp", host: "127.0.0.1", port: 5060 },
    { transport: "tcp", host: "127.0.0.1", port: 5060 },
  ]);
  const destinations = options.destinations ?? [DEST1, DEST2];
  const routed: unknown[] = [];
  let turn = 0;
  const roundRobin: RouteHandler = (event) => {
    routed.push(event);
    const start = turn++ % destinations.length;
    return { action: "relay", destinations: [...destinations.slice(start), ...destinations.slice(0, start)] };
  };
  const env: ProxyEnv = {
    clock,
    timers: { t1: 500, t2: 4000, t4: 5000 },
    addresses,
    ids: new IdMint("tst"),
    signer,
    dialogs,
    dialogTtlMs: 3_600_000,
    setupTtlMs: 300_000,
    epochNow: () => clock.now(),
    // Long budget by default so the Timer C tests can fail over after 180 s; the budget has tests of its own.
    failover: options.failover ?? { ...DEFAULT_FAILOVER, budgetMs: 600_000 },
    branchTimeoutMs: options.branchTimeoutMs ?? 1000,
    timerCMs: options.timerCMs ?? 180_000,
    gatewayId: "gw-test",
    log: quietLogger,
    counters,
    send: net.send,
  };
  const core = new ProxyCore(env, { route: options.route ?? roundRobin, maxMessageSize: 65535 });
  return {
    clock,
    net,
    core,
    env,
    dialogs,
    counters,
    signer,
    routed,
    inject(data, source) {
      core.handle(typeof data === "string" ? Buffer.from(data, "latin1") : data, source);
    },
  };
}

export interface CallParams {
  callId?: string;
  fromTag?: string;
  branch?: string;
  cseq?: number;
  /** Via sent-by port of the caller (default 5062). */
  viaPort?: number;
  rport?: boolean;
  maxForwards?: number | null;
  requestUri?: string;
  extra?: readonly string[];
  body?: string;
}

/** A caller's INVITE (UDP, 127.0.0.1:5062) with a few deliberately odd headers to check byte-exact relaying. */
export function invite(p: CallParams = {}): Uint8Array {
  const port = p.viaPort ?? 5062;
  const lines = [
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${p.branch ?? "z9hG4bK-caller-1"}${p.rport === false ? "" : ";rport"}`,
    ...(p.maxForwards === null ? [] : [`Max-Forwards: ${p.maxForwards ?? 70}`]),
    // UTF-8 display name, written as latin1 bytes so they go on the wire unchanged
    Buffer.from(`From: "Zoë Ångström" <sip:alice@127.0.0.1:${port}>;tag=${p.fromTag ?? "caller-tag"}`, "utf8").toString("latin1"),
    "To: <sip:bob@example.test>",
    `Call-ID: ${p.callId ?? "call-1@127.0.0.1"}`,
    `CSeq: ${p.cseq ?? 1} INVITE`,
    `Contact: <sip:alice@127.0.0.1:${port}>`,
    "X-Odd:   spaced  out\t value ",
    ...(p.extra ?? []),
    "Content-Type: application/sdp",
  ];
  return sipMessage(`INVITE ${p.requestUri ?? "sip:bob@example.test"} SIP/2.0`, lines, p.body ?? "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n");
}

/** The caller's CANCEL for {@link invite} with the same parameters (§9.1: same Via branch, Request-URI, Call-ID...). */
export function cancel(p: CallParams = {}): Uint8Array {
  const port = p.viaPort ?? 5062;
  return sipMessage(`CANCEL ${p.requestUri ?? "sip:bob@example.test"} SIP/2.0`, [
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${p.branch ?? "z9hG4bK-caller-1"}${p.rport === false ? "" : ";rport"}`,
    "Max-Forwards: 70",
    `From: <sip:alice@127.0.0.1:${port}>;tag=${p.fromTag ?? "caller-tag"}`,
    "To: <sip:bob@example.test>",
    `Call-ID: ${p.callId ?? "call-1@127.0.0.1"}`,
    `CSeq: ${p.cseq ?? 1} CANCEL`,
  ]);
}

export interface InDialogParams {
  method: string;
  requestUri: string;
  branch: string;
  fromTag: string;
  toTag: string;
  cseq: number;
  /** CSeq method (ACK uses the INVITE's number). */
  callId?: string;
  routes?: readonly string[];
  via?: string;
  from?: string;
  to?: string;
  extra?: readonly string[];
}

/** An in-dialog request (ACK, BYE, re-INVITE...) with the given Route set. */
export function inDialog(p: InDialogParams): Uint8Array {
  return sipMessage(`${p.method} ${p.requestUri} SIP/2.0`, [
    `Via: ${p.via ?? "SIP/2.0/UDP 127.0.0.1:5062"};branch=${p.branch};rport`,
    "Max-Forwards: 70",
    ...(p.routes ?? []).map((r) => `Route: ${r}`),
    `From: ${p.from ?? "<sip:alice@127.0.0.1:5062>"};tag=${p.fromTag}`,
    `To: ${p.to ?? "<sip:bob@example.test>"};tag=${p.toTag}`,
    `Call-ID: ${p.callId ?? "call-1@127.0.0.1"}`,
    `CSeq: ${p.cseq} ${p.method}`,
    ...(p.extra ?? []),
  ]);
}
