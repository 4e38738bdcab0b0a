/**
 * Property: for random event sequences on random transports, no driver throws, onTerminated fires at most once
 * (exactly once unless disposed), the transaction reads "terminated" inside and after onTerminated, and no timer
 * is left armed once it is terminated. Letting the clock run out afterwards must not resurrect anything. In "faulty"
 * runs every other callback throws: the errors must surface to the caller but never break those invariants.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ClientInviteTransaction } from "./client-invite.ts";
import { ClientNonInviteTransaction } from "./client-non-invite.ts";
import { FakeClock } from "./fake-clock.ts";
import type { TerminationReason } from "./fsm.ts";
import { ServerInviteTransaction } from "./server-invite.ts";
import { ServerNonInviteTransaction } from "./server-non-invite.ts";

const status = fc.oneof(
  fc.constantFrom(100, 180, 183, 199, 200, 202, 299, 300, 302, 404, 408, 486, 487, 500, 503, 603, 699),
  fc.integer({ min: -1, max: 800 }),
);
const advance = fc.record({ kind: fc.constant("advance" as const), ms: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 70_000 })) });

type Command =
  | { kind: "advance"; ms: number }
  | { kind: "respond" | "response"; status: number }
  | { kind: "start" | "retransmission" | "ack" | "transport-error" | "dispose" };

const serverCommand = fc.oneof(
  { weight: 4, arbitrary: advance },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("respond" as const), status }) },
  { weight: 2, arbitrary: fc.constantFrom<Command>({ kind: "retransmission" }, { kind: "ack" }) },
  { weight: 1, arbitrary: fc.constantFrom<Command>({ kind: "transport-error" }, { kind: "dispose" }) },
);
const clientCommand = fc.oneof(
  { weight: 4, arbitrary: advance },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("response" as const), status }) },
  { weight: 2, arbitrary: fc.constant<Command>({ kind: "start" }) },
  { weight: 1, arbitrary: fc.constantFrom<Command>({ kind: "transport-error" }, { kind: "dispose" }) },
);

interface Driven {
  readonly state: string;
  transportError(): void;
  dispose(): void;
}

interface Probe {
  terminations: TerminationReason[];
  stateInCallback: string[];
}

class TuError extends Error {}

/** A callback wrapper that, when `faulty`, throws on every other invocation (after doing its job). */
function flaky(faulty: boolean): <A extends unknown[]>(f: (...args: A) => void) => (...args: A) => void {
  let calls = 0;
  return (f) => (...args) => {
    f(...args);
    if (faulty && calls++ % 2 === 0) throw new TuError("callback failed");
  };
}

/** Run `f`; swallow (only) the errors our flaky callbacks threw. */
function tolerate(f: () => void): void {
  try {
    f();
  } catch (error) {
    const errors = error instanceof AggregateError ? error.errors : [error];
    if (!errors.every((e) => e instanceof TuError)) throw error;
  }
}

function check(clock: FakeClock, tx: Driven, probe: Probe, commands: Command[], apply: (c: Command) => void): void {
  let disposed = false;
  const invariant = (): void => {
    assert.ok(probe.terminations.length <= 1, `onTerminated called ${probe.terminations.length} times`);
    if (tx.state === "terminated") {
      assert.equal(clock.pendingCount, 0, "timers left armed after termination");
      assert.equal(probe.terminations.length + (disposed ? 1 : 0) >= 1, true);
    } else {
      assert.equal(probe.terminations.length, 0, "onTerminated called but state is not terminated");
    }
  };
  for (const command of commands) {
    tolerate(() => {
      if (command.kind === "advance") clock.advance(command.ms);
      else if (command.kind === "transport-error") tx.transportError();
      else if (command.kind === "dispose") {
        if (tx.state !== "terminated") disposed = true;
        tx.dispose();
      } else apply(command);
    });
    invariant();
  }
  for (let i = 0; i < 1000 && clock.pendingCount > 0; i++) tolerate(() => clock.runAll());
  invariant();
  assert.equal(clock.pendingCount, 0);
  assert.ok(probe.stateInCallback.every((s) => s === "terminated"), "state inside onTerminated must be terminated");
  if (!disposed && tx.state === "terminated") assert.equal(probe.terminations.length, 1);
}

const probe = (): Probe => ({ terminations: [], stateInCallback: [] });
const runs = { numRuns: 400 };

