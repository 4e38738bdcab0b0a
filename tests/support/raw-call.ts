/**
 * A caller played by hand over a raw UDP socket (./sip-udp.ts), for what sipp cannot do: send an in-dialog request
 * of a call set up through gateway A to gateway B, with A's Route rewritten to B's host:port (what an operator's
 * SIP-aware VIP or DNS failover would do), and re-use a Call-ID for a new INVITE.
 *
 * The dialog is the caller's side of RFC 3261 §12.1.2: route set = the 2xx's Record-Route, reversed; remote target =
 * its Contact; remote tag = its To tag. In-dialog requests go to the first Route's host:port (loose routing).
 */
import { sipMessage, token, type Received, type SipUdp } from "./sip-udp.ts";
import type { TracedMessage } from "./sipp-log.ts";

export interface RawDialog {
  readonly callId: string;
  readonly fromTag: string;
  /** The 2xx's To header value (with the callee's tag). */
  readonly to: string;
  /** Route set, in the order the caller puts it in requests. */
  readonly routes: readonly string[];
  /** Contact URI of the callee. */
  readonly target: string;
  /** The gateway port the INVITE went to. */
  readonly gwPort: number;
  cseq: number;
}

export interface InviteResult {
  /** Every response for the INVITE, in arrival order. */
  readonly responses: readonly Received[];
  readonly final: TracedMessage | undefined;
  /** Set when the final response was a 2xx. */
  readonly dialog: RawDialog | undefined;
}

/** Split a header value list on commas outside <...> and quotes. */
export function splitHeaderList(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    let depth = 0;
    let quoted = false;
    let start = 0;
    for (let i = 0; i < v.length; i++) {
      const c = v[i];
      if (c === '"' && v[i - 1] !== "\\") quoted = !quoted;
      else if (!quoted && c === "<") depth++;
      else if (!quoted && c === ">") depth--;
      else if (!quoted && depth === 0 && c === ",") {
        out.push(v.slice(start, i).trim());
        start = i + 1;
      }
    }
    out.push(v.slice(start).trim());
  }
  return out.filter((x) => x !== "");
}

function uriIn(nameAddr: string): string {
  const m = /<([^>]*)>/.exec(nameAddr);
  return (m ? m[1] : nameAddr.split(";")[0])?.trim() ?? "";
}

/** host:port of a Route/Contact URI ("<sip:127.0.0.1:5060;lr;...>" → { host, port }). */
export function uriHostPort(nameAddrOrUri: string): { host: string; port: number } {
  const m = /^sips?:(?:[^@]*@)?([^:;>]+)(?::(\d+))?/i.exec(uriIn(nameAddrOrUri));
  if (!m) throw new Error(`no host in ${nameAddrOrUri}`);
  return { host: m[1] ?? "", port: Number(m[2] ?? 5060) };
}

/** The Route value with the URI's host:port replaced (parameters, d/t/i and the signature, untouched). */
export function rewriteRouteHostPort(route: string, host: string, port: number): string {
  return route.replace(/^(\s*<?sips?:(?:[^@>;]*@)?)([^:;>]+)(:\d+)?/i, (_all, head: string) => `${head}${host}:${port}`);
}

const SDP = ["v=0", "o=raw 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", "m=audio 40000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", ""].join(
  "\r\n",
);

/**
 * Send an initial INVITE to 127.0.0.1:gwPort and wait (at most `timeoutMs`) for its final response; a 2xx is
 * acknowledged later by `ack`. The INVITE is retransmitted every 500 ms until a response arrives (RFC 3261 Timer A
 * over UDP), so a busy gateway does not make the call fail.
 */
export async function invite(
  ep: SipUdp,
  gwPort: number,
  opts: { callId?: string; service?: string; timeoutMs?: number } = {},
): Promise<InviteResult> {
  const callId = opts.callId ?? `raw-${token(8)}@127.0.0.1`;
  const fromTag = token(6);
  const service = opts.service ?? "service";
  const since = Date.now();
  const msg = sipMessage(
    `INVITE sip:${service}@127.0.0.1:${gwPort} SIP/2.0`,
    [
      `Via: SIP/2.0/UDP 127.0.0.1:${ep.port};branch=z9hG4bK-raw-${token(8)};rport`,
      "Max-Forwards: 70",
      `From: <sip:raw@127.0.0.1:${ep.port}>;tag=${fromTag}`,
      `To: <sip:${service}@127.0.0.1:${gwPort}>`,
      `Call-ID: ${callId}`,
      "CSeq: 1 INVITE",
      `Contact: <sip:raw@127.0.0.1:${ep.port};transport=udp>`,
      "Content-Type: application/sdp",
    ],
    SDP,
  );
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  const isResponse = (r: Received): boolean => r.at >= since && r.msg.kind === "response" && r.msg.callId === callId && r.msg.cseqMethod === "INVITE";
  await ep.send(msg, gwPort);
  // Timer A: retransmit until anything comes back
  while (!ep.received.some(isResponse) && Date.now() < deadline) {
    await ep.waitFor(isResponse, Math.min(500, Math.max(1, deadline - Date.now())), since);
    if (!ep.received.some(isResponse) && Date.now() < deadline) await ep.send(msg, gwPort);
  }
  const finalR = await ep.waitFor((r) => isResponse(r) && (r.msg.status ?? 0) >= 200, Math.max(1, deadline - Date.now()), since);
  const responses = ep.received.filter(isResponse);
  const final = finalR?.msg;
  if (!final || (final.status ?? 0) >= 300) {
    if (final) await ep.send(ackForFailure(ep, gwPort, service, callId, fromTag, final), gwPort);
    return { responses, final, dialog: undefined };
  }
  const routes = splitHeaderList(final.headers.get("record-route") ?? []).reverse();
  const contact = splitHeaderList(final.headers.get("contact") ?? [])[0];
  const to = final.headers.get("to")?.[0];
  if (!contact || !to) throw new Error(`2xx without Contact or To:\n${final.raw}`);
  return { responses, final, dialog: { callId, fromTag, to, routes, target: uriIn(contact), gwPort, cseq: 1 } };
}

