/**
 * For unit tests that ask V8 itself (object maps, dictionary-mode prototypes): runs an ES module script in a fresh
 * `node --allow-natives-syntax --import tsx`, so the script may use %-natives and import the project's TypeScript,
 * and returns the JSON the script printed last.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function runNativesScript<T>(name: string, script: string): T {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  try {
    const file = join(dir, `${name}.mjs`);
    writeFileSync(file, script);
    const out = execFileSync(process.execPath, ["--allow-natives-syntax", "--import", "tsx", file], { encoding: "utf8" });
    return JSON.parse(out.trim().split("\n").at(-1)!) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
