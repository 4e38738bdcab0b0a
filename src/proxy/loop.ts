/**
 * Loop detection (RFC 3261 §16.3 step 4, §16.6 step 8).
 *
 * The branch we add carries a hash of the fields that define where a request is going (Request-URI, Call-ID, From
 * tag, CSeq number, Proxy-Require, Proxy-Authorization; not
 * Route, which every hop rewrites). If a request arrives that already holds one of our Via
 * entries with the same hash, it has come back unchanged: a loop (482). With a different hash it is a spiral, which
 * is legal and forwarded.
 */
import type { SipRequest } from "../sip/message.ts";
import { getHeader } from "../sip/parse.ts";
import { branchLoopHash } from "./ids.ts";

/** FNV-1a 32-bit over the routing-relevant fields, base 36. Not security relevant: only equality matters. */
export function loopHash(request: SipRequest): string {
  let hash = 0x811c9dc5;
  const feed = (text: string | undefined) => {
    if (text === undefined) return;
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193);
    }
    hash ^= 0x7c; // field separator
    hash = Math.imul(hash, 0x01000193);
  };
  feed(request.uriText);
  feed(request.callId);
  feed(request.fromTag);
  feed(String(request.cseq.seq));
  feed(getHeader(request, "proxy-require"));
  feed(getHeader(request, "proxy-authorization"));
  return (hash >>> 0).toString(36);
}

/** True when one of the request's Via entries is ours (sent-by is one of our addresses) with the same loop hash. */
export function isLoop(request: SipRequest, hash: string, isOurSentBy: (host: string, port: number | undefined) => boolean): boolean {
  for (const via of request.vias) {
    const theirs = branchLoopHash(via.branch);
    if (theirs === hash && isOurSentBy(via.host, via.port)) return true;
  }
  return false;
}
