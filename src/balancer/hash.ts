/**
 * Consistent hashing (`hash`): weighted rendezvous / highest-random-weight hashing over a key the caller extracts.
 *
 * kamailio/OpenSIPS dispatcher algorithms 0 (Call-ID), 1 (From URI), 2 (To URI), 3 (Request-URI) and 7 (a pseudo
 * variable, e.g. the source address) compute `hash(key) % count`. Modulo hashing moves almost every key when a
 * destination is added, removed or goes down (a long-standing complaint: in-dialog and retried requests land on a
 * server that knows nothing of the call), and ignores weights. Rendezvous hashing instead scores every (key,
 * destination) pair and picks the highest score:
 * - the same key always gets the same pick for the same set, whatever the order of the candidates;
 * - removing a destination moves ONLY the keys it had, spread over the others in proportion to their weights;
 *   adding one moves only the ~w_new/sum(w) share it takes over;
 * - weights differ: score = w / -ln(u), u = hash(key, id) mapped into (0, 1), so a destination wins a share
 *   w_i / sum(w) of the keys (Schindelhauer & Schomaker's weighted rendezvous).
 * The failover order is the full ranking for the key: if the pick fails, the next one is exactly where the key
 * would go if the pick were removed, so failover and later re-hashing agree. Standbys (weight 0) follow, ranked by the
 * unweighted score; when every candidate has weight 0 they are all equal.
 *
 * The hash is murmur3-style 32-bit over UTF-16 code units: the key is hashed once per call, each candidate id is
 * hashed with another seed and the two are mixed and finalised with the murmur avalanche (no crypto, no allocation
 * per candidate).
 */
import type { Candidate, Selection } from "./types.ts";
import { NO_DESTINATION, sortByKey, splitStandby, weightOf } from "./shared.ts";

/** Which part of the request the hash key is taken from (dispatcher algs 0, 1, 2, 3 and 7 over $si). */
export type HashKey = "call-id" | "from-uri" | "to-uri" | "request-uri" | "source";
export const HASH_KEYS: readonly HashKey[] = Object.freeze(["call-id", "from-uri", "to-uri", "request-uri", "source"]);

/**
 * The request parts a hash key can come from, as the caller extracted them. For the URIs pass a normalised form
 * (e.g. `user@host[:port]`, no parameters; kamailio hashes user+host, optionally port) so retransmissions and
 * in-dialog requests hash alike; `source` is the source address ("ip" or "ip:port").
 */
export type HashKeyFields = Readonly<Partial<Record<HashKey, string>>>;

/** The key for `kind`, or undefined when the request has no such part (or it is empty). */
export function hashKeyFor(kind: HashKey, fields: HashKeyFields): string | undefined {
  const key = fields[kind];
  return key === undefined || key === "" ? undefined : key;
}

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const SEED = 0x5eed5eed;
const ID_SEED = 0x9e3779b9;

function mixChars(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    let k = Math.imul(text.charCodeAt(i), C1);
    k = Math.imul((k << 15) | (k >>> 17), C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return h;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A murmur3-style 32-bit hash of a string (UTF-16 code units), finalised with its length and the avalanche. */
function stringHash(text: string, seed: number): number {
  return fmix32(mixChars(seed, text) ^ text.length);
}

/** One murmur block: folds `value` into the running state `h`. */
function mixBlock(h: number, value: number): number {
  let k = Math.imul(value, C1);
  k = Math.imul((k << 15) | (k >>> 17), C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The unsigned 32-bit hash of the pair (key, id). The key and the id are hashed separately (with different seeds)
 *  and the two hashes combined, so ids that differ in one character still get unrelated scores. */
export function pairHash(key: string, id: string): number {
  return combine(stringHash(key, SEED), id);
}

function combine(keyHash: number, id: string): number {
  return fmix32(fmix32(mixBlock(mixBlock(keyHash, stringHash(id, ID_SEED)), keyHash)) ^ 8);
}

/** The rendezvous score of (key, id) with weight `weight` (> 0); higher wins. */
export function rendezvousScore(key: string, id: string, weight: number): number {
  return scoreOf(pairHash(key, id), weight);
}

function scoreOf(hash: number, weight: number): number {
  // u in (0, 1): never 0 or 1, so -ln(u) is finite and positive.
  const u = (hash + 0.5) / 4294967296;
  return weight / -Math.log(u);
}

const byId = (a: Candidate, b: Candidate): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function selectHash<C extends Candidate>(candidates: readonly C[], key: string): Selection<C> {
  if (candidates.length === 0) return NO_DESTINATION;
  const { order, split } = splitStandby(candidates);
  const keyHash = stringHash(key, SEED);
  const keys = new Float64Array(order.length);
  for (let i = 0; i < order.length; i++) {
    const c = order[i]!;
    const w = i < split ? weightOf(c) || 1 : 1;
    keys[i] = -scoreOf(combine(keyHash, c.id), w); // ascending sort = highest score first
  }
  sortByKey(order, keys, 0, split, byId);
  sortByKey(order, keys, split, order.length, byId);
  return { kind: "ordered", order };
}
