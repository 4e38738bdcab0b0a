/**
 * JIT warm-up of the UDP path, the part of a message's way the core warm-up (warmup.ts) cannot reach: its private
 * cores send into a recorder and are fed by hand, so the gateway's receive and send path (UdpTransport, Node's dgram,
 * the Buffers the socket makes) was still unoptimised when the first burst of real traffic came. With --trace-opt,
 * the first second of a burst after light traffic compiled that path (onMessage, send, #flush, dgram's Socket.send,
 * doSend, afterDns) while datagrams waited.
 *
 * So datagrams of a SIP message's size are bounced between two UdpTransports of the gateway's own, on ephemeral
 * ports of 127.0.0.1: one sends (as the core does: a Buffer of its own, with and without an error callback), the
 * other echoes what it receives. Loopback only, nothing else listens there; both sockets are closed at the end.
 */
import { Buffer } from "node:buffer";
import { UdpTransport } from "./transport-udp.ts";

export interface UdpWarmUpReport {
  /** datagrams that made the round trip */
  readonly datagrams: number;
}

/** Datagrams in flight at once: about what one loop turn of a busy gateway sends (transport-udp.ts). */
const ROUND = 16;
/** A round that has not come back by then is given up (loopback does not lose datagrams unless starved). */
const ROUND_TIMEOUT_MS = 1000;

function sipSized(n: number): Buffer {
  const text = `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-warm-up-${n}\r\nCall-ID: warm-up-${n}\r\n`.padEnd(600, "x");
  const out = Buffer.allocUnsafe(text.length);
  out.write(text, "latin1");
  return out;
}

export async function warmUpUdp(options: { readonly datagrams: number; readonly stopped?: () => boolean }): Promise<UdpWarmUpReport> {
  const sender = new UdpTransport("127.0.0.1", 0);
  const echo = new UdpTransport("127.0.0.1", 0);
  let returned = 0;
  let waiting: { readonly until: number; readonly resolve: () => void } | undefined;
  try {
    await echo.start((data, source) => echo.send(source.address, source.port, data));
    await sender.start(() => {
      returned++;
      if (waiting && returned >= waiting.until) waiting.resolve();
    });
    const to = echo.local.port;
    const ignore = (): void => {};
    for (let sent = 0; sent < options.datagrams && !options.stopped?.(); ) {
      const until = Math.min(sent + ROUND, options.datagrams);
      const back = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), ROUND_TIMEOUT_MS);
        waiting = { until, resolve: () => (clearTimeout(timer), resolve(true)) };
      });
      for (; sent < until; sent++) {
        if (sent % 2 === 0) sender.send("127.0.0.1", to, sipSized(sent));
        else sender.send("127.0.0.1", to, sipSized(sent), ignore);
      }
      // true once the round is back (the receive handler resolves it), false if it does not come back in time
      if (!(await back)) break;
    }
  } finally {
    await Promise.all([sender.close(), echo.close()]);
  }
  return { datagrams: returned };
}
