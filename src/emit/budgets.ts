// Code generation's budgets: what `nnc build`, the API's `compile` and the bundler plugin refuse to spell
// out, checked before any code is generated, so that no spec can exhaust the compiler's memory or time
// (a V8 heap abort) or produce a module no machine can run. Counting has none of these limits: it never
// expands (ARCHITECTURE.md), and its figures are exact bigints at any size.
//
// Two checks, each from the analysis, each giving the figure and the limit:
// 1. Before lowering, on the counting analysis (`expansionProblems`): the lowered model's operations
//    and values (counted exactly without lowering, `ModelAnalysis.expansion`), every size the module
//    would hold as a JavaScript number (past 2^53 − 1 a number no longer holds every integer: NN9002), and
//    the memory the module allocates at batch 1 (NN9004).
// 2. After lowering, before planning (`sourceProblems`): the generated source's size, estimated from the
//    lowered ops (unrolled dense layers grow with their multiply–adds, baked weights with the parameters).
// The limits are documented in docs/generated-code.md ("Limits"); a test keeps the two in step.
import { MAX_MEMORY_BYTES } from "./wasm/target.js";
import type { ModelAnalysis } from "../analyze/analyze.js";
import type { IrOp, LoweredModel } from "../ir/ir.js";
import type { Figures } from "../count/count.js";
import { diagnostic, type Diagnostic, type Span } from "../diagnostics/diagnostic.js";
import { grouped, humanBytes } from "../diagnostics/numbers.js";
import { runtimeText } from "./runtime-text.js";

export const buildLimits = {
  /** Operations of the expanded model. The largest example (Llama 2 7B) has 612; a build of 10,000 small
   *  dense layers took 80 s and 1.2 GB here (formatted), and time and memory grow with the count. */
  ops: 5_000,
  /** Values (each an activation array and its gradient) of the expanded model. */
  values: 10_000,
  /** Estimated bytes of generated source: 8 MiB, 15 times the largest example's module (537 KB). */
  sourceBytes: 8 * 2 ** 20,
  /** Bytes the module allocates at batch 1: 1 TiB (2^40 bytes), more memory than any machine that would
   *  run the module has: Llama 2 7B's module allocates 213 GB at batch 1 (parameters, gradients, activations
   *  and attention scores; generated/llama2-7b.ts). */
  moduleBytes: 2n ** 40n,
  /** The largest `unrollLimit`: 4,096 multiply–adds (a 64 × 64 dense layer). Beyond, an unrolled function
   *  passes V8's bytecode limit for optimization and runs 35–70× slower than the tiled kernel
   *  (emit/module.ts, bench/latest.txt), while its source grows by ~100 bytes per multiply–add. */
  unrollLimit: 4_096,
} as const;

/** The largest integer below which a JavaScript number holds every integer exactly: 2^53 − 1. */
export const maxExact = BigInt(Number.MAX_SAFE_INTEGER);

/** Problems of a model's counting analysis that stop code generation before it lowers the model. */
export function expansionProblems(
  analysis: ModelAnalysis,
  figures: Figures,
  span: Span | undefined,
  dtype: "float32" | "float64",
): Diagnostic[] {
  const name = `\`${analysis.name}\``;
  const { ops, values, elements } = analysis.expansion;
  const exact: [string, bigint][] = [
    ["parameters", figures.params],
    ["buffer elements", figures.buffers],
    ["elements of activations per sample", elements],
    ["operations", ops],
    ["values", values],
  ];
  for (const [what, figure] of exact) {
    if (figure > maxExact) {
      return [
        diagnostic(
          "InexactSize",
          span,
          { model: name, figure: grouped(figure), what, max: grouped(maxExact) },
          {
            notes: [
              "the generated code holds sizes and offsets as JavaScript numbers, which past 2^53 − 1 no longer hold every integer: sizes would be rounded",
            ],
            help: "counting (`nnc check`, `nnc count`) is exact at any size; code generation is not possible at this one",
          },
        ),
      ];
    }
  }
  const problems: Diagnostic[] = [];
  const over = (what: string, figure: bigint, limit: number) =>
    problems.push(
      diagnostic(
        "BuildTooLarge",
        span,
        ["expands", { model: name, figure: grouped(figure), what, limit: grouped(BigInt(limit)) }],
        {
          notes: ["every copy made by `repeat` and every `moe` expert is an op of its own in the generated code"],
          help: "counting (`nnc check`, `nnc count`) works at any size; to build, make the model smaller",
        },
      ),
    );
  if (ops > BigInt(buildLimits.ops)) over("operations", ops, buildLimits.ops);
  if (values > BigInt(buildLimits.values)) over("values (activation arrays)", values, buildLimits.values);
  const bytes = moduleBytes(figures, elements, dtype);
  if (bytes > buildLimits.moduleBytes) {
    problems.push(
      diagnostic(
        "ModuleTooLarge",
        span,
        { model: name, size: humanBytes(bytes), limit: humanBytes(buildLimits.moduleBytes) },
        {
          notes: [
            `${grouped(figures.params)} parameters and their gradients, ${grouped(figures.buffers)} buffer elements, ${grouped(elements)} activation elements per sample and their gradients, ${dtype === "float64" ? 8 : 4} bytes each`,
          ],
          help: "counting (`nnc check`, `nnc count`) works at any size; no machine could run this module",
        },
      ),
    );
  }
  return problems;
}

