/**
 * Identifiers we mint: Via branches (RFC 3261 §8.1.1.7, §16.6 step 8), To tags, dialog ids.
 *
 * They must be unique across space and time, not secret: a random per-process prefix plus a counter gives that with
 * no entropy drawn per message (the hot path mints one branch per forwarded request).
 */
import { randomBytes } from "node:crypto";

export const MAGIC_COOKIE = "z9hG4bK";
/** Marks our branches, so responses and loop checks can tell our Via entries apart cheaply. */
export const BRANCH_PREFIX = `${MAGIC_COOKIE}sb`;

/** Random part of every id: 6 bytes, 8 base64url characters, fixed length so a shard tag after it can be read. */
const RANDOM_CHARS = 8;
/** Marks a shard tag after the random part: never a base-36 counter digit, and legal in tokens and dialog ids. */
const SHARD_MARK = "-";

export class IdMint {
  readonly #prefix: string;
  #counter = 0;

  constructor(prefix: string = randomBytes(6).toString("base64url")) {
    this.#prefix = prefix;
  }

  /**
   * Ids minted by one gateway worker of several (shard-pool.ts): the shard rides in every branch, so a response
   * comes back to the worker holding its client transaction (gateway/shard.ts).
   */
  static forShard(shard: number): IdMint {
    if (!Number.isInteger(shard) || shard < 0 || shard >= 36) throw new RangeError(`shard must be 0-35, got ${shard}`);
    return new IdMint(`${randomBytes(6).toString("base64url")}${SHARD_MARK}${shard.toString(36)}`);
  }

  /** Unique token: prefix + counter (base 36). */
  next(): string {
    this.#counter = (this.#counter + 1) % Number.MAX_SAFE_INTEGER;
    return this.#prefix + this.#counter.toString(36);
  }

  /** `z9hG4bKsb<loop>.<unique>`: the loop part lets §16.3 step 4 loop detection recognise our own earlier hop. */
  branch(loopHash: string): string {
    return `${BRANCH_PREFIX}${loopHash}.${this.next()}`;
  }
}

/** The loop part of one of our branches, or undefined when the branch is not ours. */
export function branchLoopHash(branch: string | undefined): string | undefined {
  if (branch === undefined || !branch.startsWith(BRANCH_PREFIX)) return undefined;
  const dot = branch.indexOf(".", BRANCH_PREFIX.length);
  return dot < 0 ? undefined : branch.slice(BRANCH_PREFIX.length, dot);
}

/** The shard tagged in one of our branches (IdMint.forShard), or undefined when it carries none. */
export function branchShard(branch: string): number | undefined {
  if (!branch.startsWith(BRANCH_PREFIX)) return undefined;
  const dot = branch.indexOf(".", BRANCH_PREFIX.length);
  if (dot < 0 || branch[dot + 1 + RANDOM_CHARS] !== SHARD_MARK) return undefined;
  const shard = parseInt(branch[dot + 2 + RANDOM_CHARS] ?? "", 36);
  return Number.isNaN(shard) ? undefined : shard;
}
