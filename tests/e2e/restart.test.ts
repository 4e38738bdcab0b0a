/**
 * Established calls survive a gateway restart (UDP). CALLS held calls (uac-hold.xml) are set up through the gateway
 * to two destinations; once every destination has the ACK of its calls and GET /v1/dialogs lists them, the gateway is
 * stopped (SIGTERM in one case, SIGKILL in the other) and started again on the same ports with the same secret. The
 * held calls are then released and their BYEs cross the new gateway process.
 * Proves: each BYE reaches the destination that took the call's INVITE (the signed Record-Route alone routes it, no
 * state from the old process is needed) and is answered 200; no call fails at the caller; SIGTERM ends the gateway
 * by itself within its grace period.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { harness } from "../support/harness.ts";
import { freePorts } from "../support/ports.ts";
import { startUac, startUas, summarize } from "../support/sipp.ts";
import { startGateway } from "../support/gateway.ts";
import { callIds, select } from "../support/sipp-log.ts";
import { dialogStickinessProblems } from "../support/checks.ts";
import { waitUntil } from "../support/process.ts";
import { SipUdp, releaseInfo } from "../support/sip-udp.ts";

const h = harness("restart");
before(() => h.setup());
after(() => h.teardown());

const CALLS = 4;

for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  test(
    `held calls are torn down through a gateway restarted after ${signal}`,
    h.wrap(async () => {
      const tag = signal.toLowerCase();
      const [gwPort, httpPort, portA, portB, uacPort] = (await freePorts(5)) as [number, number, number, number, number];
      const uasA = await startUas({ scenario: "uas.xml", port: portA, transport: "udp", dir: h.dir, name: `${tag}-uas-a` });
      const uasB = await startUas({ scenario: "uas.xml", port: portB, transport: "udp", dir: h.dir, name: `${tag}-uas-b` });
      const gw = await startGateway({
        sipPort: gwPort,
        httpPort,
        destinations: [`sip:127.0.0.1:${portA}`, `sip:127.0.0.1:${portB}`],
        dir: h.dir,
      });
      h.defer(() => gw.stop());
      const ep = await SipUdp.open();
      h.defer(() => ep.close());

      const uac = startUac({
        scenario: "uac-hold.xml",
        port: uacPort,
        transport: "udp",
        dir: h.dir,
        name: `${tag}-uac`,
        target: { host: "127.0.0.1", port: gwPort },
        calls: CALLS,
        rate: 20,
        timeoutS: 50,
      });
      const cids = Array.from({ length: CALLS }, (_, i) => uac.callId(i + 1));

      // 1. every call is established: its destination has the ACK
      await waitUntil(
        `the ACK of all ${CALLS} calls at the destinations`,
        async () => {
          const acked = callIds([...(await uasA.messages()), ...(await uasB.messages())], { direction: "received", method: "ACK" });
          return cids.every((c) => acked.has(c));
        },
        15_000,
      );
      const before = [...(await uasA.messages()), ...(await uasB.messages())];
      assert.equal(select(before, { method: "BYE" }).length, 0, "a BYE was sent before the release");
      const atA = callIds(await uasA.messages(), { direction: "received", method: "INVITE" });
      const atB = callIds(await uasB.messages(), { direction: "received", method: "INVITE" });

      // 2. the gateway knows the dialogs, and which destination each went to
      const dests = await gw.destinations();
      const dialogs = await waitUntil(
        "GET /v1/dialogs to list every held call",
        async () => {
          const ds = await gw.dialogs();
          return cids.every((c) => ds.some((d) => d.callId === c)) ? ds : undefined;
        },
        5000,
        100,
      );
      // The contract names the field `destination`; the store's records carry destinationId/destinationUri: take
      // whichever is there, resolving an id through GET /v1/destinations.
      const uriOf = (d: (typeof dialogs)[number] | undefined): string => {
        const ref = d?.destinationUri ?? d?.destination ?? d?.destinationId;
        const byId = dests.find((x) => typeof x === "object" && x !== null && (x as { id?: unknown }).id === ref);
        return String(JSON.stringify(byId ?? ref));
      };
      for (const cid of cids) {
        const d = dialogs.find((x) => x.callId === cid);
        const port = atA.has(cid) ? portA : portB;
        assert.ok(
          uriOf(d).includes(`:${port}`),
          `dialog ${cid} names destination ${uriOf(d)}, but its INVITE went to port ${port}: ${JSON.stringify(d)}`,
        );
      }

      // 3. restart on the same ports
      const stopped = await gw.stop(signal);
      if (signal === "SIGTERM") {
        assert.equal(stopped.forced, false, `SIGTERM did not end the gateway within 10 s; it took SIGKILL\n${gw.logTail()}`);
        assert.equal(stopped.code, 0, `exit after SIGTERM: ${JSON.stringify(stopped)}\n${gw.logTail()}`);
      } else {
        assert.equal(stopped.signal, "SIGKILL");
      }
      await gw.start();

      // 4. release the calls: the BYEs go through the new gateway process
      for (const cid of cids) await ep.send(releaseInfo(ep, uacPort, cid), uacPort);
      const r = await uac.result();
      const a = await uasA.stop();
      const b = await uasB.stop();
      const ctx = `\n${summarize("uac", r)}\n--- gateway after restart ---\n${gw.logTail(3000)}`;
      assert.equal(r.stats?.failed, 0, `failed calls at the UAC${ctx}`);
      assert.equal(r.stats?.successful, CALLS, `successful calls at the UAC${ctx}`);
      assert.equal(atA.size + atB.size, CALLS);
      const problems = dialogStickinessProblems([
        { name: "A", messages: a.messages },
        { name: "B", messages: b.messages },
      ]);
      assert.deepEqual(problems, [], `BYE routing after the restart:\n${problems.join("\n")}`);
      for (const cid of cids) {
        const okToBye = select(r.messages, { direction: "received", status: 200, cseqMethod: "BYE" }).some((m) => m.callId === cid);
        assert.ok(okToBye, `${cid}: no 200 for the BYE at the UAC${ctx}`);
      }
      await gw.stop();
    }),
  );
}
