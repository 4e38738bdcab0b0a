#!/usr/bin/env node
// The `switchboard` command: runs the TypeScript gateway entry through tsx (no build step).
import { register } from "tsx/esm/api";
register();
await import("../src/gateway/main.ts");
