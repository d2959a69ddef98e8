// Benchmark: process start to exit of `nnc check` and `nnc count` on examples/mnist-mlp.nn, against
// `node -e 0` on the same machine (target: at most 2.5× that). Run after `npm run build`:
// `node bench/startup.mjs [--json] [--runs N]`. Each command runs `runs` times (15 by default), the three
// interleaved round by round so that a change in machine load touches all of them alike; medians of wall
// time are reported, and their ratio to `node -e 0` (the target applies to these), and the minima.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const json = args.includes("--json");
const runsAt = args.indexOf("--runs");
const runs = runsAt === -1 ? 15 : Number(args[runsAt + 1]);
if (!Number.isInteger(runs) || runs < 1) {
  console.error("usage: node bench/startup.mjs [--json] [--runs N]");
  process.exit(2);
}
const targetRatio = 2.5;
const spec = "examples/mnist-mlp.nn";
const commands = [
  { case: "node -e 0", argv: ["-e", "0"] },
  { case: `nnc check ${spec}`, argv: ["bin/nnc.js", "check", spec] },
  { case: `nnc count ${spec}`, argv: ["bin/nnc.js", "count", spec] },
];

function once(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { cwd: root, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${argv.join(" ")} exited ${r.status}: ${r.stderr}`);
  return ms;
}

// One warm-up round (file-system caches), then the timed rounds.
for (const c of commands) once(c.argv);
const samples = commands.map(() => []);
for (let i = 0; i < runs; i++) commands.forEach((c, k) => samples[k].push(once(c.argv)));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x) => Math.round(x * 10) / 10;
const base = median(samples[0]);
const baseMin = Math.min(...samples[0]);
// The minimum is reported too: on a machine shared with other work it is the closest to an idle run.
const results = commands.map((c, k) => {
  const m = median(samples[k]);
  const min = Math.min(...samples[k]);
  return {
    case: c.case,
    medianMs: round(m),
    ratio: Math.round((m / base) * 100) / 100,
    minMs: round(min),
    minRatio: Math.round((min / baseMin) * 100) / 100,
  };
});
for (const r of results.slice(1)) {
  r.targetRatio = targetRatio;
  r.withinTarget = r.ratio <= targetRatio;
}

if (json) console.log(JSON.stringify({ bench: "startup", runs, node: process.version, results }));
else {
  for (const r of results) {
    const vs =
      r.targetRatio === undefined
        ? ""
        : ` = ${r.ratio}× node -e 0 (target ≤ ${r.targetRatio}×${r.withinTarget ? "" : ", MISSED"})`;
    const min = r.targetRatio === undefined ? `, min ${r.minMs} ms` : `; min ${r.minMs} ms = ${r.minRatio}×`;
    console.log(`${r.case}: median ${r.medianMs} ms${vs}${min}`);
  }
}
