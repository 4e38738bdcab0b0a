/**
 * The webhook sender against real HTTP receivers (node:http on 127.0.0.1, port 0): retries, signatures, bounds, and
 * a slow receiver that must never slow `send()`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { destinationStateEvent, type WebhookEvent } from "./event.ts";
import { WebhookSender, type DeliveryOutcome, type WebhookSenderOptions } from "./sender.ts";
import { SIGNATURE_HEADER, verifySignature } from "./signature.ts";

const SECRET = "test-secret-0123456789";

interface Received {
  readonly at: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface Receiver {
  readonly url: string;
  readonly requests: Received[];
  close(): Promise<void>;
}

/** A receiver answering each request with `answer(n)` (n = 1 for the first request); `null` = never answer. */
async function receiver(answer: (n: number, res: ServerResponse) => { status: number; headers?: Record<string, string>; delayMs?: number } | null): Promise<Receiver> {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests.push({ at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      const a = answer(requests.length, res);
      if (a === null) return; // hang
      const reply = (): void => {
        res.writeHead(a.status, a.headers);
        res.end("ok");
      };
      if (a.delayMs) setTimeout(reply, a.delayMs);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/switchboard`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function event(n = 1): WebhookEvent {
  return destinationStateEvent(`pbx-${n}`, { from: "active", to: "probing", reason: "probe timeout (1 consecutive)" }, 1_700_000_000_000 + n);
}

function sender(url: string | readonly string[], options: Partial<WebhookSenderOptions> = {}): { s: WebhookSender; outcomes: DeliveryOutcome[] } {
  const outcomes: DeliveryOutcome[] = [];
  const urls = typeof url === "string" ? [url] : url;
  const s = new WebhookSender({
    endpoints: urls.map((u) => ({ url: u, secret: SECRET })),
    baseDelayMs: 40,
    maxDelayMs: 2000,
    timeoutMs: 2000,
    random: () => 0.5,
    onOutcome: (o) => outcomes.push(o),
    ...options,
  });
  return { s, outcomes };
}

test("retries with growing backoff until the receiver accepts; every attempt is signed and verifiable", async () => {
  const r = await receiver((n) => ({ status: n <= 3 ? 503 : 204 }));
  try {
    const { s, outcomes } = sender(r.url);
    const e = event();
    assert.equal(s.send(e), true);
    assert.equal(await s.drain(10_000), true);
    assert.equal(r.requests.length, 4);
    assert.deepEqual(s.stats(), { pending: 0, inFlight: 0, delivered: 1, failed: 0, dropped: 0, retries: 3 });
    assert.deepEqual(outcomes.map((o) => o.outcome), ["retry", "retry", "retry", "delivered"]);
    // equal jitter with random 0.5: 40 × 2^(n−1) × 0.75 = 30, 60, 120 ms
    assert.deepEqual(outcomes.slice(0, 3).map((o) => o.delayMs), [30, 60, 120]);
    for (let i = 1; i < 4; i++) {
      const gap = (r.requests[i]?.at ?? 0) - (r.requests[i - 1]?.at ?? 0);
      assert.ok(gap >= [30, 60, 120][i - 1]! - 5, `attempt ${i + 1} waited ${gap} ms`);
    }
    for (const req of r.requests) {
      assert.equal(req.body, JSON.stringify(e), "same body on every attempt");
      assert.equal(req.headers["content-type"], "application/json");
      assert.equal(req.headers["x-switchboard-event-id"], e.id);
      const header = req.headers[SIGNATURE_HEADER.toLowerCase()];
      assert.equal(typeof header, "string");
      assert.deepEqual((await verifySignature(SECRET, req.body, header as string)).ok, true);
      assert.equal((await verifySignature("wrong-secret-0123456", req.body, header as string)).ok, false);
    }
    const parsed = JSON.parse(r.requests[0]?.body ?? "") as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed).sort(), ["at", "destination", "from", "id", "reason", "to", "type"]);
    assert.equal(parsed.type, "destination.state");
    assert.equal(parsed.at, "2023-11-14T22:13:20.001Z");
  } finally {
    await r.close();
  }
});

test("a receiver that rejects the request (4xx) is not retried", async () => {
  const r = await receiver(() => ({ status: 400 }));
  try {
    const { s, outcomes } = sender(r.url);
    s.send(event());
    assert.equal(await s.drain(5000), true);
    assert.equal(r.requests.length, 1);
    assert.deepEqual(outcomes.map((o) => [o.outcome, o.status]), [["failed", 400]]);
    assert.equal(s.stats().failed, 1);
  } finally {
    await r.close();
  }
});

test("attempts are bounded: a receiver that keeps failing gets maxAttempts requests, then the delivery fails", async () => {
  const r = await receiver(() => ({ status: 500 }));
  try {
    const { s, outcomes } = sender(r.url, { maxAttempts: 3 });
    s.send(event());
    assert.equal(await s.drain(5000), true);
    assert.equal(r.requests.length, 3);
    assert.deepEqual(outcomes.map((o) => o.outcome), ["retry", "retry", "failed"]);
    assert.deepEqual(s.stats(), { pending: 0, inFlight: 0, delivered: 0, failed: 1, dropped: 0, retries: 2 });
  } finally {
    await r.close();
  }
});

test("total time is bounded too: no retry starts later than maxAgeMs after the event", async () => {
  const r = await receiver(() => ({ status: 503 }));
  try {
    const { s, outcomes } = sender(r.url, { maxAttempts: 100, baseDelayMs: 100, maxAgeMs: 400 });
    s.send(event());
    assert.equal(await s.drain(5000), true);
    // delays 75, 150 (third attempt at ~225 ms), then 300 would start past 400 ms: failed after 3 attempts
    assert.equal(r.requests.length, 3);
    assert.equal(outcomes.at(-1)?.outcome, "failed");
  } finally {
    await r.close();
  }
});

test("an attempt that gets no answer times out and is retried; Retry-After lengthens the wait", async () => {
  const r = await receiver((n) => (n === 1 ? null : n === 2 ? { status: 503, headers: { "retry-after": "1" } } : { status: 200 }));
  try {
    const { s, outcomes } = sender(r.url, { timeoutMs: 200 });
    const t0 = Date.now();
    s.send(event());
    assert.equal(await s.drain(10_000), true);
    assert.equal(r.requests.length, 3);
    assert.match(outcomes[0]?.error ?? "", /TimeoutError|abort/i);
    assert.equal(outcomes[1]?.delayMs, 1000, "Retry-After: 1 waits a second (over the 60 ms backoff)");
    const gap = (r.requests[2]?.at ?? 0) - (r.requests[1]?.at ?? 0);
    assert.ok(gap >= 990, `waited ${gap} ms`);
    assert.ok(Date.now() - t0 >= 1200);
    assert.equal(s.stats().delivered, 1);
  } finally {
    await r.close();
  }
});

test("a slow receiver never blocks send(); the queue stays bounded, drops the oldest and counts them", async () => {
  const r = await receiver(() => ({ status: 200, delayMs: 300 }));
  try {
    const { s } = sender(r.url, { queueLimit: 20, concurrency: 4 });
    const events = Array.from({ length: 5000 }, (_, i) => event(i));
    const t0 = performance.now();
    let kept = 0;
    for (const e of events) if (s.send(e)) kept++;
    const elapsed = performance.now() - t0;
    assert.ok(elapsed < 1000, `5000 sends took ${elapsed.toFixed(1)} ms`);
    assert.equal(kept, 20, "the first 20 fit, every later one pushed out an older one");
    assert.deepEqual(s.stats(), { pending: 20, inFlight: 0, delivered: 0, failed: 0, dropped: 4980, retries: 0 });
    // While the receiver sits on requests, the event loop stays free and send() stays instant.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(s.stats().inFlight, 4);
    const t1 = performance.now();
    s.send(event(9999));
    assert.ok(performance.now() - t1 < 20, "send() while requests are in flight");
    assert.equal(await s.drain(10_000), true);
    const delivered = r.requests.map((q) => (JSON.parse(q.body) as WebhookEvent).destination);
    assert.equal(delivered.length, 20);
    assert.ok(delivered.includes("pbx-9999"), "the newest state is kept");
    assert.ok(!delivered.includes("pbx-0"), "the oldest were dropped");
    assert.deepEqual(s.stats().pending, 0);
  } finally {
    await r.close();
  }
});

test("each endpoint gets every event; one failing endpoint does not hold up the other", async () => {
  const good = await receiver(() => ({ status: 200 }));
  const bad = await receiver(() => ({ status: 503 }));
  try {
    const { s } = sender([bad.url, good.url], { maxAttempts: 4, baseDelayMs: 200 });
    s.send(event(1));
    s.send(event(2));
    const t0 = Date.now();
    while (good.requests.length < 2 && Date.now() - t0 < 5000) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(good.requests.length, 2);
    assert.ok(Date.now() - t0 < 150, "delivered to the good endpoint before the bad one's first retry");
    assert.equal(await s.drain(10_000), true);
    assert.equal(bad.requests.length, 8);
    assert.deepEqual(s.stats(), { pending: 0, inFlight: 0, delivered: 2, failed: 2, dropped: 0, retries: 6 });
  } finally {
    await good.close();
    await bad.close();
  }
});

test("close() drops what is waiting (counted) and refuses new events", async () => {
  const r = await receiver(() => ({ status: 503 }));
  try {
    const { s } = sender(r.url, { baseDelayMs: 10_000, maxDelayMs: 60_000 });
    s.send(event(1));
    const t0 = Date.now();
    while (s.stats().retries < 1 && Date.now() - t0 < 5000) await new Promise((resolve) => setTimeout(resolve, 10));
    s.close();
    assert.equal(s.send(event(2)), false);
    assert.deepEqual(s.stats(), { pending: 0, inFlight: 0, delivered: 0, failed: 0, dropped: 2, retries: 1 });
    assert.equal(await s.drain(100), true);
  } finally {
    await r.close();
  }
});
