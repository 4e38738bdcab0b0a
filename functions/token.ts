/**
 * Bearer-token check for the functions' HTTP APIs (route, timers, admin): hono's bearerAuth with our own
 * constant-time comparison.
 *
 * hono's default compares SHA-256 digests of both strings through WebCrypto: an async digest job per request that
 * was 36% of the route function's CPU at 500 calls/s (`npm run bench -- --systems switchboard-remote --profile`).
 * The comparison below takes time that depends only on the configured token's length (never on where the two
 * differ), needs no crypto, and runs the same on Node, Deno and Workers.
 */
import type { MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";

/** True when `presented` equals `expected`; time depends on expected.length only. */
export function sameToken(presented: string, expected: string): boolean {
  let diff = presented.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) {
    // past the end of a shorter presented token, charCodeAt gives NaN → 0: still one step per expected char
    diff |= (presented.charCodeAt(i) | 0) ^ expected.charCodeAt(i);
  }
  return diff === 0;
}

/** Requests must carry `Authorization: Bearer <token>` (401 / 400 with a WWW-Authenticate challenge otherwise). */
export function tokenAuth(token: string): MiddlewareHandler {
  return bearerAuth({ verifyToken: (presented) => sameToken(presented, token) });
}
