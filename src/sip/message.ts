/**
 * SIP message model (RFC 3261 §7).
 *
 * Header text is kept as latin1 ("binary") strings: decoding bytes as latin1 and encoding them back is the identity,
 * so every header we do not touch is relayed byte for byte, UTF-8 display names included, at no cost. Only the
 * fields a proxy must read (§16.3: Via, Max-Forwards, Route, CSeq, Call-ID, From/To tags, Content-Length) are parsed
 * eagerly; everything else stays raw until someone asks.
 */

/** One header field as it appeared on the wire (one line, possibly folded, possibly several comma-separated values). */
export interface HeaderField {
  /** Canonical lower-case long name: compact forms are expanded ("v" → "via", "i" → "call-id"). */
  readonly name: string;
  /** The value: text after the colon, line folding collapsed to one SP, trimmed. */
  readonly value: string;
  /**
   * The exact wire text of the field without its final CRLF (name, colon, value, folding kept), or undefined for a
   * field built by us, which serializes as `Name: value` with the canonical name.
   */
  readonly raw?: string;
}

/** A parsed URI (RFC 3261 §19.1, RFC 3966 for tel). */
export interface SipUri {
  /**
   * "sip", "sips" or "tel" for every URI parseUri returns, hence always for a Request-URI. A name-addr may hold any
   * absoluteURI (§20.10; RFC 4475 §3.3.4 sends From/To/Contact with http:, isbn:, ...): parseNameAddr accepts one only
   * when asked (`anyScheme`, used for From/To), and that URI is opaque: the lower-cased scheme here, host "", no
   * params; its text is NameAddr.uriText. The `string & {}` arm keeps the three literals for narrowing/completion.
   */
  readonly scheme: "sip" | "sips" | "tel" | (string & {});
  /** User part, still escaped as on the wire; for tel: the number. */
  readonly user?: string;
  readonly password?: string;
  /** Host as written, IPv6 references keep their brackets: "[2001:db8::1]". Empty for tel. */
  readonly host: string;
  readonly port?: number;
  /** URI parameters, names lower-cased; a parameter without value maps to "". */
  readonly params: ReadonlyMap<string, string>;
  /** URI headers (?a=b&c=d), raw. */
  readonly headers?: string;
}

/** A parsed name-addr / addr-spec with header parameters (From, To, Contact, Route, Record-Route). */
export interface NameAddr {
  readonly displayName?: string;
  /** The URI text exactly as written between < > (or the bare addr-spec). */
  readonly uriText: string;
  readonly uri: SipUri;
  /** Header parameters after the URI (tag=, lr outside <> does not exist, expires=, ...), names lower-cased. */
  readonly params: ReadonlyMap<string, string>;
}

/** One Via value (RFC 3261 §20.42, RFC 3581 rport). */
export interface Via {
  /** "SIP/2.0" */
  readonly protocol: string;
  /** Upper-cased transport: "UDP", "TCP", "TLS", "SCTP", "WS", "WSS". */
  readonly transport: string;
  /** Sent-by host, IPv6 with brackets. */
  readonly host: string;
  readonly port?: number;
  readonly branch?: string;
  readonly received?: string;
  /** undefined: no rport; null: rport present without value (request asks for it); number: filled in. */
  readonly rport?: number | null;
  /** All parameters, names lower-cased. */
  readonly params: ReadonlyMap<string, string>;
  /** The exact text of this value, for relaying untouched. */
  readonly raw: string;
}

export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

interface MessageBase {
  readonly version: string;
  /** Every header field in wire order. */
  readonly headers: readonly HeaderField[];
  readonly body: Uint8Array;
  /** Eagerly parsed essentials (RFC 3261 §8.1.1 mandatory headers). */
  readonly callId: string;
  readonly cseq: CSeq;
  readonly from: NameAddr;
  readonly to: NameAddr;
  readonly fromTag?: string;
  readonly toTag?: string;
  /** Every Via value in order, topmost first, across all Via fields. */
  readonly vias: readonly Via[];
}

export interface SipRequest extends MessageBase {
  readonly type: "request";
  readonly method: string;
  /** Request-URI text as written. */
  readonly uriText: string;
  readonly uri: SipUri;
  /** undefined when the header is absent. */
  readonly maxForwards?: number;
}

export interface SipResponse extends MessageBase {
  readonly type: "response";
  readonly status: number;
  readonly reason: string;
}

export type SipMessage = SipRequest | SipResponse;
