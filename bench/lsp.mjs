// Benchmark: what one keystroke in a 10,000-line spec costs the language server (`nnc lsp`): the re-check
// of the edited document as the server runs it after the debounce (`Workspace.analyze`), up to the
// diagnostics it publishes — incremental parse (src/lsp/incremental.ts), load and resolution of the whole
// file (reusing unchanged blocks' and models' resolutions, src/resolve/cache.ts), then analysis, count and `expect` of the models whose inputs changed (the others' diagnostics are
// reused, src/lsp/recheck.ts) — in process, without the JSON-RPC round trip. The spec is bench/check.mjs's.
// Two kinds of keystroke: one inside the last model (nothing before it moves) and one in the first block
// (every later item moves: its spans are shifted). Also reported: what the first request after a keystroke
// adds (the symbol index and every model's analysis, made on first use: hover, semantic tokens), and the
// same check with `checkProgram` and the plain parser (what a server without any of this pays).
// Run after `npm run build`: `node bench/lsp.mjs [--json] [--runs N]`.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Workspace } from "../dist/src/lsp/workspace.js";
import { checkProgram } from "../dist/src/program/check.js";

const targetMs = 100;
const args = process.argv.slice(2);
const json = args.includes("--json");
const runsAt = args.indexOf("--runs");
const runs = runsAt === -1 ? 20 : Number(args[runsAt + 1]);
if (!Number.isInteger(runs) || runs < 1) {
  console.error("usage: node bench/lsp.mjs [--json] [--runs N]");
  process.exit(2);
}

const here = path.dirname(fileURLToPath(import.meta.url));
// Into a file, not a pipe: check.mjs exits right after writing, which would cut a pipe short.
const specFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "nnc-bench-lsp-")), "spec.nn");
const fd = fs.openSync(specFile, "w");
const generated = spawnSync(process.execPath, [path.join(here, "check.mjs"), "--print"], {
  stdio: ["ignore", fd, "inherit"],
});
fs.closeSync(fd);
if (generated.status !== 0) {
  console.error("bench/lsp.mjs: bench/check.mjs --print failed");
  process.exit(1);
}
const text = fs.readFileSync(specFile, "utf8");
fs.rmSync(path.dirname(specFile), { recursive: true, force: true });
const lines = text.split("\n").length - 1;
const file = path.resolve("bench/generated-10000.nn");
const disk = { readFile: () => ({ ok: false, reason: "no such file" }) };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x) => Math.round(x * 10) / 10;

/** Times `runs` keystrokes that alternate `a` and `b` at the first occurrence of `a` (after warming up). */
function keystrokes(a, b) {
  const ws = new Workspace(disk);
  ws.open(file, text, 1);
  const first = ws.analyze(file);
  const errors = first.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) {
    console.error(`bench/lsp.mjs: the spec has ${errors.length} errors, e.g. ${errors[0].code} ${errors[0].message}`);
    process.exit(1);
  }
  const at = text.indexOf(a);
  if (at < 0) throw new Error(`${a} not found`);
  const other = text.slice(0, at) + b + text.slice(at + a.length);
  let version = 1;
  const times = [];
  /** CPU time of the process (all its threads, the garbage collector's included): less sensitive than the
   *  wall clock to other processes on a shared machine, but not the criterion. */
  const cpuTimes = [];
  for (let i = 0; i < runs + 5; i++) {
    ws.change(file, i % 2 === 0 ? other : text, ++version);
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    const result = ws.analyze(file);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const cpu = process.cpuUsage(cpuStart);
    if (result.diagnostics.some((d) => d.severity === "error")) throw new Error("the edit broke the spec");
    if (i >= 5) {
      times.push(ms);
      cpuTimes.push((cpu.user + cpu.system) / 1000);
    }
  }
  // Then, separately (so as not to change the first figure's conditions), a keystroke followed by a request.
  const requests = [];
  for (let i = 0; i < runs + 5; i++) {
    ws.change(file, i % 2 === 0 ? other : text, ++version);
    const result = ws.analyze(file);
    const start = process.hrtime.bigint();
    if (result.index.files.size !== 1 || result.checked.models.length === 0) throw new Error("no index or models");
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (i >= 5) requests.push(ms);
  }
  return { times, cpuTimes, requests };
}

const loadBefore = os.loadavg()[0];
const {
  times: lastModel,
  cpuTimes: lastModelCpu,
  requests: lastModelRequest,
} = keystrokes("dense(64) relu as act100", "dense(65) relu as act100");
const {
  times: firstBlock,
  cpuTimes: firstBlockCpu,
  requests: firstBlockRequest,
} = keystrokes("dropout(p = 0.1)", "dropout(p = 0.15)");
const full = [];
for (let i = 0; i < runs + 5; i++) {
  const start = process.hrtime.bigint();
  checkProgram(file, disk, text);
  if (i >= 5) full.push(Number(process.hrtime.bigint() - start) / 1e6);
}

const results = {
  name: "lsp",
  description:
    "nnc lsp: re-check after one keystroke in a generated 10,000-line spec, up to its diagnostics (incremental parse, resolution, the changed models' analyses)",
  lines,
  runs,
  keystrokeInLastModelMedianMs: round(median(lastModel)),
  keystrokeInFirstBlockMedianMs: round(median(firstBlock)),
  keystrokeInLastModelCpuMedianMs: round(median(lastModelCpu)),
  keystrokeInFirstBlockCpuMedianMs: round(median(firstBlockCpu)),
  firstRequestAfterKeystrokeInLastModelMedianMs: round(median(lastModelRequest)),
  firstRequestAfterKeystrokeInFirstBlockMedianMs: round(median(firstBlockRequest)),
  fullCheckMedianMs: round(median(full)),
  targetMs,
  withinTarget: Math.max(median(lastModel), median(firstBlock)) < targetMs,
  node: process.version,
  /** The machine's 1-minute load average before and after (2 cores here, shared). */
  loadAverage: [round(loadBefore), round(os.loadavg()[0])],
  cores: os.cpus().length,
};
if (json) console.log(JSON.stringify(results));
else {
  console.log(
    `lsp keystroke in a ${lines.toLocaleString("en-US")}-line spec: median ${results.keystrokeInLastModelMedianMs} ms (in the last model), ` +
      `${results.keystrokeInFirstBlockMedianMs} ms (in the first block; every later item moves) — target < ${targetMs} ms; ` +
      `the first request after it adds ${results.firstRequestAfterKeystrokeInLastModelMedianMs} ms / ` +
      `${results.firstRequestAfterKeystrokeInFirstBlockMedianMs} ms (symbol index, every model's analysis); ` +
      `a full check without incremental parsing: ${results.fullCheckMedianMs} ms ` +
      `(CPU time of the keystrokes: ${results.keystrokeInLastModelCpuMedianMs} ms / ${results.keystrokeInFirstBlockCpuMedianMs} ms; ` +
      `load average ${results.loadAverage.join(" → ")} on ${results.cores} cores)`,
  );
}
