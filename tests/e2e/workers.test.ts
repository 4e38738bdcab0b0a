/**
 * Gateway workers (SWITCHBOARD_WORKERS=2): two threads share the SIP port, each owning the transactions of its share
 * of Call-IDs. The balancing test of balance-udp/-tcp runs through such a gateway, so everything it proves (0 failed
 * calls, 45–55% split, ACK and BYE reach the destination that took the INVITE, Record-Route in and our Route popped,
 * dialogs gone after the BYE) holds with the work split; on top, GET /v1/status must show that both threads handled
 * SIP messages and that messages were handed between them (else this test would prove nothing about workers).
 *
 * - UDP on both sides: the common deployment.
 * - UDP callers, TCP destinations: TCP connections live in the main thread, so a worker's INVITE goes out through
 *   it and the destination's answers come back in through it and are handed to the worker holding the transaction.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { harness } from "../support/harness.ts";
import { runBalance, CALLS, RATE } from "../support/balance.ts";
import type { Gateway } from "../support/gateway.ts";

const h = harness("workers");
before(() => h.setup());
after(() => h.teardown());

const WORKERS = { SWITCHBOARD_WORKERS: "2" };

async function bothWorkersBusy(gw: Gateway): Promise<void> {
  const status = await gw.adminGet("/v1/status");
  assert.equal(status.status, 200);
  const counters = (status.body as { counters: Record<string, number> }).counters;
  const shown = JSON.stringify(counters);
  assert.equal(counters["workers"], 2, `workers in /v1/status: ${shown}`);
  // Each thread handled a fair share: Call-IDs hash evenly, so neither may be near idle.
  const total = (counters["workers.0.messages"] ?? 0) + (counters["workers.1.messages"] ?? 0);
  assert.equal(total, counters["messages.received"], `per-worker messages add up: ${shown}`);
  for (const shard of [0, 1]) {
    const n = counters[`workers.${shard}.messages`] ?? 0;
    assert.ok(n > 0.3 * total, `worker ${shard} handled ${n} of ${total} messages: ${shown}`);
  }
  assert.ok((counters["workers.forwarded"] ?? 0) > 0.2 * total, `messages handed between workers: ${shown}`);
}

test(
  `${CALLS} calls at ${RATE}/s over UDP through 2 workers are balanced and stick to their destinations`,
  h.wrap(() => runBalance(h, "udp", { env: WORKERS, after: bothWorkersBusy })),
);

test(
  `${CALLS} calls at ${RATE}/s, UDP callers to TCP destinations through 2 workers, are balanced and stick`,
  h.wrap(() => runBalance(h, "udp", { env: WORKERS, destinationTransport: "tcp", after: bothWorkersBusy })),
);
