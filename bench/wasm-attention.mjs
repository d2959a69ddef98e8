// Attention's per-head products (issue 17 item 2: the score product Q·Kᵀ and the value product P·V, and
// their backward products) on the dense layers' WebAssembly SIMD kernels (src/emit/wasm/dense.ts), against
// the TypeScript loops a generated module runs today (src/emit/kernels/attention.ts), in one process,
// interleaved, after checking that they agree. Causal self-attention, float32, one sample of T positions and
// H heads of hd, q/k/v in the module's [T, H·hd] layout.
//
// - TypeScript: the generated module's per-head code, written out here the way kernels/attention.ts emits it
//   (head widths ≤ 16 unrolled over d, wider ones looped; causal rows read keys j ≤ i).
// - WebAssembly: per head, q_h, k_h, v_h (and dO_h) gathered into contiguous [T, hd] rows of the memory
//   (one strided copy each), then the dense kernels of shape (in hd, out T): scores = q_h·k_hᵀ (forward's
//   dot-product tiles, the full T × T square: the kernels know no mask), softmax in TypeScript over the
//   causal part (zeros above), o_h = P·v_h (dx = dy·W's broadcast tiles), the head output scattered back.
//   Backward: dP = dO_h·v_hᵀ (forward), dv_h += Pᵀ·dO_h (dW's tiles), dS in TypeScript, dq_h = dS·k_h (dx),
//   dk_h += dSᵀ·q_h (dW), then dq/dk/dv scattered back.
// Run after `npm run build`: `node bench/wasm-attention.mjs [--quick]`.
/* global WebAssembly */
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const quick = process.argv.includes("--quick");
const dense = await import(pathToFileURL(path.join(root, "dist/src/emit/wasm/dense.js")).href);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};
const range = (k) => Array.from({ length: k }, (_, i) => i);
const off = (base, d) => (d === 0 ? base : `${base} + ${d}`);

