// One convolution layer on its own, on the WebAssembly target and on TypeScript, timed by CPU time
// (process.cpuUsage) in interleaved rounds in one process (issue 17 item 2: im2col/col2im in WebAssembly).
// Run after `npm run build`: `node bench/wasm-conv-layer.mjs [--before path/to/older/dist]`; with
// --before, the same layers built by an older nnc build (its `--target wasm` modules) join the rounds as
// "before". Cases: LeNet-5's conv2d(16, 5) on [6, 14, 14] (and the first, conv2d(6, 5) on [1, 32, 32]):
// forward at batch 32, and a training step at batch 32 (forward, MSE loss, backward with the input
// gradient — a relu ahead of the convolution makes the input not the model's — and SGD). More cases: the
// list below (`--only TEXT`: the cases whose name contains it).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { nodeHost } from "../dist/src/program/node-host.js";
import { compile } from "../dist/src/emit/compile.js";

const args = process.argv.slice(2);
const beforeDir = args.includes("--before") ? path.resolve(args[args.indexOf("--before") + 1]) : undefined;
const rounds = Number(args.includes("--rounds") ? args[args.indexOf("--rounds") + 1] : 15);
const compileBefore = beforeDir
  ? (await import(pathToFileURL(path.join(beforeDir, "src/emit/compile.js")).href)).compile
  : undefined;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-conv-layer-"));
let count = 0;

async function load(comp, source, options) {
  const r = await comp(source, options, "layer.nn", nodeHost);
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(errors.map((d) => d.message).join("; "));
  const js = ts.transpileModule(r.files[0].text, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText;
  const file = path.join(tmp, `m${++count}.mjs`);
  fs.writeFileSync(file, js);
  return import(pathToFileURL(file).href);
}

const cases = [
  { name: "LeNet conv2d(16, 5) on [6, 14, 14]", input: [6, 14, 14], layer: "conv2d(16, 5)" },
  { name: "LeNet conv2d(6, 5) on [1, 32, 32]", input: [1, 32, 32], layer: "conv2d(6, 5)" },
  { name: "conv2d(32, 3, padding = 1) on [16, 16, 16]", input: [16, 16, 16], layer: "conv2d(32, 3, padding = 1)" },
  { name: "conv1d(32, 5, padding = 2) on [16, 128]", input: [16, 128], layer: "conv1d(32, 5, padding = 2)" },
  {
    name: "grouped conv2d(64, 3, padding = 1, groups = 8) on [64, 14, 14]",
    input: [64, 14, 14],
    layer: "conv2d(64, 3, padding = 1, groups = 8)",
  },
  {
    name: "grouped conv2d(128, 3, padding = 1, groups = 32) on [128, 14, 14] (ResNeXt's 4 a group)",
    input: [128, 14, 14],
    layer: "conv2d(128, 3, padding = 1, groups = 32)",
  },
  {
    name: "depthwise conv2d(96, 3, padding = 1, groups = 96) on [96, 28, 28] (MobileNet)",
    input: [96, 28, 28],
    layer: "conv2d(96, 3, padding = 1, groups = 96)",
  },
  {
    name: "depthwise conv2d(192, 3, stride = 2, padding = 1, groups = 192) on [192, 14, 14]",
    input: [192, 14, 14],
    layer: "conv2d(192, 3, stride = 2, padding = 1, groups = 192)",
  },
  // issue 17's later items: a padding mode other than zeros (the padded copy on the kernels), a transposed
  // convolution (a convolution's kernels the other way round) and conv3d (im2col over three axes)
  {
    name: "reflect-padded conv2d(32, 3, padding = 1, padding_mode = reflect) on [16, 16, 16]",
    input: [16, 16, 16],
    layer: "conv2d(32, 3, padding = 1, padding_mode = reflect)",
  },
  {
    name: "up-convolution conv_transpose2d(32, 2, stride = 2) on [64, 16, 16] (U-Net's)",
    input: [64, 16, 16],
    layer: "conv_transpose2d(32, 2, stride = 2)",
  },
  {
    name: "volume conv3d(16, 3, padding = 1) on [8, 8, 16, 16]",
    input: [8, 8, 16, 16],
    layer: "conv3d(16, 3, padding = 1)",
  },
].filter((c) => !args.includes("--only") || c.name.includes(args[args.indexOf("--only") + 1]));
const n = 32;

function cpuMs(f, reps) {
  const t = process.cpuUsage();
  for (let i = 0; i < reps; i++) f();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000 / reps;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(
  `load average ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(", ")}, ${os.cpus().length} cores, Node ${process.version}`,
);
for (const c of cases) {
  for (const mode of ["forward", "train"]) {
    const body = mode === "train" ? `relu\n  ${c.layer}` : c.layer;
    const source = `model L(x: f32[${c.input.join(", ")}]) {\n  ${body}\n}\n`;
    const impls = [
      ["wasm", await load(compile, source, { target: "wasm" })],
      ["ts", await load(compile, source, { target: "ts" })],
      ...(compileBefore ? [["before (wasm)", await load(compileBefore, source, { target: "wasm" })]] : []),
    ];
    const runs = impls.map(([name, m]) => {
      const size = m.inputSize;
      const x = new Float32Array(n * size).map((_, i) => Math.sin(i * 0.37));
      const target = new Float32Array(n * m.outputSize).map((_, i) => Math.cos(i * 0.11));
      if (mode === "forward") {
        const p = m.createParams(1);
        return [name, () => m.forward(p, x, n), () => m.forward(p, x, n)];
      }
      const trainer = m.createTrainer({ optimizer: "sgd", lr: 1e-6, loss: "mse" }, m.createParams(1));
      return [name, () => m.trainStep(trainer, x, target, n), () => m.forward(trainer.params, x, n)];
    });
    // the implementations agree
    const outs = runs.map(([, , check]) => Float64Array.from(check()));
    for (const o of outs.slice(1)) {
      let worst = 0;
      for (let i = 0; i < o.length; i++) worst = Math.max(worst, Math.abs(o[i] - outs[0][i]));
      if (!(worst < 1e-3)) throw new Error(`${c.name} ${mode}: outputs differ by ${worst}`);
    }
    for (const [, run] of runs) for (let i = 0; i < 30; i++) run(); // warm up (optimizing tier)
    const times = runs.map(() => []);
    for (let r = 0; r < rounds; r++) {
      runs.forEach(([, run], i) => times[i].push(cpuMs(run, 10)));
    }
    const ratio = (i, j) => median(times[i].map((t, r) => times[j][r] / t));
    const line = runs.map(([name], i) => `${name} ${median(times[i]).toFixed(3)} ms`).join(", ");
    const ratios = [
      `wasm vs ts ${ratio(0, 1).toFixed(2)}×`,
      ...(compileBefore ? [`wasm after vs before ${ratio(0, 2).toFixed(2)}×`] : []),
    ];
    console.log(
      `${c.name}, ${mode === "forward" ? "forward" : "training step (relu → conv, input gradient)"}, batch ${n}: ${line}; ${ratios.join(", ")}`,
    );
  }
}
console.log(
  `load average ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(", ")}`,
);
