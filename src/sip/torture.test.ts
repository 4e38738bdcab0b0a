/**
 * Runs the torture corpus (src/sip/torture, modelled on RFC 4475 and RFC 5118) through parseMessage: every file must
 * parse or fail exactly as the manifest says, with the expected error code and the status the gateway would answer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseMessage } from "./parse.ts";
import { serializeMessage } from "./serialize.ts";
import { buildResponse } from "./response.ts";

interface Entry {
  file: string;
  source: string;
  description: string;
  parse: "ok" | "error";
  status: number | null;
  code?: string;
}

const dir = fileURLToPath(new URL("./torture/", import.meta.url));
const manifest = JSON.parse(readFileSync(`${dir}manifest.json`, "utf8")) as Entry[];

test("torture manifest is substantial and well formed", () => {
  assert.ok(manifest.length >= 40);
  const names = new Set(manifest.map((e) => e.file));
  assert.equal(names.size, manifest.length, "duplicate file names");
  assert.ok(manifest.some((e) => e.parse === "ok") && manifest.some((e) => e.parse === "error"));
  for (const e of manifest) {
    if (e.parse === "ok") assert.equal(e.status, null, e.file);
    else assert.ok(e.code, `${e.file} needs an expected code`);
  }
});

for (const e of manifest) {
  test(`torture ${e.file}: ${e.description}`, () => {
    const bytes = readFileSync(dir + e.file);
    const r = parseMessage(bytes);
    if (e.parse === "ok") {
      assert.ok(r.ok, `expected ok, got ${r.ok ? "" : `${r.error.code} (${r.error.detail})`}`);
      // Untouched messages re-serialise to their header bytes (raw fields), whatever the oddities.
      const m = r.message;
      const start = m.type === "request" ? `${m.method} ${m.uriText} ${m.version}` : `${m.version} ${m.status} ${m.reason}`;
      const out = Buffer.from(serializeMessage(start, m.headers, m.body)).toString("latin1");
      for (const h of m.headers) if (h.name !== "content-length") assert.ok(out.includes(h.raw!), `${h.raw} relayed`);
      return;
    }
    assert.ok(!r.ok, "expected a parse error");
    assert.equal(r.error.code, e.code);
    assert.match(r.error.detail, /^[\x20-\x7e]+$/, "detail is printable ASCII");
    if (e.status === null) {
      assert.equal(r.error.reply, undefined, "no reply expected");
    } else {
      assert.ok(r.error.reply, "a reply is expected");
      assert.equal(r.error.reply.status, e.status);
      assert.equal(r.error.reply.reason, r.error.detail);
      // The reply must itself be a parseable response carrying the request's top Via.
      const wire = buildResponse(r.error.reply.headers, r.error.reply.status, r.error.reply.reason, { toTag: "gw1" });
      const text = Buffer.from(wire).toString("latin1");
      assert.ok(text.startsWith(`SIP/2.0 ${e.status} ${r.error.detail}\r\n`));
      assert.ok(text.includes(r.error.reply.headers[0]!.raw!), "top Via copied raw");
    }
  });
}
