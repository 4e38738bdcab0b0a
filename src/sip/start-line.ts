/**
 * Start lines (RFC 3261 §7.1 Request-Line, §7.2 Status-Line), held to their exact grammar: single SP separators and
 * no trailing whitespace (RFC 4475 §3.1.2.9-10 expect 400 otherwise).
 */
import type { SipUri } from "./message.ts";
import { SP, isDigit, parseDecimal } from "./chars.ts";
import { BAD_REQUEST, Failure } from "./failure.ts";
import { parseUri, uriScheme } from "./uri.ts";
import { memoize } from "./memo.ts";

/** The ACK and BYE of a call share their Request-URI (the callee's Contact): parsed once (memo.ts). */
const parseRequestUri = memoize(parseUri);

/** Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2). */
export function parseStatusLine(line: string, sp1: number): { status: number; reason: string } | Failure {
  if (sp1 < 0) return new Failure("bad-start-line", "Bad Status Line", BAD_REQUEST);
  const version = line.slice(0, sp1);
  if (!isSip20(version)) {
    if (isSipVersion(version)) return new Failure("bad-version", "Version Not Supported", 505);
    return new Failure("bad-start-line", "Bad Status Line", BAD_REQUEST);
  }
  const cs = sp1 + 1;
  let i = cs;
  while (i < line.length && isDigit(line.charCodeAt(i))) i++;
  if (i - cs !== 3 || (i < line.length && line.charCodeAt(i) !== SP)) {
    return new Failure("bad-status", "Bad Status Code", BAD_REQUEST);
  }
  const status = parseDecimal(line, cs, i, 699);
  if (status === undefined || status < 100) return new Failure("bad-status", "Bad Status Code", BAD_REQUEST);
  return { status, reason: i < line.length ? line.slice(i + 1) : "" };
}

/** Request-Line = Method SP Request-URI SP SIP-Version (§7.1), exact single spaces. */
export function parseRequestLine(
  line: string,
  sp1: number,
  method: string,
): { method: string; uriText: string; uri: SipUri } | Failure {
  const sp2 = line.indexOf(" ", sp1 + 1);
  if (sp2 <= sp1 + 1) return new Failure("bad-start-line", "Bad Request Line", BAD_REQUEST);
  const version = line.slice(sp2 + 1);
  if (!isSip20(version)) {
    if (isSipVersion(version)) return new Failure("bad-version", "Version Not Supported", 505);
    return new Failure("bad-start-line", "Bad Request Line", BAD_REQUEST);
  }
  const uriText = line.slice(sp1 + 1, sp2);
  const scheme = uriScheme(uriText);
  if (scheme === undefined) return new Failure("bad-request-uri", "Bad Request-URI", BAD_REQUEST);
  if (scheme !== "sip" && scheme !== "sips" && scheme !== "tel") {
    return new Failure("unsupported-uri-scheme", "Unsupported URI Scheme", 416);
  }
  const uri = parseRequestUri(uriText);
  // §19.1.1 table: headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11).
  if (uri === undefined || uri.headers !== undefined) {
    return new Failure("bad-request-uri", "Bad Request-URI", BAD_REQUEST);
  }
  return { method, uriText, uri };
}

/** "SIP/2.0", the protocol name compared case-insensitively (§25: literal strings are case-insensitive). */
function isSip20(v: string): boolean {
  return v.length === 7 && (v.charCodeAt(0) | 0x20) === 0x73 && (v.charCodeAt(1) | 0x20) === 0x69 &&
    (v.charCodeAt(2) | 0x20) === 0x70 && v.endsWith("/2.0");
}

/** SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (§25.1). */
function isSipVersion(v: string): boolean {
  if (v.length < 7 || (v.charCodeAt(0) | 0x20) !== 0x73 || (v.charCodeAt(1) | 0x20) !== 0x69) return false;
  if ((v.charCodeAt(2) | 0x20) !== 0x70 || v.charCodeAt(3) !== 0x2f) return false;
  const dot = v.indexOf(".", 4);
  if (dot < 5 || dot === v.length - 1) return false;
  for (let i = 4; i < v.length; i++) if (i !== dot && !isDigit(v.charCodeAt(i))) return false;
  return true;
}

