import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { systemClock } from "./clock.ts";
import { FakeClock } from "./fake-clock.ts";

describe("FakeClock", () => {
  it("fires due timers in deadline order, ties in scheduling order, with now() at each deadline", () => {
    const clock = new FakeClock(1000);
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push(`c@${clock.now()}`));
    clock.setTimer(10, () => fired.push(`a@${clock.now()}`));
    clock.setTimer(10, () => fired.push(`b@${clock.now()}`));
    clock.setTimer(50, () => fired.push(`late@${clock.now()}`));
    clock.advance(30);
    assert.deepEqual(fired, ["a@1010", "b@1010", "c@1030"]);
    assert.equal(clock.now(), 1030);
    assert.equal(clock.pendingCount, 1);
  });

  it("fires timers scheduled while firing if they fall due within the window", () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    const tick = (): void => {
      fired.push(clock.now());
      clock.setTimer(100, tick);
    };
    clock.setTimer(100, tick);
    clock.advance(350);
    assert.deepEqual(fired, [100, 200, 300]);
    assert.equal(clock.now(), 350);
    assert.deepEqual(clock.pendingDelays(), [50]);
  });

  it("does not fire cleared timers; clearing twice is harmless", () => {
    const clock = new FakeClock();
    let fired = false;
    const handle = clock.setTimer(10, () => { fired = true; });
    clock.clearTimer(handle);
    clock.clearTimer(handle);
    clock.advance(100);
    assert.equal(fired, false);
    assert.equal(clock.pendingCount, 0);
  });

  it("never fires a zero-delay timer synchronously", () => {
    const clock = new FakeClock();
    let fired = false;
    clock.setTimer(0, () => { fired = true; });
    assert.equal(fired, false);
    clock.advance(0);
    assert.equal(fired, true);
  });

  it("runAll drains everything and reports the elapsed time; it stops runaway loops", () => {
    const clock = new FakeClock();
    clock.setTimer(5, () => clock.setTimer(7, () => undefined));
    assert.equal(clock.runAll(), 12);
    const loop = (): void => { clock.setTimer(1, loop); };
    loop();
    assert.throws(() => clock.runAll(100), /runaway/);
  });

  it("rejects negative or non-finite durations", () => {
    const clock = new FakeClock();
    assert.throws(() => clock.advance(-1), RangeError);
    assert.throws(() => clock.setTimer(Number.POSITIVE_INFINITY, () => undefined), RangeError);
  });
});

describe("systemClock", () => {
  it("arms unref'ed timers that never keep the process alive, and can clear them", async () => {
    const handle = systemClock.setTimer(60_000, () => assert.fail("must not fire"));
    assert.equal((handle as unknown as NodeJS.Timeout).hasRef(), false);
    systemClock.clearTimer(handle);
    const keepAlive = setTimeout(() => undefined, 5_000); // the unref'ed timer alone would let the loop exit
    const fired = await new Promise<boolean>((resolve) => { systemClock.setTimer(1, () => resolve(true)); });
    clearTimeout(keepAlive);
    assert.equal(fired, true);
    assert.equal(typeof systemClock.now(), "number");
  });
});
