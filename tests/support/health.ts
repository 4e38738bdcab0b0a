/**
 * Health checking from the outside: gateways whose destinations are probed every second, the destination rows'
 * health fields (GET /v1/destinations: state, adminState, routable, pausedUntil, lastProbe, latencyMs), waiting for
 * a health state with a deadline (and when it was first seen), sipp trace times as epoch ms, who answered a call, and
 * a local HTTP receiver for the gateway's signed webhooks.
 *
 * A destination that must look dead but still be observable is a `SipUdp` socket (./sip-udp.ts) that never answers:
 * it records every datagram (with its arrival time) and sends nothing.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { join } from "node:path";
import { startGateway, type Gateway } from "./gateway.ts";
import { freePorts } from "./ports.ts";
import type { TracedMessage } from "./sipp-log.ts";
import type { Received } from "./sip-udp.ts";

/** Probe settings the health tests give every destination: OPTIONS every second whatever the state, 200 alive. */
export const PROBE_INTERVAL_MS = 1000;
export const FAST_PROBE = { mode: "always", aliveCodes: [200], intervalMs: PROBE_INTERVAL_MS } as const;

export interface HealthDestination {
  readonly id: string;
  readonly uri: string;
  readonly probe?: Record<string, unknown> | null;
}

export interface HealthGatewayOptions {
  /** Name for logs and the gateway's own data dir. */
  readonly name: string;
  readonly dir: string;
  /** Created through the admin API (set "default", round robin), in this order, before the test sends a call. */
  readonly destinations: readonly HealthDestination[];
  /** SWITCHBOARD_TICK_INTERVAL (ms): the timer that sends probes. Default 200. */
  readonly tickMs?: number;
  readonly branchTimeoutMs?: number;
  /** Extra SWITCHBOARD_* settings. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * One gateway (in-process store, its own SQL catalog file) whose destinations are created through the admin API
 * with their probe settings from the start (FAST_PROBE unless the destination says otherwise), so the first probe
 * already uses the short interval and timeout.
 */
export async function startHealthGateway(o: HealthGatewayOptions): Promise<Gateway> {
  const [sipPort, httpPort] = (await freePorts(2)) as [number, number];
  const gw = await startGateway({
    name: o.name,
    sipPort,
    httpPort,
    transports: ["udp"],
    destinations: [],
    dir: o.dir,
    branchTimeoutMs: o.branchTimeoutMs ?? 1000,
    env: {
      SWITCHBOARD_DATA_DIR: join(o.dir, `${o.name}-data`),
      SWITCHBOARD_TICK_INTERVAL: String(o.tickMs ?? 200),
      ...(o.env ?? {}),
    },
  });
  try {
    for (const d of o.destinations) await addDestination(gw, d);
  } catch (e) {
    await gw.stop("SIGKILL");
    throw e;
  }
  return gw;
}

/** POST /v1/destinations with FAST_PROBE unless `d.probe` says otherwise; asserts 201. */
export async function addDestination(gw: Gateway, d: HealthDestination): Promise<void> {
  const body = { id: d.id, uri: d.uri, probe: d.probe === undefined ? FAST_PROBE : d.probe };
  const r = await gw.adminPost("/v1/destinations", body);
  assert.equal(r.status, 201, `POST /v1/destinations ${JSON.stringify(body)}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
}

/** The health fields of a GET /v1/destinations row. */
export interface HealthRow {
  readonly id: string;
  readonly uri: string;
  readonly state: string;
  readonly adminState?: string;
  readonly routable?: boolean;
  readonly pausedUntil?: string;
  readonly lastProbe: { at: string; result: string; status: number | null; latencyMs: number | null } | null;
  readonly latencyMs: number | null;
  readonly [k: string]: unknown;
}

export async function healthRows(gw: Gateway): Promise<HealthRow[]> {
  return (await gw.destinations()) as HealthRow[];
}

export async function healthRow(gw: Gateway, id: string): Promise<HealthRow> {
  const row = (await healthRows(gw)).find((r) => r.id === id);
  if (!row) throw new Error(`GET /v1/destinations through ${gw.opts.name ?? "gateway"}: no row ${id}`);
  return row;
}

export interface StateSeen {
  /** Epoch ms of the first poll that showed it (the change happened at most one poll interval earlier). */
  readonly at: number;
  readonly row: HealthRow;
}

/**
 * Poll GET /v1/destinations every `intervalMs` until `pred(row)` holds for destination `id`; resolve with when it
 * was first seen. Rejects after `timeoutMs` with the rows seen along the way (state transitions only).
 */
export async function waitForRow(
  gw: Gateway,
  id: string,
  what: string,
  pred: (row: HealthRow) => boolean,
  timeoutMs: number,
  intervalMs = 50,
): Promise<StateSeen> {
  const deadline = Date.now() + timeoutMs;
  const seen: string[] = [];
  let last = "";
  for (;;) {
    let row: HealthRow | undefined;
    try {
      row = await healthRow(gw, id);
    } catch (e) {
      seen.push(`${new Date().toISOString()} poll failed: ${String(e)}`);
    }
    const at = Date.now();
    if (row) {
      const summary = `${row.state}/routable=${String(row.routable)}/probe=${row.lastProbe?.result ?? "-"}`;
      if (summary !== last) seen.push(`${new Date(at).toISOString()} ${summary}`);
      last = summary;
      if (pred(row)) return { at, row };
    }
    if (at >= deadline) {
      throw new Error(`${id} did not become ${what} within ${timeoutMs} ms; seen:\n  ${seen.join("\n  ")}\n${gw.logTail(3000)}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function waitForState(gw: Gateway, id: string, state: string, timeoutMs: number): Promise<StateSeen> {
  return waitForRow(gw, id, state, (r) => r.state === state, timeoutMs);
}

// ---------------------------------------------------------------------------------------------------------------
// Traces

/** A sipp trace time ("2026-11-23 06:47:31.595336", local time, the same clock as Date.now()) as epoch ms. */
export function traceMs(m: Pick<TracedMessage, "time">): number {
  const [d, t] = m.time.split(" ");
  const ms = new Date(`${d ?? ""}T${(t ?? "").slice(0, 12)}`).getTime();
  if (Number.isNaN(ms)) throw new Error(`unreadable sipp trace time ${m.time}`);
  return ms;
}

/** The tag parameter of a To/From value. */
export function tagOf(value: string | undefined): string | undefined {
  return /;\s*tag=([^;>\s]+)/i.exec(value ?? "")?.[1];
}

/** Per call, as the sipp UAC (uac.xml) saw it. */
export interface CallerView {
  readonly callId: string;
  /** First INVITE sent (epoch ms). */
  readonly invitedAt: number;
  /** The first final response to the INVITE: status, when, and the To tag (uas.xml: "<pid>SIPpUAS<n>"). */
  readonly final?: { readonly status: number; readonly at: number; readonly toTag: string | undefined };
  /** First BYE sent (epoch ms), if any. */
  readonly byeAt?: number;
  /** The BYE got a 200. */
  readonly byeOk: boolean;
  /** Every final status the caller got for its INVITE (retransmissions included). */
  readonly inviteFinals: readonly number[];
}

export function callerView(messages: readonly TracedMessage[]): Map<string, CallerView> {
  const out = new Map<string, { -readonly [K in keyof CallerView]: CallerView[K] } & { inviteFinals: number[] }>();
  for (const m of messages) {
    let c = out.get(m.callId);
    if (m.direction === "sent" && m.method === "INVITE" && !c) {
      c = { callId: m.callId, invitedAt: traceMs(m), byeOk: false, inviteFinals: [] };
      out.set(m.callId, c);
      continue;
    }
    if (!c) continue;
    if (m.direction === "received" && m.kind === "response" && m.cseqMethod === "INVITE" && (m.status ?? 0) >= 200) {
      c.inviteFinals.push(m.status ?? 0);
      if (!c.final) c.final = { status: m.status ?? 0, at: traceMs(m), toTag: tagOf(m.headers.get("to")?.[0]) };
    } else if (m.direction === "sent" && m.method === "BYE" && c.byeAt === undefined) {
      c.byeAt = traceMs(m);
    } else if (m.direction === "received" && m.kind === "response" && m.cseqMethod === "BYE" && m.status === 200) {
      c.byeOk = true;
    }
  }
  return out;
}

/** Whether a To tag was minted by the sipp UAS with this PID (uas.xml: tag=[pid]SIPpUAS[call_number]). */
export function taggedBy(toTag: string | undefined, pid: number): boolean {
  return toTag !== undefined && toTag.startsWith(`${pid}SIPpUAS`);
}

/** Distinct Call-IDs of the requests with `method` a raw socket received (retransmissions counted once). */
export function rawCallIds(received: readonly Received[], method: string): Set<string> {
  return new Set(received.filter((r) => r.msg.kind === "request" && r.msg.method === method).map((r) => r.msg.callId));
}

/** Call-ID → when the raw socket first received a `method` request for it. */
export function rawFirstSeen(received: readonly Received[], method: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of received) {
    if (r.msg.kind === "request" && r.msg.method === method && !out.has(r.msg.callId)) out.set(r.msg.callId, r.at);
  }
  return out;
}

/** Port of the top Via's sent-by ("SIP/2.0/UDP 127.0.0.1:P;..."): which gateway sent a request. */
export function viaPort(m: TracedMessage): number | undefined {
  const via = m.headers.get("via")?.[0]?.split(",")[0] ?? "";
  const p = /^SIP\/2\.0\/\w+\s+[^:;\s]+:(\d+)/i.exec(via.trim())?.[1];
  return p === undefined ? undefined : Number(p);
}

// ---------------------------------------------------------------------------------------------------------------
// Webhooks

export interface WebhookRequest {
  readonly at: number;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  /** Raw body, as received (the signature covers these bytes). */
  readonly body: string;
}

/** A local HTTP server on 127.0.0.1 that answers 200 to everything and records each request with its raw body. */
export class WebhookReceiver {
  private constructor(
    private readonly server: Server,
    readonly port: number,
    /** Every request received, in arrival order. */
    readonly requests: WebhookRequest[],
  ) {}

  static async start(): Promise<WebhookReceiver> {
    const requests: WebhookRequest[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        requests.push({ at: Date.now(), method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
        res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: "127.0.0.1", port: 0 }, () => resolve());
    });
    const addr = server.address();
    const port = typeof addr === "object" && addr !== null ? addr.port : 0;
    return new WebhookReceiver(server, port, requests);
  }

  url(path = "/switchboard-events"): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
