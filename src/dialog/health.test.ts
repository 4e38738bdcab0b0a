import { test } from "node:test";
import assert from "node:assert/strict";
import { initialHealth } from "../health/state.ts";
import { decodeHealth, HEALTH_FIELD_ORDER, isHealthStore } from "./health.ts";
import { MemoryDialogStore } from "./memory.ts";
import { capacityKeys, healthKeys } from "./scripted.ts";

test("health and lease keys share the destination's hash tag with its capacity keys (one slot per destination)", () => {
  assert.deepEqual(healthKeys("sb", "pbx-1"), ["sb:{dest:pbx-1}:health", "sb:{dest:pbx-1}:lease"]);
  const tag = (k: string) => /\{[^}]*\}/.exec(k)?.[0];
  for (const k of [...healthKeys("sb", "pbx-1"), ...capacityKeys("sb", "pbx-1")]) assert.equal(tag(k), "{dest:pbx-1}");
});

test("decodeHealth reads absent or garbled fields as never-happened, never as garbage", () => {
  assert.deepEqual(decodeHealth([]), initialHealth());
  const garbled = HEALTH_FIELD_ORDER.map(() => "nonsense");
  assert.deepEqual(decodeHealth(garbled), initialHealth());
  assert.equal(decodeHealth(["inactive", "3"]).failures, 3);
  assert.equal(decodeHealth(["inactive", "3"]).state, "inactive");
});

test("isHealthStore tells stores that share health from those that do not", () => {
  assert.equal(isHealthStore(new MemoryDialogStore()), true);
  assert.equal(isHealthStore({ reserve() {} }), false);
});
