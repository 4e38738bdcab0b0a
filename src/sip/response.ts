/**
 * Locally generated responses (RFC 3261 §8.2.6): what a proxy sends when it answers itself (400 to a malformed
 * request, 100 Trying, 483, 503, ...). Transaction-matching fields are copied verbatim from the request, Via raw and
 * in order so the client's transaction matches it (§17.1.3) and the response retraces the request's path (§18.2.2).
 */
import type { HeaderField } from "./message.ts";
import { parseNameAddr } from "./name-addr.ts";
import { serializeMessage } from "./serialize.ts";

const EMPTY = new Uint8Array(0);

export interface BuildResponseOptions {
  /** To tag to add when the request's To has none (§8.2.6.2: mandatory on final responses outside a dialog). */
  toTag?: string;
  /** Further fields after the copied ones (Server, Retry-After, Unsupported, Warning, ...). */
  extraHeaders?: readonly HeaderField[];
  body?: Uint8Array;
}

/**
 * Builds a response to the request whose fields are `reqHeaders` (§8.2.6.2): every Via field (raw, in order), the
 * first From, To (with `;tag=toTag` appended when it has no tag), Call-ID and CSeq, then the extra headers and a
 * Content-Length. A 100 Trying also copies Timestamp (§8.2.6.1). Fields that are missing are simply not copied.
 */
export function buildResponse(
  reqHeaders: readonly HeaderField[],
  status: number,
  reason: string,
  opts?: BuildResponseOptions,
): Uint8Array {
  const out: HeaderField[] = [];
  let from: HeaderField | undefined;
  let to: HeaderField | undefined;
  let callId: HeaderField | undefined;
  let cseq: HeaderField | undefined;
  let timestamp: HeaderField | undefined;
  for (const h of reqHeaders) {
    switch (h.name) {
      case "via":
        out.push(h);
        break;
      case "from":
        from ??= h;
        break;
      case "to":
        to ??= h;
        break;
      case "call-id":
        callId ??= h;
        break;
      case "cseq":
        cseq ??= h;
        break;
      case "timestamp":
        timestamp ??= h;
        break;
    }
  }
  if (from) out.push(from);
  if (to) out.push(opts?.toTag !== undefined && status !== 100 ? withToTag(to, opts.toTag) : to);
  if (callId) out.push(callId);
  if (cseq) out.push(cseq);
  if (timestamp && status === 100) out.push(timestamp);
  if (opts?.extraHeaders) for (const h of opts.extraHeaders) out.push(h);
  return serializeMessage(`SIP/2.0 ${status} ${reason}`, out, opts?.body ?? EMPTY);
}

/**
 * Appends `;tag=` to a To field without one, keeping its raw spelling (compact "t:", UTF-8 display name). 100 Trying
 * never gets a tag (§8.2.6.1: a 100 must not create a dialog).
 */
function withToTag(to: HeaderField, tag: string): HeaderField {
  const parsed = parseNameAddr(to.value, { anyScheme: true });
  if (parsed !== undefined ? parsed.params.has("tag") : /;\s*tag\s*=/i.test(to.value)) return to;
  const suffix = `;tag=${tag}`;
  const raw = to.raw === undefined ? undefined : trimEndLws(to.raw) + suffix;
  return raw === undefined ? { name: "to", value: to.value + suffix } : { name: "to", value: to.value + suffix, raw };
}

function trimEndLws(s: string): string {
  let e = s.length;
  while (e > 0) {
    const c = s.charCodeAt(e - 1);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) break;
    e--;
  }
  return s.slice(0, e);
}

/** Default reason phrases (RFC 3261 §21 and the RFCs that registered further codes). */
const REASONS: Readonly<Record<number, string>> = {
  100: "Trying",
  180: "Ringing",
  181: "Call Is Being Forwarded",
  182: "Queued",
  183: "Session Progress",
  199: "Early Dialog Terminated",
  200: "OK",
  202: "Accepted",
  204: "No Notification",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Moved Temporarily",
  305: "Use Proxy",
  380: "Alternative Service",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  410: "Gone",
  412: "Conditional Request Failed",
  413: "Request Entity Too Large",
  414: "Request-URI Too Long",
  415: "Unsupported Media Type",
  416: "Unsupported URI Scheme",
  417: "Unknown Resource-Priority",
  420: "Bad Extension",
  421: "Extension Required",
  422: "Session Interval Too Small",
  423: "Interval Too Brief",
  428: "Use Identity Header",
  429: "Provide Referrer Identity",
  430: "Flow Failed",
  433: "Anonymity Disallowed",
  436: "Bad Identity Info",
  437: "Unsupported Credential",
  438: "Invalid Identity Header",
  439: "First Hop Lacks Outbound Support",
  440: "Max-Breadth Exceeded",
  469: "Bad Info Package",
  470: "Consent Needed",
  480: "Temporarily Unavailable",
  481: "Call/Transaction Does Not Exist",
  482: "Loop Detected",
  483: "Too Many Hops",
  484: "Address Incomplete",
  485: "Ambiguous",
  486: "Busy Here",
  487: "Request Terminated",
  488: "Not Acceptable Here",
  489: "Bad Event",
  491: "Request Pending",
  493: "Undecipherable",
  494: "Security Agreement Required",
  500: "Server Internal Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Server Time-out",
  505: "Version Not Supported",
  513: "Message Too Large",
  555: "Push Notification Service Not Supported",
  580: "Precondition Failure",
  600: "Busy Everywhere",
  603: "Decline",
  604: "Does Not Exist Anywhere",
  606: "Not Acceptable",
  607: "Unwanted",
  608: "Rejected",
};

/** Class names of §21 for codes without a registered phrase. */
const CLASS_REASONS = ["Provisional", "Success", "Redirection", "Client Error", "Server Error", "Global Failure"];

/** The standard reason phrase of a status code, or its class name (§21) for unregistered codes. */
export function statusReason(code: number): string {
  return REASONS[code] ?? CLASS_REASONS[Math.floor(code / 100) - 1] ?? "Unknown";
}
