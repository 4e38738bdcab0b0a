/**
 * Which gateway worker (shard) owns a datagram, decided from its bytes before any parse.
 *
 * Several workers share one SIP port (shard-pool.ts); transactions and the dialogs a worker supervises live in that
 * worker's memory, so every message of a transaction must reach the worker that holds it:
 *
 * - a request goes to the shard of its Call-ID: an INVITE, its retransmissions, its CANCEL (§9.1: same Call-ID), the
 *   ACK (§17.1.1.3) and every later in-dialog request (§12.2.1.1) share one Call-ID, hence one shard;
 * - a response goes to the shard named in our branch of its top Via (§17.1.3 matches responses by that branch): the
 *   worker that sent the request, even for requests a worker originates with a Call-ID of its own (OPTIONS probes, a
 *   BYE ending a call from the admin API); a response whose top Via is not one of our tagged branches falls back
 *   to its Call-ID.
 *
 * The scan reads only header names at line starts and the two values it needs; whatever it cannot read (no Call-ID,
 * garbage) returns -1 and is handled where it arrived, where the parser answers or drops it as for one worker.
 */
import { BRANCH_PREFIX, branchShard } from "../proxy/ids.ts";

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;
const LOWER = 0x20;

/** "SIP/2.0 " at the start: a response (§7.2); anything else is treated as a request. */
function isResponse(data: Uint8Array): boolean {
  return data.length > 8 && data[0] === 0x53 && data[1] === 0x49 && data[2] === 0x50 && data[3] === 0x2f;
}

/** Does the header name at `start` equal `name` (lower case), followed by optional blanks and a colon? Returns the value start. */
function valueStart(data: Uint8Array, start: number, end: number, name: string): number {
  let i = start;
  for (let k = 0; k < name.length; k++, i++) {
    if (i >= end || (data[i]! | LOWER) !== name.charCodeAt(k)) return -1;
  }
  while (i < end && (data[i] === SP || data[i] === HT)) i++;
  return i < end && data[i] === COLON ? i + 1 : -1;
}

/** FNV-1a over the value with surrounding blanks trimmed (a Call-ID compares byte for byte, §20.8). */
function hashValue(data: Uint8Array, from: number, to: number): number {
  while (from < to && (data[from] === SP || data[from] === HT)) from++;
  while (to > from && (data[to - 1] === SP || data[to - 1] === HT || data[to - 1] === CR)) to--;
  if (to <= from) return -1;
  let hash = 0x811c9dc5;
  for (let i = from; i < to; i++) hash = Math.imul(hash ^ data[i]!, 0x01000193);
  return hash >>> 0;
}

const BRANCH_MARK = `branch=${BRANCH_PREFIX}`;
/** How much of a top Via line is searched for our branch (ours: transport, host:port, branch, rport, received). */
const VIA_SCAN_BYTES = 512;

/** The shard tagged in our branch on this (top) Via line, or -1. */
function viaShard(data: Uint8Array, from: number, to: number, shards: number): number {
  // Our Via is written by us with this exact spelling and echoed back verbatim (§8.2.6.2, §16.7 step 3).
  // Our branch sits near the start of our Via; a hostile kilobyte-long line is not decoded whole.
  const text = String.fromCharCode.apply(null, data.subarray(from, Math.min(to, from + VIA_SCAN_BYTES)) as unknown as number[]);
  const at = text.indexOf(BRANCH_MARK);
  if (at < 0) return -1;
  const comma = text.indexOf(",");
  if (comma >= 0 && comma < at) return -1; // the branch belongs to a later Via value on the same line: not our top
  let end = at + 7;
  while (end < text.length && text.charCodeAt(end) > SP && text[end] !== ";" && text[end] !== ",") end++;
  const shard = branchShard(text.slice(at + 7, end));
  return shard !== undefined && shard < shards ? shard : -1;
}

/**
 * The shard (0 … shards-1) that owns this message, or -1 when it cannot be told (then the receiving shard handles
 * it). Pure: bytes in, a number out.
 */
export function shardOf(data: Uint8Array, shards: number): number {
  if (shards <= 1) return 0;
  const response = isResponse(data);
  let callIdHash = -1;
  let viaSeen = false;
  let line = data.indexOf(LF) + 1;
  while (line > 0 && line < data.length) {
    const next = data.indexOf(LF, line);
    const end = next < 0 ? data.length : next;
    const first = data[line]!;
    if (first === CR || line === end) break; // the empty line ends the header section (§7)
    const lower = first | LOWER;
    if (lower === 0x63 /* c */ || lower === 0x69 /* i */) {
      const at = lower === 0x63 ? valueStart(data, line, end, "call-id") : valueStart(data, line, end, "i");
      if (at >= 0) {
        callIdHash = hashValue(data, at, end);
        if (!response) break;
      }
    } else if (response && !viaSeen && lower === 0x76 /* v */) {
      const long = valueStart(data, line, end, "via");
      const at = long >= 0 ? long : valueStart(data, line, end, "v");
      if (at >= 0) {
        viaSeen = true;
        const shard = viaShard(data, at, end, shards);
        if (shard >= 0) return shard;
      }
    }
    if (next < 0) break;
    line = next + 1;
  }
  return callIdHash < 0 ? -1 : callIdHash % shards;
}

/** The shard of a Call-ID as the parser gives it (latin1: one char per byte), matching shardOf's hash of the bytes. */
export function shardOfCallId(callId: string, shards: number): number {
  if (shards <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < callId.length; i++) hash = Math.imul(hash ^ (callId.charCodeAt(i) & 0xff), 0x01000193);
  return (hash >>> 0) % shards;
}
