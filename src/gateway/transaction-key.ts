/**
 * The key a transaction is filed under (RFC 3261 §17.1.3, §17.2.3: branch, sent-by and method, or for RFC 2543
 * peers the whole request identity).
 *
 * Built with Array#join, which copies its parts into one flat string. A template literal would make a tree of
 * strings pointing at the parts, and the parts are slices of the message: a key kept for 32 s after the final
 * (retired.ts) would keep the whole message text alive with it.
 */
export function transactionKey(...parts: (string | number)[]): string {
  return parts.join("|");
}
