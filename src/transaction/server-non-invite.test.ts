import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serverNonInvite } from "./test-support.ts";

describe("non-INVITE server transaction (RFC 3261 §17.2.2 Figure 8)", () => {
  it("absorbs request retransmissions in Trying", () => {
    const { tx, rec, clock } = serverNonInvite();
    assert.equal(tx.state, "trying");
    tx.receiveRequestRetransmission();
    assert.deepEqual(rec.take(), []);
    assert.equal(clock.pendingCount, 0);
  });

  it("Trying → Proceeding on a 1xx; retransmissions get the last provisional", () => {
    const { tx, rec } = serverNonInvite();
    assert.equal(tx.respond(100, "100"), true);
    assert.equal(tx.state, "proceeding");
    tx.receiveRequestRetransmission();
    tx.respond(182, "182");
    tx.receiveRequestRetransmission();
    assert.deepEqual(rec.take(), ["0 send 100", "0 send 100", "0 send 182", "0 send 182"]);
  });

  it("Trying → Completed on a final; the final answers retransmissions; Timer J = 64*T1 ends it", () => {
    const { tx, rec, clock } = serverNonInvite();
    assert.equal(tx.respond(200, "200"), true);
    assert.equal(tx.state, "completed");
    assert.deepEqual(clock.pendingDelays(), [32_000]);
    clock.advance(1000);
    tx.receiveRequestRetransmission();
    clock.advance(30_999);
    assert.equal(tx.state, "completed");
    clock.advance(1);
    assert.deepEqual(rec.take(), ["0 send 200", "1000 send 200", "32000 terminated normal"]);
  });

  it("Proceeding → Completed on a final", () => {
    const { tx, rec } = serverNonInvite();
    tx.respond(100, "100");
    tx.respond(404, "404");
    assert.equal(tx.state, "completed");
    tx.receiveRequestRetransmission();
    assert.deepEqual(rec.take(), ["0 send 100", "0 send 404", "0 send 404"]);
  });

  it("discards responses from the TU in Completed and invalid status codes anywhere", () => {
    const { tx, rec } = serverNonInvite();
    assert.equal(tx.respond(42, "42"), false);
    tx.respond(200, "200");
    assert.equal(tx.respond(500, "500"), false);
    assert.equal(tx.respond(100, "100"), false);
    assert.deepEqual(rec.take(), ["0 send 200"]);
  });

  it("terminates as soon as the final is sent on a reliable transport (Timer J = 0)", () => {
    const { tx, rec, clock } = serverNonInvite({ reliable: true });
    tx.respond(100, "100");
    tx.respond(200, "200");
    assert.equal(tx.state, "terminated");
    assert.equal(clock.pendingCount, 0);
    assert.deepEqual(rec.take(), ["0 send 100", "0 send 200", "0 terminated normal"]);
  });

  for (const setup of ["trying", "proceeding", "completed"] as const) {
    it(`terminates on a transport error in ${setup}`, () => {
      const { tx, rec, clock } = serverNonInvite();
      if (setup !== "trying") tx.respond(100, "100");
      if (setup === "completed") tx.respond(200, "200");
      assert.equal(tx.state, setup);
      rec.take();
      tx.transportError();
      assert.equal(tx.state, "terminated");
      assert.equal(clock.pendingCount, 0);
      assert.deepEqual(rec.take(), ["0 terminated transport-error"]);
    });
  }

  it("is inert after termination; dispose() clears Timer J silently", () => {
    const { tx, rec, clock } = serverNonInvite();
    tx.respond(200, "200");
    tx.dispose();
    assert.equal(tx.state, "terminated");
    assert.equal(clock.pendingCount, 0);
    tx.receiveRequestRetransmission();
    assert.equal(tx.respond(200, "200"), false);
    tx.transportError();
    clock.runAll();
    assert.deepEqual(rec.take(), ["0 send 200"]);
  });
});
