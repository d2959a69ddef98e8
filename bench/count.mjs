// Benchmark: `nnc count` figures (check + analysis + totals + the per-layer table) for the Llama-2-7B
// example (target < 50 ms) and for a generated spec of 10,000 layers (target < 1 s). Run after
// `npm run build`: `node bench/count.mjs [--json] [--runs N]`. Start-up and module loading are excluded:
// 3 warm-up runs, then the median of `runs` (default 15).
import { nodeHost } from "../dist/src/program/node-host.js";
import { layerRows } from "../dist/src/count/count.js";
import { checkProgram } from "../dist/src/program/check.js";

const args = process.argv.slice(2);
const json = args.includes("--json");
const runsAt = args.indexOf("--runs");
const runs = runsAt === -1 ? 15 : Number(args[runsAt + 1]);

/** 10,000 layers, written out (no repeat): blocks of dense/norm/activation and residuals. */
function tenThousandLayers() {
  const lines = ["model Wide(x: f32[s <= 128, 256]) {"];
  let layers = 0;
  while (layers < 10_000) {
    lines.push("  residual {", "    layernorm", "    dense(1024) gelu", "    dense(256)", "  }");
    layers += 5; // residual, layernorm, dense, gelu, dense
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

const host = {
  readFile(file) {
    if (file === "wide.nn") return { ok: true, text: tenThousandLayers() };
    return nodeHost.readFile(file);
  },
};

function time(entry) {
  const once = () => {
    const t0 = performance.now();
    const checked = checkProgram(entry, host);
    if (checked.diagnostics.some((d) => d.severity === "error")) throw new Error(`${entry} has errors`);
    for (const m of checked.value.models) layerRows(m.analysis, 3);
    return performance.now() - t0;
  };
  for (let i = 0; i < 3; i++) once();
  const samples = Array.from({ length: runs }, once).sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const results = [
  { case: "count examples/llama2-7b.nn", medianMs: time("examples/llama2-7b.nn"), targetMs: 50 },
  { case: "count a 10,000-layer spec", medianMs: time("wide.nn"), targetMs: 1000 },
];
if (json) console.log(JSON.stringify({ bench: "count", results }));
else for (const r of results) console.log(`${r.case}: median ${r.medianMs.toFixed(1)} ms (target < ${r.targetMs} ms)`);
