import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { initialClientInvite, stepClientInvite } from "./client-invite-fsm.ts";
import { initialClientNonInvite, stepClientNonInvite } from "./client-non-invite-fsm.ts";
import { initialServerInvite, stepServerInvite } from "./server-invite-fsm.ts";
import { initialServerNonInvite, stepServerNonInvite } from "./server-non-invite-fsm.ts";
import { DEFAULT_TIMER_SETTINGS, timerDurations } from "./timers.ts";

const udp = timerDurations(DEFAULT_TIMER_SETTINGS, false);
const tcp = timerDurations(DEFAULT_TIMER_SETTINGS, true);

describe("pure machines: plain data in, plain data out", () => {
  it("client INVITE: start, then a 486 on UDP", () => {
    const s0 = initialClientInvite("INV", udp);
    const t1 = stepClientInvite<string, string>(s0, { kind: "start" });
    assert.deepEqual(t1.actions, [
      { kind: "send-request", request: "INV" },
      { kind: "start-timer", timer: "A", ms: 500 },
      { kind: "start-timer", timer: "B", ms: 32000 },
    ]);
    const t2 = stepClientInvite(t1.state, { kind: "response", status: 486, response: "486" });
    assert.equal(t2.state.name, "completed");
    assert.deepEqual(t2.actions, [
      { kind: "stop-timer", timer: "A" },
      { kind: "stop-timer", timer: "B" },
      { kind: "send-ack", response: "486" },
      { kind: "to-tu", status: 486, response: "486" },
      { kind: "start-timer", timer: "D", ms: 32000 },
    ]);
    assert.equal(s0.name, "calling", "input state is not mutated");
    assert.equal(s0.started, false);
  });

  it("client non-INVITE: Timer E in Proceeding re-arms at T2", () => {
    let s = stepClientNonInvite<string, string>(initialClientNonInvite("BYE", udp), { kind: "start" }).state;
    s = stepClientNonInvite<string, string>(s, { kind: "response", status: 100, response: "100" }).state;
    const t = stepClientNonInvite<string, string>(s, { kind: "timer", timer: "E" });
    assert.deepEqual(t.actions, [{ kind: "send-request", request: "BYE" }, { kind: "start-timer", timer: "E", ms: 4000 }]);
  });

  it("server INVITE: 2xx → Accepted with Timer L; ACK there is not consumed", () => {
    const t1 = stepServerInvite(initialServerInvite<string>(tcp), { kind: "respond", status: 200, response: "200" });
    assert.deepEqual(t1.actions, [{ kind: "send", response: "200" }, { kind: "start-timer", timer: "L", ms: 32000 }]);
    const t2 = stepServerInvite(t1.state, { kind: "ack" });
    assert.deepEqual(t2, { state: t1.state, actions: [], handled: false });
  });

  it("server non-INVITE: a final on TCP terminates in the same step", () => {
    const t = stepServerNonInvite(initialServerNonInvite<string>(tcp), { kind: "respond", status: 200, response: "200" });
    assert.equal(t.state.name, "terminated");
    assert.deepEqual(t.actions, [{ kind: "send", response: "200" }, { kind: "terminated", reason: "normal" }]);
  });

  it("stale timer events are discarded", () => {
    const s = initialServerInvite<string>(udp);
    assert.deepEqual(stepServerInvite(s, { kind: "timer", timer: "H" }), { state: s, actions: [], handled: false });
  });
});
