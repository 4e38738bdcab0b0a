/**
 * The benchmark holds Kamailio still while another system runs its step and lets it go before stopping it
 * (bench/lib/pause.ts, bench/run.ts). Kamailio's main process drops a SIGTERM that comes while the SIGCHLD of a worker
 * just let go is still unhandled (KamailioSystem.stop says how); a CI smoke run once hung on it, Kamailio's workers
 * keeping its output pipes open after the main process was killed. Each round does what bench/run.ts does at its end:
 * hold every process of Kamailio's tree still, let them all go, and stop it at once. The stop must end with no process
 * of the tree left.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { harness } from "../support/harness.ts";
import { freePorts } from "../support/ports.ts";
import { startKamailio } from "../../bench/lib/systems.ts";
import { Pauser } from "../../bench/lib/pause.ts";
import { commOf } from "../../bench/lib/procfs.ts";

const h = harness("bench-kamailio-stop");
before(() => h.setup());
after(() => h.teardown());

/** The process state letter from /proc/PID/stat (T = stopped); undefined when it is gone. */
async function stateOf(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  return stat?.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
}

test("Kamailio held still, let go and stopped at once (as the benchmark does): the stop ends and leaves no process of its tree, 5 rounds", { timeout: 150_000 }, async () => {
  const [a, b] = (await freePorts(2)) as [number, number];
  for (let round = 1; round <= 5; round++) {
    const sys = await startKamailio({ dir: join(h.dir, `round-${round}`), destinations: [a, b], lifetimeMs: 60_000 });
    const tree = await sys.pids();
    try {
      assert.ok(tree.length >= 4, `round ${round}: Kamailio's tree ${tree.join(", ")}`);
      const pauser = new Pauser<"kamailio" | "other">(0);
      await pauser.only({ name: "other", pids: async () => [] }, [{ name: "kamailio", pids: () => sys.pids() }]);
      assert.deepEqual(pauser.held, ["kamailio"]);
      for (const pid of tree) {
        for (let i = 0; i < 500 && (await stateOf(pid)) !== "T"; i++) await new Promise((r) => setImmediate(r));
        assert.equal(await stateOf(pid), "T", `round ${round}: pid ${pid} held still`);
      }
      pauser.resumeAll();
      await sys.stop();
      assert.equal(sys.running, false, `round ${round}: Kamailio stopped`);
      const left: number[] = [];
      for (const pid of tree) if ((await commOf(pid)) === "kamailio") left.push(pid);
      assert.deepEqual(left, [], `round ${round}: processes of Kamailio's tree left after stop`);
    } finally {
      // whatever a failed round left: these PIDs are the Kamailio this test started
      for (const pid of tree) {
        if ((await commOf(pid)) !== "kamailio") continue;
        try {
          process.kill(pid, "SIGCONT");
          process.kill(pid, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }
    }
  }
});
