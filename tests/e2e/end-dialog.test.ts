/**
 * An operator ends a live call from the middle: DELETE /v1/dialogs/{id}. Calls are set up through the gateway with
 * uac-ended.xml (the caller waits for a BYE) to a destination whose uas.xml waits for a BYE too.
 * Proves: the gateway sends a BYE to each side built from the dialog record alone (both answer 200 and the caller's
 * call completes successfully), the dialog disappears from GET /v1/dialogs, the destination's load drops back, and
 * an unknown dialog id is a 404.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { harness } from "../support/harness.ts";
import { freePorts } from "../support/ports.ts";
import { startUac, startUas, summarize } from "../support/sipp.ts";
import { startGateway } from "../support/gateway.ts";
import { callIds } from "../support/sipp-log.ts";
import { waitUntil } from "../support/process.ts";

const h = harness("end-dialog");
before(() => h.setup());
after(() => h.teardown());

const CALLS = 3;

test(
  "DELETE /v1/dialogs/{id} ends the call with a BYE to both sides and frees its capacity",
  h.wrap(async () => {
    const [gwPort, httpPort, uasPort, uacPort] = (await freePorts(4)) as [number, number, number, number];
    const uas = await startUas({ scenario: "uas.xml", port: uasPort, transport: "udp", dir: h.dir, name: "uas" });
    const gw = await startGateway({ sipPort: gwPort, httpPort, destinations: [`sip:127.0.0.1:${uasPort}`], dir: h.dir });
    h.defer(() => gw.stop());
    // capacity on the quick-start destination, so the load can be watched
    const [dest] = (await gw.destinations()) as { id: string }[];
    assert.ok(dest);
    const patched = await gw.adminRequest("PATCH", `/v1/destinations/${dest.id}`, { resources: { calls: 10 } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));

    const uac = startUac({
      scenario: "uac-ended.xml",
      port: uacPort,
      transport: "udp",
      dir: h.dir,
      name: "uac",
      target: { host: "127.0.0.1", port: gwPort },
      calls: CALLS,
      rate: 20,
      timeoutS: 30,
    });
    const cids = Array.from({ length: CALLS }, (_, i) => uac.callId(i + 1));
    const dialogs = await waitUntil(
      "every call listed by GET /v1/dialogs",
      async () => {
        const ds = await gw.dialogs();
        return cids.every((c) => ds.some((d) => d.callId === c)) ? ds : undefined;
      },
      15_000,
      100,
    );
    const load = async () => {
      const list = (await gw.destinations()) as { id: string; load?: { calls?: { used: number } } }[];
      return list.find((d) => d.id === dest.id)?.load?.calls?.used ?? 0;
    };
    assert.equal(await load(), CALLS, "each held call holds one unit");

    for (const cid of cids) {
      const dialog = dialogs.find((d) => d.callId === cid)!;
      const ended = await gw.adminRequest("DELETE", `/v1/dialogs/${String(dialog.id)}`);
      assert.equal(ended.status, 202, `DELETE ${String(dialog.id)}: ${JSON.stringify(ended.body)}`);
    }
    const r = await uac.result();
    assert.equal(r.stats?.successful, CALLS, `every caller got its BYE and answered it\n${summarize("uac", r)}`);
    assert.equal(r.stats?.failed, 0, summarize("uac", r));
    const byes = callIds(await uas.messages(), { direction: "received", method: "BYE" });
    assert.deepEqual([...byes].sort(), [...cids].sort(), "the destination got a BYE for every call");
    assert.equal((await gw.dialogs()).filter((d) => cids.includes(String(d.callId))).length, 0, "dialogs gone");
    assert.equal(await load(), 0, "capacity freed");
    assert.equal((await gw.adminRequest("DELETE", "/v1/dialogs/no-such-dialog")).status, 404);
  }),
);
