/**
 * The requests a proxy sends inside a dialog it sits in. The two BYEs it sends to end a dialog it sits in (admin "end this call", dialog keepalive failure): one to
 * each side, built from the dialog record as each UA would expect its peer's BYE (RFC 3261 §15.1.1, §12.2.1.1):
 * Request-URI = the receiver's Contact, From/To = the peer's and the receiver's identities with their tags, the
 * route set between us and the receiver, a CSeq above what the peer used (kamailio dlg_end_dlg does the same).
 *
 * Route sets from our place in the Record-Route list of the 2xx (topmost first, §16.6 step 4 adds on top): the
 * entries above ours lie toward the callee (used bottom-up), the entries below ours toward the caller (top-down).
 */
import type { HeaderField } from "../sip/message.ts";
import { header } from "../sip/serialize.ts";

export interface DialogEnds {
  readonly callId: string;
  readonly caller: { readonly nameAddr: string; readonly contact: string };
  readonly callee: { readonly nameAddr: string; readonly contact: string };
  readonly recordRoute: readonly string[];
  /** Index of our (first) entry in recordRoute, and how many are ours (double record-routing). */
  readonly ours: { readonly index: number; readonly count: number };
  readonly callerCseq: number;
  readonly calleeCseq: number;
}

export interface ByeSpec {
  readonly startLine: string;
  readonly headers: HeaderField[];
  /** Route values toward the receiver: the first one, if any, is the next hop (loose routing). */
  readonly route: readonly string[];
}

function request(
  method: "BYE" | "OPTIONS",
  to: { nameAddr: string; contact: string },
  from: string,
  callId: string,
  cseq: number,
  route: readonly string[],
  via: string,
): ByeSpec {
  const headers: HeaderField[] = [header("via", via), header("max-forwards", "70")];
  if (route.length > 0) headers.push(header("route", route.join(", ")));
  headers.push(header("from", from), header("to", to.nameAddr), header("call-id", callId), header("cseq", `${cseq} ${method}`));
  if (method === "BYE") headers.push(header("reason", 'SIP;cause=200;text="Call ended by switchboard"'));
  return { startLine: `${method} ${to.contact} SIP/2.0`, headers, route };
}

function routes(d: DialogEnds): { towardCallee: string[]; towardCaller: string[] } {
  return { towardCallee: d.recordRoute.slice(0, d.ours.index).reverse(), towardCaller: d.recordRoute.slice(d.ours.index + d.ours.count) };
}

/** BYE toward the callee (as if from the caller) and toward the caller (as if from the callee). */
export function dialogByes(d: DialogEnds, viaToCallee: string, viaToCaller: string): { toCallee: ByeSpec; toCaller: ByeSpec } {
  const { towardCallee, towardCaller } = routes(d);
  return {
    toCallee: request("BYE", d.callee, d.caller.nameAddr, d.callId, d.callerCseq + 1, towardCallee, viaToCallee),
    toCaller: request("BYE", d.caller, d.callee.nameAddr, d.callId, d.calleeCseq + 1, towardCaller, viaToCaller),
  };
}

/**
 * Dialog keepalive: an in-dialog OPTIONS to each side (kamailio dialog `ka` pings). CSeq 0, below anything either
 * side has used, so a live dialog answers 200 or 500 (§12.2.2: lower CSeq) and a dead one 481, and neither side's
 * CSeq space is disturbed: its peer's next real request is still in order.
 */
export function dialogPings(d: DialogEnds, viaToCallee: string, viaToCaller: string): { toCallee: ByeSpec; toCaller: ByeSpec } {
  const { towardCallee, towardCaller } = routes(d);
  return {
    toCallee: request("OPTIONS", d.callee, d.caller.nameAddr, d.callId, 0, towardCallee, viaToCallee),
    toCaller: request("OPTIONS", d.caller, d.callee.nameAddr, d.callId, 0, towardCaller, viaToCaller),
  };
}
