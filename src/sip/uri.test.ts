import { test } from "node:test";
import assert from "node:assert/strict";
import { formatHostPort, isIpv6, parseUri, uriScheme } from "./uri.ts";

test("sip URI with every component", () => {
  const u = parseUri("sip:alice:secret@Example.COM:5070;transport=TCP;lr;Maddr=239.255.255.1?subject=project%20x&priority=urgent");
  assert.ok(u);
  assert.equal(u.scheme, "sip");
  assert.equal(u.user, "alice");
  assert.equal(u.password, "secret");
  assert.equal(u.host, "Example.COM", "host kept as written");
  assert.equal(u.port, 5070);
  assert.deepEqual([...u.params], [["transport", "TCP"], ["lr", ""], ["maddr", "239.255.255.1"]]);
  assert.equal(u.headers, "subject=project%20x&priority=urgent");
});

test("minimal forms and scheme case", () => {
  assert.deepEqual(parseUri("sip:example.com"), {
    scheme: "sip",
    user: undefined,
    password: undefined,
    host: "example.com",
    port: undefined,
    params: new Map(),
    headers: undefined,
  });
  const s = parseUri("SIPS:bob@192.0.2.4");
  assert.equal(s?.scheme, "sips");
  assert.equal(s?.host, "192.0.2.4");
  assert.equal(parseUri("sip:example.com.")?.host, "example.com.", "fully qualified trailing dot");
});

test("escaped characters are validated but left as is", () => {
  assert.equal(parseUri("sip:sips%3Auser%40example.com@example.net")?.user, "sips%3Auser%40example.com");
  assert.equal(parseUri("sip:null-%00-null@example.com")?.user, "null-%00-null");
  assert.equal(parseUri("sip:%ZZ@example.com"), undefined, "% must start an escape in a URI");
  assert.equal(parseUri("sip:a%4@example.com"), undefined);
});

test("semicolons and question marks in the user part (RFC 4475 §3.1.1.9)", () => {
  const u = parseUri("sip:user;par=u%40example.net@example.com;lr");
  assert.equal(u?.user, "user;par=u%40example.net");
  assert.equal(u?.host, "example.com");
  assert.ok(u?.params.has("lr"));
  assert.equal(parseUri("sip:+1-212-555-1212:1234@gateway.com;user=phone")?.password, "1234");
});

test("IPv6 references (RFC 5118)", () => {
  const a = parseUri("sip:[2001:db8::1]:5060;transport=udp");
  assert.equal(a?.host, "[2001:db8::1]");
  assert.equal(a?.port, 5060);
  const amb = parseUri("sip:user@[2001:db8::10:5070]");
  assert.equal(amb?.host, "[2001:db8::10:5070]");
  assert.equal(amb?.port, undefined, "RFC 5118 §4.3: no port inside the brackets");
  assert.equal(parseUri("sip:[::ffff:192.0.2.10]")?.host, "[::ffff:192.0.2.10]");
  assert.equal(parseUri("sip:user@2001:db8::10"), undefined, "RFC 5118 §4.2: brackets are mandatory");
  assert.equal(parseUri("sip:[2001:db8:::1]"), undefined);
  assert.equal(parseUri("sip:[2001:db8::1"), undefined);
  assert.equal(parseUri("sip:[1:2:3:4:5:6:7:8:9]"), undefined);
});

test("isIpv6 text forms", () => {
  for (const ok of ["::", "::1", "1::", "2001:db8::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "::ffff:10.0.0.1", "fe80::1:2"]) {
    assert.ok(isIpv6(ok), ok);
  }
  for (const bad of ["", ":", ":1", "1:", "1:2:3:4:5:6:7", "1::2::3", "12345::", "::g", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "::256.1.1.1", "1.2.3.4"]) {
    assert.ok(!isIpv6(bad), bad);
  }
});

test("malformed sip URIs are rejected", () => {
  for (const bad of [
    "sip:",
    "sip:@example.com",
    "sip:user@",
    "sip:user@exa mple.com",
    "sip:user@example.com:",
    "sip:user@example.com:65536",
    "sip:user@example.com:5o60",
    "sip:user@example.com;",
    "sip:user@example.com;=x",
    "sip:user@example.com;a=",
    "sip:user@example.com>",
    "sip:user@-example.com",
    "sip:user@example..com",
    "sip:user@300.1.1.1",
    "<sip:user@example.com>",
    "sip:us er@example.com",
  ]) {
    assert.equal(parseUri(bad), undefined, bad);
  }
});

test("tel URIs (RFC 3966)", () => {
  const g = parseUri("tel:+1-201-555-0123;ext=1234;Phone-Context=+1");
  assert.ok(g);
  assert.equal(g.scheme, "tel");
  assert.equal(g.user, "+1-201-555-0123");
  assert.equal(g.host, "");
  assert.equal(g.params.get("ext"), "1234");
  assert.equal(g.params.get("phone-context"), "+1");
  assert.equal(parseUri("tel:7042;phone-context=example.com")?.user, "7042");
  assert.equal(parseUri("tel:*67#")?.user, "*67#");
  assert.equal(parseUri("tel:+"), undefined);
  assert.equal(parseUri("tel:+12a4"), undefined, "hex digits only in local numbers");
  assert.equal(parseUri("tel:123;=x"), undefined);
  assert.equal(parseUri("tel:"), undefined);
});

test("uriScheme lower-cases any scheme", () => {
  assert.equal(uriScheme("SIP:x"), "sip");
  assert.equal(uriScheme("mailto:a@b"), "mailto");
  assert.equal(uriScheme("urn:service:sos"), "urn");
  assert.equal(uriScheme("HTTP://example.com"), "http");
  assert.equal(uriScheme("soap.beep://192.0.2.103:3002"), "soap.beep");
  assert.equal(uriScheme("<sip:x>"), undefined);
  assert.equal(uriScheme("no-colon"), undefined);
  assert.equal(uriScheme(":x"), undefined);
  assert.equal(uriScheme("1sip:x"), undefined);
  assert.equal(parseUri("mailto:a@example.com"), undefined);
});

test("formatHostPort brackets IPv6", () => {
  assert.equal(formatHostPort("example.com"), "example.com");
  assert.equal(formatHostPort("example.com", 5060), "example.com:5060");
  assert.equal(formatHostPort("2001:db8::1", 5060), "[2001:db8::1]:5060");
  assert.equal(formatHostPort("[2001:db8::1]", 5061), "[2001:db8::1]:5061");
  assert.equal(formatHostPort("[2001:db8::1]"), "[2001:db8::1]");
});
