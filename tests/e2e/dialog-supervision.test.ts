/**
 * Dialog supervision by the gateway that set the call up: keepalive pings and the maximum call duration.
 * Calls go through the gateway with uac-ended.xml (the caller waits for a BYE; sipp -aa answers the in-dialog
 * OPTIONS pings with 200) to a destination running uas.xml.
 * Proves:
 * - keepalive (SWITCHBOARD_DIALOG_PING): while both sides answer, calls stay up; once the callee's sipp is killed,
 *   its pings go unanswered and the gateway ends each call with a BYE to the caller (the caller's call completes),
 *   the dialogs disappear and the capacity is freed;
 * - maximum duration (SWITCHBOARD_MAX_CALL_DURATION, or a routing rule's maxDurationS): a call past it is ended with
 *   a BYE to both sides.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { harness } from "../support/harness.ts";
import { freePorts } from "../support/ports.ts";
import { startUac, startUas, summarize } from "../support/sipp.ts";
import { startGateway, type Gateway } from "../support/gateway.ts";
import { callIds } from "../support/sipp-log.ts";
import { waitUntil } from "../support/process.ts";

const h = harness("dialog-supervision");
before(() => h.setup());
after(() => h.teardown());

const CALLS = 2;

async function setup(env: Record<string, string>, name: string, prepare?: (gw: Gateway) => Promise<void>) {
  const [gwPort, httpPort, uasPort, uacPort] = (await freePorts(4)) as [number, number, number, number];
  const uas = await startUas({ scenario: "uas.xml", port: uasPort, transport: "udp", dir: h.dir, name: `${name}-uas` });
  const gw = await startGateway({
    sipPort: gwPort,
    httpPort,
    destinations: [`sip:127.0.0.1:${uasPort}`],
    dir: h.dir,
    env: { SWITCHBOARD_TICK_INTERVAL: "200", ...env },
  });
  h.defer(() => gw.stop());
  const [dest] = (await gw.destinations()) as { id: string }[];
  assert.ok(dest);
  // A capacity on the destination, so the freed load can be watched; no health probes to keep the traces simple.
  const patched = await gw.adminRequest("PATCH", `/v1/destinations/${dest.id}`, { resources: { calls: 10 }, probe: { mode: "never", aliveCodes: [200], intervalMs: 10_000 } });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  await prepare?.(gw);
  const uac = startUac({
    scenario: "uac-ended.xml",
    port: uacPort,
    transport: "udp",
    dir: h.dir,
    name: `${name}-uac`,
    target: { host: "127.0.0.1", port: gwPort },
    calls: CALLS,
    rate: 10,
    timeoutS: 30,
    extraArgs: ["-aa"],
  });
  const cids = Array.from({ length: CALLS }, (_, i) => uac.callId(i + 1));
  const load = async () => {
    const list = (await gw.destinations()) as { id: string; load?: { calls?: { used: number } } }[];
    return list.find((d) => d.id === dest.id)?.load?.calls?.used ?? 0;
  };
  await waitUntil("every call listed by GET /v1/dialogs", async () => {
    const ds = await gw.dialogs();
    return cids.every((c) => ds.some((d) => d.callId === c));
  }, 15_000, 100);
  return { gw, uas, uac, cids, load };
}

test(
  "keepalive: a call whose callee disappears is ended with a BYE to the caller and its capacity freed",
  h.wrap(async () => {
    const { gw, uas, uac, cids, load } = await setup({ SWITCHBOARD_DIALOG_PING: "300" }, "keepalive");
    assert.equal(await load(), CALLS);
    // both sides answer the pings: the calls stay up over several ping intervals
    await waitUntil("keepalive pings answered", async () => ((await gw.adminGet("/v1/status")).body as { counters: Record<string, number> }).counters["dialogs.keepalive-ok"]! >= 2 * CALLS, 10_000, 100);
    assert.equal((await gw.dialogs()).filter((d) => cids.includes(String(d.callId))).length, CALLS, "calls still up while pings are answered");
    await uas.proc.stop("SIGKILL", 1000);
    const r = await uac.result();
    assert.equal(r.stats?.successful, CALLS, `each caller got the gateway's BYE and answered it\n${summarize("uac", r)}`);
    assert.equal(r.stats?.failed, 0, summarize("uac", r));
    await waitUntil("dialogs gone", async () => (await gw.dialogs()).filter((d) => cids.includes(String(d.callId))).length === 0, 5000, 100);
    await waitUntil("capacity freed", async () => (await load()) === 0, 5000, 100);
    const counters = ((await gw.adminGet("/v1/status")).body as { counters: Record<string, number> }).counters;
    assert.ok((counters["dialogs.keepalive-failed"] ?? 0) >= CALLS, JSON.stringify(counters));
  }),
);

for (const source of ["SWITCHBOARD_MAX_CALL_DURATION", "the rule's maxDurationS"] as const) test(
  `maximum duration: a call past ${source} is ended with a BYE to both sides`,
  h.wrap(async () => {
    const byRule = source !== "SWITCHBOARD_MAX_CALL_DURATION";
    const { gw, uas, uac, cids, load } = await setup(byRule ? {} : { SWITCHBOARD_MAX_CALL_DURATION: "1" }, byRule ? "rule-max" : "max-duration", async (gw) => {
      if (!byRule) return;
      const patched = await gw.adminRequest("PATCH", "/v1/rules/default", { maxDurationS: 1 });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
    });
    const r = await uac.result();
    assert.equal(r.stats?.successful, CALLS, `each caller got the gateway's BYE\n${summarize("uac", r)}`);
    await waitUntil("the destination's BYEs", async () => callIds(await uas.messages(), { direction: "received", method: "BYE" }).size >= CALLS, 5000, 100);
    const byes = callIds(await uas.messages(), { direction: "received", method: "BYE" });
    for (const c of cids) assert.ok(byes.has(c), `the destination got no BYE for ${c}`);
    await waitUntil("capacity freed", async () => (await load()) === 0, 5000, 100);
    const counters = ((await gw.adminGet("/v1/status")).body as { counters: Record<string, number> }).counters;
    assert.equal(counters["dialogs.max-duration"], CALLS, JSON.stringify(counters));
  }),
);
