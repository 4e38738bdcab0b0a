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
 * call setup time (measured in bench/RESULTS.md). Here a record is bytes in a chunk buffer and numbers in typed
 * arrays; the collector sees a handful of objects per table whatever the load.
 *
 * - Records live equally long and are added in time order, so they expire first in, first out: expiry walks from
 *   the oldest, with no timer per record. The record arrays are a ring; the bytes fill fixed-size chunks in order,
 *   and a chunk goes back to a small pool once its last record has expired, so memory follows the load without
 *   ever copying records (a doubling arena copied tens of megabytes at once: a 95 ms stall at 2,000 calls/s).
 * - Keys are found through an open-addressing hash table of ring positions (open-index.ts); a hit compares the
 *   key's bytes.
 * - Values go through a codec to latin1 text and back: encoding runs once per record, decoding only when a
 *   retransmission or a late CANCEL asks.
 * - The record ring and the index double when full (copying numbers only); they never shrink.
 *
 * Pure: the caller passes the time.
 */
import { Buffer } from "node:buffer";
import { fnv1a } from "../collections/fnv.ts";
import { indexInsert, indexRemoveAt } from "../collections/open-index.ts";

/** Turns a record's value into latin1 text (one char per byte, each below 256) and back. */
export interface RetiredCodec<V> {
  encode(value: V): string;
  decode(text: string): V;
}

const MIN_RECORDS = 256;
/** Bytes per chunk; a record larger than this (a final of up to 64 KB) gets a chunk of its own size. */
const CHUNK = 256 * 1024;
/** Empty chunks kept for reuse. */
const POOL = 4;

export class RetiredTable<V> {
  readonly #codec: RetiredCodec<V>;
  // The record ring: `#count` records from `#head` (oldest) on; each at a position < #capacity.
  #capacity = 0;
  #head = 0;
  #count = 0;
  #expiry = new Float64Array(0);
  #hash = new Int32Array(0);
  /** The record's chunk (a sequence number: chunks are numbered in the order they were taken) and offset in it. */
  #chunk = new Int32Array(0);
  #offset = new Int32Array(0);
  #keyLength = new Int32Array(0);
  #valueLength = new Int32Array(0);
  /** 1 while the index finds the record; 0 once a later add of its key took over (it then only waits to expire). */
  #indexed = new Uint8Array(0);
  #live = 0;
  // The index: ring position + 1 per slot, 0 for an empty slot; twice the ring's capacity, so at most half full.
  #slots = new Int32Array(0);
  // The chunks holding records' key then value bytes: #chunks[i] is chunk number #firstChunk + i; records are
  // written into the last one at #chunkUsed.
  #chunks: Buffer[] = [];
  #firstChunk = 0;
  #chunkUsed = 0;
  #pool: Buffer[] = [];

  constructor(
    readonly lifetimeMs: number,
    codec: RetiredCodec<V>,
  ) {
    this.#codec = codec;
    this.#allocate(MIN_RECORDS);
  }

  /** Keys held (a key added again counts once). */
  get size(): number {
    return this.#live;
  }

