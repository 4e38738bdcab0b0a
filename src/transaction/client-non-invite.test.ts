import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clientNonInvite } from "./test-support.ts";

describe("non-INVITE client transaction (RFC 3261 §17.1.2 Figure 6)", () => {
  it("retransmits on Timer E doubling up to T2 and times out on Timer F at 64*T1", () => {
    const { tx, rec, clock } = clientNonInvite();
    assert.equal(tx.state, "trying");
    tx.start();
    clock.advance(40_000);
    assert.deepEqual(rec.take(), [
      "0 send OPTIONS", "500 send OPTIONS", "1500 send OPTIONS", "3500 send OPTIONS", "7500 send OPTIONS",
      "11500 send OPTIONS", "15500 send OPTIONS", "19500 send OPTIONS", "23500 send OPTIONS", "27500 send OPTIONS",
      "31500 send OPTIONS", "32000 timeout", "32000 terminated timeout",
    ]);
    assert.equal(clock.pendingCount, 0);
  });

  it("does not retransmit on a reliable transport; Timer F still applies", () => {
    const { tx, rec, clock } = clientNonInvite({ reliable: true });
    tx.start();
    assert.deepEqual(clock.pendingDelays(), [32_000]);
    clock.advance(32_000);
    assert.deepEqual(rec.take(), ["0 send OPTIONS", "32000 timeout", "32000 terminated timeout"]);
  });

  it("→ Proceeding on a 1xx: keeps retransmitting, with Timer E reset to T2 once it fires there", () => {
    const { tx, rec, clock } = clientNonInvite();
    tx.start();
    clock.advance(600);
    tx.receiveResponse(100, "100");
    assert.equal(tx.state, "proceeding");
    clock.advance(10_000);
    tx.receiveResponse(180, "180");
    assert.deepEqual(rec.take(), [
      "0 send OPTIONS", "500 send OPTIONS", "600 tu 100 100",
      "1500 send OPTIONS", "5500 send OPTIONS", "9500 send OPTIONS", "10600 tu 180 180",
    ]);
    clock.advance(30_000);
    assert.deepEqual(rec.take().slice(-2), ["32000 timeout", "32000 terminated timeout"]);
  });

  it("Trying → Completed on a final: to TU once, retransmissions absorbed, Timer K = T4", () => {
    const { tx, rec, clock } = clientNonInvite();
    tx.start();
    tx.receiveResponse(200, "200");
    assert.equal(tx.state, "completed");
    assert.deepEqual(clock.pendingDelays(), [5000]);
    tx.receiveResponse(200, "200");
    tx.receiveResponse(100, "100");
    clock.advance(5000);
    assert.deepEqual(rec.take(), ["0 send OPTIONS", "0 tu 200 200", "5000 terminated normal"]);
  });

  it("Proceeding → Completed on a final", () => {
    const { tx, rec, clock } = clientNonInvite();
    tx.start();
    tx.receiveResponse(100, "100");
    tx.receiveResponse(404, "404");
    assert.equal(tx.state, "completed");
    assert.deepEqual(clock.pendingDelays(), [5000]);
    assert.deepEqual(rec.take(), ["0 send OPTIONS", "0 tu 100 100", "0 tu 404 404"]);
  });

  it("terminates immediately on a final over a reliable transport (Timer K = 0)", () => {
    const { tx, rec, clock } = clientNonInvite({ reliable: true });
    tx.start();
    tx.receiveResponse(481, "481");
    assert.equal(tx.state, "terminated");
    assert.equal(clock.pendingCount, 0);
    assert.deepEqual(rec.take(), ["0 send OPTIONS", "0 tu 481 481", "0 terminated normal"]);
  });

  for (const setup of ["trying", "proceeding"] as const) {
    it(`terminates on a transport error in ${setup}, without a timeout`, () => {
      const { tx, rec, clock } = clientNonInvite();
      tx.start();
      if (setup === "proceeding") tx.receiveResponse(100, "100");
      rec.take();
      tx.transportError();
      assert.equal(clock.pendingCount, 0);
      assert.deepEqual(rec.take(), ["0 terminated transport-error"]);
    });
  }

  it("ignores a transport error in Completed (nothing is sent there)", () => {
    const { tx, rec } = clientNonInvite();
    tx.start();
    tx.receiveResponse(200, "200");
    tx.transportError();
    assert.equal(tx.state, "completed");
    assert.deepEqual(rec.take(), ["0 send OPTIONS", "0 tu 200 200"]);
  });

  it("ignores input before start(), invalid status codes, and everything after termination", () => {
    const { tx, rec, clock } = clientNonInvite({ reliable: true });
    tx.receiveResponse(200, "200");
    tx.start();
    tx.receiveResponse(1000, "1000");
    assert.equal(tx.state, "trying");
    tx.receiveResponse(200, "200");
    tx.receiveResponse(200, "200");
    tx.transportError();
    tx.start();
    tx.dispose();
    clock.runAll();
    assert.deepEqual(rec.take(), ["0 send OPTIONS", "0 tu 200 200", "0 terminated normal"]);
  });

  it("dispose() clears timers silently", () => {
    const { tx, rec, clock } = clientNonInvite();
    tx.start();
    tx.dispose();
    assert.equal(clock.pendingCount, 0);
    clock.runAll();
    assert.deepEqual(rec.take(), ["0 send OPTIONS"]);
  });
});
