/**
 * Smoke test of the benchmark harness (bench/run.ts), so that `npm run bench` keeps working without making CI slow:
 * one small step (200 calls at 50/s) against switchboard, and against Kamailio when it is installed, with the report
 * written to a temporary directory. It asserts only that the harness ran and produced well-formed results — numbers
 * present, report and chart written — never how fast anything was.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { harness } from "../support/harness.ts";
import { startProcess } from "../support/process.ts";
import { REPO_ROOT } from "../support/gateway.ts";
import { kamailioBinary } from "../../bench/lib/systems.ts";

const h = harness("bench-smoke");
before(() => h.setup());
after(() => h.teardown());

interface Step {
  target: string;
  rate: number;
  calls: { planned: number; attempted: number; succeeded: number; failed: number };
  retransmissions: { caller: number; destinations: number };
  invite: { n: number; p50: number; p99: number; max: number };
  bye: { n: number; p50: number; p99: number; max: number };
  cpu: { balancerPct: number; usPerCall: number };
  memory: { pssKbEnd: number };
  udp: { socketDrops: number; rcvbufErrors: number };
  clean: boolean;
}

test(
  "npm run bench -- --smoke writes RESULTS.md, results.json and chart.svg with numbers for every system",
  { timeout: 240_000 },
  h.wrap(async () => {
    const out = join(h.dir, "report");
    const withKamailio = kamailioBinary() !== undefined;
    const systems = withKamailio ? ["kamailio", "switchboard"] : ["switchboard"];
    const proc = startProcess(
      process.execPath,
      ["--import", "tsx", "bench/run.ts", "--smoke", "--systems", systems.join(","), "--out", out],
      { name: "bench", cwd: REPO_ROOT, maxLifetimeMs: 230_000 },
    );
    const exit = await proc.waitForExit(225_000);
    assert.equal(exit.code, 0, `bench/run.ts --smoke exited ${exit.signal ?? String(exit.code)}\n${proc.tail(6000)}`);

    const json = JSON.parse(await readFile(join(out, "results.json"), "utf8")) as {
      meta: { commit: string; date: string; machine: { cpus: number } };
      systems: { name: string; status: string; note?: string }[];
      steps: Step[];
      summary: { system: string; maxClean: number }[];
    };
    const ctx = `\n${proc.tail(4000)}`;
    assert.match(json.meta.date, /^\d{4}-\d\d-\d\dT/, "meta.date");
    assert.ok(json.meta.commit.length > 0, "meta.commit");
    assert.ok(json.meta.machine.cpus >= 1, "meta.machine.cpus");

    for (const name of systems) {
      const st = json.systems.find((s) => s.name === name);
      assert.equal(st?.status, "measured", `${name} was not measured: ${JSON.stringify(st)}${ctx}`);
      const step = json.steps.find((s) => s.target === name);
      assert.ok(step, `no step for ${name}${ctx}`);
      // well-formed: every figure is a number, counts are consistent; no judgement on speed or cleanliness
      assert.equal(step.calls.planned, 200, `${name}: planned calls`);
      for (const [k, v] of Object.entries({
        attempted: step.calls.attempted,
        succeeded: step.calls.succeeded,
        failed: step.calls.failed,
        retransCaller: step.retransmissions.caller,
        retransDest: step.retransmissions.destinations,
        socketDrops: step.udp.socketDrops,
        rcvbufErrors: step.udp.rcvbufErrors,
      })) {
        assert.ok(Number.isInteger(v) && v >= 0, `${name}: ${k} = ${String(v)}`);
      }
      assert.ok(step.calls.succeeded > 0, `${name}: no call succeeded${ctx}`);
      assert.ok(step.calls.succeeded + step.calls.failed <= step.calls.attempted, `${name}: succeeded + failed > attempted`);
      assert.ok(step.invite.n > 0 && Number.isFinite(step.invite.p50) && Number.isFinite(step.invite.p99), `${name}: INVITE→200 ${JSON.stringify(step.invite)}`);
      assert.ok(step.invite.p50 <= step.invite.p99 && step.invite.p99 <= step.invite.max, `${name}: INVITE→200 percentiles out of order`);
      assert.ok(step.bye.n > 0 && Number.isFinite(step.bye.p99), `${name}: BYE→200 ${JSON.stringify(step.bye)}`);
      assert.ok(Number.isFinite(step.cpu.balancerPct) && step.cpu.balancerPct >= 0, `${name}: balancer CPU ${step.cpu.balancerPct}`);
      assert.ok(Number.isFinite(step.cpu.usPerCall) && step.cpu.usPerCall >= 0, `${name}: CPU per call ${step.cpu.usPerCall}`);
      assert.ok(step.memory.pssKbEnd > 0, `${name}: memory ${step.memory.pssKbEnd}`);
      assert.equal(typeof step.clean, "boolean");
      assert.ok(json.summary.some((s) => s.system === name && Number.isFinite(s.maxClean)), `${name}: no summary row`);
    }

    const md = await readFile(join(out, "RESULTS.md"), "utf8");
    assert.match(md, /^# switchboard benchmark results/m);
    assert.match(md, /## Summary/);
    assert.ok(md.includes(json.meta.commit), "RESULTS.md names the commit");
    for (const name of systems) assert.ok(md.includes(name === "kamailio" ? "Kamailio" : "switchboard (in-process store)"), `RESULTS.md row for ${name}`);
    const svg = await readFile(join(out, "chart.svg"), "utf8");
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>\s*$/);
  }),
);
