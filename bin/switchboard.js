#!/usr/bin/env node
// The `switchboard` command. Runs the built bundle (`npm run build`: plain JavaScript, what production should run)
// when it exists, else the TypeScript sources through tsx.
//
// `switchboard start` needs V8 heap flags that only node's command line can set (src/gateway/v8-tuning.ts,
// GATEWAY_HEAP_FLAGS; this list must stay equal to it, which v8-tuning.test.ts checks). Started without them (`npx
// switchboard start`), this process runs the gateway as a child node with them, hands it the terminal, passes on
// SIGINT, SIGTERM and SIGHUP, and exits as the child does. npm start and infra/switchboard.service pass them
// directly, so they get no extra process.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

// Exit status of a child killed by a signal, as a shell reports it.
const signalNumbers = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

const HEAP_FLAGS = ["--min-semi-space-size=16", "--max-semi-space-size=16", "--initial-old-space-size=128"];

const flagName = (arg) => arg.split("=")[0].replaceAll("_", "-");
const given = new Set(process.execArgv.map(flagName));
const missing = HEAP_FLAGS.filter((flag) => !given.has(flagName(flag)));

if (process.argv[2] === "start" && missing.length > 0) {
  const child = spawn(process.execPath, [...missing, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.on("error", (error) => {
    console.error(`switchboard: could not start node: ${error.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => process.exit(code ?? (signal === null ? 1 : 128 + (signalNumbers[signal] ?? 0))));
} else {
  const bundle = new URL("../dist/gateway/main.mjs", import.meta.url);
  if (existsSync(bundle)) {
    await import(bundle.href);
  } else {
    const { register } = await import("tsx/esm/api");
    register();
    await import("../src/gateway/main.ts");
  }
}
