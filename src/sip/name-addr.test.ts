import { test } from "node:test";
import assert from "node:assert/strict";
import { parseNameAddr } from "./name-addr.ts";

test("quoted display name with escapes, URI params vs header params", () => {
  const n = parseNameAddr('"Quoted \\"name\\"" <sip:a@b.example.com;lr>;tag=x;Expires=60');
  assert.ok(n);
  assert.equal(n.displayName, 'Quoted "name"');
  assert.equal(n.uriText, "sip:a@b.example.com;lr");
  assert.ok(n.uri.params.has("lr"));
  assert.deepEqual([...n.params], [["tag", "x"], ["expires", "60"]]);
});

test("token display names, no display name, LWS around parts", () => {
  assert.equal(parseNameAddr("Token Name <sip:a@b>")?.displayName, "Token Name");
  assert.equal(parseNameAddr("caller<sip:caller@example.com>;tag=323")?.displayName, "caller");
  const bare = parseNameAddr("  <sip:a@b>  ;  tag = 7 ");
  assert.equal(bare?.displayName, undefined);
  assert.equal(bare?.params.get("tag"), "7");
  assert.equal(parseNameAddr('"" <sip:a@b>')?.displayName, "");
});

test("bare addr-spec: parameters are header parameters (§20.10)", () => {
  const n = parseNameAddr("sip:a@b.example.com;tag=x;lr");
  assert.ok(n);
  assert.equal(n.uriText, "sip:a@b.example.com");
  assert.equal(n.uri.params.size, 0);
  assert.deepEqual([...n.params], [["tag", "x"], ["lr", ""]]);
  const semi = parseNameAddr("sip:user;par=x@example.com;tag=1");
  assert.equal(semi?.uri.user, "user;par=x", "a ';' before '@' belongs to the user part");
  assert.equal(semi?.params.get("tag"), "1");
  assert.equal(parseNameAddr("sip:a@b?subject=x"), undefined, "'?' requires <>");
});

test("UTF-8 display names (latin1 strings carry the bytes)", () => {
  const text = Buffer.from('"Zoë 日本" <sip:z@example.com>', "utf8").toString("latin1");
  const n = parseNameAddr(text);
  assert.equal(Buffer.from(n!.displayName!, "latin1").toString("utf8"), "Zoë 日本");
  const unquoted = Buffer.from("Renée <sip:r@example.com>", "utf8").toString("latin1");
  assert.equal(Buffer.from(parseNameAddr(unquoted)!.displayName!, "latin1").toString("utf8"), "Renée");
});

test("foreign schemes only with anyScheme", () => {
  assert.equal(parseNameAddr("<http://www.example.com>;tag=1"), undefined);
  const h = parseNameAddr("<http://www.example.com>;tag=1", { anyScheme: true });
  assert.equal(h?.uri.scheme, "http");
  assert.equal(h?.uri.host, "");
  assert.equal(h?.uriText, "http://www.example.com");
  assert.equal(h?.params.get("tag"), "1");
  assert.equal(parseNameAddr("isbn:2983792873", { anyScheme: true })?.uri.scheme, "isbn");
  assert.equal(parseNameAddr("tel:+1-555-0100;tag=9")?.params.get("tag"), "9");
});

test("malformed name-addrs", () => {
  for (const bad of [
    "",
    '"unterminated <sip:a@b>',
    '"Mr. J. User <sip:j.user@example.com>',
    "Bell, Alexander <sip:a@b>",
    "< sip:a@b >",
    "<sip:a@b",
    "<sip:a@b> junk",
    "<sip:a@b>;",
    "<sip:a@b>;tag=",
    '"name" sip:a@b',
    "sip:a@b,sip:c@d",
    "<>",
    "<not a uri>",
  ]) {
    assert.equal(parseNameAddr(bad, { anyScheme: true }), undefined, bad);
  }
});
