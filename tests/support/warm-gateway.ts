/**
 * A gateway (UDP, one sipp destination) past its warm-up and through a number of real calls from sipp: what the
 * tests of the running gateway's V8 state start from (v8-prototypes, warmup-fit).
 */
import assert from "node:assert/strict";
import type { Harness } from "./harness.ts";
import { freePorts } from "./ports.ts";
import { startGateway, type Gateway } from "./gateway.ts";
import { runUac, startUas, summarize } from "./sipp.ts";

export async function warmGatewayAfterCalls(
  h: Harness,
  o: { readonly calls: number; readonly rate: number; readonly nodeArgs: readonly string[]; readonly env?: Record<string, string> },
): Promise<Gateway> {
  const [gwPort, httpPort, uasPort, uacPort] = (await freePorts(4)) as [number, number, number, number];
  const uas = await startUas({ scenario: "uas.xml", port: uasPort, transport: "udp", dir: h.dir, name: "uas" });
  h.defer(() => uas.stop());
  const gw = await startGateway({
    sipPort: gwPort,
    httpPort,
    transports: ["udp"],
    destinations: [`sip:127.0.0.1:${uasPort}`],
    ...(o.env ? { env: o.env } : {}),
    nodeArgs: o.nodeArgs,
    dir: h.dir,
  });
  h.defer(() => gw.stop());
  await gw.process!.waitForLine(/warm-up done/, 30_000);
  const r = await runUac({
    scenario: "uac.xml",
    port: uacPort,
    transport: "udp",
    dir: h.dir,
    name: "uac",
    target: { host: "127.0.0.1", port: gwPort },
    calls: o.calls,
    rate: o.rate,
    timeoutS: 30,
  });
  assert.equal(r.stats?.successful, o.calls, `calls through the gateway\n${summarize("uac", r)}\n${gw.logTail(2000)}`);
  return gw;
}
