/**
 * A string-keyed map for short-lived values held by a long-lived owner: transactions in flight, client branches,
 * dialogs, reservations.
 *
 * Why not a plain Map: a Map that lives long sits in V8's old generation, and so does every hash table it grows,
 * shrinks or compacts into afterwards (the new table inherits the old one's generation). With thousands of inserts
 * and deletes a second a Map compacts every few operations, so each operation allocated old-generation memory that
 * was garbage soon after, and until the next full collection each dead table kept what it pointed to (keys and
 * transactions) alive through every minor collection: copied twice, then promoted. Under sipp load that was most of
 * what filled the old generation between full collections, whose pauses set the tail of call setup (measured with a
 * sampling heap profile of the objects that outlive minor GCs, bench/RESULTS.md).
 *
 * Here nothing is ever reallocated at steady state:
 * - keys and values live in arrays of slots reused through a free list (they stop growing at the peak number of
 *   entries), and a deleted entry's slots are cleared at once, so nothing dead holds a key or a value;
 * - the index is an open-addressing hash table of slot numbers in an Int32Array (open-index.ts), holding no
 *   references at all, rebuilt only when the peak grows.
 *
 * Iteration follows insertion order, like a Map's; it walks a snapshot of the keys taken when it starts, skipping
 * those deleted since (so deleting while iterating is safe; entries added meanwhile are not visited).
 */
import { fnv1a } from "./fnv.ts";
import { indexInsert, indexRemoveAt } from "./open-index.ts";

export class SlotMap<V> {
  #keys: (string | undefined)[] = [];
  #values: (V | undefined)[] = [];
  /** Each slot's key hash, and its insertion number (for iteration order). */
  #hashes = new Int32Array(16);
  #order = new Float64Array(16);
  #free: number[] = [];
  /** Slot + 1 per entry, 0 when empty; at most half full. */
  #table = new Int32Array(32);
  #size = 0;
  #inserted = 0;

  get size(): number {
    return this.#size;
  }

  get(key: string): V | undefined {
    const i = this.#find(key, fnv1a(key));
    return i < 0 ? undefined : this.#values[this.#table[i]! - 1];
  }

  has(key: string): boolean {
    return this.#find(key, fnv1a(key)) >= 0;
  }

  set(key: string, value: V): this {
    const hash = fnv1a(key);
    const i = this.#find(key, hash);
    if (i >= 0) {
      this.#values[this.#table[i]! - 1] = value;
      return this;
    }
    const slot = this.#free.pop() ?? this.#keys.length;
    if (slot >= this.#hashes.length) {
      this.#hashes = grown(this.#hashes, new Int32Array(this.#hashes.length * 2));
      this.#order = grown(this.#order, new Float64Array(this.#order.length * 2));
    }
    this.#keys[slot] = key;
    this.#values[slot] = value;
    this.#hashes[slot] = hash;
    this.#order[slot] = this.#inserted++;
    this.#size++;
    if (this.#size * 2 > this.#table.length) this.#rebuild(this.#table.length * 2);
    else indexInsert(this.#table, hash, slot);
    return this;
  }

  delete(key: string): boolean {
    const i = this.#find(key, fnv1a(key));
    if (i < 0) return false;
    const slot = this.#table[i]! - 1;
    this.#keys[slot] = undefined;
    this.#values[slot] = undefined;
    this.#free.push(slot);
    this.#size--;
    indexRemoveAt(this.#table, i, this.#hashes);
    return true;
  }

  clear(): void {
    // Emptied in place, never replaced: V8 treats a field that is never assigned after construction as constant,
    // and code optimised on that assumption is thrown away the first time it is assigned. Replacing these arrays
    // when the gateway's JIT warm-up disposed of its core deoptimised every function that had inlined a lookup
    // (`marking dependent code ... code dependencies`, --trace-deopt).
    this.#keys.length = 0;
    this.#values.length = 0;
    this.#free.length = 0;
    this.#table.fill(0);
    this.#size = 0;
  }

  *keys(): IterableIterator<string> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  /** In insertion order, like a Map's; deleting entries while iterating is safe. */
  *entries(): IterableIterator<[string, V]> {
    const live: number[] = [];
    for (let slot = 0; slot < this.#keys.length; slot++) if (this.#keys[slot] !== undefined) live.push(slot);
    const order = this.#order;
    live.sort((a, b) => order[a]! - order[b]!);
    const snapshot = live.map((slot) => [slot, this.#order[slot]!, this.#keys[slot]!] as const);
    for (const [slot, inserted, key] of snapshot) {
      // Still the entry the snapshot saw (not deleted, its slot not reused since).
      if (this.#keys[slot] === key && this.#order[slot] === inserted) yield [key, this.#values[slot] as V];
    }
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  /** The table index holding `key`, or -1. */
  #find(key: string, hash: number): number {
    const table = this.#table;
    const mask = table.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const s = table[i]!;
      if (s === 0) return -1;
      if (this.#hashes[s - 1] === hash && this.#keys[s - 1] === key) return i;
    }
  }

  #rebuild(size: number): void {
    this.#table = new Int32Array(size);
    for (let slot = 0; slot < this.#keys.length; slot++) {
      if (this.#keys[slot] !== undefined) indexInsert(this.#table, this.#hashes[slot]!, slot);
    }
  }
}

function grown<T extends Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
