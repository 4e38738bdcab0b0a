/**
 * Transactions past their final answer, kept only to absorb retransmissions, as one small record each, held outside
 * the JavaScript heap.
 *
 * After its final answer a transaction lingers for a fixed time: Timer J of a non-INVITE server transaction
 * (§17.2.2), Timer K of a non-INVITE client (§17.1.2.2), Timers L and M of the INVITE server and client after a 2xx
 * (RFC 6026 §8.7, §8.4). Over UDP that is 64×T1 = 32 s (T4 = 5 s for Timer K). At 2,000 calls/s a gateway carries
 * some 200,000 such records, and a record needs only its key and a few dozen bytes (the To tag to answer a late
 * CANCEL, where to relay a retransmitted 2xx) or the final response to send again (a few hundred).
 *
 * Kept as JavaScript strings and objects (about 1.4 KB per call with their Map entries), every record was copied
 * twice by V8's young-generation collector and then filled the old generation until a full collection: the records
 * were most of what each minor GC copied and all of what drove the full ones, and those pauses made the tail of the
 * call setup time (measured in bench/RESULTS.md). Here a record is bytes in one buffer and numbers in typed arrays;
 * the collector sees a handful of objects per table whatever the load.
 *
 * - Records live equally long and are added in time order, so they expire first in, first out: the byte arena and
 *   the record arrays are rings, and expiry walks from the oldest, with no timer per record.
 * - Keys are found through an open-addressing hash table (linear probing, backward-shift deletion: no tombstones, so
 *   no rehash at steady state) of ring positions; a hit compares the key's bytes.
 * - Values go through a codec to latin1 text and back: encoding runs once per record, decoding only when a
 *   retransmission or a late CANCEL asks.
 * - The rings and the table double when full (copying the live records once); they never shrink.
 *
 * Pure: the caller passes the time.
 */
import { Buffer } from "node:buffer";
import { fnv1a } from "../collections/fnv.ts";

/** Turns a record's value into latin1 text (one char per byte, each below 256) and back. */
export interface RetiredCodec<V> {
  encode(value: V): string;
  decode(text: string): V;
}

const MIN_RECORDS = 256;
const MIN_ARENA = 64 * 1024;

export class RetiredTable<V> {
  readonly #codec: RetiredCodec<V>;
  // The record ring: `#count` records from `#head` (oldest) on; each at a position < #capacity.
  #capacity = 0;
  #head = 0;
  #count = 0;
  #expiry = new Float64Array(0);
  #hash = new Int32Array(0);
  #offset = new Int32Array(0);
  #keyLength = new Int32Array(0);
  #valueLength = new Int32Array(0);
  /** 1 while the index finds the record; 0 once a later add of its key took over (it then only waits to expire). */
  #indexed = new Uint8Array(0);
  #live = 0;
  // The index: ring position + 1 per slot, 0 for an empty slot; twice the ring's capacity, so at most half full.
  #slots = new Int32Array(0);
  // The byte arena: records' key then value bytes, written at #arenaTail, freed from the oldest record's offset.
  #bytes: Buffer = Buffer.alloc(0);
  #arenaTail = 0;

  constructor(
    readonly lifetimeMs: number,
    codec: RetiredCodec<V>,
  ) {
    this.#codec = codec;
    this.#allocate(MIN_RECORDS, MIN_ARENA);
  }

  /** Keys held (a key added again counts once). */
  get size(): number {
    return this.#live;
  }

  /** When the oldest record expires; undefined when empty. */
  get nextExpiry(): number | undefined {
    return this.#count > 0 ? this.#expiry[this.#head] : undefined;
  }

