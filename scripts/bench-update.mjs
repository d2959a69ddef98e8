// A/B of the optimizer update (issue 17 item 3): one generated module (`--target wasm`) with the kernel update
// and clipping, and the same text with `resident` always undefined (the TypeScript ones), interleaved in one process,
// CPU time per training step (process.cpuUsage). Usage (after `npm run build`):
//   node scripts/bench-update.mjs SPEC.nn BATCH sgd|momentum|adam|adamw [float32|float64]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { compile } from "../dist/src/emit/compile.js";
const [spec, batchArg, optimizer, dtype = "float32"] = process.argv.slice(2);
const n = Number(batchArg);
const compiled = await compile(fs.readFileSync(spec, "utf8"), { dtype, target: "wasm" }, "spec.nn");
const text = compiled.files[0].text;
const cond = /ownGrads\(arena, g\) \? arena : undefined;/;
if (!cond.test(text)) throw new Error("no update branch");
const load = async (t, tag) => {
  const js = ts.transpileModule(t, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText;
  const f = path.join(os.tmpdir(), `welem-bench-${tag}-${process.pid}.mjs`);
  fs.writeFileSync(f, js);
  const m = await import(pathToFileURL(f).href);
  fs.unlinkSync(f);
  return m;
};
const mods = {
  wasm: await load(text, "a"),
  ts: await load(text.replace(cond, "ownGrads(arena, g) ? undefined : undefined;"), "b"),
};
const F = dtype === "float64" ? Float64Array : Float32Array;
const run = {};
for (const [k, m] of Object.entries(mods)) {
  const input = m.inputs[0];
  const x =
    input.dtype === "token"
      ? Int32Array.from({ length: n * input.size }, (_, i) => (i * 7919) % input.vocab)
      : F.from({ length: n * input.size }, (_, i) => Math.sin(i * 0.37));
  const classes = m.outputs[0].shape.at(-1);
  const labels = Array.from({ length: (n * m.outputs[0].size) / classes }, (_, i) => (i * 31) % classes);
  const opts = {
    optimizer,
    lr: 0.001,
    loss: "cross_entropy",
    ...(optimizer === "momentum" ? { optimizer: "sgd", momentum: 0.9 } : {}),
  };
  const trainer = m.createTrainer(opts);
  run[k] = () => m.trainStep(trainer, x, labels, n);
}
for (let i = 0; i < 20; i++) for (const f of Object.values(run)) f();
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const times = { wasm: [], ts: [] };
const reps = Number(process.env.REPS ?? 40);
for (let r = 0; r < reps; r++) {
  for (const k of r % 2 ? ["ts", "wasm"] : ["wasm", "ts"]) {
    const t0 = cpu();
    for (let i = 0; i < 5; i++) run[k]();
    times[k].push((cpu() - t0) / 5);
  }
}
const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
const ratios = times.ts.map((t, i) => t / times.wasm[i]).sort((a, b) => a - b);
console.log(
  `${path.basename(spec)} batch ${n} ${optimizer} ${dtype}: step (CPU ms, median) kernel update ${med(times.wasm).toFixed(3)}, TypeScript update ${med(times.ts).toFixed(3)}; ts/wasm median ${ratios[ratios.length >> 1].toFixed(3)} (q1 ${ratios[ratios.length >> 2].toFixed(3)}, q3 ${ratios[(3 * ratios.length) >> 2].toFixed(3)}); load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
