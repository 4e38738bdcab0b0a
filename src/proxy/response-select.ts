/**
 * Choosing the best final response of a response context (RFC 3261 §16.7 step 6).
 *
 * - any 6xx wins (a global failure: the callee declined everywhere);
 * - otherwise the lowest response class among the 3xx-5xx received;
 * - a context where no branch answered at all (timeouts, transport errors) yields 408 (§16.7 step 6 / §16.8);
 * - a received 503 is not relayed as is: it would tell the caller that *we* are overloaded, so it becomes 500
 *   (§16.7 step 6, §21.5.4).
 */
export interface FinalCandidate<R> {
  readonly status: number;
  readonly response?: R;
}

export type BestResponse<R> =
  | { kind: "forward"; status: number; response: R; rewriteTo?: number }
  | { kind: "generate"; status: number };

export function selectBestResponse<R>(finals: readonly FinalCandidate<R>[]): BestResponse<R> {
  let best: { status: number; response: R } | undefined;
  for (const candidate of finals) {
    if (candidate.response === undefined) continue;
    const status = candidate.status;
    if (status >= 600) {
      best = { status, response: candidate.response };
      break;
    }
    if (!best || Math.floor(status / 100) < Math.floor(best.status / 100)) {
      best = { status, response: candidate.response };
    }
  }
  if (!best) return { kind: "generate", status: 408 };
  if (best.status === 503) return { kind: "forward", status: 503, response: best.response, rewriteTo: 500 };
  return { kind: "forward", status: best.status, response: best.response };
}
