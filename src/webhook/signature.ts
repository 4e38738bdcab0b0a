/**
 * Webhook signatures, Stripe-style: `X-Switchboard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` where the HMAC
 * (key: the endpoint's secret) covers `<t>.<raw body>`. Web Crypto only: runs on Node, Deno and Workers alike.
 *
 * How a receiver verifies (any language):
 *   1. Read the raw request body as bytes/text, before any JSON parsing (re-serialising changes the bytes).
 *   2. Split the header on ",": take `t` and every `v1` (several appear while the sender rotates secrets).
 *   3. Compute hex(HMAC-SHA256(secret, t + "." + body)) and compare it with each v1 in constant time.
 *   4. Reject when |now − t| exceeds your tolerance (5 minutes here): a captured request cannot be replayed later.
 *   5. Deduplicate on the body's `id`: a delivery retried after a lost 2xx arrives twice, with the same id.
 * In TypeScript/JavaScript, `verifySignature(secret, body, header)` below does 2-4.
 */

export const SIGNATURE_HEADER = "X-Switchboard-Signature";
/** Default tolerance between the signature's timestamp and the receiver's clock. */
export const DEFAULT_TOLERANCE_S = 300;

const encoder = new TextEncoder();
type HmacKey = Awaited<ReturnType<typeof globalThis.crypto.subtle.importKey>>;
const keys = new Map<string, Promise<HmacKey>>();

function hmacKey(secret: string): Promise<HmacKey> {
  let key = keys.get(secret);
  if (!key) {
    key = globalThis.crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    if (keys.size >= 64) keys.clear(); // a handful of endpoints in practice; never grows without bound
    keys.set(secret, key);
  }
  return key;
}

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** hex(HMAC-SHA256(secret, `${timestampS}.${body}`)). */
export async function signatureOf(secret: string, body: string, timestampS: number): Promise<string> {
  return hex(await globalThis.crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(`${timestampS}.${body}`)));
}

/** The header value for `body` signed at `timestampS` (unix seconds) with one or several secrets (rotation). */
export async function signatureHeader(secrets: string | readonly string[], body: string, timestampS: number): Promise<string> {
  const t = Math.floor(timestampS);
  const list = typeof secrets === "string" ? [secrets] : secrets;
  const sigs = await Promise.all(list.map((s) => signatureOf(s, body, t)));
  return [`t=${t}`, ...sigs.map((s) => `v1=${s}`)].join(",");
}

/** Compare two strings without an early exit (lengths are public: both are hex digests here). */
function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export type VerifyResult =
  | { readonly ok: true; readonly timestamp: number }
  | { readonly ok: false; readonly reason: "missing" | "malformed" | "expired" | "mismatch" };

export interface VerifyOptions {
  /** Largest accepted |now − t| in seconds (default 300). */
  readonly toleranceS?: number;
  /** The receiver's clock in unix seconds (default: now). */
  readonly nowS?: number;
}

/**
 * Check a request's `X-Switchboard-Signature` against its raw body. `secrets`: the endpoint's secret, or several
 * while rotating (any one matching is enough).
 */
export async function verifySignature(
  secrets: string | readonly string[],
  body: string,
  header: string | null | undefined,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  if (header === null || header === undefined || header.trim() === "") return { ok: false, reason: "missing" };
  let t: number | undefined;
  const v1: string[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (k === "t" && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (k === "v1" && /^[0-9a-f]{64}$/.test(value)) v1.push(value);
  }
  if (t === undefined || v1.length === 0) return { ok: false, reason: "malformed" };
  const now = options.nowS ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (options.toleranceS ?? DEFAULT_TOLERANCE_S)) return { ok: false, reason: "expired" };
  const list = typeof secrets === "string" ? [secrets] : secrets;
  for (const secret of list) {
    const expected = await signatureOf(secret, body, t);
    let match = false;
    for (const candidate of v1) match = timingSafeEqual(expected, candidate) || match;
    if (match) return { ok: true, timestamp: t };
  }
  return { ok: false, reason: "mismatch" };
}