/** The hop-by-hop ACK for a non-2xx final response (the INVITE's Via branch, the response's To). */
function ackForFailure(ep: SipUdp, gwPort: number, service: string, callId: string, fromTag: string, final: TracedMessage): string {
  return sipMessage(`ACK sip:${service}@127.0.0.1:${gwPort} SIP/2.0`, [
    `Via: ${final.headers.get("via")?.[0] ?? ""}`,
    "Max-Forwards: 70",
    `From: <sip:raw@127.0.0.1:${ep.port}>;tag=${fromTag}`,
    `To: ${final.headers.get("to")?.[0] ?? ""}`,
    `Call-ID: ${callId}`,
    "CSeq: 1 ACK",
  ]);
}

/**
 * An in-dialog request built from the dialog; sent to `via` (default: the first Route's host:port). With
 * `rewriteTo`, every Route naming the gateway the call was set up through gets that host:port instead.
 */
export function inDialog(
  ep: SipUdp,
  d: RawDialog,
  method: "ACK" | "BYE",
  rewriteTo?: { host: string; port: number },
): { text: string; routes: string[]; branch: string } {
  const routes = d.routes.map((r) =>
    rewriteTo && uriHostPort(r).port === d.gwPort ? rewriteRouteHostPort(r, rewriteTo.host, rewriteTo.port) : r,
  );
  if (method !== "ACK") d.cseq++;
  const branch = `z9hG4bK-raw-${token(8)}`;
  const text = sipMessage(`${method} ${d.target} SIP/2.0`, [
    `Via: SIP/2.0/UDP 127.0.0.1:${ep.port};branch=${branch};rport`,
    "Max-Forwards: 70",
    ...routes.map((r) => `Route: ${r}`),
    `From: <sip:raw@127.0.0.1:${ep.port}>;tag=${d.fromTag}`,
    `To: ${d.to}`,
    `Call-ID: ${d.callId}`,
    `CSeq: ${method === "ACK" ? 1 : d.cseq} ${method}`,
  ]);
  return { text, routes, branch };
}

/** Send the ACK for the 2xx through the route set (to the gateway the call was set up through). */
export async function ack(ep: SipUdp, d: RawDialog): Promise<void> {
  const { text, routes } = inDialog(ep, d, "ACK");
  const first = routes[0];
  await ep.send(text, first ? uriHostPort(first).port : d.gwPort);
}

/**
 * Send a BYE (to the first Route's host:port, after the optional rewrite) and wait for its final response; the BYE
 * is retransmitted every 500 ms until a response arrives (Timer E).
 */
export async function bye(
  ep: SipUdp,
  d: RawDialog,
  opts: { rewriteTo?: { host: string; port: number }; timeoutMs?: number } = {},
): Promise<{ final: Received | undefined; sentTo: number; routes: string[] }> {
  const { text, routes, branch } = inDialog(ep, d, "BYE", opts.rewriteTo);
  const first = routes[0];
  const sentTo = first ? uriHostPort(first).port : d.gwPort;
  const since = Date.now();
  const deadline = since + (opts.timeoutMs ?? 10_000);
  const isFinal = (r: Received): boolean =>
    r.msg.kind === "response" && r.msg.callId === d.callId && r.msg.cseqMethod === "BYE" && (r.msg.status ?? 0) >= 200 && (r.msg.headers.get("via")?.[0] ?? "").includes(branch);
  let final: Received | undefined;
  while (!final && Date.now() < deadline) {
    await ep.send(text, sentTo);
    final = await ep.waitFor(isFinal, Math.min(500, Math.max(1, deadline - Date.now())), since);
  }
  return { final, sentTo, routes };
}
