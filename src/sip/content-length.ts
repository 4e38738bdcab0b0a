/**
 * Content-Length value parsing shared by the datagram parser (parse.ts) and the stream framer (parse-stream.ts), so
 * both always agree on framing (§18.3, §20.14: Content-Length = 1*DIGIT).
 */
import { isLws } from "./chars.ts";

/**
 * Largest body length we accept as a number. Any larger value cannot fit a datagram nor any sane stream limit, and
 * bounding it keeps arithmetic exact (RFC 4475 §3.1.2.4 sends 9999999999999999999999...).
 */
export const MAX_CONTENT_LENGTH = 0x7fffffff;

/** Parses a Content-Length value (LWS around the digits tolerated); undefined for anything but 1*DIGIT in range. */
export function parseContentLength(value: string): number | undefined {
  let i = 0;
  let end = value.length;
  while (i < end && isLws(value.charCodeAt(i))) i++;
  while (end > i && isLws(value.charCodeAt(end - 1))) end--;
  if (i === end) return undefined;
  let n = 0;
  for (; i < end; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    n = n * 10 + (c - 0x30);
    if (n > MAX_CONTENT_LENGTH) return undefined;
  }
  return n;
}

/** Same as parseContentLength over bytes[start, end) (latin1), without decoding to a string. */
export function parseContentLengthBytes(bytes: Uint8Array, start: number, end: number): number | undefined {
  while (start < end && isLws(bytes[start]!)) start++;
  while (end > start && isLws(bytes[end - 1]!)) end--;
  if (start === end) return undefined;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    if (c < 0x30 || c > 0x39) return undefined;
    n = n * 10 + (c - 0x30);
    if (n > MAX_CONTENT_LENGTH) return undefined;
  }
  return n;
}
