/**
 * Preloaded into a gateway under test (`node --allow-natives-syntax --import <this file>`): on SIGUSR2 it prints one
 * line, `prototype-probe {"String":true,...}`, telling for each builtin prototype the hot path calls methods on
 * whether V8 holds it in its fast layout (src/gateway/v8-tuning.ts says why that matters).
 */
const hasFastProperties = new Function("o", "return %HasFastProperties(o)") as (o: object) => boolean;

const PROTOTYPES: Readonly<Record<string, object>> = {
  String: String.prototype,
  Array: Array.prototype,
  Object: Object.prototype,
  Function: Function.prototype,
  Map: Map.prototype,
  Set: Set.prototype,
  Number: Number.prototype,
  Promise: Promise.prototype,
  Uint8Array: Uint8Array.prototype,
};

process.on("SIGUSR2", () => {
  const fast = Object.fromEntries(Object.entries(PROTOTYPES).map(([name, p]) => [name, hasFastProperties(p)]));
  process.stdout.write(`prototype-probe ${JSON.stringify(fast)}\n`);
});