/** The generated module's forward and backward per-head loops for one sample (kernels/attention.ts). */
function tsKernels(T, H, hd) {
  const Q = H * hd;
  const scale = 1 / Math.sqrt(hd);
  const unrolled = hd <= 16;
  const fwd = `
for (let h = 0; h < ${H}; h++) {
  const qh = h * ${hd};
  const kh = h * ${hd};
  for (let i = 0; i < ${T}; i++) {
    const qi = qh + i * ${Q};
    const row = (h * ${T} + i) * ${T};
    let m = -Infinity;
    for (let j = 0; j < i + 1; j++) {
      const kj = kh + j * ${Q};
      ${
        unrolled
          ? `const s = ${range(hd)
              .map((d) => `q[${off("qi", d)}] * k[${off("kj", d)}]`)
              .join(" + ")};`
          : `let s = 0;
      for (let d = 0; d < ${hd}; d++) s += q[qi + d] * k[kj + d];`
      }
      probs[row + j] = s * ${scale};
      m = Math.max(m, probs[row + j]);
    }
    let sum = 0;
    for (let j = 0; j < i + 1; j++) {
      const e = Math.exp(probs[row + j] - m);
      probs[row + j] = e;
      sum += e;
    }
    const r = 1 / sum;
    for (let j = 0; j < i + 1; j++) probs[row + j] *= r;
    const oi = qi;
    ${
      unrolled
        ? `${range(hd)
            .map((d) => `let o${d} = 0;`)
            .join(" ")}
    for (let j = 0; j < i + 1; j++) {
      const a = probs[row + j];
      if (a === 0) continue;
      const vj = kh + j * ${Q};
      ${range(hd)
        .map((d) => `o${d} += a * v[${off("vj", d)}];`)
        .join(" ")}
    }
    ${range(hd)
      .map((d) => `heads[${off("oi", d)}] = o${d};`)
      .join(" ")}`
        : `for (let d = 0; d < ${hd}; d++) heads[oi + d] = 0;
    for (let j = 0; j < i + 1; j++) {
      const a = probs[row + j];
      if (a === 0) continue;
      const vj = kh + j * ${Q};
      for (let d = 0; d < ${hd}; d++) heads[oi + d] += a * v[vj + d];
    }`
    }
  }
}`;
  const bwd = `
dq.fill(0); dk.fill(0); dv.fill(0);
for (let h = 0; h < ${H}; h++) {
  const kc = h * ${hd};
  for (let i = 0; i < ${T}; i++) {
    const oi = i * ${Q} + h * ${hd};
    const row = (h * ${T} + i) * ${T};
    let s = 0;${
      unrolled
        ? `
    ${range(hd)
      .map((d) => `const h${d} = dHeads[${off("oi", d)}];`)
      .join(" ")}`
        : ""
    }
    for (let j = 0; j < i + 1; j++) {
      const vj = j * ${Q} + kc;
      ${
        unrolled
          ? `const dp = ${range(hd)
              .map((d) => `h${d} * v[${off("vj", d)}]`)
              .join(" + ")};`
          : `let dp = 0;
      for (let d = 0; d < ${hd}; d++) dp += dHeads[oi + d] * v[vj + d];`
      }
      const pr = probs[row + j];
      const a = pr;
      dRow[j] = dp;
      s += pr * dp;
      if (a === 0) continue;
      ${
        unrolled
          ? range(hd)
              .map((d) => `dv[${off("vj", d)}] += a * h${d};`)
              .join(" ")
          : `for (let d = 0; d < ${hd}; d++) dv[vj + d] += a * dHeads[oi + d];`
      }
    }
    const qi = oi;${
      unrolled
        ? `
    ${range(hd)
      .map((d) => `const q${d} = q[${off("qi", d)}];`)
      .join(" ")}
    ${range(hd)
      .map((d) => `let e${d} = 0;`)
      .join(" ")}`
        : ""
    }
    for (let j = 0; j < i + 1; j++) {
      const ds = probs[row + j] * (dRow[j] - s) * ${scale};
      if (ds === 0) continue;
      const kj = j * ${Q} + kc;
      ${
        unrolled
          ? `${range(hd)
              .map((d) => `e${d} += ds * k[${off("kj", d)}];`)
              .join(" ")}
      ${range(hd)
        .map((d) => `dk[${off("kj", d)}] += ds * q${d};`)
        .join(" ")}`
          : `for (let d = 0; d < ${hd}; d++) {
        dq[oi + d] += ds * k[kj + d];
        dk[kj + d] += ds * q[qi + d];
      }`
      }
    }${
      unrolled
        ? `
    ${range(hd)
      .map((d) => `dq[${off("oi", d)}] += e${d};`)
      .join(" ")}`
        : ""
    }
  }
}`;
  return {
    forward: new Function("q", "k", "v", "probs", "heads", fwd),
    backward: new Function("q", "k", "v", "probs", "dHeads", "dq", "dk", "dv", "dRow", bwd),
  };
}

