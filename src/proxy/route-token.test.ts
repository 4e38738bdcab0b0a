import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeTarget, encodeTarget, RouteSigner, type Target } from "./route-token.ts";

function params(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of text.split(";").filter(Boolean)) {
    const [k, v = ""] = part.split("=");
    map.set(k!, v);
  }
  return map;
}

const target: Target = { transport: "udp", host: "127.0.0.1", port: 5070 };

test("a signed route verifies downstream with the caller's From tag and upstream with its To tag", () => {
  const signer = new RouteSigner("a-long-enough-secret");
  const p = params(signer.sign({ dialogId: "abc123", target }, "caller-tag"));
  assert.deepEqual(signer.verify(p, "caller-tag", "callee-tag"), { ok: true, token: { dialogId: "abc123", target }, direction: "downstream" });
  assert.deepEqual(signer.verify(p, "callee-tag", "caller-tag"), { ok: true, token: { dialogId: "abc123", target }, direction: "upstream" });
});

test("the destination id travels signed, so any gateway can release its capacity", () => {
  const signer = new RouteSigner("a-long-enough-secret");
  const p = params(signer.sign({ dialogId: "abc123", target, destinationId: "pbx-1" }, "caller-tag"));
  const result = signer.verify(p, "caller-tag", undefined);
  assert.deepEqual(result, { ok: true, token: { dialogId: "abc123", target, destinationId: "pbx-1" }, direction: "downstream" });
  const stripped = new Map(p);
  stripped.delete("i");
  assert.equal(signer.verify(stripped, "caller-tag", undefined).ok, false, "dropping i breaks the signature");
});

test("a route fails verification when any part is altered, the tags differ or the secret differs", () => {
  const signer = new RouteSigner("a-long-enough-secret");
  const p = params(signer.sign({ dialogId: "abc123", target, destinationId: "d1" }, "caller-tag"));
  const altered = (key: string, value: string) => new Map([...p, [key, value]]);
  assert.equal(signer.verify(altered("t", encodeTarget({ ...target, port: 5071 })), "caller-tag", "x").ok, false);
  assert.equal(signer.verify(altered("d", "abc124"), "caller-tag", "x").ok, false);
  assert.equal(signer.verify(altered("i", "another-destination"), "caller-tag", "x").ok, false);
  assert.equal(signer.verify(altered("s", "AAAAAAAAAAAAAAAA"), "caller-tag", "x").ok, false);
  assert.equal(signer.verify(p, "someone-else", "x").ok, false);
  assert.equal(new RouteSigner("another-secret-entirely").verify(p, "caller-tag", "x").ok, false);
  assert.equal(signer.verify(new Map(), "caller-tag", "x").ok, false);
});

test("targets round-trip through their URI-safe encoding, IPv6 included", () => {
  const arb = fc.record({
    transport: fc.constantFrom("udp" as const, "tcp" as const),
    host: fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain()),
    port: fc.integer({ min: 1, max: 65535 }),
  });
  fc.assert(
    fc.property(arb, (t) => {
      const encoded = encodeTarget(t);
      assert.match(encoded, /^[A-Za-z0-9.~-]+$/);
      assert.deepEqual(decodeTarget(encoded), { ...t });
    }),
  );
  assert.equal(decodeTarget("x~1.2.3.4~5060"), undefined);
  assert.equal(decodeTarget("u~1.2.3.4~0"), undefined);
  assert.equal(decodeTarget("u~1.2.3.4"), undefined);
});

test("remembered MACs change no verdict: a forged signature still fails after the real one was checked, and past a generation", () => {
  const signer = new RouteSigner("a-long-enough-secret");
  const p = params(signer.sign({ dialogId: "abc123", target }, "caller-tag"));
  assert.equal(signer.verify(p, "caller-tag", undefined).ok, true);
  const sig = Buffer.from(p.get("s")!, "base64url");
  sig[0] = sig[0]! ^ 1;
  const forged = new Map([...p, ["s", sig.toString("base64url")]]);
  assert.equal(signer.verify(forged, "caller-tag", undefined).ok, false, "same input, remembered MAC, wrong signature");
  // push the dialog's MAC out of the memo: it is computed again and still verifies
  for (let i = 0; i < 3000; i++) signer.sign({ dialogId: `filler${i}`, target }, "t");
  assert.equal(signer.verify(p, "caller-tag", undefined).ok, true);
  assert.equal(signer.verify(forged, "caller-tag", undefined).ok, false);
  // another signer (another secret) never shares remembered MACs
  assert.equal(new RouteSigner("another-long-secret-").verify(p, "caller-tag", undefined).ok, false);
});
