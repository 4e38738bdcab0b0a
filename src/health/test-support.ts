/** Arbitraries shared by the health property tests and the store contract (src/dialog/health.case.ts). */
import fc from "fast-check";
import type { Evidence, HealthPolicy } from "./state.ts";

const latency = fc.oneof(
  fc.double({ min: 0, max: 5000, noNaN: true }),
  fc.constantFrom(0, 0.05, 0.15, 1.25, 12.345, 499.95, -3, Number.POSITIVE_INFINITY, Number.NaN),
);

export const arbitraryEvidence: fc.Arbitrary<Evidence> = fc.oneof(
  fc.record({
    source: fc.constant("probe" as const),
    result: fc.constant("reply" as const),
    status: fc.constantFrom(100, 200, 202, 299, 403, 404, 405, 408, 486, 500, 501, 503, 603, 700),
    latencyMs: latency,
    aliveCodes: fc.subarray([403, 404, 405, 501]),
  }),
  fc.record({
    source: fc.constant("probe" as const),
    result: fc.constantFrom("timeout" as const, "transport-error" as const),
    elapsedMs: fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.double({ min: 0, max: 10_000, noNaN: true })),
  }),
  fc.record({ source: fc.constant("traffic" as const), result: fc.constantFrom("success" as const, "transport-error" as const, "timeout" as const) }),
  fc.record(
    {
      source: fc.constant("traffic" as const),
      result: fc.constant("503" as const),
      retryAfterS: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.double({ min: -5, max: 100, noNaN: true })),
    },
    { requiredKeys: ["source", "result"] },
  ),
);

export const arbitraryPolicy: fc.Arbitrary<HealthPolicy> = fc
  .record({
    failuresToProbing: fc.integer({ min: 1, max: 4 }),
    extra: fc.integer({ min: 0, max: 3 }),
    successesToActive: fc.integer({ min: 1, max: 4 }),
    latencyAlpha: fc.constantFrom(0.3, 0.5, 1, 0.123, 0.9),
    maxPauseMs: fc.constantFrom(0, 5000, 300_000),
  })
  .map(({ failuresToProbing, extra, ...rest }) => ({
    ...rest,
    failuresToProbing,
    failuresToInactive: Math.max(2, failuresToProbing) + extra,
    unprobedRetryMs: 30_000,
  }));

