/**
 * TCP transport (RFC 3261 §18, §18.3 framing by Content-Length; RFC 5626 §3.5.1 CRLF keep-alives).
 *
 * Connections are shared both ways: a request that came in on a connection gets its responses on it (§18.2.2), and
 * a message for an address we already have a connection with (inbound or outbound) reuses it instead of opening a
 * new one (§18.1.1).
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { SipStreamParser } from "../sip/parse-stream.ts";
import type { FramingErrorHandler, LocalAddress, MessageHandler, Source, Transport } from "./transport.ts";

const PONG = Buffer.from("\r\n");

export interface TcpOptions {
  readonly maxMessageSize: number;
  /** Idle connections are closed after this long (ms). */
  readonly idleTimeoutMs?: number;
  /** Hostile-network bound: beyond this many open connections new ones are refused. */
  readonly maxConnections?: number;
  readonly connectTimeoutMs?: number;
}

interface Connection {
  readonly id: number;
  readonly socket: Socket;
  readonly key: string;
  /** Writes waiting for an outbound connect; undefined once connected. */
  pending?: { data: Uint8Array; onError?: ((error: Error) => void) | undefined }[];
}

function addressKey(host: string, port: number): string {
  return `${host.replace(/^::ffff:/, "")}:${port}`;
}

export class TcpTransport implements Transport {
  readonly kind = "tcp" as const;
  #server: Server | undefined;
  #local: LocalAddress;
  #nextId = 1;
  readonly #byId = new Map<number, Connection>();
  readonly #byAddress = new Map<string, Connection>();
  #onMessage: MessageHandler = () => {};
  #onFramingError: FramingErrorHandler | undefined;
  readonly #options: Required<TcpOptions>;
  readonly counters = { tcpAccepted: 0, tcpConnected: 0, tcpFramingErrors: 0, tcpRefused: 0, tcpSendErrors: 0, tcpKeepalives: 0 };

  constructor(host: string, port: number, options: TcpOptions) {
    this.#local = { transport: "tcp", host, port };
    this.#options = { idleTimeoutMs: 600_000, maxConnections: 10_000, connectTimeoutMs: 3000, ...options };
  }

  get local(): LocalAddress {
    return this.#local;
  }

  start(onMessage: MessageHandler, onFramingError?: FramingErrorHandler): Promise<void> {
    this.#onMessage = onMessage;
    this.#onFramingError = onFramingError;
    const server = createServer({ noDelay: true }, (socket) => {
      if (this.#byId.size >= this.#options.maxConnections) {
        this.counters.tcpRefused++;
        socket.destroy();
        return;
      }
      this.counters.tcpAccepted++;
      this.#adopt(socket, addressKey(socket.remoteAddress ?? "", socket.remotePort ?? 0));
    });
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#local.port, this.#local.host, () => {
        server.off("error", reject);
        server.on("error", () => {});
        const address = server.address();
        if (address && typeof address === "object") this.#local = { ...this.#local, port: address.port };
        resolve();
      });
    });
  }

  #adopt(socket: Socket, key: string, pending?: Connection["pending"]): Connection {
    const connection: Connection = { id: this.#nextId++, socket, key, ...(pending ? { pending } : {}) };
    this.#byId.set(connection.id, connection);
    this.#byAddress.set(key, connection);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    // Outbound: bounded connect; then (and for inbound) idle connections are closed.
    socket.setTimeout(pending ? this.#options.connectTimeoutMs : this.#options.idleTimeoutMs);
    socket.on("timeout", () => socket.destroy());
    const parser = new SipStreamParser({ maxMessageSize: this.#options.maxMessageSize });
    const source = (): Source => ({
      transport: "tcp",
      address: (socket.remoteAddress ?? "").replace(/^::ffff:/, ""),
      port: socket.remotePort ?? 0,
      connectionId: connection.id,
    });
    socket.on("data", (chunk) => {
      for (const frame of parser.push(chunk)) {
        switch (frame.type) {
          case "message":
            this.#onMessage(frame.data, source());
            break;
          case "ping":
            this.counters.tcpKeepalives++;
            socket.write(PONG);
            break;
          case "pong":
            break;
          case "error": {
            // Framing is lost: nothing after this point can be trusted on this stream (§18.3). Answer what can be
            // answered (513 for an over-long message, 400 for a missing Content-Length), then close.
            this.counters.tcpFramingErrors++;
            const status = frame.error.code === "too-large" ? 513 : 400;
            const answer = frame.head ? this.#onFramingError?.(frame.head, status, frame.error.detail, source()) : undefined;
            if (answer) socket.end(answer);
            else socket.destroy();
            return;
          }
        }
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.#byId.delete(connection.id);
      if (this.#byAddress.get(key) === connection) this.#byAddress.delete(key);
      const waiting = connection.pending;
      connection.pending = undefined;
      for (const write of waiting ?? []) write.onError?.(new Error(`TCP connection to ${key} failed`));
    });
    return connection;
  }

  send(host: string, port: number, data: Uint8Array, onError?: (error: Error) => void, connectionId?: number): void {
    let connection = connectionId === undefined ? undefined : this.#byId.get(connectionId);
    if (!connection || connection.socket.destroyed) connection = this.#byAddress.get(addressKey(host, port));
    if (connection && !connection.socket.destroyed) {
      if (connection.pending) connection.pending.push({ data, onError });
      else this.#write(connection, data, onError);
      return;
    }
    if (!this.#server) {
      onError?.(new Error("TCP transport is closed"));
      return;
    }
    const socket = connect({ host, port, noDelay: true });
    const outbound = this.#adopt(socket, addressKey(host, port), [{ data, onError }]);
    socket.once("connect", () => {
      this.counters.tcpConnected++;
      socket.setTimeout(this.#options.idleTimeoutMs);
      const waiting = outbound.pending ?? [];
      outbound.pending = undefined;
      for (const write of waiting) this.#write(outbound, write.data, write.onError);
    });
  }

  #write(connection: Connection, data: Uint8Array, onError?: (error: Error) => void): void {
    connection.socket.write(data, (error) => {
      if (error) {
        this.counters.tcpSendErrors++;
        onError?.(error);
      }
    });
  }

  close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const connection of this.#byId.values()) connection.socket.destroy();
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
