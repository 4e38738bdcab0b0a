import { test } from "node:test";
import assert from "node:assert/strict";
import {
  canonicalHeaderNameAt,
  canonicalHeaderName,
  headerDisplayName,
  isMultiValueHeader,
  parseParams,
  parseParamsStrict,
  splitHeaderValues,
  unquote,
} from "./header-values.ts";

test("splitHeaderValues honours quotes, escapes and angle brackets", () => {
  assert.deepEqual(splitHeaderValues("a, b ,c"), ["a", "b", "c"]);
  assert.deepEqual(splitHeaderValues('"Bell, Alexander" <sip:a@b>, <sip:c@d;x=1,2>'), ['"Bell, Alexander" <sip:a@b>', "<sip:c@d;x=1,2>"]);
  assert.deepEqual(splitHeaderValues('"a \\" , b" <sip:x@y>, sip:z@w'), ['"a \\" , b" <sip:x@y>', "sip:z@w"]);
  assert.deepEqual(splitHeaderValues(" single "), ["single"]);
  assert.deepEqual(splitHeaderValues(",, a,,"), ["a"]);
  assert.deepEqual(splitHeaderValues(""), []);
  assert.deepEqual(splitHeaderValues('"unterminated, still one'), ['"unterminated, still one']);
});

test("parseParams: names lower-cased, quotes removed, LWS tolerated", () => {
  assert.deepEqual([...parseParams(';a=b;c;D="q \\"x\\"";e = 5 ')], [["a", "b"], ["c", ""], ["d", 'q "x"'], ["e", "5"]]);
  assert.deepEqual([...parseParams("tag=1;tag=2")], [["tag", "1"]], "first occurrence wins, leading ';' optional");
  assert.deepEqual([...parseParams(";;x=1;;=bad;y")], [["x", "1"], ["y", ""]], "lenient: bad segments skipped");
  assert.deepEqual([...parseParams(';p="a;b";q')], [["p", "a;b"], ["q", ""]]);
  assert.equal(parseParams(";received=[2001:db8::1]").get("received"), "[2001:db8::1]");
});

test("parseParamsStrict rejects empty names, empty values, stray text", () => {
  assert.ok(parseParamsStrict(" ; a = b ; c"));
  assert.equal(parseParamsStrict(";;"), undefined);
  assert.equal(parseParamsStrict(";a="), undefined);
  assert.equal(parseParamsStrict(";a=b c"), undefined);
  assert.equal(parseParamsStrict('x;a="open'), undefined);
  assert.equal(parseParamsStrict("")?.size, 0);
});

test("unquote", () => {
  assert.equal(unquote('"a \\"b\\""'), 'a "b"');
  assert.equal(unquote("plain"), "plain");
  assert.equal(unquote('"half'), '"half');
  assert.equal(unquote(' "x" '), "x");
});

test("canonicalHeaderName expands compact forms", () => {
  const compact: Record<string, string> = {
    i: "call-id", m: "contact", e: "content-encoding", l: "content-length", c: "content-type", f: "from",
    s: "subject", k: "supported", t: "to", v: "via", r: "refer-to", b: "referred-by", o: "event",
    u: "allow-events", x: "session-expires", y: "identity", a: "accept-contact", j: "reject-contact",
    d: "request-disposition",
  };
  for (const [k, v] of Object.entries(compact)) {
    assert.equal(canonicalHeaderName(k), v);
    assert.equal(canonicalHeaderName(k.toUpperCase()), v);
  }
  assert.equal(canonicalHeaderName("MaX-fOrWaRdS"), "max-forwards");
  assert.equal(canonicalHeaderName("z"), "z", "unknown single letters stay");
});

test("headerDisplayName", () => {
  const cases: Record<string, string> = {
    via: "Via", "call-id": "Call-ID", cseq: "CSeq", "www-authenticate": "WWW-Authenticate",
    "record-route": "Record-Route", "max-forwards": "Max-Forwards", "content-length": "Content-Length",
    "p-asserted-identity": "P-Asserted-Identity", rseq: "RSeq", rack: "RAck", "x-custom-thing": "X-Custom-Thing",
    "mime-version": "MIME-Version", "sip-etag": "SIP-ETag",
  };
  for (const [k, v] of Object.entries(cases)) assert.equal(headerDisplayName(k), v);
});

test("isMultiValueHeader", () => {
  assert.ok(isMultiValueHeader("via"));
  assert.ok(isMultiValueHeader("route"));
  assert.ok(!isMultiValueHeader("www-authenticate"));
  assert.ok(!isMultiValueHeader("date"));
  assert.ok(!isMultiValueHeader("x-unknown"));
});

test("canonicalHeaderNameAt agrees with canonicalHeaderName of the slice, known names or not, in any letter case", async () => {
  const fc = (await import("fast-check")).default;
  const known = ["Via", "v", "FROM", "f", "To", "t", "Call-ID", "i", "CSeq", "Contact", "m", "Content-Length", "l", "content-type",
    "Max-Forwards", "Record-Route", "Route", "User-Agent", "P-Asserted-Identity", "WWW-Authenticate", "Session-Expires", "x"];
  for (const name of known) {
    const text = `xx${name}: value`;
    assert.equal(canonicalHeaderNameAt(text, 2, 2 + name.length), canonicalHeaderName(name), name);
  }
  // Near misses of known names (one letter changed or added, "_" whose lower-case fold collides with DEL) take the slow path.
  for (const name of ["Vi", "Viaa", "Vía", "Cal_-ID", "Route-", "tt", "V_a"]) {
    assert.equal(canonicalHeaderNameAt(` ${name}`, 1, 1 + name.length), canonicalHeaderName(name), name);
  }
  const token = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"), minLength: 1, maxLength: 20 });
  fc.assert(
    fc.property(fc.oneof(token, fc.constantFrom(...known)), fc.string({ maxLength: 5 }), (name, prefix) => {
      const cased = [...name].map((c, i) => (i % 2 ? c.toUpperCase() : c.toLowerCase())).join("");
      assert.equal(canonicalHeaderNameAt(prefix + cased + ":", prefix.length, prefix.length + cased.length), canonicalHeaderName(cased));
    }),
    { numRuns: 2000 },
  );
});