/** Bytes the module allocates at batch 1, kernels' scratch arrays and optimizer state aside: parameters
 *  and their gradients, buffers, every value (activation) and its gradient. */
export function moduleBytes(figures: Figures, activationElements: bigint, dtype: "float32" | "float64"): bigint {
  return (2n * figures.params + figures.buffers + 2n * activationElements) * (dtype === "float64" ? 8n : 4n);
}

/** Bytes of generated source, estimated: the fixed runtime, then per op, per parameter tensor and per
 *  value what the module writes for each (functions and calls, manifest entries and initialization,
 *  array declarations and allocation), unrolled dense layers at ~100 bytes per multiply–add (once per
 *  distinct layer when copies share a function), baked weights as base64, and the weight-file runtime of a
 *  trainable module. Measured against every
 *  module in generated/ (test/budgets.test.ts): the estimate lies between 1 and 3 times the real size. */
export function estimateSource(
  ops: readonly IrOp[],
  values: number,
  options: {
    unrollLimit: number;
    dtype: "float32" | "float64";
    baked?: bigint;
    share?: boolean;
    target?: "ts" | "wasm" | "auto";
  },
): bigint {
  let bytes = 45_000n + 250n * BigInt(values);
  const bodies = new Set<string>();
  // The WebAssembly target (wasm/target.ts): ~6.5 KB of loader and staging code once, and per distinct
  // [out, in] dense shape above the unroll limit its kernels as base64 (~3 KB of bytes) and their table entry.
  const elt = options.dtype === "float64" ? 8n : 4n;
  const params = ops.reduce(
    (sum, op) => sum + op.tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1n), 0n),
    0n,
  );
  const wasm =
    (options.target ?? "auto") !== "ts" && options.baked === undefined && 4n * params * elt <= BigInt(MAX_MEMORY_BYTES);
  const wasmShapes = new Set<string>();
  // Convolutions (conv1d, conv2d, conv3d; grouped and depthwise too) on that target: ~2 KB of staging code once, and per distinct
  // layer its five kernels as base64 (products, im2col and col2im: ~4–5 KB, measured 3.9 KB a convolution on
  // DenseNet-121, 4.4 KB on U-Net, 4.9 KB on ResNet-18) and the TypeScript branch's own im2col code beside
  // the one-line WebAssembly call (the estimate is 0.83 of DenseNet-121's real size, 1.00 of MobileNet v2's).
  // Transposed convolutions run on a convolution's kernels too (the same per layer; their staging ~1.5 KB
  // once: U-Net's four, 20 KB in all).
  const wasmConvs = new Set<string>();
  let transposed = false;
  // Matrices stored [in, out] (dense `layout = in_out`, transposed ties, attention's HF Conv1D projections)
  // run on the same kernels by transposition, with staging of their own (1.6 KB once, and 2.0 KB more for a
  // fused q/k/v split, wasmDenseInOutForward3/Backward3: measured on GPT-2's module); attention layers with
  // such projections have both branches like the others.
  let inOutStaging = false;
  for (const op of ops) {
    bytes += 1_100n + 300n * BigInt(op.tensors.length);
    const transpose = op.kind === "conv_transpose1d" || op.kind === "conv_transpose2d";
    if (wasm && (op.kind === "conv1d" || op.kind === "conv2d" || op.kind === "conv3d" || transpose)) {
      const args = JSON.stringify([...op.args], (_, v: unknown) => (typeof v === "bigint" ? String(v) : v));
      const key = `${op.kind} ${args} ${op.tensors.map((t) => t.shape.join("x")).join(" ")}`;
      if (!wasmConvs.has(key)) bytes += (wasmConvs.size === 0 ? 2_000n : 0n) + 8_000n;
      wasmConvs.add(key);
      if (transpose && !transposed) bytes += 1_500n;
      transposed ||= transpose;
    }
    // Attention on that target: each [out, in] projection's WebAssembly branch beside the TypeScript one
    // (~2.5 KB a layer), and above head width 16 the per-head products' branches (~5 KB; measured on
    // transformer.nn's 18 and whisper-tiny's 12 attention layers, ~6 KB a layer together).
    if (wasm && op.kind === "attention") {
      const hd = op.attrs?.["head_dim"];
      bytes += 2_500n + (typeof hd === "bigint" && hd > 16n ? 5_000n : 0n);
      if (op.tensors.some((t) => t.layout === "in_out") && !inOutStaging) {
        bytes += 3_600n;
        inOutStaging = true;
      }
    }
    // Recurrent layers on that target (wasm/recurrent.ts): each weight_ih / weight_hh above the unroll limit
    // is a dense kernel shape of the table (as a dense layer's), and the layer's WebAssembly branch beside
    // the TypeScript steps (~5 KB a direction; measured on lstm-classifier's three modules).
    if (wasm && (op.kind === "rnn" || op.kind === "lstm" || op.kind === "gru")) {
      const products = op.tensors.filter(
        (t) => /weight_(ih|hh)_/.test(t.name) && t.shape.reduce((a, b) => a * b, 1n) > BigInt(options.unrollLimit),
      );
      for (const t of products) {
        const key = `${t.shape.join("x")}${t.name.includes("weight_ih") ? " bias" : ""}`;
        if (!wasmShapes.has(key)) bytes += (wasmShapes.size === 0 ? 6_500n : 0n) + 4_200n;
        wasmShapes.add(key);
      }
      if (products.length > 0) bytes += 5_000n * BigInt(products.length);
    }
    if (op.kind !== "dense") continue;
    const macs = denseMacs(op);
    if (wasm && macs !== undefined && macs > BigInt(options.unrollLimit)) {
      const inOut = op.tensors.some((t) => t.layout === "in_out" || t.tiedTransposed);
      const key = `${op.tensors.map((t) => t.shape.join("x")).join(" ")}${inOut ? " in_out" : ""}`;
      if (!wasmShapes.has(key)) bytes += (wasmShapes.size === 0 ? 6_500n : 0n) + 4_200n;
      wasmShapes.add(key);
      if (inOut && !inOutStaging) bytes += 1_600n;
      inOutStaging ||= inOut;
    }
    if (macs === undefined || macs > BigInt(options.unrollLimit)) continue;
    const key = `${JSON.stringify([...op.args].map(([k, v]) => [k, v.kind === "int" ? String(v.value) : v]))} ${op.tensors.map((t) => t.shape.join("x")).join(" ")}`;
    const shared = options.baked === undefined && options.share !== false;
    if (shared && bodies.has(key)) continue;
    bodies.add(key);
    bytes += 100n * macs;
  }
  // With any layer on that target, the optimizer's and gradient clipping's kernels (wasm/optimizer.ts) as
  // base64 and the trainer's code that calls them: ~6.9 KB (measured on generated/: 6.9–7.0 KB per module,
  // 5.1 KB for U-Net, whose moments do not fit the memory).
  if (wasmShapes.size > 0 || wasmConvs.size > 0) bytes += 6_900n;
  if (options.baked !== undefined) bytes += (options.baked * (options.dtype === "float64" ? 8n : 4n) * 4n) / 3n;
  // A trainable module carries the weight-file runtime (src/emit/runtime/, copied in as it is).
  else bytes += BigInt(runtimeText("safetensors").length + runtimeText("weights").length);
  return bytes;
}

