// Benchmark: warm in-process `compile()` of two examples — the MNIST MLP and ResNet-50 — unformatted
// (`format: false`: ts-morph's printed output, what the bundler plugin and watch mode use) and formatted
// with prettier (`nnc build`'s default and generated/), with the size of each module. Prettier's share is
// the difference between the two. The runtime every module shares (checks, generator, matrix kernels) is
// formatted once per process, so the first formatted compile in a process (also reported, with the JIT
// still cold) pays for it and the warm ones do not.
// Run after `npm run build`: `node bench/compile.mjs [--json] [--runs N]`. Each configuration is compiled
// twice to warm up, then timed `runs` times (5 by default); the median is reported.
import fs from "node:fs";
import { compile } from "../dist/src/emit/compile.js";
import { nodeHost } from "../dist/src/program/node-host.js";

const targets = { "mnist-mlp": 100, resnet50: 1000 };

const args = process.argv.slice(2);
const json = args.includes("--json");
const runsAt = args.indexOf("--runs");
const runs = runsAt === -1 ? 5 : Number(args[runsAt + 1]);
if (!Number.isInteger(runs) || runs < 1) {
  console.error("usage: node bench/compile.mjs [--json] [--runs N]");
  process.exit(2);
}

const round = (x) => Math.round(x * 10) / 10;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function measure(file, format) {
  const source = fs.readFileSync(file, "utf8");
  const once = async () => {
    const start = process.hrtime.bigint();
    const result = await compile(source, { format }, file, nodeHost);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.files.length !== 1) {
      console.error(`bench/compile.mjs: ${file} gave ${result.files.length} files:`);
      for (const d of result.diagnostics.slice(0, 5)) console.error(`  ${d.code} ${d.message}`);
      process.exit(1);
    }
    return { ms, text: result.files[0].text };
  };
  const first = (await once()).ms;
  await once();
  const times = [];
  let text = "";
  for (let r = 0; r < runs; r++) {
    const t = await once();
    times.push(t.ms);
    text = t.text;
  }
  return {
    medianMs: round(median(times)),
    firstMs: round(first),
    lines: text.split("\n").length - 1,
    bytes: Buffer.byteLength(text),
  };
}

const results = [];
for (const [name, targetMs] of Object.entries(targets)) {
  const file = `examples/${name}.nn`;
  const raw = await measure(file, false);
  const formatted = await measure(file, true);
  results.push({
    name: `compile ${name}`,
    description: `warm compile() of ${file}, format: false and with prettier`,
    runs,
    unformatted: raw,
    formatted,
    prettierMs: round(formatted.medianMs - raw.medianMs),
    targetMs,
    withinTarget: raw.medianMs < targetMs,
    node: process.version,
  });
}

if (json) {
  console.log(JSON.stringify(results));
} else {
  for (const r of results) {
    console.log(
      `${r.name}: format:false median ${r.unformatted.medianMs} ms (target < ${r.targetMs} ms${r.withinTarget ? "" : ", MISSED"}), ` +
        `${r.unformatted.lines.toLocaleString("en-US")} lines / ${r.unformatted.bytes.toLocaleString("en-US")} bytes; ` +
        `with prettier ${r.formatted.medianMs} ms (prettier ≈ ${r.prettierMs} ms; first call in the process ${r.formatted.firstMs} ms), ` +
        `${r.formatted.lines.toLocaleString("en-US")} lines / ${r.formatted.bytes.toLocaleString("en-US")} bytes`,
    );
  }
}
