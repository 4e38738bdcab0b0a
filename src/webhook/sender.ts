/**
 * Posts events to webhook endpoints in the background: `send()` only enqueues (O(1), no I/O, never awaits), so a
 * slow or dead receiver can never delay a call. Each (event, endpoint) pair is one delivery:
 *
 * - a bounded queue (`queueLimit` deliveries, in flight and waiting for a retry included): when full, the oldest
 *   delivery not in flight is dropped (the newest state matters most) and counted in `dropped`;
 * - at most `concurrency` requests in flight; each attempt has a deadline (`timeoutMs`);
 * - 2xx: delivered. 408, 425, 429, 5xx, network errors and timeouts: retried with exponential backoff and jitter
 *   (`baseDelayMs` × 2^(attempt−1), capped at `maxDelayMs`, then a random half of it added: "equal jitter"; a
 *   Retry-After on 429/503 lengthens the wait, within `maxDelayMs`). Any other status: failed at once (a receiver
 *   that rejects a request will reject it again);
 * - bounded: at most `maxAttempts` attempts and no retry starting later than `maxAgeMs` after the event; then failed.
 *
 * Every request is signed anew (src/webhook/signature.ts), so a retry carries a fresh timestamp within the
 * receiver's tolerance. Time, randomness and fetch are injected; nothing here reads env.
 */
import type { WebhookEndpoint, WebhookEvent } from "./event.ts";
import { SIGNATURE_HEADER, signatureHeader } from "./signature.ts";

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface WebhookSenderOptions {
  readonly endpoints: readonly WebhookEndpoint[];
  /** Default: the runtime's fetch. */
  readonly fetch?: FetchLike;
  /** Deliveries held at most (queued, waiting for a retry, in flight). Default 1000. */
  readonly queueLimit?: number;
  /** Requests in flight at most. Default 4. */
  readonly concurrency?: number;
  /** Attempts per delivery, first included. Default 8. */
  readonly maxAttempts?: number;
  /** No attempt starts later than this after the event was sent. Default 600 000 ms (10 min). */
  readonly maxAgeMs?: number;
  /** Delay before the first retry (before jitter). Default 1000 ms. */
  readonly baseDelayMs?: number;
  /** Longest delay between attempts. Default 60 000 ms. */
  readonly maxDelayMs?: number;
  /** Deadline of one attempt. Default 5000 ms. */
  readonly timeoutMs?: number;
  /** Default Math.random. */
  readonly random?: () => number;
  /** Default Date.now. */
  readonly now?: () => number;
  /** Let a pending retry timer keep a Node process alive? Default false (call `drain()` on shutdown instead). */
  readonly keepAlive?: boolean;
  /** Every delivery's fate, for logs and counters. */
  readonly onOutcome?: (outcome: DeliveryOutcome) => void;
}

export interface DeliveryOutcome {
  readonly outcome: "delivered" | "retry" | "failed" | "dropped";
  readonly eventId: string;
  readonly url: string;
  /** Attempts made so far. */
  readonly attempt: number;
  readonly status?: number;
  readonly error?: string;
  /** For `retry`: the wait before the next attempt. */
  readonly delayMs?: number;
}

export interface WebhookStats {
  /** Deliveries held now (queued + waiting for a retry + in flight). */
  readonly pending: number;
  readonly inFlight: number;
  readonly delivered: number;
  /** Gave up: permanent rejection, attempts or age exhausted. */
  readonly failed: number;
  /** Dropped unsent: queue full, or the sender closed. */
  readonly dropped: number;
  /** Attempts that were retried. */
  readonly retries: number;
}

interface Delivery {
  readonly eventId: string;
  readonly endpoint: WebhookEndpoint;
  readonly body: string;
  readonly createdAt: number;
  attempt: number;
  timer?: ReturnType<typeof setTimeout>;
}

const RETRY_STATUSES = new Set([408, 425, 429]);

