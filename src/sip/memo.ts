/**
 * A bounded memo for the pure parses of header values.
 *
 * The same From, To, Via, Route and Request-URI text comes back in every message of a call: the INVITE, each of its
 * responses, the ACK and the BYE carry it unchanged. Parsing it once per call instead of once per message is most of
 * what a proxy's parser costs. The parses are pure and their results immutable (every field readonly), so one result
 * may be shared by every message that carries the text.
 *
 * Bounded: when full it starts over (one generation), so hostile input with ever-new values costs at most one parse
 * each, as without the memo. Keys are detached (detach.ts): a remembered value must not hold its message's text.
 * Failures are not remembered.
 */
import { detach } from "./detach.ts";

export function memoize<V>(parse: (text: string) => V | undefined, capacity = 4096): (text: string) => V | undefined {
  const memo = new Map<string, V>();
  return (text) => {
    const known = memo.get(text);
    if (known !== undefined) return known;
    const value = parse(text);
    if (value === undefined) return undefined;
    if (memo.size >= capacity) memo.clear();
    memo.set(detach(text), value);
    return value;
  };
}
