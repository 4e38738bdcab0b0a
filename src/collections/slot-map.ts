/**
 * A string-keyed map for short-lived values held by a long-lived owner: transactions in flight, client branches.
 *
 * Why not a plain Map: a Map that lives long sits in V8's old generation, and so does every hash table it grows,
 * shrinks or compacts into afterwards (the new table inherits the old one's generation). A table that a Map has
 * moved out of is garbage, but until the next full collection the young-generation collector still treats what
 * that dead table points to as reachable. With thousands of inserts and deletes a second, the Map compacts every
 * few operations, and each dead table kept the transactions it held then (each with its request, responses and
 * parse results) alive through every minor collection until a full one: measured under sipp load, every call's
 * state was copied twice and promoted (1.7 MB per scavenge, 4–7 ms pauses, and a full collection every few
 * seconds), which is most of a proxy's tail latency.
 *
 * Here the hash table maps keys to slot numbers only (small integers, no references), and the values live in an
 * array whose slots are reused through a free list: it stops growing at the peak number of entries, and a deleted
 * value's slot is cleared at once, so nothing dead holds a value.
 */
export class SlotMap<V> {
  readonly #index = new Map<string, number>();
  readonly #slots: (V | undefined)[] = [];
  readonly #free: number[] = [];

  get size(): number {
    return this.#index.size;
  }

  get(key: string): V | undefined {
    const slot = this.#index.get(key);
    return slot === undefined ? undefined : this.#slots[slot];
  }

  has(key: string): boolean {
    return this.#index.has(key);
  }

  set(key: string, value: V): this {
    const slot = this.#index.get(key);
    if (slot !== undefined) {
      this.#slots[slot] = value;
      return this;
    }
    const free = this.#free.pop() ?? this.#slots.length;
    this.#slots[free] = value;
    this.#index.set(key, free);
    return this;
  }

  delete(key: string): boolean {
    const slot = this.#index.get(key);
    if (slot === undefined) return false;
    this.#index.delete(key);
    this.#slots[slot] = undefined;
    this.#free.push(slot);
    return true;
  }

  clear(): void {
    this.#index.clear();
    this.#slots.length = 0;
    this.#free.length = 0;
  }

  keys(): IterableIterator<string> {
    return this.#index.keys();
  }

  /** Like a Map's: deleting entries while iterating is safe. */
  *values(): IterableIterator<V> {
    for (const slot of this.#index.values()) yield this.#slots[slot] as V;
  }

  /** In insertion order, like a Map's: deleting entries while iterating is safe. */
  *entries(): IterableIterator<[string, V]> {
    for (const [key, slot] of this.#index) yield [key, this.#slots[slot] as V];
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }
}