/** The same on the dense SIMD kernels of shape (in hd, out T), with the copies a module would make. */
function wasmKernels(T, H, hd) {
  const Q = H * hd;
  const elt = 4;
  const shape = { inFeatures: hd, outFeatures: T, bias: false, dtype: "float32" };
  const bytes = dense.kernelModule([
    dense.denseForward(shape, "forward"),
    dense.denseBackwardInput(shape, { accumulate: false }, "backwardInput"),
    dense.denseBackwardWeight(shape, { accumulate: false }, "backwardWeight"),
  ]);
  // Scratch: q_h, k_h, v_h, dO_h, o_h/dq_h, dk_h, dv_h ([T, hd] each), scores/P and dP/dS ([T, T] each).
  const sizes = [T * hd, T * hd, T * hd, T * hd, T * hd, T * hd, T * hd, T * T, T * T];
  const at = [];
  let end = 0;
  for (const s of sizes) {
    at.push(end);
    end += Math.ceil(s / 4) * 4;
  }
  const memory = new WebAssembly.Memory({ initial: Math.ceil((end * elt) / 65536) + 1 });
  const { exports: x } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  const heap = new Float32Array(memory.buffer);
  const [aq, ak, av, ado, ao, adk, adv, aS, adP] = at;
  const scale = Math.fround(1 / Math.sqrt(hd));
  const gather = (src, h, dst) => {
    for (let t = 0; t < T; t++) heap.set(src.subarray(t * Q + h * hd, t * Q + h * hd + hd), dst + t * hd);
  };
  const scatter = (src, h, dst) => {
    for (let t = 0; t < T; t++) dst.set(heap.subarray(src + t * hd, src + t * hd + hd), t * Q + h * hd);
  };
  return {
    forward(q, k, v, probs, heads) {
      for (let h = 0; h < H; h++) {
        gather(q, h, aq);
        gather(k, h, ak);
        gather(v, h, av);
        x.forward(aq * elt, ak * elt, 0, aS * elt, T);
        for (let i = 0; i < T; i++) {
          const row = aS + i * T;
          let m = -Infinity;
          for (let j = 0; j <= i; j++) m = Math.max(m, (heap[row + j] *= scale));
          let sum = 0;
          for (let j = 0; j <= i; j++) sum += heap[row + j] = Math.exp(heap[row + j] - m);
          const r = 1 / sum;
          for (let j = 0; j <= i; j++) heap[row + j] *= r;
          heap.fill(0, row + i + 1, row + T);
        }
        probs.set(heap.subarray(aS, aS + T * T), h * T * T);
        x.backwardInput(aS * elt, av * elt, ao * elt, T);
        scatter(ao, h, heads);
      }
    },
    backward(q, k, v, probs, dHeads, dq, dk, dv) {
      for (let h = 0; h < H; h++) {
        gather(q, h, aq);
        gather(k, h, ak);
        gather(v, h, av);
        gather(dHeads, h, ado);
        heap.set(probs.subarray(h * T * T, (h + 1) * T * T), aS);
        x.forward(ado * elt, av * elt, 0, adP * elt, T); // dP = dO·vᵀ
        x.backwardWeight(aS * elt, ado * elt, adv * elt, T); // dv = Pᵀ·dO
        for (let i = 0; i < T; i++) {
          const row = i * T;
          let s = 0;
          for (let j = 0; j <= i; j++) s += heap[aS + row + j] * heap[adP + row + j];
          for (let j = 0; j <= i; j++) heap[adP + row + j] = heap[aS + row + j] * (heap[adP + row + j] - s) * scale;
          heap.fill(0, adP + row + i + 1, adP + row + T);
        }
        x.backwardInput(adP * elt, ak * elt, ao * elt, T); // dq = dS·k
        x.backwardWeight(adP * elt, aq * elt, adk * elt, T); // dk = dSᵀ·q
        scatter(ao, h, dq);
        scatter(adk, h, dk);
        scatter(adv, h, dv);
      }
    },
  };
}

function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

function maxRel(a, b) {
  let e = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return e / s;
}

