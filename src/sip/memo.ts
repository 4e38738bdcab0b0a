/**
 * A bounded memo for the pure parses of header values (and other pure functions of message text: route-token MACs).
 *
 * The same From, To, Via, Route and Request-URI text comes back in every message of a call: the INVITE, each of its
 * responses, the ACK and the BYE carry it unchanged. Parsing it once per call instead of once per message is most of
 * what a proxy's parser costs. The parses are pure and their results immutable (every field readonly), so one result
 * may be shared by every message that carries the text.
 *
 * Bounded: when full it starts over (one generation), so hostile input with ever-new values costs at most one parse
 * each, as without the memo. What it remembers is parsed from a detached copy of the text (detach.ts): neither the
 * key nor the result's fields hold the message's text. Failures are not remembered.
 *
 * Small, and a new Map per generation, for the garbage collector's sake: a generation must die young. One that lives
 * through two minor GCs (about 0.3 s under load) is promoted to the old generation with every result it holds, and
 * a cleared Map's old-generation table keeps pointing at the results it held, so they too survive every minor GC
 * until a full one. With 4,096 entries that was every parse result of every call, promoted (measured with
 * --trace-gc-nvp under sipp load at 1,000 calls/s: 11 KB per call, 4–7 ms scavenges; with 64, 2.6 KB and 1–3 ms).
 * 64 still covers what repeats within moments: a request, its 100, 180 and 200, the ACK and a quick BYE.
 */
import { detach } from "./detach.ts";

export function memoize<V>(parse: (text: string) => V | undefined, capacity = 64): (text: string) => V | undefined {
  let memo = new Map<string, V>();
  return (text) => {
    const known = memo.get(text);
    if (known !== undefined) return known;
    // Parse a detached copy: the result's fields are cut from what it parses, and it must not pin the message.
    const own = detach(text);
    const value = parse(own);
    if (value === undefined) return undefined;
    if (memo.size >= capacity) memo = new Map();
    memo.set(own, value);
    return value;
  };
}
