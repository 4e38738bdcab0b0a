import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ClientInviteTransaction } from "./client-invite.ts";
import { FakeClock } from "./fake-clock.ts";
import { clientInvite } from "./test-support.ts";

describe("INVITE client transaction (RFC 3261 §17.1.1 Figure 5, RFC 6026 Figure 5)", () => {
  describe("Calling", () => {
    it("retransmits on Timer A doubling without cap, times out on Timer B at 64*T1, sends no ACK", () => {
      const { tx, rec, clock } = clientInvite();
      assert.equal(tx.state, "calling");
      tx.start();
      clock.advance(40_000);
      assert.deepEqual(rec.take(), [
        "0 send INVITE", "500 send INVITE", "1500 send INVITE", "3500 send INVITE",
        "7500 send INVITE", "15500 send INVITE", "31500 send INVITE",
        "32000 timeout", "32000 terminated timeout",
      ]);
      assert.equal(tx.state, "terminated");
      assert.equal(clock.pendingCount, 0);
    });

    it("does not retransmit on a reliable transport; Timer B still applies", () => {
      const { tx, rec, clock } = clientInvite({ reliable: true });
      tx.start();
      assert.deepEqual(clock.pendingDelays(), [32_000]);
      clock.advance(32_000);
      assert.deepEqual(rec.take(), ["0 send INVITE", "32000 timeout", "32000 terminated timeout"]);
    });

    it("ignores responses before start() and a second start()", () => {
      const { tx, rec, clock } = clientInvite();
      tx.receiveResponse(180, "180");
      tx.transportError();
      assert.equal(clock.pendingCount, 0);
      tx.start();
      tx.start();
      assert.deepEqual(rec.take(), ["0 send INVITE"]);
      assert.equal(tx.provisionalReceived, false);
    });

    it("→ Proceeding on a 1xx: stops A and B, passes it up, no more timeouts (Timer C is the proxy's)", () => {
      const { tx, rec, clock } = clientInvite();
      tx.start();
      clock.advance(600);
      tx.receiveResponse(100, "100");
      assert.equal(tx.state, "proceeding");
      assert.equal(tx.provisionalReceived, true);
      assert.equal(clock.pendingCount, 0);
      tx.receiveResponse(180, "180");
      tx.receiveResponse(183, "183");
      clock.advance(300_000);
      assert.deepEqual(rec.take(), ["0 send INVITE", "500 send INVITE", "600 tu 100 100", "600 tu 180 180", "600 tu 183 183"]);
    });

    it("terminates on a transport error without reporting a timeout", () => {
      const { tx, rec, clock } = clientInvite();
      tx.start();
      tx.transportError();
      assert.equal(clock.pendingCount, 0);
      assert.deepEqual(rec.take(), ["0 send INVITE", "0 terminated transport-error"]);
    });

    it("ignores status codes outside 100-699", () => {
      const { tx, rec } = clientInvite();
      tx.start();
      tx.receiveResponse(0, "0");
      tx.receiveResponse(700, "700");
      assert.equal(tx.state, "calling");
      assert.deepEqual(rec.take(), ["0 send INVITE"]);
    });
  });

  describe("Completed (3xx-6xx received)", () => {
    it("ACKs and passes the first final up, ACKs each retransmission without passing it, ends on Timer D = 32 s", () => {
      const { tx, rec, clock } = clientInvite();
      tx.start();
      tx.receiveResponse(486, "486");
      assert.equal(tx.state, "completed");
      assert.deepEqual(clock.pendingDelays(), [32_000]);
      clock.advance(500);
      tx.receiveResponse(486, "486");
      tx.receiveResponse(486, "486");
      tx.receiveResponse(180, "180");
      clock.advance(31_499);
      assert.equal(tx.state, "completed");
      clock.advance(1);
      assert.deepEqual(rec.take(), [
        "0 send INVITE", "0 ack 486", "0 tu 486 486", "500 ack 486", "500 ack 486", "32000 terminated normal",
      ]);
    });

    it("reaches Completed from Proceeding too", () => {
      const { tx, rec } = clientInvite();
      tx.start();
      tx.receiveResponse(180, "180");
      tx.receiveResponse(302, "302");
      assert.equal(tx.state, "completed");
      assert.deepEqual(rec.take(), ["0 send INVITE", "0 tu 180 180", "0 ack 302", "0 tu 302 302"]);
    });

    it("uses Timer D = 64*T1 when that exceeds 32 s", () => {
      const { tx, clock } = clientInvite({ timers: { t1: 1000, t2: 4000, t4: 5000 } });
      tx.start();
      tx.receiveResponse(503, "503");
      assert.deepEqual(clock.pendingDelays(), [64_000]);
    });

    it("terminates immediately on a reliable transport (Timer D = 0), after ACK and TU", () => {
      const { tx, rec, clock } = clientInvite({ reliable: true });
      tx.start();
      tx.receiveResponse(603, "603");
      assert.equal(tx.state, "terminated");
      assert.equal(clock.pendingCount, 0);
      assert.deepEqual(rec.take(), ["0 send INVITE", "0 ack 603", "0 tu 603 603", "0 terminated normal"]);
    });

    it("terminates on a transport error (sending the ACK)", () => {
      const { tx, rec, clock } = clientInvite();
      tx.start();
      tx.receiveResponse(486, "486");
      tx.transportError();
      assert.equal(clock.pendingCount, 0);
      assert.deepEqual(rec.take(), ["0 send INVITE", "0 ack 486", "0 tu 486 486", "0 terminated transport-error"]);
    });

    it("passes a 2xx racing in after a non-2xx to the TU (so the UAC can still ACK it) and stays Completed", () => {
      const { tx, rec } = clientInvite();
      tx.start();
      tx.receiveResponse(487, "487");
      tx.receiveResponse(200, "200");
      assert.equal(tx.state, "completed");
      assert.deepEqual(rec.take(), ["0 send INVITE", "0 ack 487", "0 tu 487 487", "0 tu 200 200"]);
    });
  });

  describe("Accepted (RFC 6026, 2xx received)", () => {
    it("passes every 2xx up, absorbs anything else, ends on Timer M = 64*T1", () => {
      const { tx, rec, clock } = clientInvite();
      tx.start();
      tx.receiveResponse(200, "200a");
      assert.equal(tx.state, "accepted");
      assert.deepEqual(clock.pendingDelays(), [32_000]);
      clock.advance(500);
      tx.receiveResponse(200, "200a");
      tx.receiveResponse(200, "200b");
      tx.receiveResponse(180, "180");
      tx.receiveResponse(486, "486");
      tx.transportError();
      clock.advance(31_499);
      assert.equal(tx.state, "accepted");
      clock.advance(1);
      assert.deepEqual(rec.take(), [
        "0 send INVITE", "0 tu 200 200a", "500 tu 200 200a", "500 tu 200 200b", "32000 terminated normal",
      ]);
    });

    it("is entered from Proceeding, and keeps Timer M on reliable transports", () => {
      const { tx, rec, clock } = clientInvite({ reliable: true });
      tx.start();
      tx.receiveResponse(183, "183");
      tx.receiveResponse(200, "200");
      assert.equal(tx.state, "accepted");
      assert.deepEqual(clock.pendingDelays(), [32_000]);
      assert.deepEqual(rec.take(), ["0 send INVITE", "0 tu 183 183", "0 tu 200 200"]);
    });
  });

  describe("termination and robustness", () => {
    it("dispose() clears every timer silently; everything afterwards is a no-op", () => {
      const { tx, rec, clock } = clientInvite();
      tx.start();
      tx.dispose();
      assert.equal(tx.state, "terminated");
      assert.equal(clock.pendingCount, 0);
      tx.receiveResponse(200, "200");
      tx.transportError();
      tx.start();
      clock.runAll();
      assert.deepEqual(rec.take(), ["0 send INVITE"]);
    });

    it("lets the TU see the new state from inside callbacks and keeps callback order on re-entry", () => {
      const clock = new FakeClock();
      const log: string[] = [];
      const tx: ClientInviteTransaction<string, string> = new ClientInviteTransaction<string, string>({
        request: "INVITE",
        reliable: false,
        clock,
        send: () => log.push("send"),
        sendAck: () => {
          log.push(`ack in ${tx.state}`);
          tx.transportError(); // the ACK could not be sent
        },
        onResponse: (status) => log.push(`tu ${status} in ${tx.state} provisional=${tx.provisionalReceived}`),
        onTimeout: () => log.push("timeout"),
        onTerminated: (reason) => log.push(`terminated ${reason}`),
      });
      tx.start();
      tx.receiveResponse(180, "180");
      tx.receiveResponse(486, "486");
      assert.deepEqual(log, [
        "send", "tu 180 in proceeding provisional=true", "ack in completed", "tu 486 in terminated provisional=true",
        "terminated transport-error",
      ]);
      assert.equal(clock.pendingCount, 0);
    });

    it("survives a throwing onResponse: error surfaces, state and timers stay right", () => {
      const clock = new FakeClock();
      const seen: string[] = [];
      const tx = new ClientInviteTransaction<string, string>({
        request: "INVITE",
        reliable: false,
        clock,
        send: () => undefined,
        sendAck: () => undefined,
        onResponse: (status, res) => {
          seen.push(res);
          if (status === 200) throw new Error("TU bug");
        },
        onTimeout: () => seen.push("timeout"),
        onTerminated: (reason) => seen.push(`terminated ${reason}`),
      });
      tx.start();
      assert.throws(() => tx.receiveResponse(200, "200a"), /TU bug/);
      assert.equal(tx.state, "accepted");
      assert.deepEqual(clock.pendingDelays(), [32_000]);
      assert.throws(() => tx.receiveResponse(200, "200b"), /TU bug/);
      clock.runAll();
      assert.deepEqual(seen, ["200a", "200b", "terminated normal"]);
    });
  });
});