const configs = [
  { name: "tiny-gpt (T 16, 4 heads of 8)", T: 16, H: 4, hd: 8 },
  { name: "T 16, 4 heads of 16", T: 16, H: 4, hd: 16 },
  { name: "T 64, 4 heads of 16", T: 64, H: 4, hd: 16 },
  { name: "T 16, 4 heads of 17", T: 16, H: 4, hd: 17 },
  { name: "T 16, 4 heads of 32", T: 16, H: 4, hd: 32 },
  { name: "T 16, 12 heads of 64", T: 16, H: 12, hd: 64 },
  { name: "T 64, 12 heads of 64", T: 64, H: 12, hd: 64 },
  { name: "T 128, 12 heads of 64", T: 128, H: 12, hd: 64 },
];
console.log(
  `attention per-head products, one sample, causal, float32 — Node ${process.version}, ${os.cpus()[0]?.model ?? "?"}, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
console.log(
  "  CPU time per sample (median of interleaved rounds); wasm/ts = TypeScript's time / WebAssembly's (> 1: wasm faster)",
);
for (const c of configs) {
  const { T, H, hd } = c;
  const Q = H * hd;
  const rand = seeded(T * 1000 + hd);
  const mk = () => Float32Array.from({ length: T * Q }, rand);
  const [q, k, v, dHeads] = [mk(), mk(), mk(), mk()];
  const ts = tsKernels(T, H, hd);
  const wa = wasmKernels(T, H, hd);
  const bufs = () => ({
    probs: new Float32Array(H * T * T),
    heads: new Float32Array(T * Q),
    dq: new Float32Array(T * Q),
    dk: new Float32Array(T * Q),
    dv: new Float32Array(T * Q),
  });
  const [bt, bw] = [bufs(), bufs()];
  const dRow = new Float32Array(T);
  ts.forward(q, k, v, bt.probs, bt.heads);
  ts.backward(q, k, v, bt.probs, dHeads, bt.dq, bt.dk, bt.dv, dRow);
  wa.forward(q, k, v, bw.probs, bw.heads);
  wa.backward(q, k, v, bw.probs, dHeads, bw.dq, bw.dk, bw.dv);
  const errs = ["heads", "dq", "dk", "dv"].map((n) => maxRel(bw[n], bt[n]));
  if (errs.some((e) => !(e < 1e-4))) throw new Error(`${c.name}: wasm disagrees with ts: ${errs.join(", ")}`);
  // Reps of a sample: about 5 ms of TypeScript at 1 GFLOP/s. Times are this process's CPU time
  // (process.cpuUsage: the machine is shared, and wall time counts the other processes' slices).
  const reps = Math.max(1, Math.round(2.5e6 / (T * T * Q)));
  const rounds = quick ? 15 : 61;
  const sample = (f) => {
    const t0 = process.cpuUsage();
    for (let r = 0; r < reps; r++) f();
    const t = process.cpuUsage(t0);
    return (t.user + t.system) / 1000 / reps;
  };
  const fwdTs = [];
  const fwdWa = [];
  const bwdTs = [];
  const bwdWa = [];
  for (let r = 0; r < rounds; r++) {
    fwdTs.push(sample(() => ts.forward(q, k, v, bt.probs, bt.heads)));
    fwdWa.push(sample(() => wa.forward(q, k, v, bw.probs, bw.heads)));
    bwdTs.push(sample(() => ts.backward(q, k, v, bt.probs, dHeads, bt.dq, bt.dk, bt.dv, dRow)));
    bwdWa.push(sample(() => wa.backward(q, k, v, bw.probs, dHeads, bw.dq, bw.dk, bw.dv)));
  }
  const us = (ms) => `${(ms * 1000).toFixed(1)} µs`;
  const [ft, fw, bt2, bw2] = [fwdTs, fwdWa, bwdTs, bwdWa].map(median);
  console.log(
    `  ${c.name.padEnd(32)} forward ts ${us(ft).padStart(10)}  wasm ${us(fw).padStart(10)}  wasm/ts ${(ft / fw).toFixed(2)}×   backward ts ${us(bt2).padStart(10)}  wasm ${us(bw2).padStart(10)}  wasm/ts ${(bt2 / bw2).toFixed(2)}×   max rel diff ${Math.max(...errs).toExponential(1)}`,
  );
}
console.log(
  `  load after: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);

// ── Whole modules: a training step and a forward pass, --target ts against --target wasm ─────────────────
// The wasm module also with its attention patched back to TypeScript (as bench/workloads.mjs's ts-attn
// row): "ts-heads" the per-head products only, "ts-attn" the per-head products and the projections.
const { compile } = await import(pathToFileURL(path.join(root, "dist/src/index.js")).href);
const ts = (await import("typescript")).default;
const fs = await import("node:fs");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nnc-wasm-attention-"));

