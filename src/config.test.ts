import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "./config.ts";

test("defaults match the documented ones", () => {
  const result = parseConfig({});
  assert.ok(result.ok);
  assert.deepEqual(result.config.sipListen, [
    { transport: "udp", host: "0.0.0.0", port: 5060 },
    { transport: "tcp", host: "0.0.0.0", port: 5060 },
  ]);
  assert.deepEqual(result.config.httpListen, { host: "127.0.0.1", port: 8080 });
  assert.deepEqual(result.config.destinations, []);
  assert.equal(result.config.adminToken, undefined);
});

test("environment variables are parsed and win over the file", () => {
  const result = parseConfig(
    {
      SWITCHBOARD_SIP_LISTEN: "udp:127.0.0.1:15060, tcp:[::1]:15061",
      SWITCHBOARD_DESTINATIONS: "sip:10.0.0.5:5060;transport=tcp,sip:10.0.0.6",
      SWITCHBOARD_BRANCH_TIMEOUT: "1500",
    },
    { branchTimeoutMs: 9000, httpListen: "127.0.0.1:9090" },
  );
  assert.ok(result.ok);
  assert.deepEqual(result.config.sipListen[1], { transport: "tcp", host: "::1", port: 15061 });
  assert.deepEqual(result.config.destinations, ["sip:10.0.0.5:5060;transport=tcp", "sip:10.0.0.6"]);
  assert.equal(result.config.branchTimeoutMs, 1500);
  assert.equal(result.config.httpListen.port, 9090);
});

test("one error lists every bad field, named by its variable", () => {
  const result = parseConfig(
    {
      SWITCHBOARD_SIP_LISTEN: "udp:1.2.3.4:99999,sctp:1.2.3.4:5060",
      SWITCHBOARD_HTTP_LISTEN: "nowhere",
      SWITCHBOARD_ADMIN_TOKEN: "short",
      SWITCHBOARD_DESTINATIONS: "http://x",
      SWITCHBOARD_BRANCH_TIMEOUT: "soon",
    },
    { typo: 1 },
  );
  assert.equal(result.ok, false);
  if (result.ok) return;
  const text = result.error.message;
  for (const fragment of ["typo", "udp:1.2.3.4:99999", "sctp:1.2.3.4:5060", "SWITCHBOARD_HTTP_LISTEN", "SWITCHBOARD_ADMIN_TOKEN", "SWITCHBOARD_DESTINATIONS", "SWITCHBOARD_BRANCH_TIMEOUT"]) {
    assert.ok(text.includes(fragment), `error mentions ${fragment}:\n${text}`);
  }
  assert.ok(result.error.problems.length >= 7, text);
});

test("SWITCHBOARD_WORKERS: 1 by default, a count, or auto (0: one per core); anything else is named", () => {
  const workers = (value?: string | number, file = false) => {
    const result = file ? parseConfig({}, { workers: value }) : parseConfig(value === undefined ? {} : { SWITCHBOARD_WORKERS: String(value) });
    return result.ok ? result.config.workers : result.error.message;
  };
  assert.equal(workers(), 1);
  assert.equal(workers("4"), 4);
  assert.equal(workers(2, true), 2);
  assert.equal(workers("auto"), 0);
  for (const bad of ["0", "33", "two", "-1"]) assert.match(String(workers(bad)), /SWITCHBOARD_WORKERS \(workers\)/, bad);
});
