/**
 * The warm-up's optimised code fits real traffic (src/gateway/warmup.ts): after "warm-up done", real calls from sipp
 * through the gateway deoptimise few of switchboard's own functions. Before the warm-up was built to fit, the first
 * real calls deoptimised some 30 of them (parser, transaction, routing, forwarding), and the functions involved ran
 * unoptimised into the next burst of traffic.
 *
 * The gateway runs with V8's --trace-deopt-verbose; each deoptimisation names the source position it happened at,
 * which tells switchboard's code (src/, functions/) from Node's own (node:...), which is left out.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { harness } from "../support/harness.ts";
import { warmGatewayAfterCalls } from "../support/warm-gateway.ts";

const h = harness("warmup-fit");
before(() => h.setup());
after(() => h.teardown());

const CALLS = 100;
/**
 * The bound: 2 are seen now (UdpTransport.send and RetiredTable's chunk allocator, `not a Smi`); the warm-up before
 * it fit (975dc0c) left 25 in this test.
 */
const MAX_OWN_DEOPTS = 12;

/** Deoptimisations in the trace: the function, the reason, and the innermost source position. */
function deoptimisations(trace: string): { fn: string; reason: string; at: string }[] {
  const out: { fn: string; reason: string; at: string }[] = [];
  let pending: { fn: string; reason: string } | undefined;
  for (const line of trace.split("\n")) {
    const begin = /^\[bailout \(kind: deopt-(?:eager|soft), reason: (.*)\): begin\. deoptimizing \S+ <JSFunction ?([^ >]*)/.exec(line);
    if (begin) {
      pending = { reason: begin[1]!, fn: begin[2]! };
      continue;
    }
    const at = /;;; deoptimize at <([^>]*)>/.exec(line);
    if (at && pending) {
      out.push({ ...pending, at: at[1]! });
      pending = undefined;
    }
  }
  return out;
}

test(
  "after the warm-up, real calls through the gateway deoptimise few of switchboard's own functions",
  h.wrap(async () => {
    const gw = await warmGatewayAfterCalls(h, { calls: CALLS, rate: 50, nodeArgs: ["--trace-deopt-verbose"] });
    const proc = gw.process!;

    const out = proc.stdout();
    const since = out.slice(out.indexOf("warm-up done"));
    const all = deoptimisations(since);
    const own = all.filter((d) => /\/(src|functions)\//.test(d.at));
    const list = own.map((d) => `${d.fn} (${d.reason}) at ${d.at}`).join("\n");
    console.log(`# after the warm-up: ${all.length} deoptimisations, ${own.length} at switchboard's own code\n# ${list.replaceAll("\n", "\n# ")}`);
    // The trace is on (else this test proves nothing): start-up always deoptimises something.
    assert.ok(deoptimisations(out).length > 0, `no deoptimisation traced at all:\n${gw.logTail(2000)}`);
    assert.ok(own.length <= MAX_OWN_DEOPTS, `${own.length} deoptimisations at switchboard's own code after the warm-up:\n${list}`);
  }),
);