/** A dense layer's multiply–adds per row: its weight's elements. */
function denseMacs(op: IrOp): bigint | undefined {
  const weight = op.tensors.find((t) => t.name.endsWith(".weight") || t.name.endsWith("router.weight"));
  return weight?.shape.reduce((a, b) => a * b, 1n);
}

/** Problems of a lowered model's generated source, estimated before any code is generated. */
export function sourceProblems(
  analysis: LoweredModel,
  span: Span | undefined,
  options: { unrollLimit: number; dtype: "float32" | "float64"; baked?: bigint; target?: "ts" | "wasm" | "auto" },
): Diagnostic[] {
  const estimate = estimateSource(analysis.ops, analysis.values.length, options);
  if (estimate <= BigInt(buildLimits.sourceBytes)) return [];
  return [
    diagnostic(
      "BuildTooLarge",
      span,
      [
        "source",
        { model: analysis.name, size: humanBytes(estimate), limit: humanBytes(BigInt(buildLimits.sourceBytes)) },
      ],
      {
        notes: [
          `estimated from its ${grouped(BigInt(analysis.ops.length))} operations and ${grouped(BigInt(analysis.values.length))} values${options.unrollLimit > 0 ? `; dense layers of at most ${grouped(BigInt(options.unrollLimit))} multiply–adds (\`unrollLimit\`) are unrolled, ~100 bytes per multiply–add` : ""}${options.baked !== undefined ? "; baked weights add 4/3 of their bytes" : ""}`,
        ],
        help: "a smaller unroll limit (`--unroll-limit`) shrinks unrolled layers; otherwise make the model smaller",
      },
    ),
  ];
}
