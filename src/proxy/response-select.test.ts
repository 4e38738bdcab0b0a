import { test } from "node:test";
import assert from "node:assert/strict";
import { selectBestResponse } from "./response-select.ts";

test("a 6xx wins over any other final (§16.7 step 6)", () => {
  const best = selectBestResponse([
    { status: 486, response: "busy" },
    { status: 603, response: "decline" },
    { status: 302, response: "moved" },
  ]);
  assert.deepEqual(best, { kind: "forward", status: 603, response: "decline" });
});

test("the lowest class wins among 3xx-5xx, first come first kept within a class", () => {
  assert.deepEqual(selectBestResponse([{ status: 500, response: "a" }, { status: 404, response: "b" }, { status: 480, response: "c" }]), {
    kind: "forward",
    status: 404,
    response: "b",
  });
});

test("timeouts only yield a generated 408; a relayed 503 becomes 500", () => {
  assert.deepEqual(selectBestResponse([{ status: 408 }, { status: 408 }]), { kind: "generate", status: 408 });
  assert.deepEqual(selectBestResponse([{ status: 408 }, { status: 503, response: "x" }]), {
    kind: "forward",
    status: 503,
    response: "x",
    rewriteTo: 500,
  });
});