  /** Keep `value` under `key` (latin1 text) for the table's lifetime from `now`; a key added again starts anew. */
  add(key: string, value: V, now: number): void {
    const text = this.#codec.encode(value);
    const length = key.length + text.length;
    if (this.#count === this.#capacity) this.#grow(this.#capacity * 2, this.#bytes.length);
    let at = this.#place(length);
    if (at < 0) {
      this.#grow(this.#capacity, Math.max(this.#bytes.length * 2, this.#bytes.length + length * 2));
      at = this.#place(length);
    }
    const r = (this.#head + this.#count) % this.#capacity;
    this.#count++;
    const hash = fnv1a(key);
    this.#expiry[r] = now + this.lifetimeMs;
    this.#hash[r] = hash;
    this.#offset[r] = at;
    this.#keyLength[r] = key.length;
    this.#valueLength[r] = text.length;
    this.#indexed[r] = 1;
    this.#bytes.write(key, at, "latin1");
    if (text.length > 0) this.#bytes.write(text, at + key.length, "latin1");
    this.#arenaTail = at + length;
    const slot = this.#find(key, hash);
    if (slot >= 0) {
      this.#indexed[this.#slots[slot]! - 1] = 0;
      this.#slots[slot] = r + 1;
    } else {
      this.#insert(r, hash);
      this.#live++;
    }
  }

  get(key: string): V | undefined {
    const slot = this.#find(key, fnv1a(key));
    if (slot < 0) return undefined;
    const r = this.#slots[slot]! - 1;
    const start = this.#offset[r]! + this.#keyLength[r]!;
    return this.#codec.decode(this.#bytes.toString("latin1", start, start + this.#valueLength[r]!));
  }

  /** Forget every record whose lifetime is over at `now`; returns how many keys went. */
  sweep(now: number): number {
    let removed = 0;
    while (this.#count > 0 && this.#expiry[this.#head]! <= now) {
      const r = this.#head;
      if (this.#indexed[r] === 1) {
        this.#unindex(r);
        this.#live--;
        removed++;
      }
      this.#head = (r + 1) % this.#capacity;
      this.#count--;
    }
    if (this.#count === 0) {
      this.#head = 0;
      this.#arenaTail = 0;
    }
    return removed;
  }

  clear(): void {
    this.#slots.fill(0);
    this.#head = 0;
    this.#count = 0;
    this.#live = 0;
    this.#arenaTail = 0;
  }

  /** Where `length` bytes fit in the arena ring without touching a live record; -1 when they do not. */
  #place(length: number): number {
    const size = this.#bytes.length;
    if (this.#count === 0) return length <= size ? 0 : -1;
    const head = this.#offset[this.#head]!;
    const tail = this.#arenaTail;
    if (tail > head) {
      if (size - tail >= length) return tail;
      return head > length ? 0 : -1; // wrap; the bytes after `tail` stay unused until then
    }
    return head - tail > length ? tail : -1; // strictly less: a full ring would look empty
  }

  /** The index slot holding `key`, or -1. */
  #find(key: string, hash: number): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) return -1;
      if (this.#hash[s - 1] === hash && this.#keyIs(s - 1, key)) return i;
    }
  }

  #keyIs(r: number, key: string): boolean {
    if (this.#keyLength[r] !== key.length) return false;
    const bytes = this.#bytes;
    const at = this.#offset[r]!;
    for (let i = 0; i < key.length; i++) if (bytes[at + i] !== (key.charCodeAt(i) & 0xff)) return false;
    return true;
  }

  #insert(r: number, hash: number): void {
    const slots = this.#slots;
    const mask = slots.length - 1;
    let i = hash & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = r + 1;
  }

  /** Remove record `r` from the index, shifting back the entries probed past it (linear probing's deletion). */
  #unindex(r: number): void {
    const slots = this.#slots;
    const mask = slots.length - 1;
    let i = this.#hash[r]! & mask;
    while (slots[i] !== r + 1) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; slots[j] !== 0; j = (j + 1) & mask) {
      const home = this.#hash[slots[j]! - 1]! & mask;
      // The entry at j may move to the hole at i when its home slot is not cyclically within (i, j].
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        slots[i] = slots[j]!;
        i = j;
      }
    }
    slots[i] = 0;
  }

  #allocate(capacity: number, arenaSize: number): void {
    this.#capacity = capacity;
    this.#expiry = new Float64Array(capacity);
    this.#hash = new Int32Array(capacity);
    this.#offset = new Int32Array(capacity);
    this.#keyLength = new Int32Array(capacity);
    this.#valueLength = new Int32Array(capacity);
    this.#indexed = new Uint8Array(capacity);
    this.#slots = new Int32Array(capacity * 2);
    this.#bytes = Buffer.allocUnsafeSlow(arenaSize);
  }

  /** New rings of the given sizes holding the records in order from position 0, and the index rebuilt. */
  #grow(capacity: number, arenaSize: number): void {
    const old = {
      capacity: this.#capacity,
      expiry: this.#expiry,
      hash: this.#hash,
      offset: this.#offset,
      keyLength: this.#keyLength,
      valueLength: this.#valueLength,
      indexed: this.#indexed,
      bytes: this.#bytes,
    };
    const head = this.#head;
    const count = this.#count;
    this.#allocate(capacity, arenaSize);
    let at = 0;
    for (let n = 0; n < count; n++) {
      const from = (head + n) % old.capacity;
      const length = old.keyLength[from]! + old.valueLength[from]!;
      this.#expiry[n] = old.expiry[from]!;
      this.#hash[n] = old.hash[from]!;
      this.#offset[n] = at;
      this.#keyLength[n] = old.keyLength[from]!;
      this.#valueLength[n] = old.valueLength[from]!;
      this.#indexed[n] = old.indexed[from]!;
      old.bytes.copy(this.#bytes, at, old.offset[from]!, old.offset[from]! + length);
      at += length;
      if (old.indexed[from] === 1) this.#insert(n, old.hash[from]!);
    }
    this.#head = 0;
    this.#arenaTail = at;
  }
}
