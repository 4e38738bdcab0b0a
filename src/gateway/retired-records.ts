/**
 * What the proxy keeps of a transaction past its final answer (retired.ts holds them), and their codecs to latin1
 * text: where its responses go, the To tag of an INVITE answered 2xx, the final of a non-INVITE.
 */
import type { Target } from "../proxy/route-token.ts";
import type { RetiredCodec } from "./retired.ts";

/** Where the responses to a request go (§18.2.2, RFC 3581): the address, and for TCP the connection it came on. */
export interface ReplyPath extends Target {
  readonly connectionId?: number;
}

/**
 * A retired server transaction: an INVITE answered 2xx (its To tag, for a late CANCEL: §9.2) or a non-INVITE's final
 * (latin1 text of the bytes sent, to send again on a retransmitted request: §17.2.2).
 */
export type RetiredServer = string | { readonly reply: ReplyPath; readonly final: string };

// "u" or "t", the TCP connection id if any, then "|port|host": hosts are IP addresses (the packet's source), no "|".
function encodeReply(r: ReplyPath): string {
  return `${r.transport === "tcp" ? "t" : "u"}${r.connectionId ?? ""}|${r.port}|${r.host}`;
}

function decodeReply(text: string): ReplyPath {
  const bar1 = text.indexOf("|");
  const bar2 = text.indexOf("|", bar1 + 1);
  const port = Number(text.slice(bar1 + 1, bar2));
  const host = text.slice(bar2 + 1);
  if (text[0] === "u") return { transport: "udp", host, port };
  return bar1 > 1
    ? { transport: "tcp", host, port, connectionId: Number(text.slice(1, bar1)) }
    : { transport: "tcp", host, port };
}

export const replyPathCodec: RetiredCodec<ReplyPath> = { encode: encodeReply, decode: decodeReply };

// "T" + To tag, or "F" + reply path + "\n" + final (the reply path holds no line feed; the final may).
export const retiredServerCodec: RetiredCodec<RetiredServer> = {
  encode: (v) => (typeof v === "string" ? `T${v}` : `F${encodeReply(v.reply)}\n${v.final}`),
  decode: (text) => {
    if (text[0] === "T") return text.slice(1);
    const nl = text.indexOf("\n");
    return { reply: decodeReply(text.slice(1, nl)), final: text.slice(nl + 1) };
  },
};

export const presenceCodec: RetiredCodec<true> = { encode: () => "", decode: () => true };
