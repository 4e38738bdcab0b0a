import { test } from "node:test";
import assert from "node:assert/strict";
import { memoize } from "./memo.ts";

test("memoize: one parse per distinct text, the same result object every time, failures parsed again", () => {
  let calls = 0;
  const parse = memoize((text: string) => {
    calls++;
    return text.startsWith("ok") ? { text } : undefined;
  }, 3);
  const first = parse("ok-a");
  assert.equal(parse("ok-a"), first);
  assert.equal(calls, 1);
  assert.equal(parse("bad"), undefined);
  assert.equal(parse("bad"), undefined);
  assert.equal(calls, 3, "failures are not remembered");
  parse("ok-b");
  parse("ok-c");
  assert.equal(calls, 5);
  // full (3): the next new text starts a new generation; the old results are parsed again when asked
  parse("ok-d");
  assert.equal(calls, 6);
  assert.notEqual(parse("ok-a"), first);
  assert.deepEqual(parse("ok-a"), first);
  assert.equal(calls, 7);
});