  /** Bytes of the chunks in use (not counting the few empty ones pooled for reuse). */
  get bytesHeld(): number {
    let n = 0;
    for (const chunk of this.#chunks) n += chunk.length;
    return n;
  }

  /** When the oldest record expires; undefined when empty. */
  get nextExpiry(): number | undefined {
    return this.#count > 0 ? this.#expiry[this.#head] : undefined;
  }

  /** Keep `value` under `key` (latin1 text) for the table's lifetime from `now`; a key added again starts anew. */
  add(key: string, value: V, now: number): void {
    const text = this.#codec.encode(value);
    const length = key.length + text.length;
    if (this.#count === this.#capacity) this.#grow(this.#capacity * 2);
    const bytes = this.#room(length);
    const at = this.#chunkUsed;
    const r = (this.#head + this.#count) % this.#capacity;
    this.#count++;
    const hash = fnv1a(key);
    this.#expiry[r] = now + this.lifetimeMs;
    this.#hash[r] = hash;
    this.#chunk[r] = this.#firstChunk + this.#chunks.length - 1;
    this.#offset[r] = at;
    this.#keyLength[r] = key.length;
    this.#valueLength[r] = text.length;
    this.#indexed[r] = 1;
    bytes.write(key, at, "latin1");
    if (text.length > 0) bytes.write(text, at + key.length, "latin1");
    this.#chunkUsed = at + length;
    const slot = this.#find(key, hash);
    if (slot >= 0) {
      this.#indexed[this.#slots[slot]! - 1] = 0;
      this.#slots[slot] = r + 1;
    } else {
      indexInsert(this.#slots, hash, r);
      this.#live++;
    }
  }

  get(key: string): V | undefined {
    const slot = this.#find(key, fnv1a(key));
    if (slot < 0) return undefined;
    const r = this.#slots[slot]! - 1;
    const start = this.#offset[r]! + this.#keyLength[r]!;
    return this.#codec.decode(this.#bytesOf(r).toString("latin1", start, start + this.#valueLength[r]!));
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
    // Chunks before the oldest record's are free (all of them but the one being written when none is left).
    const keep = this.#count > 0 ? this.#chunk[this.#head]! : this.#firstChunk + this.#chunks.length - 1;
    while (this.#firstChunk < keep) this.#release(this.#chunks.shift()!);
    if (this.#count === 0) this.#head = 0;
    return removed;
  }

  clear(): void {
    this.#slots.fill(0);
    this.#head = 0;
    this.#count = 0;
    this.#live = 0;
    for (const chunk of this.#chunks) this.#release(chunk);
    this.#chunks = [];
    this.#chunkUsed = 0;
  }

  /** The chunk to write `length` bytes into at #chunkUsed: the current one when they fit, else a fresh one. */
  #room(length: number): Buffer {
    const current = this.#chunks[this.#chunks.length - 1];
    if (current !== undefined && current.length - this.#chunkUsed >= length) return current;
    const fresh = length <= CHUNK ? (this.#pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK)) : Buffer.allocUnsafeSlow(length);
    this.#chunks.push(fresh);
    this.#chunkUsed = 0;
    return fresh;
  }

  #release(chunk: Buffer): void {
    this.#firstChunk++;
    if (chunk.length === CHUNK && this.#pool.length < POOL) this.#pool.push(chunk);
  }

  #bytesOf(r: number): Buffer {
    return this.#chunks[this.#chunk[r]! - this.#firstChunk]!;
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
    const bytes = this.#bytesOf(r);
    const at = this.#offset[r]!;
    for (let i = 0; i < key.length; i++) if (bytes[at + i] !== (key.charCodeAt(i) & 0xff)) return false;
    return true;
  }

  /** Remove record `r` from the index. */
  #unindex(r: number): void {
    const mask = this.#slots.length - 1;
    let i = this.#hash[r]! & mask;
    while (this.#slots[i] !== r + 1) i = (i + 1) & mask;
    indexRemoveAt(this.#slots, i, this.#hash);
  }

  #allocate(capacity: number): void {
    this.#capacity = capacity;
    this.#expiry = new Float64Array(capacity);
    this.#hash = new Int32Array(capacity);
    this.#chunk = new Int32Array(capacity);
    this.#offset = new Int32Array(capacity);
    this.#keyLength = new Int32Array(capacity);
    this.#valueLength = new Int32Array(capacity);
    this.#indexed = new Uint8Array(capacity);
    this.#slots = new Int32Array(capacity * 2);
  }

  /** A record ring of `capacity` holding the records in order from position 0, and the index rebuilt. */
  #grow(capacity: number): void {
    const old = [this.#expiry, this.#hash, this.#chunk, this.#offset, this.#keyLength, this.#valueLength, this.#indexed] as const;
    const oldCapacity = this.#capacity;
    const head = this.#head;
    const count = this.#count;
    this.#allocate(capacity);
    const now = [this.#expiry, this.#hash, this.#chunk, this.#offset, this.#keyLength, this.#valueLength, this.#indexed] as const;
    // The ring is full when it grows: its records run from head to the end, then from 0 to head.
    for (let k = 0; k < old.length; k++) {
      const from = old[k]! as Float64Array;
      const to = now[k]! as Float64Array;
      to.set(from.subarray(head, oldCapacity), 0);
      to.set(from.subarray(0, head), oldCapacity - head);
    }
    for (let n = 0; n < count; n++) if (this.#indexed[n] === 1) indexInsert(this.#slots, this.#hash[n]!, n);
    this.#head = 0;
  }
}
