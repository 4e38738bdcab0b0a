/**
 * The running gateway keeps V8's builtin prototypes in their fast layout (src/gateway/v8-tuning.ts).
 *
 * The gateway runs on the Redis store (real redis-server), whose client subclasses String when it loads; that left
 * String.prototype in dictionary mode, and every string method call of the parser on V8's generic lookup path (18% of
 * the gateway's CPU under load). The gateway is started with a probe preloaded (tests/support/prototype-probe.ts),
 * carries real calls from sipp to a sipp destination, and is then asked, by SIGUSR2, which prototypes are fast.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { harness } from "../support/harness.ts";
import { startRedisServer } from "../support/redis-server.ts";
import { warmGatewayAfterCalls } from "../support/warm-gateway.ts";

const h = harness("v8-prototypes");
before(() => h.setup());
after(() => h.teardown());

const PROBE = fileURLToPath(new URL("../support/prototype-probe.ts", import.meta.url));
const CALLS = 20;

test(
  "after start-up, warm-up and real calls on the Redis store, every builtin prototype the hot path uses is fast",
  h.wrap(async () => {
    const redis = await startRedisServer();
    h.defer(() => redis.stop());
    const gw = await warmGatewayAfterCalls(h, {
      calls: CALLS,
      rate: 20,
      nodeArgs: ["--allow-natives-syntax", "--import", PROBE],
      env: { SWITCHBOARD_REDIS_URL: redis.url },
    });
    const proc = gw.process!;

    const line = proc.waitForLine(/^prototype-probe /, 5000);
    assert.ok(proc.signal("SIGUSR2"), "the gateway is running");
    const fast = JSON.parse((await line).replace(/^prototype-probe /, "")) as Record<string, boolean>;
    assert.ok(Object.keys(fast).length >= 9, `probe answer: ${JSON.stringify(fast)}`);
    const slow = Object.entries(fast).filter(([, isFast]) => !isFast).map(([name]) => `${name}.prototype`);
    assert.deepEqual(slow, [], `in dictionary mode in the running gateway: ${slow.join(", ")}`);
  }),
);
