import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ServerInviteTransaction } from "./server-invite.ts";
import { FakeClock } from "./fake-clock.ts";
import { serverInvite } from "./test-support.ts";

describe("INVITE server transaction (RFC 3261 §17.2.1 Figure 7, RFC 6026 Figure 7)", () => {
  describe("Proceeding", () => {
    it("starts in Proceeding with no timer armed", () => {
      const { tx, clock } = serverInvite();
      assert.equal(tx.state, "proceeding");
      assert.equal(clock.pendingCount, 0);
    });

    it("absorbs INVITE retransmissions until the TU responded, then resends the most recent provisional", () => {
      const { tx, rec } = serverInvite();
      tx.receiveRequestRetransmission();
      assert.deepEqual(rec.take(), []);
      assert.equal(tx.respond(100, "100"), true);
      assert.equal(tx.respond(180, "180"), true);
      assert.equal(tx.state, "proceeding");
      tx.receiveRequestRetransmission();
      assert.deepEqual(rec.take(), ["0 send 100", "0 send 180", "0 send 180"]);
    });

    it("does not retransmit provisionals on a timer", () => {
      const { tx, rec, clock } = serverInvite();
      tx.respond(183, "183");
      clock.advance(120_000);
      assert.deepEqual(rec.take(), ["0 send 183"]);
      assert.equal(clock.pendingCount, 0);
    });

    it("does not absorb an ACK (nothing final was sent)", () => {
      const { tx } = serverInvite();
      assert.equal(tx.receiveAck(), false);
      assert.equal(tx.state, "proceeding");
    });

    it("rejects status codes outside 100-699", () => {
      const { tx, rec } = serverInvite();
      assert.equal(tx.respond(99, "99"), false);
      assert.equal(tx.respond(700, "700"), false);
      assert.equal(tx.respond(180.5, "x"), false);
      assert.deepEqual(rec.take(), []);
    });

    it("terminates on a transport error", () => {
      const { tx, rec } = serverInvite();
      tx.respond(180, "180");
      tx.transportError();
      assert.equal(tx.state, "terminated");
      assert.deepEqual(rec.take(), ["0 send 180", "0 terminated transport-error"]);
    });
  });

  describe("Completed (3xx-6xx sent)", () => {
    it("retransmits the final on Timer G doubling up to T2, and times out on Timer H at 64*T1", () => {
      const { tx, rec, clock } = serverInvite();
      assert.equal(tx.respond(486, "486"), true);
      assert.equal(tx.state, "completed");
      clock.advance(40_000);
      assert.deepEqual(rec.take(), [
        "0 send 486",
        "500 send 486", "1500 send 486", "3500 send 486", "7500 send 486", "11500 send 486",
        "15500 send 486", "19500 send 486", "23500 send 486", "27500 send 486", "31500 send 486",
        "32000 terminated timeout",
      ]);
      assert.equal(tx.state, "terminated");
      assert.equal(clock.pendingCount, 0);
    });

    it("resends the final on an INVITE retransmission", () => {
      const { tx, rec, clock } = serverInvite({ reliable: true });
      tx.respond(180, "180");
      tx.respond(603, "603");
      clock.advance(100);
      tx.receiveRequestRetransmission();
      assert.deepEqual(rec.take(), ["0 send 180", "0 send 603", "100 send 603"]);
    });

    it("discards further responses from the TU", () => {
      const { tx, rec } = serverInvite();
      tx.respond(486, "486");
      assert.equal(tx.respond(180, "180"), false);
      assert.equal(tx.respond(200, "200"), false);
      assert.equal(tx.respond(500, "500"), false);
      assert.deepEqual(rec.take(), ["0 send 486"]);
    });

    it("starts no Timer G on a reliable transport but still Timer H", () => {
      const { tx, rec, clock } = serverInvite({ reliable: true });
      tx.respond(486, "486");
      assert.deepEqual(clock.pendingDelays(), [32_000]);
      clock.advance(31_999);
      assert.equal(tx.state, "completed");
      clock.advance(1);
      assert.deepEqual(rec.take(), ["0 send 486", "32000 terminated timeout"]);
    });

    it("moves to Confirmed on ACK, stops retransmitting, absorbs ACK and INVITE retransmissions, ends on Timer I = T4", () => {
      const { tx, rec, clock } = serverInvite();
      tx.respond(486, "486");
      clock.advance(600);
      assert.equal(tx.receiveAck(), true);
      assert.equal(tx.state, "confirmed");
      assert.deepEqual(clock.pendingDelays(), [5000]);
      assert.equal(tx.receiveAck(), true);
      tx.receiveRequestRetransmission();
      assert.equal(tx.respond(200, "200"), false);
      clock.advance(4999);
      assert.equal(tx.state, "confirmed");
      clock.advance(1);
      assert.deepEqual(rec.take(), ["0 send 486", "500 send 486", "600 ack", "5600 terminated normal"]);
    });

    it("terminates right after the ACK on a reliable transport (Timer I = 0), onAck first", () => {
      const { tx, rec, clock } = serverInvite({ reliable: true });
      tx.respond(404, "404");
      assert.equal(tx.receiveAck(), true);
      assert.equal(tx.state, "terminated");
      assert.equal(clock.pendingCount, 0);
      assert.deepEqual(rec.take(), ["0 send 404", "0 ack", "0 terminated normal"]);
    });

    it("terminates on a transport error and clears its timers", () => {
      const { tx, rec, clock } = serverInvite();
      tx.respond(486, "486");
      tx.transportError();
      assert.equal(clock.pendingCount, 0);
      assert.deepEqual(rec.take(), ["0 send 486", "0 terminated transport-error"]);
    });
  });

  describe("Accepted (RFC 6026, 2xx sent)", () => {
    it("sends the 2xx, absorbs INVITE retransmissions, passes the ACK on, and ends on Timer L = 64*T1", () => {
      const { tx, rec, clock } = serverInvite();
      tx.respond(180, "180");
      assert.equal(tx.respond(200, "200"), true);
      assert.equal(tx.state, "accepted");
      assert.deepEqual(clock.pendingDelays(), [32_000]);
      tx.receiveRequestRetransmission();
      assert.equal(tx.receiveAck(), false);
      clock.advance(31_999);
      assert.equal(tx.state, "accepted");
      clock.advance(1);
      assert.deepEqual(rec.take(), ["0 send 180", "0 send 200", "32000 terminated normal"]);
    });

    it("sends every further 2xx from the TU, and nothing else", () => {
      const { tx, rec, clock } = serverInvite({ reliable: true });
      tx.respond(200, "200a");
      clock.advance(500);
      assert.equal(tx.respond(200, "200a"), true);
      assert.equal(tx.respond(202, "202b"), true);
      assert.equal(tx.respond(180, "180"), false);
      assert.equal(tx.respond(486, "486"), false);
      assert.deepEqual(rec.take(), ["0 send 200a", "500 send 200a", "500 send 202b"]);
      assert.equal(tx.state, "accepted");
    });

    it("has Timer L on reliable transports too", () => {
      const { tx, clock } = serverInvite({ reliable: true });
      tx.respond(200, "200");
      assert.deepEqual(clock.pendingDelays(), [32_000]);
    });

    it("informs the TU of a transport error and stays Accepted", () => {
      const { tx, rec } = serverInvite();
      tx.respond(200, "200");
      tx.transportError();
      assert.equal(tx.state, "accepted");
      assert.deepEqual(rec.take(), ["0 send 200", "0 transport-error"]);
    });
  });

  describe("termination and robustness", () => {
    it("is inert after termination and reports termination once", () => {
      const { tx, rec, clock } = serverInvite({ reliable: true });
      tx.respond(486, "486");
      tx.receiveAck();
      rec.take();
      assert.equal(tx.respond(200, "200"), false);
      assert.equal(tx.receiveAck(), false);
      tx.receiveRequestRetransmission();
      tx.transportError();
      tx.dispose();
      clock.runAll();
      assert.deepEqual(rec.take(), []);
    });

    it("dispose() clears all timers without calling onTerminated", () => {
      const { tx, rec, clock } = serverInvite();
      tx.respond(486, "486");
      tx.dispose();
      assert.equal(tx.state, "terminated");
      assert.equal(clock.pendingCount, 0);
      clock.runAll();
      assert.deepEqual(rec.take(), ["0 send 486"]);
    });

    it("scales with T1/T2: G = 1 s doubling to T2 = 2 s, H = 64 s", () => {
      const { tx, rec, clock } = serverInvite({ timers: { t1: 1000, t2: 2000, t4: 5000 } });
      tx.respond(500, "500");
      clock.advance(7000);
      assert.deepEqual(rec.take(), ["0 send 500", "1000 send 500", "3000 send 500", "5000 send 500", "7000 send 500"]);
      clock.advance(57_000);
      assert.deepEqual(rec.take().slice(-1), ["64000 terminated timeout"]);
    });

    it("runs callbacks after the state change; re-entrant calls are queued behind pending callbacks", () => {
      const clock = new FakeClock();
      const log: string[] = [];
      const tx: ServerInviteTransaction<string> = new ServerInviteTransaction<string>({
        reliable: true,
        clock,
        send: (res) => {
          log.push(`send ${res} in ${tx.state}`);
          if (res === "486") tx.transportError(); // the transport fails synchronously
        },
        onTerminated: (reason) => log.push(`terminated ${reason} in ${tx.state}`),
      });
      tx.respond(486, "486");
      assert.deepEqual(log, ["send 486 in completed", "terminated transport-error in terminated"]);
      assert.equal(clock.pendingCount, 0);
    });

    it("survives a throwing callback: the error surfaces, the machine stays consistent", () => {
      const clock = new FakeClock();
      const log: string[] = [];
      let fail = true;
      const tx = new ServerInviteTransaction<string>({
        reliable: false,
        clock,
        send: (res) => {
          log.push(`send ${res}`);
          if (fail) throw new Error("socket closed");
        },
        onTerminated: (reason) => log.push(`terminated ${reason}`),
      });
      assert.throws(() => tx.respond(486, "486"), /socket closed/);
      assert.equal(tx.state, "completed");
      assert.deepEqual(clock.pendingDelays(), [500, 32_000]);
      fail = false;
      clock.advance(500);
      assert.equal(tx.receiveAck(), true);
      clock.runAll();
      assert.deepEqual(log, ["send 486", "send 486", "terminated normal"]);
    });
  });
});
