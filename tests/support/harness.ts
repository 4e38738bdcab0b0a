/**
 * Per-test-file context: a work directory for logs and traces, and cleanup that always runs.
 *
 *   const h = harness("balance-udp");
 *   before(() => h.setup());
 *   after(() => h.teardown());
 *   test("...", h.wrap(async () => { ... }));
 *
 * teardown() stops every child process still running (by PID, SIGTERM then SIGKILL) and removes the work directory
 * unless a wrapped test failed or SWITCHBOARD_E2E_KEEP=1; a failing test's logs are kept and their path printed.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stopAll } from "./process.ts";

export interface Harness {
  /** The work directory (valid after setup()). */
  readonly dir: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** Wrap a test body so that a failure keeps the logs. */
  wrap<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void>;
  /** Register cleanup to run in teardown (before processes are stopped), last registered first. */
  defer(fn: () => Promise<unknown> | unknown): void;
  failed: boolean;
}

export function harness(name: string): Harness {
  let dir = "";
  const deferred: (() => Promise<unknown> | unknown)[] = [];
  const h: Harness = {
    get dir() {
      if (dir === "") throw new Error("harness.setup() not called");
      return dir;
    },
    failed: false,
    async setup() {
      dir = await mkdtemp(join(tmpdir(), `switchboard-e2e-${name}-`));
    },
    defer(fn) {
      deferred.push(fn);
    },
    async teardown() {
      for (const fn of deferred.reverse()) {
        try {
          await fn();
        } catch (e) {
          process.stderr.write(`[${name}] cleanup error: ${String(e)}\n`);
        }
      }
      deferred.length = 0;
      await stopAll();
      if (dir === "") return;
      if (h.failed || process.env.SWITCHBOARD_E2E_KEEP === "1") {
        process.stderr.write(`[${name}] logs kept in ${dir}\n`);
      } else {
        await rm(dir, { recursive: true, force: true });
      }
    },
    wrap(fn) {
      return async (...args) => {
        try {
          await fn(...args);
        } catch (e) {
          h.failed = true;
          throw e;
        }
      };
    },
  };
  return h;
}
