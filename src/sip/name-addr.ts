/**
 * name-addr / addr-spec with header parameters, the value form of From, To, Contact, Route, Record-Route, Reply-To
 * (RFC 3261 §20.10, grammar §25.1):
 *
 *   ( name-addr / addr-spec ) *( SEMI param )      name-addr = [ display-name ] LAQUOT addr-spec RAQUOT
 *
 * `"Quoted \"name\"" <sip:a@b;lr>;tag=x`, `Token Name <uri>`, `<uri>`, and the bare `sip:a@b;tag=x`, where the
 * parameters after a bare addr-spec are header parameters, not URI parameters (§20.10).
 */
import type { NameAddr, SipUri } from "./message.ts";
import { isLws, isTokenChar, scanQuoted, skipLws, trimLws, unescapeQuoted } from "./chars.ts";
import { parseParamsStrict } from "./header-values.ts";
import { parseUri, sipUri, uriScheme } from "./uri.ts";

export interface NameAddrOptions {
  /**
   * Accept an absoluteURI of any scheme (From/To/Contact may carry http:, isbn:, urn:, ... RFC 4475 §3.3.4) as an
   * opaque SipUri (scheme set, host "", no params). Off by default: Route/Record-Route must be sip/sips (§16.4).
   */
  readonly anyScheme?: boolean;
}

const NO_PARAMS: ReadonlyMap<string, string> = new Map();

/** Parses one name-addr or addr-spec with its header parameters; undefined when malformed. */
export function parseNameAddr(text: string, options?: NameAddrOptions): NameAddr | undefined {
  const end = text.length;
  let i = skipLws(text, 0);
  if (i >= end) return undefined;
  let displayName: string | undefined;
  let uriText: string;
  let paramsStart: number;

  let angle = -1;
  if (text.charCodeAt(i) === 0x22) {
    // display-name as quoted-string: must be followed by <addr-spec>
    const q = scanQuoted(text, i, end);
    if (q < 0) return undefined;
    displayName = unescapeQuoted(text, i + 1, q - 1);
    angle = skipLws(text, q, end);
    if (angle >= end || text.charCodeAt(angle) !== 0x3c) return undefined;
  } else {
    // *(token LWS) up to "<" is a display name; anything else (a scheme's ":") means a bare addr-spec.
    // Bytes >= 0x80 are tolerated in an unquoted name: UTF-8 display names are sent unquoted in the wild.
    let j = i;
    for (; j < end; j++) {
      const c = text.charCodeAt(j);
      if (!isTokenChar(c) && !isLws(c) && c < 0x80) break;
    }
    if (j < end && text.charCodeAt(j) === 0x3c) {
      angle = j;
      const name = trimLws(text.slice(i, j));
      if (name !== "") displayName = name;
    }
  }

  if (angle >= 0) {
    const gt = text.indexOf(">", angle + 1);
    if (gt < 0) return undefined;
    for (let k = angle + 1; k < gt; k++) {
      const c = text.charCodeAt(k);
      if (c <= 0x20 || c === 0x7f || c === 0x3c || c === 0x22) return undefined; // no LWS inside <> (RFC 4475 §3.1.2.14)
    }
    uriText = text.slice(angle + 1, gt);
    paramsStart = gt + 1;
  } else {
    // Bare addr-spec: it ends at the first ";" after the userinfo, or at LWS. §20.10 forbids "," and "?" here.
    const s = i;
    let at = -1;
    for (let k = s; k < end; k++) {
      const c = text.charCodeAt(k);
      if (c === 0x40) {
        at = k;
        break;
      }
      if (c <= 0x20 || c === 0x22 || c === 0x3e) break;
    }
    let k = at >= 0 ? at : s;
    for (; k < end; k++) {
      const c = text.charCodeAt(k);
      if (c === 0x3b || isLws(c)) break;
      if (c === 0x2c || c === 0x3f || c === 0x3c || c === 0x3e || c === 0x22) return undefined;
    }
    uriText = text.slice(s, k);
    paramsStart = k;
  }

  const uri = parseUri(uriText) ?? (options?.anyScheme ? opaqueUri(uriText) : undefined);
  if (uri === undefined) return undefined;
  const params = paramsStart < end ? parseParamsStrict(text, paramsStart, end) : NO_PARAMS;
  if (params === undefined) return undefined;
  // displayName present even when undefined: one object shape with or without a display name (see sipUri)
  return { displayName, uriText, uri, params: params.size === 0 ? NO_PARAMS : params };
}

/** absoluteURI of a foreign scheme kept opaque (RFC 3261 §25.1 absoluteURI; RFC 4475 §3.3.4). */
function opaqueUri(text: string): SipUri | undefined {
  const scheme = uriScheme(text);
  if (scheme === undefined || scheme.length + 1 >= text.length) return undefined;
  for (let i = scheme.length + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x3c || c === 0x3e || c === 0x22) return undefined;
  }
  return sipUri(scheme, undefined, undefined, "", undefined, NO_PARAMS, undefined);
}
