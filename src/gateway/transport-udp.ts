/**
 * UDP transport (RFC 3261 §18.1.1, §18.2.1). One socket per listen address; datagrams go straight to the core.
 */
import { createSocket, type Socket } from "node:dgram";
import { lookup, type LookupOneOptions } from "node:dns";
import { isIP, isIPv6 } from "node:net";
import type { LocalAddress, MessageHandler, Source, Transport } from "./transport.ts";

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string, family: number) => void;

/** dgram's address lookup: an IP literal is answered synchronously; a name still goes to dns.lookup. */
function literalLookup(address: string, options: LookupOneOptions | number, callback: LookupCallback): void {
  // Node 20 passes the family as a number; the typings (and later Node versions) an options object.
  const family = isIP(address);
  if (family !== 0) callback(null, address, family);
  else lookup(address, typeof options === "number" ? { family: options } : options, callback);
}

/** Large enough to ride out bursts at thousands of calls per second without kernel drops. */
const SOCKET_BUFFER_BYTES = 8 * 1024 * 1024;

export interface UdpOptions {
  /**
   * Bind with SO_REUSEADDR so the gateway's worker threads each have a socket on the same port (shard-pool.ts): each
   * sends from the address its calls know, and Linux delivers unicast to the socket bound last, whose thread hands
   * every message to the shard that owns it. The main thread checks first that no one else holds the port.
   */
  readonly shared?: boolean;
}

interface Outgoing {
  readonly host: string;
  readonly port: number;
  readonly data: Uint8Array;
  readonly onError: ((error: Error) => void) | undefined;
}

export class UdpTransport implements Transport {
  readonly kind = "udp" as const;
  #socket: Socket | undefined;
  #local: LocalAddress;
  readonly #shared: boolean;
  readonly counters = { udpReceived: 0, udpSent: 0, udpSendErrors: 0 };
  /**
   * Datagrams to send at the end of this loop turn. libuv hands the gateway up to 32 received datagrams per poll; sending
   * each answer the moment it is made woke a peer in the middle of that batch, and on two cores the woken peer often
   * took the gateway's CPU while the rest of the batch waited. Sent together after the poll phase (setImmediate), they
   * go out after the batch. In an A/B under sipp on a 2-vCPU VM (two rounds each), this took the gateway's CPU per
   * call from 436 to 355 µs at 1,500 calls/s. At 2,500/s it went from overload (574–882 µs, thousands of failed calls)
   * to 290–310 µs with all calls through. The order of sends is kept, and the delay is at most the rest of one poll
   * batch. The bytes are read at the flush: every caller hands over a buffer of its own (serializeMessage allocates
   * one per message).
   */
  #outbox: Outgoing[] = [];

  constructor(host: string, port: number, options: UdpOptions = {}) {
    this.#local = { transport: "udp", host, port };
    this.#shared = options.shared ?? false;
  }

  get local(): LocalAddress {
    return this.#local;
  }

  start(onMessage: MessageHandler): Promise<void> {
    // Every address we send to is an IP literal (destinations resolve when configured, responses go to received):
    // answering the socket's lookup at once spares dgram a dns.lookup and a process.nextTick per datagram.
    const socket = createSocket({ type: isIPv6(this.#local.host) ? "udp6" : "udp4", reuseAddr: this.#shared, lookup: literalLookup });
    this.#socket = socket;
    socket.on("message", (data, rinfo) => {
      this.counters.udpReceived++;
      const source: Source = { transport: "udp", address: rinfo.address, port: rinfo.port };
      onMessage(data, source);
    });
    return new Promise((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(this.#local.port, this.#local.host, () => {
        socket.off("error", reject);
        // After bind: an error on a UDP socket (e.g. ICMP unreachable reported late) must never crash the process.
        socket.on("error", () => this.counters.udpSendErrors++);
        try {
          socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
          socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
        } catch {
          // The kernel caps these (net.core.rmem_max); the default still works.
        }
        this.#local = { ...this.#local, port: socket.address().port };
        resolve();
      });
    });
  }

  send(host: string, port: number, data: Uint8Array, onError?: (error: Error) => void): void {
    if (!this.#socket) {
      onError?.(new Error("UDP transport is closed"));
      return;
    }
    this.counters.udpSent++;
    this.#outbox.push({ host, port, data, onError });
    if (this.#outbox.length === 1) setImmediate(this.#flush);
  }

  /** Sends what this loop turn produced, after the turn's poll phase (see {@link #outbox}). */
  readonly #flush = (): void => {
    // The outbox only fills while the socket is open, and close() empties it before letting the socket go.
    const socket = this.#socket;
    const batch = this.#outbox;
    if (!socket || batch.length === 0) return;
    this.#outbox = [];
    for (const datagram of batch) this.#sendNow(socket, datagram);
  };

  #sendNow(socket: Socket, { host, port, data, onError }: Outgoing): void {
    if (!onError) {
      // No one to tell: errors still reach the socket's "error" listener and are counted there.
      socket.send(data, port, host);
      return;
    }
    socket.send(data, port, host, (error) => {
      if (error) {
        this.counters.udpSendErrors++;
        onError(error);
      }
    });
  }

  close(): Promise<void> {
    this.#flush();
    const socket = this.#socket;
    this.#socket = undefined;
    if (!socket) return Promise.resolve();
    return new Promise((resolve) => socket.close(() => resolve()));
  }
}

/**
 * Fails with EADDRINUSE when another socket holds the port: a shared (SO_REUSEADDR) bind alone would succeed next to
 * a gateway already running there and split its traffic. Port 0 (any free port) is always free.
 */
export async function assertUdpPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createSocket({ type: isIPv6(host) ? "udp6" : "udp4", reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    probe.once("error", reject);
    probe.bind(port, host, () => resolve());
  }).finally(() => new Promise<void>((resolve) => {
    try {
      probe.close(() => resolve());
    } catch {
      resolve();
    }
  }));
}
