import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Hono } from "hono";
import { sameToken, tokenAuth } from "./token.ts";

test("sameToken is string equality", () => {
  assert.equal(sameToken("secret-token-0123456789", "secret-token-0123456789"), true);
  assert.equal(sameToken("secret-token-012345678", "secret-token-0123456789"), false, "prefix");
  assert.equal(sameToken("secret-token-01234567890", "secret-token-0123456789"), false, "longer");
  assert.equal(sameToken("", "secret-token-0123456789"), false);
  assert.equal(sameToken("Secret-token-0123456789", "secret-token-0123456789"), false, "first char");
  assert.equal(sameToken("secret-token-0123456788", "secret-token-0123456789"), false, "last char");
  fc.assert(fc.property(fc.string(), fc.string(), (a, b) => sameToken(a, b) === (a === b)));
  fc.assert(fc.property(fc.string(), (a) => sameToken(a, a)));
});

test("tokenAuth: 200 with the token, 401 without or with another, 400 for a malformed header", async () => {
  const app = new Hono();
  app.use("/x", tokenAuth("route-token-0123456789abcdef"));
  app.get("/x", (c) => c.text("ok"));
  const get = (auth?: string) => app.request("/x", auth === undefined ? {} : { headers: { authorization: auth } });
  assert.equal((await get("Bearer route-token-0123456789abcdef")).status, 200);
  const missing = await get();
  assert.equal(missing.status, 401);
  assert.match(missing.headers.get("www-authenticate") ?? "", /^Bearer/);
  assert.equal((await get("Bearer route-token-0123456789abcdeX")).status, 401);
  assert.equal((await get("Bearer route-token-0123456789abcde")).status, 401);
  assert.equal((await get("Basic abc")).status, 400);
});
