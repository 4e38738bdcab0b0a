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
  /**
   * What a gateway needs to end the call on its own (admin DELETE /v1/dialogs/{id}, dialog keepalive): the From of
   * the INVITE and the To of the 2xx (with tags), both sides' Contact URIs, and where the caller's INVITE came from
   * (encoded target, see proxy/route-token.ts). Absent on dialogs written by older gateways.
   */
  readonly caller?: { readonly nameAddr: string; readonly contact?: string; readonly target: string };
  readonly callee?: { readonly nameAddr: string; readonly contact?: string };
  /** Hard maximum duration (s) from its routing rule; absent: the gateway's default. */
  readonly maxDurationS?: number;
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
 * A claim on a destination's capacity, taken at INVITE time before the request is relayed. `units` says how much of
 * each resource the call takes (resource names as in OpenSIPS load_balancer's `resources`, e.g. `{ calls: 1, pstn: 1 }`);
 * resource names are 1-64 characters of `A-Z a-z 0-9 _ . : -`, units are positive integers.
 */
export interface Reservation {
  readonly destinationId: string;
  /** The dialog id minted at INVITE time: makes `reserve` idempotent and lets `release` find the claim. */
  readonly id: string;
  readonly units: Readonly<Record<string, number>>;
}

/** Outcome of `reserve`: when refused, `resource` names the first resource that had no room. */
export type ReserveResult = { readonly ok: true } | { readonly ok: false; readonly resource: string };

/** Current use per resource of one destination; resources at 0 are absent. */
export type Load = Record<string, number>;

export interface ReconcileResult {
  /** Reservations dropped: expired, or half-written ones found without an expiry. */
  readonly expired: number;
  /** The load recounted from the live reservations (now what the store holds). */
  readonly load: Load;
}

/**
 * Capacity accounting shared by every gateway (OpenSIPS load_balancer keeps these counters per process and lets them
 * drift; here the counters live in the store, change only inside one atomic step, and can always be recounted).
 *
 * Every reservation has an expiry: a gateway killed mid-call stops holding capacity once its reservations expire,
 * because `reserve` on that destination drops expired reservations first and `reconcile` recounts from live ones.
 */
export interface CapacityStore {
  /**
   * Atomically check every resource of `r.units` against `capacities` and take them all, or none. A resource absent
   * from `capacities` (or with a non-finite capacity) is not limited. Reserving an id that already holds a live
   * reservation succeeds without counting twice (and extends its life to `ttlMs` from now).
   */
  reserve(r: Reservation, capacities: Readonly<Record<string, number>>, ttlMs: number): Promise<ReserveResult>;
  /** Extend a live reservation to `ttlMs` from now (call confirmed, in-dialog traffic); false when it is gone. */
  refresh(destinationId: string, id: string, ttlMs: number): Promise<boolean>;
  /** Give a reservation back (failure, CANCEL, BYE). Idempotent: false when it was not held. Counts never go below 0. */
  release(destinationId: string, id: string): Promise<boolean>;
  /** Current use of several destinations at once (one round trip); every requested id is a key of the result. */
  load(destinationIds: readonly string[]): Promise<Record<string, Load>>;
  /** Drop expired reservations and recount the destination's load from the live ones (heals any drift). */
  reconcile(destinationId: string): Promise<ReconcileResult>;
}

/**
 * The port every store implements (in-process here; Redis over TCP and Upstash REST alongside). Asynchronous
 * because the real ones are.
 */
export interface DialogStore extends CapacityStore {
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

/**
 * A store operation that failed in the store layer: connection lost or refused, timeout, server error, or a malformed
 * argument. `op` names the operation; `cause` carries the client library's error.
 */
export class StoreError extends Error {
  override readonly name = "StoreError";
  readonly op: string;
  constructor(op: string, message: string, options?: { readonly cause?: unknown }) {
    super(`${op}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.op = op;
  }
}

const RESOURCE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** A reservation's units as the stores keep them: validated, zero units dropped, in the caller's order. */
export function checkedUnits(op: string, units: Readonly<Record<string, number>>): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const [resource, n] of Object.entries(units)) {
    if (!RESOURCE.test(resource)) throw new StoreError(op, `invalid resource name ${JSON.stringify(resource)}`);
    if (!Number.isSafeInteger(n) || n < 0) throw new StoreError(op, `units of ${resource} must be a non-negative integer, got ${n}`);
    if (n > 0) out.push([resource, n]);
  }
  return out;
}

/** A capacity as the stores compare it: a non-negative integer, or undefined for "not limited". */
export function checkedCapacity(op: string, resource: string, capacity: number | undefined): number | undefined {
  if (capacity === undefined || capacity === Infinity) return undefined;
  if (Number.isNaN(capacity) || capacity < 0) throw new StoreError(op, `capacity of ${resource} must be >= 0, got ${capacity}`);
  return Math.floor(capacity);
}

/** A TTL as the stores use it: a positive integer number of ms. */
export function checkedTtl(op: string, ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs < 1) throw new StoreError(op, `ttlMs must be >= 1, got ${ttlMs}`);
  return Math.ceil(ttlMs);
}
