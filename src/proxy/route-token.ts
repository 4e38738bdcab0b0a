/**
 * Our signed Record-Route parameters: the key to stateless in-dialog routing.
 *
 * Every Record-Route entry we insert (RFC 3261 §16.6 step 4) carries `d` (dialog id), `t` (the destination that took
 * the INVITE, as a compact transport target), `i` (that destination's id, when it has one) and `s`, an HMAC over them
 * plus the caller's From tag. Any gateway that
 * shares the secret can then route the ACK, BYE, re-INVITE... to the right destination without a store lookup, also
 * right after a restart; and a Route that claims to be ours but was altered fails verification, so nobody can use
 * us to reach a host of their choice (no open relay).
 *
 * Binding the caller's From tag (kamailio rr's `ftag`) tells the direction of an in-dialog request: From tag equal to
 * it means caller → callee; To tag equal to it means callee → caller (RFC 3261 §12: tags swap with direction).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { memoize } from "../sip/memo.ts";

export type TargetTransport = "udp" | "tcp";

/** Where a message goes: transport and address. Hosts are IP literals or names (IPv6 without brackets). */
export interface Target {
  readonly transport: TargetTransport;
  readonly host: string;
  readonly port: number;
}

export interface RouteToken {
  readonly dialogId: string;
  readonly target: Target;
  /** The destination's id, so whichever gateway sees the BYE can release its capacity without a lookup. */
  readonly destinationId?: string;
}

export type Direction = "downstream" | "upstream";

export type VerifyResult =
  | { ok: true; token: RouteToken; direction: Direction }
  | { ok: false; reason: string };

const SIG_BYTES = 12;

/**
 * "u~127.0.0.1~5070", "t6~2001-db8--1~5060": URI-param safe (RFC 3261 §25.1 paramchar allows ~ and unreserved),
 * IPv6 colons written as dashes with a "6" marking the family.
 */
export function encodeTarget(target: Target): string {
  const v6 = target.host.includes(":");
  const kind = (target.transport === "tcp" ? "t" : "u") + (v6 ? "6" : "");
  return `${kind}~${v6 ? target.host.replace(/:/g, "-") : target.host}~${target.port}`;
}

export function decodeTarget(text: string): Target | undefined {
  const parts = text.split("~");
  if (parts.length !== 3) return undefined;
  const [kind, host, portText] = parts as [string, string, string];
  if (!/^[ut]6?$/.test(kind)) return undefined;
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(host) || !/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  const v6 = kind.length === 2;
  return { transport: kind[0] === "t" ? "tcp" : "udp", host: v6 ? host.replace(/-/g, ":") : host, port };
}

export class RouteSigner {
  /**
   * HMAC(key, input) truncated, remembered per input by the bounded memo the parser uses (sip/memo.ts). A dialog's
   * signature is computed when the INVITE is forwarded and checked again on its ACK and often its BYE: the same HMAC
   * over the same input, and node's createHmac (a stream object per call) was 6% of the gateway's CPU. The memo
   * caches the pure function, so verification still compares the presented signature with the right one.
   */
  readonly #hmac: (input: string) => Buffer | undefined;

  constructor(secret: string) {
    const key = Buffer.from(secret, "utf8");
    this.#hmac = memoize((input) => createHmac("sha256", key).update(input).digest().subarray(0, SIG_BYTES));
  }

  #mac(dialogId: string, target: string, destinationId: string, ftag: string): Buffer {
    return this.#hmac(`${dialogId}|${target}|${destinationId}|${ftag}`) as Buffer;
  }

  /** The `;d=..;t=..;i=..;s=..` parameters for a Record-Route URI. */
  sign(token: RouteToken, callerTag: string): string {
    const target = encodeTarget(token.target);
    const id = token.destinationId ?? "";
    const sig = this.#mac(token.dialogId, target, id, callerTag).toString("base64url");
    return `;d=${token.dialogId};t=${target}${id ? `;i=${id}` : ""};s=${sig}`;
  }

  /**
   * Verify the parameters of a Route entry against an in-dialog request's tags. Returns the direction: the signature
   * binds the caller's tag, which is the From tag going downstream and the To tag coming back.
   */
  verify(params: ReadonlyMap<string, string>, fromTag: string | undefined, toTag: string | undefined): VerifyResult {
    const dialogId = params.get("d");
    const target = params.get("t");
    const sigText = params.get("s");
    if (!dialogId || !target || !sigText) return { ok: false, reason: "route entry without signature" };
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(dialogId)) return { ok: false, reason: "bad dialog id" };
    const decoded = decodeTarget(target);
    if (!decoded) return { ok: false, reason: "bad route target" };
    const destinationId = params.get("i") ?? "";
    if (destinationId !== "" && !/^[A-Za-z0-9._-]{1,64}$/.test(destinationId)) return { ok: false, reason: "bad destination id" };
    const sig = Buffer.from(sigText, "base64url");
    if (sig.length !== SIG_BYTES) return { ok: false, reason: "bad route signature" };
    const token: RouteToken = destinationId ? { dialogId, target: decoded, destinationId } : { dialogId, target: decoded };
    if (fromTag !== undefined && timingSafeEqual(sig, this.#mac(dialogId, target, destinationId, fromTag))) {
      return { ok: true, token, direction: "downstream" };
    }
    if (toTag !== undefined && timingSafeEqual(sig, this.#mac(dialogId, target, destinationId, toTag))) {
      return { ok: true, token, direction: "upstream" };
    }
    return { ok: false, reason: "route signature does not verify" };
  }
}