function headsOnTypeScript(text) {
  const patched = text.replaceAll(
    /if \(arena\) \{(\s*)\/\/ on the SIMD kernels \(src\/emit\/wasm\/attention\.ts\)/g,
    "if (false) {$1//",
  );
  return patched === text ? undefined : patched;
}
function projectionsOnTypeScript(text) {
  return text.replace(
    /(\/\/ (?:[qkv] = [^\n]*every position of every sample|[qkv]: d\([^\n]*|output projection[^\n]*)\n\s*)if \(arena\) wasmDense/g,
    "$1if (false) wasmDense",
  );
}
let loaded = 0;
async function load(source, target, patch) {
  const result = await compile(source, { target }, "bench.nn");
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(errors.map((d) => `${d.code} ${d.message}`).join("; "));
  let text = result.files[0].text;
  if (patch) {
    text = patch(text);
    if (text === undefined) return undefined;
  }
  const js = ts.transpileModule(text, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText;
  const file = path.join(tmp, `m${++loaded}.mjs`);
  fs.writeFileSync(file, js);
  return import(pathToFileURL(file).href);
}

const gpt = (name, { ctx, d, heads, layers, batch }) => ({
  name,
  batch,
  ctx,
  source: `model G(tokens: token[${ctx}] of 64) {
  embedding(64, ${d}) as wte
  positional(${ctx}, ${d}) as wpe
  repeat ${layers} as h {
    residual {
      layernorm as ln_1
      attention(${heads}, causal = true) as attn
    }
    residual {
      layernorm as ln_2
      dense(${4 * d}) as c_fc
      gelu(approximate = tanh)
      dense(${d}) as c_proj
    }
  }
  layernorm as ln_f
  dense(64, bias = false, tie = wte) as lm_head
  loss cross_entropy
}
`,
});
const models = [
  { ...gpt("tiny-gpt (examples/tiny-gpt.nn), batch 8", { ctx: 16, d: 32, heads: 4, layers: 2, batch: 8 }) },
  gpt("gpt-like, 2 layers, d 256, 4 heads of 64, T 64, batch 4", { ctx: 64, d: 256, heads: 4, layers: 2, batch: 4 }),
];
models[0].source = fs.readFileSync(path.join(root, "examples/tiny-gpt.nn"), "utf8");
console.log();
console.log(
  `whole modules, float32, CPU time per call (median of interleaved rounds), load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}; speedup = --target ts's time / the row's`,
);
for (const c of models) {
  const variants = [
    ["ts", await load(c.source, "ts")],
    ["wasm", await load(c.source, "wasm")],
    ["wasm ts-heads", await load(c.source, "wasm", headsOnTypeScript)],
    ["wasm ts-attn", await load(c.source, "wasm", (t) => projectionsOnTypeScript(headsOnTypeScript(t) ?? t))],
  ].filter(([, m]) => m !== undefined);
  const n = c.batch;
  const rand = seeded(5);
  const tokens = Int32Array.from({ length: n * c.ctx }, () => Math.floor((rand() + 0.5) * 64) % 64);
  const targets = Array.from({ length: n * c.ctx }, () => Math.floor((rand() + 0.5) * 64) % 64);
  const runs = variants.map(([name, m]) => {
    const trainer = m.createTrainer({ optimizer: "sgd", lr: 0.01, seed: 1 });
    const params = m.createParams(1);
    return {
      name,
      train: () => m.trainStep(trainer, tokens, targets, n),
      forward: () => m.forward(params, tokens, n),
      loss: m.trainStep(m.createTrainer({ optimizer: "sgd", lr: 0.01, seed: 1 }), tokens, targets, n),
    };
  });
  const losses = runs.map((r) => r.loss);
  if (losses.some((l) => Math.abs(l - losses[0]) > 1e-4 * Math.abs(losses[0])))
    throw new Error(`${c.name}: first losses differ: ${losses.join(", ")}`);
  const times = runs.map(() => ({ train: [], forward: [] }));
  const rounds = quick ? 9 : 31;
  const cpu = (f, reps) => {
    const t0 = process.cpuUsage();
    for (let r = 0; r < reps; r++) f();
    const t = process.cpuUsage(t0);
    return (t.user + t.system) / 1000 / reps;
  };
  const reps = c.ctx >= 64 ? 1 : 10;
  for (let r = 0; r < rounds; r++) {
    runs.forEach((run, k) => {
      times[k].train.push(cpu(run.train, reps));
      times[k].forward.push(cpu(run.forward, reps));
    });
  }
  console.log(`  ${c.name} (first losses agree: ${losses.map((l) => l.toFixed(5)).join(", ")})`);
  const base = { train: median(times[0].train), forward: median(times[0].forward) };
  runs.forEach((run, k) => {
    const t = median(times[k].train);
    const f = median(times[k].forward);
    console.log(
      `    ${run.name.padEnd(16)} training step ${t.toFixed(2).padStart(8)} ms  ${(base.train / t).toFixed(2)}×   forward ${f.toFixed(2).padStart(8)} ms  ${(base.forward / f).toFixed(2)}×`,
    );
  });
}
console.log(
  `  load after: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
