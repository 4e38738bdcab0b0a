/**
 * The balancing test shared by balance-udp.test.ts and balance-tcp.test.ts: a UAC places CALLS short calls through
 * the gateway to two UAS destinations over one transport.
 */
import assert from "node:assert/strict";
import type { Harness } from "./harness.ts";
import { freePorts } from "./ports.ts";
import { runUac, startUas, summarize, type SipTransport } from "./sipp.ts";
import { startGateway, type Gateway } from "./gateway.ts";
import { callIds, select } from "./sipp-log.ts";
import { dialogStickinessProblems, leftoverGatewayRoutes, percent } from "./checks.ts";
import { waitUntil } from "./process.ts";

export const CALLS = 1000;
export const RATE = 100;

export interface BalanceOptions {
  /** Extra gateway environment (e.g. SWITCHBOARD_WORKERS). */
  readonly env?: Readonly<Record<string, string>>;
  /** Transport of the destinations when it differs from the caller's. */
  readonly destinationTransport?: SipTransport;
  /** Further checks on the gateway once the calls are over. */
  readonly after?: (gw: Gateway) => Promise<void>;
}

export async function runBalance(h: Harness, transport: SipTransport, options: BalanceOptions = {}): Promise<void> {
  const [gwPort, httpPort, portA, portB, uacPort] = (await freePorts(5)) as [number, number, number, number, number];
  const toward = options.destinationTransport ?? transport;
  const uasA = await startUas({ scenario: "uas.xml", port: portA, transport: toward, dir: h.dir, name: "uas-a" });
  const uasB = await startUas({ scenario: "uas.xml", port: portB, transport: toward, dir: h.dir, name: "uas-b" });
  const suffix = toward === "tcp" ? ";transport=tcp" : "";
  const gw = await startGateway({
    sipPort: gwPort,
    httpPort,
    destinations: [`sip:127.0.0.1:${portA}${suffix}`, `sip:127.0.0.1:${portB}${suffix}`],
    dir: h.dir,
    ...(options.env ? { env: options.env } : {}),
  });
  h.defer(() => gw.stop());

  const health = await gw.healthz();
  assert.equal(health.status, 200, `GET /healthz: ${JSON.stringify(health)}`);

  const uac = await runUac({
    scenario: "uac.xml",
    port: uacPort,
    transport,
    dir: h.dir,
    name: "uac",
    target: { host: "127.0.0.1", port: gwPort },
    calls: CALLS,
    rate: RATE,
    limit: 200,
    timeoutS: 60,
  });
  const a = await uasA.stop();
  const b = await uasB.stop();
  const ctx = `\n${summarize("uac", uac)}\n--- gateway ---\n${gw.logTail(3000)}`;

  // 1. the caller saw every call succeed
  assert.equal(uac.stats?.failed, 0, `failed calls at the UAC${ctx}`);
  assert.equal(uac.stats?.successful, CALLS, `successful calls at the UAC${ctx}`);
  assert.equal(uac.exit.code, 0, `sipp UAC exit code${ctx}`);

  // 2. every INVITE went to exactly one destination, and the split is balanced
  const invA = callIds(a.messages, { direction: "received", method: "INVITE" });
  const invB = callIds(b.messages, { direction: "received", method: "INVITE" });
  const total = invA.size + invB.size;
  assert.equal(total, CALLS, `distinct INVITEs at the destinations: A ${invA.size} + B ${invB.size}`);
  const split = `A ${invA.size} (${percent(invA.size, total)}), B ${invB.size} (${percent(invB.size, total)})`;
  for (const n of [invA.size, invB.size]) {
    assert.ok(n >= 0.45 * CALLS && n <= 0.55 * CALLS, `INVITE split outside 45–55%: ${split}`);
  }

  // 3. dialog stickiness: ACK and BYE follow the INVITE's destination, nothing strays
  const problems = dialogStickinessProblems([
    { name: "A", messages: a.messages },
    { name: "B", messages: b.messages },
  ]);
  assert.deepEqual(problems, [], `dialog stickiness problems:\n${problems.join("\n")}`);

  // 4. the INVITEs were record-routed by the gateway, and the gateway popped its own Route from ACK/BYE
  const rrMissing = select([...a.messages, ...b.messages], { direction: "received", method: "INVITE" }).filter(
    (m) => !(m.headers.get("record-route") ?? []).some((v) => v.includes(`127.0.0.1:${gwPort}`)),
  );
  assert.equal(rrMissing.length, 0, `INVITEs without the gateway's Record-Route, e.g.:\n${rrMissing[0]?.raw ?? ""}`);
  const leftover = leftoverGatewayRoutes([...a.messages, ...b.messages], gwPort);
  assert.equal(leftover.length, 0, `requests reaching a destination with the gateway's Route still in, e.g.:\n${leftover[0]?.raw ?? ""}`);

  // 5. all dialogs were torn down by the BYEs
  const ours = new Set([...invA, ...invB]);
  await waitUntil(
    "GET /v1/dialogs to list none of the finished calls",
    async () => (await gw.dialogs()).filter((d) => ours.has(d.callId)).length === 0,
    5000,
    100,
  ).catch(async (e: unknown) => {
    const left = (await gw.dialogs()).filter((d) => ours.has(d.callId));
    assert.fail(`${String(e)}: ${left.length} left, e.g. ${JSON.stringify(left[0])}`);
  });

  // 6. the gateway survived the load
  assert.ok(gw.running, `gateway exited during the run${ctx}`);
  await options.after?.(gw);
}
