/**
 * Preloaded into a gateway under test (`node --allow-natives-syntax --import <this file>`): on SIGUSR2 it prints one
 * line, `prototype-probe {"String":true,...}`, telling for each builtin prototype the hot path calls methods on
 * (HOT_PROTOTYPES, the ones restoreFastPrototypes restores) whether V8 holds it in its fast layout
 * (src/gateway/v8-tuning.ts says why that matters).
 */
import { HOT_PROTOTYPES } from "../../src/gateway/v8-tuning.ts";

const hasFastProperties = new Function("o", "return %HasFastProperties(o)") as (o: object) => boolean;

process.on("SIGUSR2", () => {
  const fast = Object.fromEntries(Object.entries(HOT_PROTOTYPES).map(([name, p]) => [name, hasFastProperties(p)]));
  process.stdout.write(`prototype-probe ${JSON.stringify(fast)}\n`);
});
