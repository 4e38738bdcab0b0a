/**
 * Requests a proxy generates toward a destination on its own: the hop-by-hop ACK for a non-2xx final
 * (RFC 3261 §17.1.1.3) and CANCEL (§9.1, §16.10). Both copy the identity of the INVITE we sent: its Request-URI,
 * topmost Via (ours, same branch: that is how the next hop matches them to the INVITE transaction), Route set,
 * Call-ID, From and CSeq number.
 */
import type { HeaderField } from "../sip/message.ts";
import { header } from "../sip/serialize.ts";

export interface SentInvite {
  readonly uriText: string;
  /** The headers of the INVITE as we sent it (our Via on top). */
  readonly headers: readonly HeaderField[];
  readonly cseq: number;
}

function copyIdentity(invite: SentInvite, method: "ACK" | "CANCEL", to: HeaderField | undefined): HeaderField[] {
  const out: HeaderField[] = [];
  let viaDone = false;
  let toField = to;
  for (const field of invite.headers) {
    switch (field.name) {
      case "via":
        if (!viaDone) out.push(field); // only our own, topmost Via (§17.1.1.3, §9.1)
        viaDone = true;
        break;
      case "route":
      case "from":
      case "call-id":
        out.push(field);
        break;
      case "to":
        // ACK takes the To of the response (with the callee's tag); CANCEL the To of the request (§9.1).
        out.push(toField ?? field);
        toField = undefined;
        break;
      default:
        break;
    }
  }
  out.push(header("cseq", `${invite.cseq} ${method}`));
  out.push(header("max-forwards", "70"));
  return out;
}

/** ACK for a 3xx-6xx final response to our INVITE (§17.1.1.3): To from the response. */
export function buildAck(invite: SentInvite, responseTo: HeaderField | undefined): { startLine: string; headers: HeaderField[] } {
  return { startLine: `ACK ${invite.uriText} SIP/2.0`, headers: copyIdentity(invite, "ACK", responseTo) };
}

/** CANCEL for our pending INVITE branch (§9.1). */
export function buildCancel(invite: SentInvite): { startLine: string; headers: HeaderField[] } {
  return { startLine: `CANCEL ${invite.uriText} SIP/2.0`, headers: copyIdentity(invite, "CANCEL", undefined) };
}
