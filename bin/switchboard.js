#!/usr/bin/env node
// The `switchboard` command. Runs the built bundle (`npm run build`: plain JavaScript, what production should run)
// when it exists, else the TypeScript sources through tsx.
import { existsSync } from "node:fs";

const bundle = new URL("../dist/gateway/main.mjs", import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/gateway/main.ts");
}
