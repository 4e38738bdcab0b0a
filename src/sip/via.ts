/**
 * One Via value (RFC 3261 §20.42, grammar §25.1, rport from RFC 3581, IPv6 sent-by per RFC 5118):
 *
 *   sent-protocol LWS sent-by *( SEMI via-params )
 *   sent-protocol = protocol-name SLASH protocol-version SLASH transport      (SLASH = SWS "/" SWS)
 *   sent-by       = host [ COLON port ]                                       (COLON = SWS ":" SWS)
 *
 * The value must already be unfolded and split from its siblings (splitHeaderValues).
 */
import type { Via } from "./message.ts";
import { isTokenChar, isWsp, parseDecimal, skipLws, trimLws } from "./chars.ts";
import { parseParamsStrict } from "./header-values.ts";
import { scanHostPort } from "./uri.ts";

/** Parses one Via value; undefined when malformed (which a proxy must answer with 400, §16.3). */
export function parseVia(text: string): Via | undefined {
  const raw = trimLws(text);
  const end = raw.length;
  let i = 0;

  const ns = i;
  while (i < end && isTokenChar(raw.charCodeAt(i))) i++;
  if (i === ns) return undefined;
  const name = raw.slice(ns, i);
  i = slash(raw, i, end);
  if (i < 0) return undefined;
  const vs = i;
  while (i < end && isTokenChar(raw.charCodeAt(i))) i++;
  if (i === vs) return undefined;
  const version = raw.slice(vs, i);
  i = slash(raw, i, end);
  if (i < 0) return undefined;
  const ts = i;
  while (i < end && isTokenChar(raw.charCodeAt(i))) i++;
  if (i === ts) return undefined;
  const transport = raw.slice(ts, i).toUpperCase();

  // LWS between sent-protocol and sent-by is mandatory
  if (i >= end || !isWsp(raw.charCodeAt(i))) return undefined;
  i = skipLws(raw, i, end);
  const hp = scanHostPort(raw, i, end, true);
  if (hp === undefined) return undefined;

  const params = parseParamsStrict(raw, hp.next, end);
  if (params === undefined) return undefined;

  let rport: number | null | undefined;
  const rp = params.get("rport");
  if (rp !== undefined) {
    if (rp === "") rport = null;
    else {
      rport = parseDecimal(rp, 0, rp.length, 65535);
      if (rport === undefined) return undefined;
    }
  }
  const ttl = params.get("ttl");
  if (ttl !== undefined && (ttl.length > 3 || parseDecimal(ttl, 0, ttl.length, 255) === undefined)) return undefined;

  const branch = params.get("branch");
  // Every field is present, undefined when absent: one object shape for every Via, whatever parameters the peer
  // sends, so the code reading them stays monomorphic (a Via with rport and one without had two V8 maps, and code
  // optimised on one was deoptimised by the other).
  return {
    protocol: `${name.toUpperCase()}/${version}`,
    transport,
    host: hp.host,
    port: hp.port,
    branch: branch !== undefined && branch !== "" ? branch : undefined,
    received: params.get("received"),
    rport,
    params,
    raw,
  };
}

/** Skips SWS "/" SWS at i; -1 when there is no slash. */
function slash(text: string, i: number, end: number): number {
  i = skipLws(text, i, end);
  if (i >= end || text.charCodeAt(i) !== 0x2f) return -1;
  return skipLws(text, i + 1, end);
}
