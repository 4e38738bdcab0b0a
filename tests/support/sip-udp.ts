/**
 * A raw SIP-over-UDP endpoint for hand-made messages (forged Routes, torture messages, control signals): one socket
 * on 127.0.0.1, everything received is kept, and a test awaits the message it expects with a deadline.
 */
import { createSocket, type Socket } from "node:dgram";
import { randomBytes } from "node:crypto";
import { parseSipText, type TracedMessage } from "./sipp-log.ts";

export interface Received {
  readonly msg: TracedMessage;
  readonly from: { readonly address: string; readonly port: number };
  readonly at: number;
}

export class SipUdp {
  readonly received: Received[] = [];
  private waiters: { pred: (r: Received) => boolean; resolve: (r: Received) => void }[] = [];
  private readonly listeners = new Set<(r: Received) => void>();

  private constructor(
    private readonly sock: Socket,
    readonly port: number,
  ) {
    sock.on("message", (buf, rinfo) => {
      const parsed = parseSipText(buf.toString("latin1"));
      if (!parsed) return;
      const r: Received = {
        msg: { ...parsed, direction: "received", transport: "UDP", time: new Date().toISOString() },
        from: { address: rinfo.address, port: rinfo.port },
        at: Date.now(),
      };
      this.received.push(r);
      for (const l of [...this.listeners]) l(r);
      for (const w of [...this.waiters]) {
        if (w.pred(r)) {
          this.waiters = this.waiters.filter((x) => x !== w);
          w.resolve(r);
        }
      }
    });
  }

  static async open(port = 0): Promise<SipUdp> {
    const sock = createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind({ address: "127.0.0.1", port }, () => {
        sock.off("error", reject);
        resolve();
      });
    });
    return new SipUdp(sock, sock.address().port);
  }

  /** Call `listener` for every message received from now on (after it is recorded); returns the unsubscribe. */
  onMessage(listener: (r: Received) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(text: string | Buffer, port: number, host = "127.0.0.1"): Promise<void> {
    const buf = typeof text === "string" ? Buffer.from(text, "latin1") : text;
    return new Promise((resolve, reject) => this.sock.send(buf, port, host, (e) => (e ? reject(e) : resolve())));
  }

  /** First message (already received or arriving before the deadline) matching pred; undefined on deadline. */
  waitFor(pred: (r: Received) => boolean, timeoutMs: number, since = 0): Promise<Received | undefined> {
    const seen = this.received.find((r) => r.at >= since && pred(r));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const w = {
        pred,
        resolve: (r: Received) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** First response for `callId` (and CSeq method, if given), excluding 1xx unless asked. */
  waitForResponse(
    callId: string,
    timeoutMs: number,
    opts: { cseqMethod?: string; provisional?: boolean } = {},
  ): Promise<Received | undefined> {
    return this.waitFor(
      (r) =>
        r.msg.kind === "response" &&
        r.msg.callId === callId &&
        (opts.cseqMethod === undefined || r.msg.cseqMethod === opts.cseqMethod) &&
        (opts.provisional === true || (r.msg.status ?? 0) >= 200),
      timeoutMs,
    );
  }

  messagesFor(callId: string): TracedMessage[] {
    return this.received.filter((r) => r.msg.callId === callId).map((r) => r.msg);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.sock.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

export function token(n = 8): string {
  return randomBytes(n).toString("hex");
}

/** Join header lines into a SIP message with CRLFs and a correct Content-Length. */
export function sipMessage(startLine: string, headers: readonly string[], body = ""): string {
  const hs = headers.filter((h) => !/^content-length\s*:/i.test(h));
  return `${[startLine, ...hs, `Content-Length: ${Buffer.byteLength(body, "latin1")}`].join("\r\n")}\r\n\r\n${body}`;
}

/**
 * An OPTIONS with Max-Forwards: 0 to the gateway: RFC 3261 16.3 step 3 makes a proxy answer it itself (483, or 200
 * as the final recipient), never forward it. Its answer proves the gateway has processed every datagram this socket
 * sent before it (one socket, loopback, in-order processing).
 */
export function sentinelOptions(ep: SipUdp, gwPort: number, callId: string): string {
  return sipMessage(`OPTIONS sip:127.0.0.1:${gwPort} SIP/2.0`, [
    `Via: SIP/2.0/UDP 127.0.0.1:${ep.port};branch=z9hG4bK-sentinel-${token(6)};rport`,
    "Max-Forwards: 0",
    `From: <sip:sentinel@127.0.0.1:${ep.port}>;tag=${token(4)}`,
    `To: <sip:127.0.0.1:${gwPort}>`,
    `Call-ID: ${callId}`,
    "CSeq: 1 OPTIONS",
  ]);
}

/** The INFO that releases a held uac-hold.xml call (sent straight to the UAC sipp, never via the gateway). */
export function releaseInfo(ep: SipUdp, uacPort: number, callId: string): string {
  return sipMessage(`INFO sip:sipp@127.0.0.1:${uacPort} SIP/2.0`, [
    `Via: SIP/2.0/UDP 127.0.0.1:${ep.port};branch=z9hG4bK-release-${token(6)}`,
    "Max-Forwards: 70",
    `From: <sip:e2e@127.0.0.1:${ep.port}>;tag=${token(4)}`,
    `To: <sip:sipp@127.0.0.1:${uacPort}>`,
    `Call-ID: ${callId}`,
    "CSeq: 1 INFO",
  ]);
}
