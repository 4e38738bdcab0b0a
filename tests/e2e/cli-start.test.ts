/**
 * `switchboard start` from the command line (`npx switchboard start`, bin/switchboard.js) runs the gateway with the
 * V8 heap flags node can only take on its command line (src/gateway/v8-tuning.ts, GATEWAY_HEAP_FLAGS): started
 * without them, it runs the gateway as a child node with them, and passes SIGTERM on for a graceful stop.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { harness } from "../support/harness.ts";
import { freePorts } from "../support/ports.ts";
import { REPO_ROOT } from "../support/gateway.ts";
import { startProcess, waitUntil } from "../support/process.ts";
import { GATEWAY_HEAP_FLAGS } from "../../src/gateway/v8-tuning.ts";

const h = harness("cli-start");
before(() => h.setup());
after(() => h.teardown());

test(
  "npx switchboard start: the gateway runs with the heap flags, and SIGTERM stops it gracefully",
  h.wrap(async () => {
    const [sipPort, httpPort] = (await freePorts(2)) as [number, number];
    const cli = startProcess(process.execPath, [join(REPO_ROOT, "bin", "switchboard.js"), "start"], {
      name: "switchboard-cli",
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        SWITCHBOARD_SIP_LISTEN: `udp:127.0.0.1:${sipPort}`,
        SWITCHBOARD_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
        SWITCHBOARD_ADMIN_TOKEN: "cli-start-test-token",
        SWITCHBOARD_DATA_DIR: join(h.dir, "data"),
        SWITCHBOARD_LOG_LEVEL: "info",
      },
      maxLifetimeMs: 120_000,
    });
    h.defer(() => cli.stop("SIGKILL"));
    await cli.waitForLine(/"warm-up done"/, 60_000);

    // The gateway is the CLI's child, started with the flags; the CLI itself had none.
    const children = readFileSync(`/proc/${cli.pid}/task/${cli.pid}/children`, "utf8").trim().split(/\s+/).map(Number);
    assert.equal(children.length, 1, `children of the CLI: ${children.join(", ")}`);
    const gateway = children[0]!;
    const args = readFileSync(`/proc/${gateway}/cmdline`, "utf8").split("\0");
    for (const flag of GATEWAY_HEAP_FLAGS) assert.ok(args.includes(flag), `gateway started without ${flag}: ${args.join(" ")}`);
    assert.doesNotMatch(cli.stdout(), /V8 heap flags/, "the gateway warned that it lacks its heap flags");

    cli.signal("SIGTERM");
    const status = await cli.exited;
    assert.equal(status.code, 0, cli.tail());
    assert.match(cli.stdout(), /shutting down/);
    await waitUntil("the gateway process to be gone", () => !existsSync(`/proc/${gateway}`), 5_000);
  }),
);
