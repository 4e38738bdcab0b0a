/**
 * Smoke test of the benchmark harness (bench/run.ts), so that `npm run bench` keeps working without making CI slow:
 * one small step (200 calls at 50/s) against switchboard, against switchboard in remote mode (sipp → gateway → the
 * route function over HTTP → Redis: the one end-to-end run of remote mode with real peers), and against Kamailio when
 * it is installed, with the report
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
import { kamailioBinary, LABELS, type SystemName } from "../../bench/lib/systems.ts";

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
  route?: { remote: number; fallback: number };
  wire?: {
    invite: { n: number; p50: number; p99: number; max: number };
    bye: { n: number; p99: number };
    inviteBalancer: { n: number; p50: number; max: number };
    calls: number;
    dropped: number;
  };
  clean: boolean;
}

test(
  "npm run bench -- --smoke writes RESULTS.md, results.json and chart.svg with numbers for every system",
  { timeout: 300_000 },
  h.wrap(async () => {
    const out = join(h.dir, "report");
    const withKamailio = kamailioBinary() !== undefined;
    const systems: SystemName[] = withKamailio ? ["kamailio", "switchboard", "switchboard-remote"] : ["switchboard", "switchboard-remote"];
    const proc = startProcess(
      process.execPath,
      ["--import", "tsx", "bench/run.ts", "--smoke", "--systems", systems.join(","), "--out", out],
      { name: "bench", cwd: REPO_ROOT, maxLifetimeMs: 290_000 },
    );
    const exit = await proc.waitForExit(285_000);
    assert.equal(exit.code, 0, `bench/run.ts --smoke exited ${exit.signal ?? String(exit.code)}\n${proc.tail(6000)}`);

    const json = JSON.parse(await readFile(join(out, "results.json"), "utf8")) as {
      meta: { commit: string; date: string; machine: { cpus: number } };
      systems: { name: string; status: string; note?: string }[];
      steps: Step[];
      summary: { system: string; maxClean: number }[];
      core?: { usPerCall?: number; error?: string };
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
      // the capture (tcpdump, installed by the pretest step) saw every call that succeeded, INVITE and BYE alike
      assert.ok(step.wire, `${name}: no wire figures (tcpdump capture)${ctx}`);
      assert.equal(step.wire.dropped, 0, `${name}: the capture dropped packets`);
      assert.ok(step.wire.calls >= step.calls.succeeded, `${name}: the capture saw ${step.wire.calls} calls, sipp ${step.calls.succeeded} succeeded`);
      assert.equal(step.wire.invite.n, step.wire.calls, `${name}: INVITE→200 on the wire per call`);
      assert.ok(step.wire.bye.n >= step.calls.succeeded, `${name}: BYE→200 on the wire ${step.wire.bye.n}`);
      assert.ok(step.wire.invite.p50 > 0 && step.wire.invite.p50 <= step.wire.invite.p99 && step.wire.invite.p99 <= step.wire.invite.max, `${name}: wire INVITE→200 ${JSON.stringify(step.wire.invite)}`);
      // the balancer's share is part of the caller's response time, call by call
      assert.equal(step.wire.inviteBalancer.n, step.wire.calls, `${name}: balancer's share per call`);
      assert.ok(step.wire.inviteBalancer.p50 > 0 && step.wire.inviteBalancer.max <= step.wire.invite.max, `${name}: balancer's share ${JSON.stringify(step.wire.inviteBalancer)}`);
      if (name === "switchboard-remote") {
        // one decision per call (retransmitted INVITEs are absorbed by the transaction), taken by the function
        assert.ok(step.route, `remote: no route counters${ctx}`);
        assert.equal(step.route.remote + step.route.fallback, step.calls.attempted, `remote: decisions ${JSON.stringify(step.route)}`);
        assert.ok(step.route.remote > 0, `remote: the route function answered no decision ${JSON.stringify(step.route)}${ctx}`);
      } else {
        assert.equal(step.route, undefined, `${name}: route counters outside remote mode`);
      }
      assert.ok(json.summary.some((s) => s.system === name && Number.isFinite(s.maxClean)), `${name}: no summary row`);
    }

    // the proxy core alone (bench/core.ts) ran, checked every call and gave a figure
    assert.ok(json.core && json.core.error === undefined, `bench:core: ${JSON.stringify(json.core)}${ctx}`);
    assert.ok(Number.isFinite(json.core.usPerCall) && (json.core.usPerCall ?? 0) > 0, `bench:core figure ${json.core.usPerCall}`);

    const md = await readFile(join(out, "RESULTS.md"), "utf8");
    assert.match(md, /^# switchboard benchmark results/m);
    assert.match(md, /## Summary/);
    assert.match(md, /## The proxy core alone/);
    assert.ok(md.includes(json.meta.commit), "RESULTS.md names the commit");
    for (const name of systems) assert.ok(md.includes(LABELS[name]), `RESULTS.md row for ${name}`);
    const svg = await readFile(join(out, "chart.svg"), "utf8");
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>\s*$/);
  }),
);
