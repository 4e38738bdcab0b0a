import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { signatureHeader, verifySignature } from "./signature.ts";

const secret = "whsec_0123456789abcdef";
const body = JSON.stringify({ id: "e1", type: "destination.state", destination: "pbx-1", from: "active", to: "probing" });

test("the header is t=<unix>,v1=<hex HMAC-SHA256 of 't.body'>, as any HMAC library computes it", async () => {
  const header = await signatureHeader(secret, body, 1_700_000_000.9);
  const expected = createHmac("sha256", secret).update(`1700000000.${body}`).digest("hex");
  assert.equal(header, `t=1700000000,v1=${expected}`);
});

test("verifySignature accepts the genuine request and says why it rejects the others", async () => {
  const t = 1_700_000_000;
  const header = await signatureHeader(secret, body, t);
  assert.deepEqual(await verifySignature(secret, body, header, { nowS: t + 10 }), { ok: true, timestamp: t });
  assert.deepEqual(await verifySignature(secret, body.replace("probing", "inactive"), header, { nowS: t }), { ok: false, reason: "mismatch" });
  assert.deepEqual(await verifySignature("another-secret-0000", body, header, { nowS: t }), { ok: false, reason: "mismatch" });
  assert.deepEqual(await verifySignature(secret, body, header, { nowS: t + 301 }), { ok: false, reason: "expired" }, "replay after the tolerance");
  assert.deepEqual(await verifySignature(secret, body, header, { nowS: t - 301 }), { ok: false, reason: "expired" });
  assert.deepEqual(await verifySignature(secret, body, header, { nowS: t + 3600, toleranceS: 7200 }), { ok: true, timestamp: t });
  assert.deepEqual(await verifySignature(secret, body, undefined), { ok: false, reason: "missing" });
  assert.deepEqual(await verifySignature(secret, body, "v1=abc"), { ok: false, reason: "malformed" });
  assert.deepEqual(await verifySignature(secret, body, `t=${t}`), { ok: false, reason: "malformed" });
  const forged = header.replace(/v1=(.)/, (_, c: string) => `v1=${c === "0" ? "1" : "0"}`);
  assert.deepEqual(await verifySignature(secret, body, forged, { nowS: t }), { ok: false, reason: "mismatch" });
});

test("secret rotation: the sender signs with both, receivers accept with either", async () => {
  const t = 1_700_000_000;
  const [oldSecret, newSecret] = ["old-secret-0123456789", "new-secret-0123456789"];
  const both = await signatureHeader([oldSecret, newSecret], body, t);
  assert.match(both, /^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
  assert.equal((await verifySignature(newSecret, body, both, { nowS: t })).ok, true);
  assert.equal((await verifySignature(oldSecret, body, both, { nowS: t })).ok, true);
  const oldOnly = await signatureHeader(oldSecret, body, t);
  assert.equal((await verifySignature([newSecret, oldSecret], body, oldOnly, { nowS: t })).ok, true);
});