/** Retry-After as seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export class WebhookSender {
  readonly #endpoints: readonly WebhookEndpoint[];
  readonly #fetch: FetchLike;
  readonly #limit: number;
  readonly #concurrency: number;
  readonly #maxAttempts: number;
  readonly #maxAgeMs: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #timeoutMs: number;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #keepAlive: boolean;
  readonly #onOutcome: (o: DeliveryOutcome) => void;

  /** Ready to send, oldest first. */
  readonly #ready: Delivery[] = [];
  /** Waiting for a retry timer, oldest first (insertion order). */
  readonly #waiting = new Set<Delivery>();
  #inFlight = 0;
  #pumpScheduled = false;
  #closed = false;
  #idle: Array<() => void> = [];
  readonly #stats = { delivered: 0, failed: 0, dropped: 0, retries: 0 };

  constructor(options: WebhookSenderOptions) {
    this.#endpoints = options.endpoints;
    const f = options.fetch ?? globalThis.fetch;
    this.#fetch = (input, init) => f(input, init);
    this.#limit = Math.max(1, options.queueLimit ?? 1000);
    this.#concurrency = Math.max(1, options.concurrency ?? 4);
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 8);
    this.#maxAgeMs = options.maxAgeMs ?? 600_000;
    this.#baseDelayMs = Math.max(0, options.baseDelayMs ?? 1000);
    this.#maxDelayMs = Math.max(this.#baseDelayMs, options.maxDelayMs ?? 60_000);
    this.#timeoutMs = Math.max(1, options.timeoutMs ?? 5000);
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
    this.#keepAlive = options.keepAlive ?? false;
    this.#onOutcome = options.onOutcome ?? (() => {});
  }

  /**
   * Queue an event for every endpoint; returns at once. False when something was dropped to make room (or the
   * sender is closed); the drop is counted either way.
   */
  send(event: WebhookEvent): boolean {
    const body = JSON.stringify(event);
    let kept = true;
    for (const endpoint of this.#endpoints) {
      const d: Delivery = { eventId: event.id, endpoint, body, createdAt: this.#now(), attempt: 0 };
      if (this.#closed) {
        this.#drop(d);
        kept = false;
        continue;
      }
      if (this.#pending() >= this.#limit) {
        kept = false;
        if (!this.#makeRoom()) {
          this.#drop(d);
          continue;
        }
      }
      this.#ready.push(d);
    }
    this.#schedulePump();
    return kept;
  }

  stats(): WebhookStats {
    return { pending: this.#pending(), inFlight: this.#inFlight, ...this.#stats };
  }

  /** Resolve true once nothing is pending, or false after `timeoutMs` (graceful shutdown). */
  drain(timeoutMs = 10_000): Promise<boolean> {
    if (this.#pending() === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#idle = this.#idle.filter((f) => f !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#idle.push(done);
    });
  }

  /** Stop: every delivery not in flight is dropped (counted); in-flight attempts finish but are not retried. */
  close(): void {
    this.#closed = true;
    for (const d of this.#ready.splice(0)) this.#drop(d);
    for (const d of [...this.#waiting]) {
      clearTimeout(d.timer);
      this.#waiting.delete(d);
      this.#drop(d);
    }
    this.#checkIdle();
  }

  // ---- internals -------------------------------------------------------------------------------------------------

  #pending(): number {
    return this.#ready.length + this.#waiting.size + this.#inFlight;
  }

  /** Drop the oldest delivery not in flight; false when every held delivery is in flight. */
  #makeRoom(): boolean {
    const oldest = this.#ready.shift();
    if (oldest) {
      this.#drop(oldest);
      return true;
    }
    for (const d of this.#waiting) {
      clearTimeout(d.timer);
      this.#waiting.delete(d);
      this.#drop(d);
      return true;
    }
    return false;
  }

  #drop(d: Delivery): void {
    this.#stats.dropped++;
    this.#report({ outcome: "dropped", eventId: d.eventId, url: d.endpoint.url, attempt: d.attempt });
  }

  #report(o: DeliveryOutcome): void {
    try {
      this.#onOutcome(o);
    } catch {
      // a failing listener must not break delivery
    }
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    while (!this.#closed && this.#inFlight < this.#concurrency) {
      const d = this.#ready.shift();
      if (!d) break;
      this.#inFlight++;
      void this.#attempt(d).finally(() => {
        this.#inFlight--;
        this.#pump();
        this.#checkIdle();
      });
    }
  }

  #checkIdle(): void {
    if (this.#pending() > 0) return;
    const waiters = this.#idle;
    this.#idle = [];
    for (const f of waiters) f();
  }

  async #attempt(d: Delivery): Promise<void> {
    d.attempt++;
    const url = d.endpoint.url;
    let status: number | undefined;
    let error: string | undefined;
    let retryAfter: number | undefined;
    try {
      const signature = await signatureHeader(d.endpoint.secret, d.body, Math.floor(this.#now() / 1000));
      const res = await this.#fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "switchboard-webhook/1",
          "x-switchboard-event-id": d.eventId,
          [SIGNATURE_HEADER.toLowerCase()]: signature,
        },
        body: d.body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      status = res.status;
      retryAfter = retryAfterMs(res.headers.get("retry-after"), this.#now());
      await res.body?.cancel().catch(() => {});
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    if (status !== undefined && status >= 200 && status < 300) {
      this.#stats.delivered++;
      this.#report({ outcome: "delivered", eventId: d.eventId, url, attempt: d.attempt, status });
      return;
    }
    const retryable = status === undefined || status >= 500 || RETRY_STATUSES.has(status);
    const base = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (d.attempt - 1));
    let delayMs = Math.floor(base / 2 + this.#random() * (base / 2));
    if (retryAfter !== undefined) delayMs = Math.min(this.#maxDelayMs, Math.max(delayMs, retryAfter));
    const tooOld = this.#now() + delayMs > d.createdAt + this.#maxAgeMs;
    const detail = { ...(status !== undefined ? { status } : {}), ...(error !== undefined ? { error } : {}) };
    if (!retryable || d.attempt >= this.#maxAttempts || tooOld || this.#closed) {
      this.#stats.failed++;
      this.#report({ outcome: "failed", eventId: d.eventId, url, attempt: d.attempt, ...detail });
      return;
    }
    this.#stats.retries++;
    this.#report({ outcome: "retry", eventId: d.eventId, url, attempt: d.attempt, delayMs, ...detail });
    this.#waiting.add(d);
    d.timer = setTimeout(() => {
      if (!this.#waiting.delete(d)) return;
      this.#ready.push(d);
      this.#pump();
    }, delayMs);
    if (!this.#keepAlive) (d.timer as { unref?: () => void }).unref?.();
  }
}
