import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderMarkdown, type BenchRun } from "./report.ts";

const run = JSON.parse(readFileSync(fileURLToPath(new URL("../results.json", import.meta.url)), "utf8")) as BenchRun;
const commitLine = (meta: Partial<BenchRun["meta"]>): string | undefined =>
  renderMarkdown({ ...run, meta: { ...run.meta, ...meta } }, "chart.svg")
    .split("\n")
    .find((line) => line.startsWith("| commit |"));

test("the commit line tells changes to tracked files from untracked files", () => {
  const c = run.meta.commit;
  assert.equal(commitLine({ dirty: false, untracked: [] }), `| commit | \`${c}\` |`);
  assert.equal(commitLine({ dirty: false, untracked: ["node_modules"] }), `| commit | \`${c}\` (untracked in the working tree: node_modules) |`);
  assert.equal(
    commitLine({ dirty: true, untracked: ["node_modules", "x.ts"] }),
    `| commit | \`${c}\` (working tree had uncommitted changes; untracked in the working tree: node_modules, x.ts) |`,
  );
  // results.json files written before untracked paths were recorded
  assert.equal(commitLine({ dirty: true, untracked: undefined }), `| commit | \`${c}\` (working tree had uncommitted changes) |`);
});
