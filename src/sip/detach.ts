/**
 * Strings cut from a message share its memory: V8 represents a substring of 13 characters or more as a view into
 * the whole message text, and a string built by `+` as a pair of its parts. Either keeps the entire message alive
 * (often a kilobyte or more) for as long as the small string lives. Anything kept past the message's own handling
 * (dialog records held for hours, memoized parses) goes through `detach` first, or is built by Array#join, which
 * copies too (transaction keys retired for 32 s: gateway/transaction-key.ts).
 */

/** A flat copy of `s` that shares no memory with the string it was cut from. */
export function detach(s: string): string {
  // Concatenation and then a slice make V8 flatten into a fresh string of s.length + 1 characters; the slice is a
  // view into that copy only. (No engine API flattens a string outright; this is the cheapest portable way.)
  return s.length < 13 ? s : (" " + s).slice(1);
}
