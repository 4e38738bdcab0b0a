/**
 * Transactions past their final answer, kept only to absorb retransmissions, as one small record each.
 *
 * After its final answer a transaction lingers for a fixed time: Timer J of a non-INVITE server transaction
 * (§17.2.2), Timer K of a non-INVITE client (§17.1.2.2), Timers L and M of the INVITE server and client after a 2xx
 * (RFC 6026 §8.7, §8.4). Over UDP that is 64×T1 = 32 s (T4 = 5 s for Timer K). At 1,000 calls/s a gateway would
 * carry some 64,000 such transactions, each a state machine with its timers, closures, response context and
 * buffers: tens of kilobytes per call for a job that needs a few dozen bytes (absorb the retransmitted request or
 * answer it with the same final again; pass a retransmitted 2xx upstream).
 *
 * So the gateway retires a transaction into one of these tables as it reaches that state. All records of a table
 * live equally long, so the oldest expires first: expiry walks a FIFO from its head, with no timer per record.
 * Pure: the caller passes the time.
 */
export class RetiredTable<V> {
  readonly #records = new Map<string, V>();
  // The FIFO, as parallel arrays (no object per record): key, the value it was added with, and its expiry.
  #keys: string[] = [];
  #values: V[] = [];
  #expiries: number[] = [];
  #head = 0;

  constructor(readonly lifetimeMs: number) {}

  /** Records held. */
  get size(): number {
    return this.#records.size;
  }

  /** When the oldest record expires; undefined when empty. */
  get nextExpiry(): number | undefined {
    return this.#head < this.#keys.length ? this.#expiries[this.#head] : undefined;
  }

  /** Keep `value` under `key` for the table's lifetime from `now` (a key added again starts a new lifetime). */
  add(key: string, value: V, now: number): void {
    this.#records.set(key, value);
    this.#keys.push(key);
    this.#values.push(value);
    this.#expiries.push(now + this.lifetimeMs);
  }

  get(key: string): V | undefined {
    return this.#records.get(key);
  }

  /** Forget every record whose lifetime is over at `now`; returns how many went. */
  sweep(now: number): number {
    let removed = 0;
    const keys = this.#keys;
    while (this.#head < keys.length && this.#expiries[this.#head]! <= now) {
      const key = keys[this.#head]!;
      // Only the record this slot added: one added again later under the same key has its own, later slot.
      if (this.#records.get(key) === this.#values[this.#head]) {
        this.#records.delete(key);
        removed++;
      }
      this.#head++;
    }
    if (this.#head === keys.length) {
      this.#keys = [];
      this.#values = [];
      this.#expiries = [];
      this.#head = 0;
    } else if (this.#head >= 4096 && this.#head * 2 >= keys.length) {
      // Drop the consumed prefix now and then, so the arrays stay as long as the live records.
      this.#keys = keys.slice(this.#head);
      this.#values = this.#values.slice(this.#head);
      this.#expiries = this.#expiries.slice(this.#head);
      this.#head = 0;
    }
    return removed;
  }

  clear(): void {
    this.#records.clear();
    this.#keys = [];
    this.#values = [];
    this.#expiries = [];
    this.#head = 0;
  }
}
