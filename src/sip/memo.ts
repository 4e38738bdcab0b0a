/**
 * A bounded memo for the pure parses of header values.
 *
 * The same From, To, Via, Route and Request-URI text comes back in every message of a call: the INVITE, each of its
 * responses, the ACK and the BYE carry it unchanged. Parsing it once per call instead of once per message is most of
 * what a proxy's parser costs. The parses are pure and their results immutable (every field readonly), so one result
 * may be shared by every message that carries the text.
 *
 * Bounded: when full it starts over (one generation), so hostile input with ever-new values costs at most one parse
 * each, as without the memo. What it remembers is parsed from a detached copy of the text (detach.ts): neither the
 * key nor the result's fields hold the message's text. Failures are not remembered.
 */
import { detach } from "./detach.ts";

export function memoize<V>(parse: (text: string) => V | undefined, capacity = 4096): (text: string) => V | undefined {
  const memo = new Map<string, V>();
  return (text) => {
    const known = memo.get(text);
    if (known !== undefined) return known;
    // Parse a detached copy: the result's fields are cut from what it parses, and it must not pin the message.
    const own = detach(text);
    const value = parse(own);
    if (value === undefined) return undefined;
    if (memo.size >= capacity) memo.clear();
    memo.set(own, value);
    return value;
  };
}
