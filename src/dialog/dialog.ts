/**
 * A confirmed dialog as the proxy keeps it (RFC 3261 §12): flat data that stores in Redis as is.
 * In-dialog routing never needs it (our signed Record-Route carries the destination); it exists for visibility
 * (admin API), load accounting and expiry.
 */
export interface Dialog {
  /** Our dialog id, also carried in the Record-Route `d` parameter. */
  readonly id: string;
  readonly callId: string;
  /** From tag of the initial INVITE (the caller's tag). */
  readonly callerTag: string;
  /** To tag of the 2xx that confirmed it. */
  readonly calleeTag: string;
  readonly destinationId: string;
  readonly destinationUri: string;
  /** Record-Route values of the 2xx, topmost first: the route set the caller uses (§12.1.2 reversed). */
  readonly routeSet: readonly string[];
  /** Highest CSeq seen from each side; in-dialog requests must increase it (§12.2.2). */
  readonly callerCseq: number;
  readonly calleeCseq?: number;
  /** Which gateway set it up (process id of the gateway, for operators). */
  readonly gateway: string;
  /** Epoch ms. */
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly expiresAt: number;
}

export interface DialogFilter {
  readonly destinationId?: string;
  readonly limit?: number;
}

/**
 * The port every store implements (in-process here; Redis over TCP and Upstash REST alongside). Asynchronous
 * because the real ones are.
 */
export interface DialogStore {
  /** Create or replace a dialog; it lives `ttlMs` unless touched. */
  put(dialog: Dialog, ttlMs: number): Promise<void>;
  get(id: string): Promise<Dialog | undefined>;
  /** Extend a live dialog's life (in-dialog traffic); returns false when it no longer exists. */
  touch(id: string, ttlMs: number): Promise<boolean>;
  /** Remove a dialog; returns the removed record, undefined when it was not there. */
  remove(id: string): Promise<Dialog | undefined>;
  list(filter?: DialogFilter): Promise<Dialog[]>;
  count(): Promise<number>;
  close(): Promise<void>;
}
