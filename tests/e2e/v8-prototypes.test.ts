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
import { freePorts } from "../support/ports.ts";
import { startGateway } from "../support/gateway.ts";
import { startRedisServer } from "../support/redis-server.ts";
import { runUac, startUas, summarize } from "../support/sipp.ts";

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
    const [gwPort, httpPort, uasPort, uacPort] = (await freePorts(4)) as [number, number, number, number];
    const uas = await startUas({ scenario: "uas.xml", port: uasPort, transport: "udp", dir: h.dir, name: "uas" });
    h.defer(() => uas.stop());
    const gw = await startGateway({
      sipPort: gwPort,
      httpPort,
      transports: ["udp"],
      destinations: [`sip:127.0.0.1:${uasPort}`],
      env: { SWITCHBOARD_REDIS_URL: redis.url },
      nodeArgs: ["--allow-natives-syntax", "--import", PROBE],
      dir: h.dir,
    });
    h.defer(() => gw.stop());
    const proc = gw.process!;
    await proc.waitForLine(/warm-up done/, 30_000);

    const r = await runUac({
      scenario: "uac.xml",
      port: uacPort,
      transport: "udp",
      dir: h.dir,
      name: "uac",
      target: { host: "127.0.0.1", port: gwPort },
      calls: CALLS,
      rate: 20,
      timeoutS: 30,
    });
    assert.equal(r.stats?.successful, CALLS, `calls through the gateway\n${summarize("uac", r)}\n${gw.logTail(2000)}`);

    const line = proc.waitForLine(/^prototype-probe /, 5000);
    assert.ok(proc.signal("SIGUSR2"), "the gateway is running");
    const fast = JSON.parse((await line).replace(/^prototype-probe /, "")) as Record<string, boolean>;
    assert.ok(Object.keys(fast).length >= 9, `probe answer: ${JSON.stringify(fast)}`);
    const slow = Object.entries(fast).filter(([, isFast]) => !isFast).map(([name]) => `${name}.prototype`);
    assert.deepEqual(slow, [], `in dictionary mode in the running gateway: ${slow.join(", ")}`);
  }),
);
