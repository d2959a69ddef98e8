// `npm run fuzz -- [--seed S] [--count N] [--start I] …`: the semantic fuzzer (test/fuzz/) at scale. The
// fuzzer is TypeScript that imports the compiler's sources (like the tests); esbuild bundles it into one
// ES module under test/.tmp/ (dependencies stay in node_modules), which then runs with the arguments given.
// Flags and output: test/fuzz/main.ts.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outfile = path.join(root, "test", ".tmp", "fuzz", "main.mjs");
await esbuild.build({
  entryPoints: [path.join(root, "test", "fuzz", "main.ts")],
  outfile,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  logLevel: "warning",
});
const run = spawnSync(process.execPath, [outfile, ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(run.status ?? 1);
