/**
 * The transport port (RFC 3261 §18): what the proxy core needs from UDP and TCP, and nothing more. One adapter per
 * file: transport-udp.ts, transport-tcp.ts.
 */
export type TransportKind = "udp" | "tcp";

export interface LocalAddress {
  readonly transport: TransportKind;
  readonly host: string;
  readonly port: number;
}

/** Where a message came from; for TCP, the connection it came on (responses go back on it, §18.2.2). */
export interface Source {
  readonly transport: TransportKind;
  readonly address: string;
  readonly port: number;
  readonly connectionId?: number;
}

export type MessageHandler = (data: Uint8Array, source: Source) => void;

/**
 * A stream whose framing broke (over-long or missing Content-Length): given the header section when it is known,
 * returns an answer to write before the connection is closed (e.g. 513), or undefined.
 */
export type FramingErrorHandler = (head: Uint8Array, status: number, reason: string, source: Source) => Uint8Array | undefined;

export interface Transport {
  readonly kind: TransportKind;
  readonly local: LocalAddress;
  start(onMessage: MessageHandler, onFramingError?: FramingErrorHandler): Promise<void>;
  /**
   * Send to an address. For TCP an existing connection to it is reused (or the one named by `connectionId` when it
   * is still open), otherwise one is opened. Failures are reported through `onError` (a transport error in §17 terms),
   * never thrown.
   */
  send(host: string, port: number, data: Uint8Array, onError?: (error: Error) => void, connectionId?: number): void;
  close(): Promise<void>;
  readonly counters: Readonly<Record<string, number>>;
}
