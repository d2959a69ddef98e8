// Runs every benchmark in bench/ (every `*.mjs` but this file), one after another, each in its own process
// so that one benchmark's heap and JIT state do not colour the next. Arguments are passed on to each
// benchmark; with `--json`, their JSON objects are collected into one array on stdout.
// Usage (after `npm run build`): `node bench/run.mjs [--json] [other arguments]`.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const self = path.basename(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const json = args.includes("--json");

const benches = fs
  .readdirSync(here)
  .filter((name) => name.endsWith(".mjs") && name !== self)
  .sort();

const results = [];
let failed = 0;
for (const name of benches) {
  const run = spawnSync(process.execPath, [path.join(here, name), ...args], {
    stdio: json ? ["ignore", "pipe", "inherit"] : "inherit",
    encoding: "utf8",
  });
  if (run.status !== 0) {
    failed++;
    console.error(`bench/run.mjs: ${name} failed (${run.signal ?? `exit ${run.status}`})`);
    continue;
  }
  if (json) {
    // Each benchmark prints one JSON value (an object, or an array of them) as its last line.
    const last = run.stdout.trim().split("\n").pop() ?? "";
    try {
      const value = JSON.parse(last);
      results.push(...(Array.isArray(value) ? value : [value]));
    } catch {
      failed++;
      console.error(`bench/run.mjs: ${name} printed no JSON with --json`);
    }
  }
}
if (json) console.log(JSON.stringify(results, null, 2));
if (benches.length === 0) console.error("bench/run.mjs: no benchmarks in bench/");
process.exitCode = failed > 0 ? 1 : 0;
