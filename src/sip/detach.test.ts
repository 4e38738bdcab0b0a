import { test } from "node:test";
import assert from "node:assert/strict";
import { detach } from "./detach.ts";

test("detach keeps the text", () => {
  const message = `INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-${"x".repeat(40)}\r\n`;
  const branch = message.slice(message.indexOf("z9hG4bK"), message.length - 2);
  assert.equal(detach(branch), branch);
  assert.equal(detach("short"), "short");
  assert.equal(detach(""), "");
  assert.equal(detach(`${branch}|10.0.0.1:5060|INVITE`), `${branch}|10.0.0.1:5060|INVITE`);
});
