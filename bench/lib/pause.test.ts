import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { once } from "node:events";
import { Pauser, signalAll, type Pausable } from "./pause.ts";

/** The process state letter from /proc/PID/stat: T = stopped, S = sleeping, R = running. */
async function stateOf(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
}

/** Polls until the state is (or is not) stopped: the kernel applies SIGSTOP/SIGCONT asynchronously. */
async function waitState(pid: number, stopped: boolean): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const s = await stateOf(pid);
    if ((s === "T") === stopped) return s;
    await new Promise((r) => setImmediate(r));
  }
  return stateOf(pid);
}

function sleeper(): ChildProcess {
  return spawn("sleep", ["30"], { stdio: "ignore" });
}

async function withChildren(n: number, body: (children: ChildProcess[]) => Promise<void>): Promise<void> {
  const children = Array.from({ length: n }, sleeper);
  try {
    await Promise.all(children.map((c) => once(c, "spawn")));
    await body(children);
  } finally {
    for (const c of children) {
      c.kill("SIGCONT");
      c.kill("SIGKILL");
    }
  }
}

test("signalAll stops and continues processes and skips ones that are gone", async () => {
  await withChildren(1, async ([child]) => {
    const pid = child!.pid as number;
    const gone = 2 ** 22 + 12345; // above pid_max's default: no such process
    assert.deepEqual(signalAll([pid, gone], "SIGSTOP"), [pid]);
    assert.equal(await waitState(pid, true), "T");
    assert.deepEqual(signalAll([pid], "SIGCONT"), [pid]);
    assert.notEqual(await waitState(pid, false), "T");
  });
});

test("Pauser holds every other system still, lets the measured one go, and resumes all at the end", async () => {
  await withChildren(3, async (children) => {
    const pids = children.map((c) => c.pid as number);
    const systems: Pausable<"a" | "b" | "c">[] = (["a", "b", "c"] as const).map((name, i) => ({ name, pids: async () => [pids[i]!] }));
    const pauser = new Pauser<"a" | "b" | "c">(0);

    await pauser.only(systems[0]!, systems);
    assert.deepEqual(pauser.held, ["b", "c"]);
    assert.notEqual(await waitState(pids[0]!, false), "T");
    assert.equal(await waitState(pids[1]!, true), "T");
    assert.equal(await waitState(pids[2]!, true), "T");

    await pauser.only(systems[1]!, systems);
    assert.deepEqual([...pauser.held].sort(), ["a", "c"]);
    assert.equal(await waitState(pids[0]!, true), "T");
    assert.notEqual(await waitState(pids[1]!, false), "T");

    await pauser.resumeAll();
    assert.deepEqual(pauser.held, []);
    for (const pid of pids) assert.notEqual(await waitState(pid, false), "T");
  });
});