describe("transaction properties (fast-check)", () => {
  it("server INVITE", () => {
    fc.assert(fc.property(fc.boolean(), fc.boolean(), fc.array(serverCommand, { maxLength: 40 }), (reliable, faulty, commands) => {
      const clock = new FakeClock();
      const cb = flaky(faulty);
      const p = probe();
      const tx: ServerInviteTransaction<number> = new ServerInviteTransaction<number>({
        reliable, clock, send: cb(() => undefined),
        onTerminated: cb((r) => { p.terminations.push(r); p.stateInCallback.push(tx.state); }),
      });
      check(clock, tx, p, commands, (c) => {
        if (c.kind === "respond") tx.respond(c.status, c.status);
        else if (c.kind === "retransmission") tx.receiveRequestRetransmission();
        else if (c.kind === "ack") tx.receiveAck();
      });
      if (tx.state !== "terminated") assert.equal(tx.state, "proceeding", "only Proceeding waits on the TU forever");
    }), runs);
  });

  it("server non-INVITE", () => {
    fc.assert(fc.property(fc.boolean(), fc.boolean(), fc.array(serverCommand, { maxLength: 40 }), (reliable, faulty, commands) => {
      const clock = new FakeClock();
      const cb = flaky(faulty);
      const p = probe();
      const tx: ServerNonInviteTransaction<number> = new ServerNonInviteTransaction<number>({
        reliable, clock, send: cb(() => undefined),
        onTerminated: cb((r) => { p.terminations.push(r); p.stateInCallback.push(tx.state); }),
      });
      check(clock, tx, p, commands, (c) => {
        if (c.kind === "respond") tx.respond(c.status, c.status);
        else if (c.kind === "retransmission") tx.receiveRequestRetransmission();
      });
      if (tx.state !== "terminated") assert.ok(["trying", "proceeding"].includes(tx.state));
    }), runs);
  });

  it("client INVITE", () => {
    fc.assert(fc.property(fc.boolean(), fc.boolean(), fc.array(clientCommand, { maxLength: 40 }), (reliable, faulty, commands) => {
      const clock = new FakeClock();
      const cb = flaky(faulty);
      const p = probe();
      let timeouts = 0;
      const tx: ClientInviteTransaction<string, number> = new ClientInviteTransaction<string, number>({
        request: "INVITE", reliable, clock, send: cb(() => undefined), sendAck: cb(() => undefined), onResponse: cb(() => undefined),
        onTimeout: cb(() => { timeouts++; }),
        onTerminated: cb((r) => { p.terminations.push(r); p.stateInCallback.push(tx.state); }),
      });
      check(clock, tx, p, commands, (c) => {
        if (c.kind === "response") tx.receiveResponse(c.status, c.status);
        else if (c.kind === "start") tx.start();
      });
      assert.equal(timeouts, p.terminations.filter((r) => r === "timeout").length, "onTimeout iff terminated by timeout");
      // Left alive only before start() or in Proceeding (bounded by the proxy's Timer C, not by the transaction).
      if (tx.state !== "terminated") assert.ok(["calling", "proceeding"].includes(tx.state));
    }), runs);
  });

  it("client non-INVITE", () => {
    fc.assert(fc.property(fc.boolean(), fc.boolean(), fc.array(clientCommand, { maxLength: 40 }), (reliable, faulty, commands) => {
      const clock = new FakeClock();
      const cb = flaky(faulty);
      const p = probe();
      let timeouts = 0;
      const tx: ClientNonInviteTransaction<string, number> = new ClientNonInviteTransaction<string, number>({
        request: "OPTIONS", reliable, clock, send: cb(() => undefined), onResponse: cb(() => undefined),
        onTimeout: cb(() => { timeouts++; }),
        onTerminated: cb((r) => { p.terminations.push(r); p.stateInCallback.push(tx.state); }),
      });
      let started = false;
      check(clock, tx, p, commands, (c) => {
        if (c.kind === "response") tx.receiveResponse(c.status, c.status);
        else if (c.kind === "start") { started = true; tx.start(); }
      });
      assert.equal(timeouts, p.terminations.filter((r) => r === "timeout").length);
      // Once started, Timer F bounds every non-INVITE client transaction.
      if (started) assert.equal(tx.state, "terminated");
    }), runs);
  });
});
