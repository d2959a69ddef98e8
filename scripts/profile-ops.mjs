// Time per op of a generated module: where a forward pass or a training step spends its time.
// Usage (after `npm run build`): node scripts/profile-ops.mjs SPEC.nn [--batch N] [--mode forward|train]
//   [--steps N] [--dtype float32|float64]
// The spec is compiled with `compile`, transpiled, and every `forwardK(...)` / `backwardK(...)` call of the
// module is wrapped in a timer; after warm-up, the mean per call of each op over `steps` calls is printed,
// largest first, with its share of the whole call. Training uses SGD (lr 0.01) and cross entropy over the
// last output axis (the spec's loss, if it states one). Inputs are seeded (token ids below the vocabulary).
// The timers cost about 0.1 µs per op call: for sub-microsecond models, use bench/workloads.mjs instead.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { compile } from "../dist/src/emit/compile.js";

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : args[at + 1];
};
const specFile = args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
if (!specFile) {
  console.error(
    "usage: node scripts/profile-ops.mjs SPEC.nn [--batch N] [--mode forward|train] [--steps N] [--dtype float32|float64]",
  );
  process.exit(2);
}
const n = Number(flag("batch", "1"));
const mode = flag("mode", "forward");
const steps = Number(flag("steps", "100"));
const dtype = flag("dtype", "float32");

const compiled = await compile(fs.readFileSync(specFile, "utf8"), { dtype }, path.basename(specFile));
if (compiled.files.length === 0) {
  for (const d of compiled.diagnostics) console.error(`${d.code} ${d.message}`);
  process.exit(1);
}
const text = compiled.files[0].text;
let js = ts.transpileModule(text, {
  compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
}).outputText;
js = js.replace(
  // An op's call: `forward3(p, n)`, `backward3(p, gp, n, training)`, `forward1(n)` (an op without tensors).
  /^(\s*)((?:forward|backward)\d+)\(((?:p, )?(?:gp, )?n(?:, training)?)\);$/gm,
  (_, indent, name, params) =>
    `${indent}{ const t0 = performance.now(); ${name}(${params}); opTimes["${name}"] = (opTimes["${name}"] ?? 0) + performance.now() - t0; }`,
);
// An op whose code is a shared function (src/emit/shared.ts): `layernormForward1(p, n, …); // op 2: ln (layernorm)`.
const sharedWhat = {};
js = js.replace(/^(\s*)(\w+?(Forward|Backward)\d+\(.*\));\s*\/\/ op (\d+): (.*)$/gm, (_, indent, call, fb, k, d) => {
  const name = `${fb.toLowerCase()}${k}`;
  sharedWhat[name] = d;
  return `${indent}{ const t0 = performance.now(); ${call}; opTimes["${name}"] = (opTimes["${name}"] ?? 0) + performance.now() - t0; }`;
});
js = `export const opTimes = {};\n${js}`;
const file = path.join(os.tmpdir(), `nnc-profile-${process.pid}.mjs`);
fs.writeFileSync(file, js);
try {
  const m = await import(pathToFileURL(file).href);
  const input = m.inputs[0];
  const F = dtype === "float64" ? Float64Array : Float32Array;
  const x =
    input.dtype === "token"
      ? Int32Array.from({ length: n * input.size }, (_, i) => (i * 7919) % input.vocab)
      : F.from({ length: n * input.size }, (_, i) => Math.sin(i * 0.37));
  const classes = m.outputs[0].shape.at(-1);
  const labels = Array.from({ length: (n * m.outputs[0].size) / classes }, (_, i) => (i * 31) % classes);
  const trainer = m.createTrainer({ optimizer: "sgd", lr: 0.01, loss: "cross_entropy" });
  const call = mode === "train" ? () => m.trainStep(trainer, x, labels, n) : () => m.forward(trainer.params, x, n);
  const warm = performance.now();
  while (performance.now() - warm < 1000) call();
  for (const k of Object.keys(m.opTimes)) m.opTimes[k] = 0;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) call();
  const total = (performance.now() - t0) / steps;
  const what = {
    ...sharedWhat,
    ...Object.fromEntries(
      [...text.matchAll(/\/\*\* (Forward|Backward) of op (\d+): ([^*]+)\. \*\//g)].map(([, fb, k, d]) => [
        `${fb.toLowerCase()}${k}`,
        d,
      ]),
    ),
  };
  const us = (ms) => `${(ms * 1000).toFixed(1)} µs`;
  console.log(`${path.basename(specFile)}, ${mode}, batch ${n}, ${dtype}: ${us(total)} per call (mean of ${steps})`);
  let listed = 0;
  for (const [k, v] of Object.entries(m.opTimes).sort((a, b) => b[1] - a[1])) {
    const per = v / steps;
    listed += per;
    console.log(
      `${us(per).padStart(12)}  ${((100 * per) / total).toFixed(1).padStart(5)} %  ${k.padEnd(12)} ${what[k] ?? ""}`,
    );
  }
  console.log(
    `${us(total - listed).padStart(12)}  ${((100 * (total - listed)) / total).toFixed(1).padStart(5)} %  (outside the ops: checks, loss, optimizer)`,
  );
} finally {
  fs.unlinkSync(file);
}
