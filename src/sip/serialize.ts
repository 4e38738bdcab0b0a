/**
 * Message serialisation (RFC 3261 §7). Fields parsed from the wire are written back from `raw`, byte for byte
 * (compact names, folding, odd spacing and UTF-8 preserved: §16.6 asks proxies to forward what they do not change);
 * built fields are written `Display-Name: value`. Exactly one Content-Length matching the body is guaranteed
 * (§20.14; mandatory on streams, §18.3), which also protects the next hop from a stale length after body rewrites.
 */
import { Buffer } from "node:buffer";
import type { HeaderField, SipRequest, SipResponse } from "./message.ts";
import { isTokenChar } from "./chars.ts";
import { parseContentLength } from "./content-length.ts";
import { canonicalHeaderName, headerDisplayName } from "./header-values.ts";

const CRLF = "\r\n";

/**
 * Start line + headers + body, as a Buffer. Header text is written latin1 (one byte per char): built values carrying
 * UTF-8 must be latin1 strings (Buffer.from(text, "utf8").toString("latin1")). The first Content-Length field is
 * kept untouched when it matches the body, replaced in place when not; further ones are dropped; one is appended
 * when none exists.
 */
export function serializeMessage(startLine: string, headers: readonly HeaderField[], body: Uint8Array): Uint8Array {
  let head = startLine + CRLF;
  let haveLength = false;
  for (const h of headers) {
    if (h.name === "content-length") {
      if (haveLength) continue;
      haveLength = true;
      if (parseContentLength(h.value) !== body.length) {
        head += `Content-Length: ${body.length}${CRLF}`;
        continue;
      }
    }
    head += h.raw !== undefined ? h.raw + CRLF : `${headerDisplayName(h.name)}: ${h.value}${CRLF}`;
  }
  if (!haveLength) head += `Content-Length: ${body.length}${CRLF}`;
  head += CRLF;
  const out = Buffer.allocUnsafe(head.length + body.length);
  out.write(head, 0, "latin1");
  if (body.length > 0) out.set(body, head.length);
  return out;
}

/** Serialises a request from its method, Request-URI text, version and `headers` (the eager fields are views). */
export function serializeRequest(req: SipRequest): Uint8Array {
  return serializeMessage(`${req.method} ${req.uriText} ${req.version}`, req.headers, req.body);
}

/** Serialises a response from its status, reason, version and `headers`. */
export function serializeResponse(res: SipResponse): Uint8Array {
  return serializeMessage(`${res.version} ${res.status} ${res.reason}`, res.headers, res.body);
}

/**
 * A header field built by us (no `raw`): name canonicalised (lower-case, compact forms expanded), value as given.
 * Throws TypeError on a non-token name or a value holding CR, LF or NUL: such a field would let data (for example a
 * received= copied from a packet) inject header lines. This is a programming error, never an input error.
 */
export function header(name: string, value: string): HeaderField {
  if (name.length === 0) throw new TypeError("empty header name");
  for (let i = 0; i < name.length; i++) {
    if (!isTokenChar(name.charCodeAt(i))) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0) throw new TypeError(`control character in ${name} value`);
  }
  return { name: canonicalHeaderName(name), value };
}
