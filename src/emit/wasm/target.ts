// The WebAssembly target of a generated module (`nnc build --target wasm|auto`, issue 17): which dense
// layers run on the SIMD kernels of dense.ts, the kernel bytes a module embeds, and the module-level code
// that compiles them once at load and gives each parameter array a WebAssembly memory of its own.
//
// Memory layout (one `WebAssembly.Memory` per parameter array made by `createParams`, sized once and never
// grown, so that no view of it is ever detached):
//   [0, paramBytes)                        the parameters: `createParams()` returns a view of them
//   [gradsByte, gradsByte + paramBytes)    the gradients: a model's `grads`, a trainer's `grads`
//   [scratchByte, …)                       the kernels' rows: CHUNK rows of x, of dy and of dx
//   [momentsByte, momentsByte + 2·paramBytes)  the first trainer's optimizer moments m and v (optimizer.ts),
//                                          when they fit under MAX_MEMORY_BYTES (`hasMoments`)
// Weights and gradients stay where they are (PyTorch's [out, in] layout, or [in, out] for `layout = in_out`:
// see `TableShape`; nothing packed or copied); the activations
// live in the engine's workspace arrays and pass through the scratch rows, CHUNK rows at a time (one copy
// in, one out per product).
import { base64DecoderSource } from "../base64.js";
import { type DenseShape, denseBackwardBias, denseBackwardInput, denseBackwardWeight, denseForward } from "./dense.js";
import { type ConvShape, convFits, convKernelsOf, convScratch } from "./conv.js";
import { type AttentionShape, attentionScratch, attentionStaging } from "./attention.js";
import type { FunctionDef } from "./encoder.js";
import { kernelModule } from "./dense.js";
import { optimizerKernels } from "./optimizer.js";
import {
  type GradientFunction,
  type OutputGradientFunction,
  type UnaryFunction,
  gradientKernel,
  isOutputGradient,
  outputGradientKernel,
  unaryKernel,
} from "./math.js";
import { simdProbe } from "./probe.js";

export type Target = "ts" | "wasm" | "auto";

/** Rows per pass through the scratch area. */
export const CHUNK = 64;
/** Browsers compile a module synchronously on the main thread only up to 4 KB (Chrome's limit for
 *  `new WebAssembly.Module`); kernels are grouped into modules of at most this many bytes. */
export const SYNC_MODULE_BYTES = 4096;
/** The memory a module may ask for: 65,535 pages of 64 KiB, 4 GiB less one page — a wasm32 memory's
 *  addresses are 32-bit (spec: at most 2^16 pages), and one page short of that keeps every end address the
 *  kernels compute (`start + length`) below 2^32, where an i32 would wrap to 0. Node 20 allocates it
 *  (lazily: untouched pages cost no memory); an engine that cannot has `createParams` return an ordinary
 *  array, the TypeScript path. Above it (parameters, gradients and scratch: Llama 2 7B's 27 GB), the layers
 *  stay on the TypeScript path. Addresses above 2^31 pass through JavaScript's ToInt32 as negative i32s with
 *  the same bits, and the kernels compare addresses unsigned (test/wasm-kernels.test.ts). */
export const MAX_MEMORY_BYTES = 65535 * 65536;

/** A dense layer of the table: `inOut`, its weight stored [in, out] (`layout = in_out`, Hugging Face's
 *  Conv1D), which gets the same four kernels by transposition, nothing packed (`inOutKernels`). */
export interface TableShape extends DenseShape {
  readonly inOut: boolean;
}

/** The dense and convolution shapes a module runs on WebAssembly, each with an index into its kernel table. */
export class WasmDenseTable {
  readonly shapes: TableShape[] = [];
  readonly convs: ConvShape[] = [];
  /** Attention layers whose per-head products run on the dense kernels (attention.ts): their scratch. */
  readonly attentions: AttentionShape[] = [];
  /** The exp-based activations run on math.ts's kernels (float32 builds only). */
  readonly unaries: UnaryFunction[] = [];
  /** The activations' gradients run on math.ts's kernels: function and whether it adds into gx. */
  readonly unaryGrads: { readonly fn: GradientFunction | OutputGradientFunction; readonly accumulate: boolean }[] = [];
  /** `paramCount`: the parameters the memory holds, for the cap on its size. */
  constructor(
    readonly dtype: "float32" | "float64",
    readonly paramCount = 0,
  ) {}
  /** Whether any layer runs on WebAssembly. */
  get used(): boolean {
    return this.shapes.length > 0 || this.convs.length > 0 || this.unaries.length > 0 || this.unaryGrads.length > 0;
  }
  /** The kernel index of activation `fn` (math.ts), or undefined in a float64 build: its kernels evaluate
   *  in double and round once to float32, which is within 1 ulp of the TypeScript path only there. */
  unary(fn: UnaryFunction): number | undefined {
    if (this.dtype !== "float32") return undefined;
    const k = this.unaries.indexOf(fn);
    return k >= 0 ? k : this.admit(this.unaries, fn);
  }
  /** The kernel index of the gradient of activation `fn` (math.ts; `accumulate`: gx += rather than =), or
   *  undefined for an exp-based one (SiLU, GELU) in a float64 build (as `unary`); tanh's and sigmoid's are
   *  the TypeScript loop's operations exactly, in either precision. */
  unaryGrad(fn: GradientFunction | OutputGradientFunction, accumulate: boolean): number | undefined {
    if (this.dtype !== "float32" && !isOutputGradient(fn)) return undefined;
    const k = this.unaryGrads.findIndex((u) => u.fn === fn && u.accumulate === accumulate);
    return k >= 0 ? k : this.admit(this.unaryGrads, { fn, accumulate });
  }
  /** Adds `item` to `list` (one of the table's) and returns its index, or takes it back and returns undefined
   *  when the scratch it needs would take the memory past MAX_MEMORY_BYTES. */
  private admit<T>(list: T[], item: T): number | undefined {
    list.push(item);
    if (memoryBytes(this, this.paramCount) > MAX_MEMORY_BYTES) {
      list.pop();
      return undefined;
    }
    return list.length - 1;
  }
  /** The kernel index of a convolution (conv.ts ConvShape, without its dtype), or undefined when its scratch
   *  would take the memory past MAX_MEMORY_BYTES or a kernel would not fit a module (the layer then stays on
   *  the TypeScript kernels). */
  conv(conv: Omit<ConvShape, "dtype">, transposed = false): number | undefined {
    const shape: ConvShape = { ...conv, dtype: this.dtype };
    const key = JSON.stringify(shape);
    const k = this.convs.findIndex((s) => JSON.stringify(s) === key);
    if (k >= 0) return this.note(k, transposed);
    if (!convFits(shape, SYNC_MODULE_BYTES)) return undefined;
    const added = this.admit(this.convs, shape);
    return added === undefined ? undefined : this.note(added, transposed);
  }
  /** Kernel \`k\`, noting which staging functions its layer calls. */
  private note(k: number, transposed: boolean): number {
    if (transposed) this.transposed = true;
    else this.plain = true;
    return k;
  }
  /** Whether some transposed convolution runs on a convolution's kernels (its code calls
   *  `wasmConvTransposeForward` / `wasmConvTransposeBackward`). */
  transposed = false;
  /** Whether some convolution calls `wasmConvForward` / `wasmConvBackward`. */
  plain = false;
  /** The dense kernel index (in \`headDim\`, out \`keys\`) of an attention layer's per-head products
   *  (attention.ts), or undefined when its scratch would take the memory past MAX_MEMORY_BYTES. */
  attention(headDim: number, queries: number, keys: number): number | undefined {
    const seen = this.attentions.some((s) => s.headDim === headDim && s.queries === queries && s.keys === keys);
    if (!seen && this.admit(this.attentions, { headDim, queries, keys, dtype: this.dtype }) === undefined) {
      return undefined;
    }
    return this.index(headDim, keys, false, false);
  }
  /** Whether some layer calls `wasmDenseForward` / `wasmDenseBackward` (a recurrent layer's projection runs
   *  the kernels itself: recurrent.ts). */
  staged = false;
  /** Whether some layer calls `wasmDenseInOutForward` / `wasmDenseInOutBackward`. */
  stagedInOut = false;
  /** Whether some layer calls `wasmDenseInOutForward3` / `wasmDenseInOutBackward3`. */
  stagedSplit = false;
  /** The kernel index of a fused [in, out] projection `IN → Q + 2·K` whose output columns are three arrays
   *  (attention's q, k and v): its code calls the split staging functions. */
  split(inFeatures: number, q: number, kv: number, bias: boolean): number {
    this.stagedSplit = true;
    return this.index(inFeatures, q + 2 * kv, bias, false, true);
  }
  /** The kernel index of a dense layer `IN → OUT`; `staged`: its code calls the staging functions; `inOut`:
   *  its weight is stored [in, out]. */
  index(inFeatures: number, outFeatures: number, bias: boolean, staged = true, inOut = false): number {
    this.staged ||= staged && !inOut;
    this.stagedInOut ||= staged && inOut;
    const k = this.shapes.findIndex(
      (s) => s.inFeatures === inFeatures && s.outFeatures === outFeatures && s.bias === bias && s.inOut === inOut,
    );
    if (k >= 0) return k;
    this.shapes.push({ inFeatures, outFeatures, bias, dtype: this.dtype, inOut });
    return this.shapes.length - 1;
  }
}

/** Base64 of bytes (RFC 4648, with padding). */
export function base64(bytes: Uint8Array): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    out += alphabet[a >> 2]! + alphabet[((a & 3) << 4) | ((b ?? 0) >> 4)]!;
    out += b === undefined ? "=" : alphabet[((b & 15) << 2) | ((c ?? 0) >> 6)]!;
    out += c === undefined ? "=" : alphabet[c & 63]!;
  }
  return out;
}

/** Every kernel of the table, grouped into modules of at most SYNC_MODULE_BYTES bytes (a layer's kernels
 *  together when they fit). Exports are named `forward3`, `backwardInput3`, … by kernel index. */
export function kernelModules(table: WasmDenseTable): Uint8Array[] {
  const accumulate = { accumulate: true };
  const overwrite = { accumulate: false };
  const functions: FunctionDef[] = table.shapes.flatMap((s, k) =>
    s.inOut
      ? inOutKernels(s, k)
      : [
          denseForward(s, `forward${k}`),
          denseBackwardInput(s, overwrite, `backwardInput${k}`),
          denseBackwardWeight(s, accumulate, `backwardWeight${k}`),
          ...(s.bias ? [denseBackwardBias(s, accumulate, `backwardBias${k}`)] : []),
        ],
  );
  for (const [k, s] of table.convs.entries()) functions.push(...convKernelsOf(s, k));
  for (const [k, fn] of table.unaries.entries()) functions.push(unaryKernel(fn, `unary${k}`));
  for (const [k, u] of table.unaryGrads.entries()) {
    const name = `unaryGrad${k}`;
    functions.push(
      isOutputGradient(u.fn)
        ? outputGradientKernel(u.fn, u.accumulate, table.dtype, name)
        : gradientKernel(u.fn, u.accumulate, name),
    );
  }
  functions.push(...optimizerKernels(table.dtype));
  const modules: Uint8Array[] = [];
  let group: FunctionDef[] = [];
  for (const f of functions) {
    if (group.length > 0 && kernelModule([...group, f]).length > SYNC_MODULE_BYTES) {
      modules.push(kernelModule(group));
      group = [];
    }
    group.push(f);
  }
  if (group.length > 0) modules.push(kernelModule(group));
  for (const m of modules) {
    if (m.length > SYNC_MODULE_BYTES) throw new Error(`internal: a kernel module of ${m.length} bytes`);
  }
  return modules;
}

/**
 * The kernels of a dense layer IN → OUT whose weight W is stored [in, out] (row i: the OUT weights of input
 * i), from dense.ts's kernels of the swapped layer OUT → IN, which read the same bytes as PyTorch's
 * [out, in] weight of that layer (row i, OUT long): no packing, no copy. With W' = that [IN, OUT] matrix,
 * dense.ts's kernels of shape (in OUT, out IN) compute, strides as baked there (K' = OUT, N' = IN):
 * - backwardInput: C[r, o] = Σ_i A[r, i]·W'[i, o], A rows N'·elt = IN·elt apart, W' rows K'·elt = OUT·elt
 *   apart, C rows OUT·elt apart: y = x·W, our forward. Built accumulating with a bias: the staging code
 *   puts the bias in each row of y first (`wasmDenseInOutForward`), and the kernel adds the products to it.
 * - forward (no bias): C[r, i] = Σ_o A[r, o]·W'[i, o], A and W' rows OUT·elt apart, C rows IN·elt apart:
 *   dx = dy·Wᵀ, our backwardInput (arguments dy, W, 0, dx, m).
 * - backwardWeight: C[i, o] += Σ_r A[r, i]·B[r, o], A rows IN·elt apart, B and C rows OUT·elt apart:
 *   dW += xᵀ·dy with A = x and B = dy, the two row arguments exchanged (arguments x, dy, dW, m).
 * - backwardBias depends on OUT only: the layer's own (db = Σ_r dy).
 * Exports keep the names of an [out, in] layer's kernels (`forward3`, …) by role.
 */
function inOutKernels(s: TableShape, k: number): FunctionDef[] {
  const swapped: DenseShape = { inFeatures: s.outFeatures, outFeatures: s.inFeatures, bias: false, dtype: s.dtype };
  const accumulate = { accumulate: true };
  return [
    denseBackwardInput(swapped, { accumulate: s.bias }, `forward${k}`),
    denseForward(swapped, `backwardInput${k}`),
    denseBackwardWeight(swapped, accumulate, `backwardWeight${k}`),
    ...(s.bias ? [denseBackwardBias(s, accumulate, `backwardBias${k}`)] : []),
  ];
}

/** Values per pass of an activation's kernel through the scratch area (math.ts), at least. */
export const UNARY_CHUNK = 4096;

/** Elements of the scratch area: CHUNK dense rows of x, dy and dx, or one sample's convolution buffers, or
 *  UNARY_CHUNK values of an activation (three arrays of them for its gradient: x, g and gx). */
function scratchElements(table: WasmDenseTable): number {
  const rows = Math.max(0, ...table.shapes.map((s) => 2 * s.inFeatures + s.outFeatures));
  return Math.max(
    CHUNK * rows,
    table.unaryGrads.length > 0 ? 3 * UNARY_CHUNK : table.unaries.length > 0 ? UNARY_CHUNK : 0,
    ...table.convs.map((s) => convScratch(s).end),
    ...table.attentions.map((s) => attentionScratch(s).end),
  );
}

/** Bytes of the memory of one parameter array: parameters, gradients and scratch rows, 16-byte aligned. */
export function memoryBytes(table: WasmDenseTable, paramCount: number): number {
  const elt = table.dtype === "float32" ? 4 : 8;
  const align = (n: number) => Math.ceil(n / 16) * 16;
  return 2 * align(paramCount * elt) + align(scratchElements(table) * elt);
}

/** Whether the optimizer's moments m and v fit after the scratch rows (the layers' kernels come first: a
 *  model at the cap keeps its moments in arrays of their own, and the kernel update for plain SGD only). */
export function hasMoments(table: WasmDenseTable, paramCount: number): boolean {
  const elt = table.dtype === "float32" ? 4 : 8;
  return memoryBytes(table, paramCount) + 2 * Math.ceil((paramCount * elt) / 16) * 16 <= MAX_MEMORY_BYTES;
}

/** The module-level code of the WebAssembly target: the embedded kernels, the SIMD test at load, arenas. */
export function wasmTargetSource(F: string, table: WasmDenseTable, paramCount: number, target: Target): string {
  const elt = table.dtype === "float32" ? 4 : 8;
  const modules = kernelModules(table).map(base64);
  const paramBytes = Math.ceil((paramCount * elt) / 16) * 16;
  const moments = hasMoments(table, paramCount);
  const rows = Math.max(0, ...table.shapes.map((s) => 2 * s.inFeatures + s.outFeatures));
  const pages = Math.ceil((memoryBytes(table, paramCount) + (moments ? 2 * paramBytes : 0)) / 65536);
  const lanes = table.dtype === "float32" ? "f32x4" : "f64x2";
  const dense = table.shapes.length > 0;
  const conv = table.convs.length > 0;
  const unary = table.unaries.length > 0;
  const unaryGrad = table.unaryGrads.length > 0;
  const noSimd =
    target === "wasm"
      ? `if (!simd) throw new Error("this module was built with \`nnc build --target wasm\` and needs WebAssembly SIMD, which this JavaScript engine lacks: build it with \`--target auto\` (or \`ts\`) to run on the TypeScript kernels");\n`
      : "";
  return `// ── WebAssembly SIMD kernels (\`nnc build --target ${target}\`) ──

/** The part of the WebAssembly JavaScript API this module uses (declared here: the module's types need no
 *  DOM or Node library). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  readonly Memory: new (descriptor: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}

const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** Bytes from base64 (no \`atob\`: not in every runtime's types). */
${base64DecoderSource("wasmBytes")}

/** A module using SIMD128: \`WebAssembly.validate\` rejects it on an engine without SIMD. */
const simdProbe = ${JSON.stringify(base64(simdProbe()))};
const simd = wasmApi !== undefined && wasmApi.validate(wasmBytes(simdProbe));
${noSimd}
/** The ${conv ? "dense and convolution kernels (nnc's encoder, src/emit/wasm/dense.ts and conv.ts" : "dense kernels (nnc's encoder, src/emit/wasm/dense.ts"}; ${lanes}, sizes baked in), in modules of at most
 *  4 KB each, which browsers compile synchronously. Compiled once, here; null without SIMD. */
const wasmModules = simd
  ? [
${modules.map((m) => `      ${JSON.stringify(m)},`).join("\n")}
    ].map((text) => new wasmApi!.Module(wasmBytes(text)))
  : null;

/** Which kernels run the ${conv ? (dense ? "dense layers and the convolutions" : "convolutions") + " (conv1d/2d/3d and conv_transpose1d/2d, grouped and\n *  depthwise too, any padding mode)" : "dense layers"}: decided once, at load. */
export const kernelTarget: "wasm-simd" | "typescript" = wasmModules ? "wasm-simd" : "typescript";

type WasmKernel = (...addresses: number[]) => void;

/** The optimizer updates (src/emit/wasm/optimizer.ts): the TypeScript loop's operations in its order, in
 *  double precision, so the parameters and moments they store are the TypeScript path's bit for bit. */
interface OptimizerKernels {
  readonly sgd: WasmKernel;
  readonly sgdMomentumFirst: WasmKernel;
  readonly sgdMomentum: WasmKernel;
  readonly adam: WasmKernel;
  readonly adamw: WasmKernel;
  /** Gradient clipping: g·c, and the four partial sums of the squares (the norm). */
  readonly scale: WasmKernel;
  readonly sumSquares: WasmKernel;
}
${
  dense
    ? `
interface DenseKernels {
  readonly forward: WasmKernel;
  readonly backwardInput: WasmKernel;
  readonly backwardWeight: WasmKernel;
  readonly backwardBias: WasmKernel;
}
`
    : ""
}${
    conv
      ? `
/** A convolution's kernels (src/emit/wasm/conv.ts): y (+)= W·col, dW += dy·colᵀ, dcol = Wᵀ·dy, and its
 *  columns (im2col.ts): col ← im2col(x), dx += col2im(dcol). */
interface ConvKernels {
  readonly forward: WasmKernel;
  readonly backwardWeight: WasmKernel;
  readonly backwardInput: WasmKernel;
  readonly im2col: WasmKernel;
  readonly col2im: WasmKernel;
}
`
      : ""
  }
/** A parameter array's memory: parameters at byte 0, gradients at GRADS_BYTE, scratch rows at SCRATCH_BYTE${
    moments
      ? `,
 *  the optimizer's moments at MOMENTS_BYTE (\`m\`, then \`v\`: the first trainer's on these parameters)`
      : ""
  }. */
interface Arena {
  readonly heap: ${F};
  readonly params: ${F};
  readonly grads: ${F};${
    moments
      ? `
  readonly m: ${F};
  readonly v: ${F};
  /** Whether a trainer has taken \`m\` and \`v\` (a later trainer on these parameters gets arrays of its own). */
  momentsTaken: boolean;`
      : ""
  }
  readonly updates: OptimizerKernels;
  /** Four doubles at the start of the scratch area: the partial sums of the gradient norm (sumSquares). */
  readonly sums: Float64Array;${dense ? "\n  readonly kernels: readonly DenseKernels[];" : ""}${conv ? "\n  readonly convs: readonly ConvKernels[];" : ""}${unary ? "\n  /** The activations' kernels (src/emit/wasm/math.ts): in place over pairs of values. */\n  readonly unary: readonly WasmKernel[];" : ""}${unaryGrad ? "\n  /** The activations' gradient kernels (src/emit/wasm/math.ts): x, g, gx and pairs of values. */\n  readonly unaryGrad: readonly WasmKernel[];" : ""}
}

const GRADS_BYTE = ${paramBytes};
const SCRATCH_BYTE = ${2 * paramBytes};${moments ? `\nconst MOMENTS_BYTE = ${memoryBytes(table, paramCount)};` : ""}${
    dense
      ? `
/** Rows per pass through the scratch area (${CHUNK} rows of up to ${rows} values: x, dy and dx). */
const CHUNK = ${CHUNK};`
      : ""
  }

/** Arenas by their memory: an array is resident when it is an arena's own view. */
const arenas = new WeakMap<ArrayBufferLike, Arena>();

/** A new arena (${pages} pages of 64 KiB, never grown), or undefined without SIMD or when the memory
 *  cannot be had: the caller then uses a plain array and the TypeScript kernels. */
function createArena(): Arena | undefined {
  if (!wasmModules) return undefined;
  let buffer: ArrayBuffer;
  const exports: Record<string, unknown> = {};
  try {
    const memory = new wasmApi!.Memory({ initial: ${pages}, maximum: ${pages} });
    for (const m of wasmModules) Object.assign(exports, new wasmApi!.Instance(m, { env: { memory } }).exports);
    buffer = memory.buffer;
  } catch {
    return undefined;
  }
  const kernel = (name: string): WasmKernel => exports[name] as WasmKernel;
${table.shapes.some((s) => !s.bias) ? "  const none: WasmKernel = () => {}; // a layer without bias\n" : ""}  const arena: Arena = {
    heap: new ${F}(buffer),
    params: new ${F}(buffer, 0, paramCount),
    grads: new ${F}(buffer, GRADS_BYTE, paramCount),
${
  moments
    ? `    m: new ${F}(buffer, MOMENTS_BYTE, paramCount),
    v: new ${F}(buffer, MOMENTS_BYTE + ${paramBytes}, paramCount),
    momentsTaken: false,
`
    : ""
}    updates: { sgd: kernel("sgd"), sgdMomentumFirst: kernel("sgdMomentumFirst"), sgdMomentum: kernel("sgdMomentum"), adam: kernel("adam"), adamw: kernel("adamw"), scale: kernel("scale"), sumSquares: kernel("sumSquares") },
    sums: new Float64Array(buffer, SCRATCH_BYTE, 4),${
      dense
        ? `
    kernels: [${table.shapes
      .map(
        (s, k) =>
          `{ forward: kernel("forward${k}"), backwardInput: kernel("backwardInput${k}"), backwardWeight: kernel("backwardWeight${k}"), backwardBias: ${s.bias ? `kernel("backwardBias${k}")` : "none"} }`,
      )
      .join(", ")}],`
        : ""
    }${
      conv
        ? `
    convs: [${table.convs
      .map(
        (_, k) =>
          `{ forward: kernel("convForward${k}"), backwardWeight: kernel("convBackwardWeight${k}"), backwardInput: kernel("convBackwardInput${k}"), im2col: kernel("convIm2col${k}"), col2im: kernel("convCol2im${k}") }`,
      )
      .join(", ")}],`
        : ""
    }${unary ? `\n    unary: [${table.unaries.map((_, k) => `kernel("unary${k}")`).join(", ")}],` : ""}${unaryGrad ? `\n    unaryGrad: [${table.unaryGrads.map((_, k) => `kernel("unaryGrad${k}")`).join(", ")}],` : ""}
  };
  arenas.set(buffer, arena);
  return arena;
}

/** The arena whose parameters \`p\` is, if any. */
function arenaOf(p: ${F}): Arena | undefined {
  const arena = arenas.get(p.buffer);
  return arena !== undefined && p.byteOffset === 0 && p.length === paramCount ? arena : undefined;
}

/** Whether \`grads\` is the gradient view of \`arena\` (else backward adds the arena's into it). */
function ownGrads(arena: Arena, grads: ${F}): boolean {
  return grads.buffer === arena.heap.buffer && grads.byteOffset === GRADS_BYTE;
}

/** \`backward\` given other \`grads\`: the kernels still write into the arena's gradients, so what they hold is
 *  set aside (returned) and they start from zero. */
function stageGrads(arena: Arena): ${F} {
  const kept = arena.grads.slice();
  arena.grads.fill(0);
  return kept;
}

/** grads += the gradients the kernels wrote into the arena's, which then get back what they held. */
function unstageGrads(arena: Arena, kept: ${F}, grads: ${F}): void {
  const staged = arena.grads;
  for (let i = 0; i < paramCount; i++) grads[i]! += staged[i]!;
  staged.set(kept);
}

${[...(dense && table.staged ? [denseStaging(F, elt)] : []), ...(dense && table.stagedInOut ? [denseInOutStaging(F, elt)] : []), ...(dense && table.stagedSplit ? [denseSplitStaging(F, elt)] : []), ...(table.plain ? [convStaging(F, elt)] : []), ...(table.transposed ? [convTransposeStaging(F, elt)] : []), ...(table.attentions.length > 0 ? [attentionStaging(F)] : []), ...(unary ? [unaryStaging(F, scratchElements(table))] : []), ...(unaryGrad ? [unaryGradStaging(F, elt, scratchElements(table))] : [])].join("\n\n")}`;
}

/** The activations' gradients' staging: x (or y), g and (when the kernel adds into it) gx through the scratch
 *  area, a third of it each, an even number of values at a time; gx copied back. */
function unaryGradStaging(F: string, elt: number, scratch: number): string {
  const run = Math.floor(scratch / 6) * 2;
  return `/** gx = f′(x)·g, or gx += f′(x)·g (\`accumulate\`, as kernel \`k\` was built), for \`count\` values on the
 *  activation-gradient kernel \`k\` (src/emit/wasm/math.ts; \`x\` is the output y for tanh and sigmoid), ${run}
 *  values at a time through the scratch area. */
function wasmUnaryGrad(a: Arena, k: number, x: ${F}, g: ${F}, gx: ${F}, count: number, accumulate: boolean): void {
  const f = a.unaryGrad[k]!;
  const heap = a.heap;
  const s = SCRATCH_BYTE / ${elt};
  for (let i = 0; i < count; i += ${run}) {
    const m = Math.min(${run}, count - i);
    heap.set(x.subarray(i, i + m), s);
    heap.set(g.subarray(i, i + m), s + ${run});
    if (accumulate) heap.set(gx.subarray(i, i + m), s + ${2 * run});
    f(SCRATCH_BYTE, SCRATCH_BYTE + ${elt * run}, SCRATCH_BYTE + ${2 * elt * run}, (m + 1) >> 1);
    gx.set(heap.subarray(s + ${2 * run}, s + ${2 * run} + m), i);
  }
}`;
}

/** The activations' staging: values through the scratch area, an even number at a time (the kernels take
 *  pairs; an odd run's last pair reads one value past it, in the scratch area, and is not copied out). */
function unaryStaging(F: string, scratch: number): string {
  const run = Math.floor(scratch / 2) * 2;
  return `/** y = f(x) for \`count\` values on activation kernel \`k\` (float32; within 1 ulp of the TypeScript
 *  expression: src/emit/wasm/math.ts), ${run} values at a time through the scratch area. */
function wasmUnary(a: Arena, k: number, x: ${F}, y: ${F}, count: number): void {
  const f = a.unary[k]!;
  const heap = a.heap;
  const s = SCRATCH_BYTE / 4;
  for (let i = 0; i < count; i += ${run}) {
    const m = Math.min(${run}, count - i);
    heap.set(x.subarray(i, i + m), s);
    f(SCRATCH_BYTE, (m + 1) >> 1);
    y.set(heap.subarray(s, s + m), i);
  }
}`;
}

/** The end of a dense backward's pass over a chunk of rows, dy already at \`gs\`: x copied in, dW and db into
 *  the arena's gradients, and, when \`dx\`, gx += the input gradient the kernel writes at \`ds\`.
 *  \`weight\` and \`input\` are the two kernels' arguments (an [in, out] layer's are its transposed ones). */
function denseBackwardChunk(elt: number, weight: string, input: string): string {
  return `    heap.set(x.subarray(r * IN, (r + m) * IN), xs / ${elt});
    kernels.backwardWeight(${weight}, GRADS_BYTE + W * ${elt}, m);
    if (B >= 0) kernels.backwardBias(gs, GRADS_BYTE + B * ${elt}, m);
    if (dx) {
      kernels.backwardInput(${input}, ds, m);
      for (let i = 0, g = r * IN, d = ds / ${elt}, e = m * IN; i < e; i++) gx[g + i]! += heap[d + i]!;
    }`;
}

/** The dense layers' staging: rows CHUNK at a time through the scratch area. */
function denseStaging(F: string, elt: number): string {
  return `/** y = x Wᵀ + b on the SIMD kernel of layer shape \`k\`: rows CHUNK at a time through the scratch area. \`W\` and
 *  \`B\` are element offsets in the parameters (\`B\` −1 for no bias). */
function wasmDenseForward(a: Arena, k: number, x: ${F}, y: ${F}, rows: number, IN: number, OUT: number, W: number, B: number): void {
  const forward = a.kernels[k]!.forward;
  const xs = SCRATCH_BYTE;
  const ys = xs + CHUNK * IN * ${elt};
  for (let r = 0; r < rows; r += CHUNK) {
    const m = Math.min(CHUNK, rows - r);
    a.heap.set(x.subarray(r * IN, (r + m) * IN), xs / ${elt});
    forward(xs, W * ${elt}, B < 0 ? 0 : B * ${elt}, ys, m);
    y.set(a.heap.subarray(ys / ${elt}, ys / ${elt} + m * OUT), r * OUT);
  }
}

/** The dense backward on the SIMD kernels: dW += dyᵀ x and db += Σ dy into the arena's gradients, then,
 *  when \`dx\`, gx += dy W. */
function wasmDenseBackward(a: Arena, k: number, x: ${F}, gx: ${F}, gy: ${F}, rows: number, IN: number, OUT: number, W: number, B: number, dx: boolean): void {
  const kernels = a.kernels[k]!;
  const xs = SCRATCH_BYTE;
  const gs = xs + CHUNK * IN * ${elt};
  const ds = gs + CHUNK * OUT * ${elt};
  const heap = a.heap;
  for (let r = 0; r < rows; r += CHUNK) {
    const m = Math.min(CHUNK, rows - r);
    heap.set(gy.subarray(r * OUT, (r + m) * OUT), gs / ${elt});
${denseBackwardChunk(elt, "gs, xs", `gs, W * ${elt}`)}
  }
}`;
}

/** The staging of dense layers with their weight stored [in, out] (`inOutKernels`): as `denseStaging`, the
 *  bias copied into the rows of y before the products are added to it. */
function denseInOutStaging(F: string, elt: number): string {
  return `/** y = x W + b (W stored [in, out]) on the SIMD kernels of layer shape \`k\`: rows CHUNK at a time through the
 *  scratch area. \`W\` and \`B\` are element offsets in the parameters (\`B\` −1 for no bias). */
function wasmDenseInOutForward(a: Arena, k: number, x: ${F}, y: ${F}, rows: number, IN: number, OUT: number, W: number, B: number): void {
  const forward = a.kernels[k]!.forward;
  const heap = a.heap;
  const xs = SCRATCH_BYTE;
  const ys = xs + CHUNK * IN * ${elt};
  for (let r = 0; r < rows; r += CHUNK) {
    const m = Math.min(CHUNK, rows - r);
    heap.set(x.subarray(r * IN, (r + m) * IN), xs / ${elt});
    // the kernel adds x W to what y holds: the bias, row by row
    if (B >= 0) for (let i = 0, o = ys / ${elt}; i < m; i++, o += OUT) heap.copyWithin(o, B, B + OUT);
    forward(xs, W * ${elt}, ys, m);
    y.set(heap.subarray(ys / ${elt}, ys / ${elt} + m * OUT), r * OUT);
  }
}

/** Its backward: dW += xᵀ dy and db += Σ dy into the arena's gradients, then, when \`dx\`, gx += dy Wᵀ. */
function wasmDenseInOutBackward(a: Arena, k: number, x: ${F}, gx: ${F}, gy: ${F}, rows: number, IN: number, OUT: number, W: number, B: number, dx: boolean): void {
  const kernels = a.kernels[k]!;
  const xs = SCRATCH_BYTE;
  const gs = xs + CHUNK * IN * ${elt};
  const ds = gs + CHUNK * OUT * ${elt};
  const heap = a.heap;
  for (let r = 0; r < rows; r += CHUNK) {
    const m = Math.min(CHUNK, rows - r);
    heap.set(gy.subarray(r * OUT, (r + m) * OUT), gs / ${elt});
${denseBackwardChunk(elt, "xs, gs", `gs, W * ${elt}, 0`)}
  }
}`;
}

/** The staging of a fused [in, out] projection whose output columns go to three arrays a, b and c of
 *  widths A, C and C (attention's q, k and v: GPT-2's c_attn [D, 3·D]): as \`denseInOutStaging\`, one product
 *  over the whole matrix (its row stride is the product's width, as the kernels bake it), the rows of y
 *  copied out, and of dy in, by column blocks. */
function denseSplitStaging(F: string, elt: number): string {
  return `/** [a | b | c] = x W + bias (W stored [in, out], A + 2·C columns) on the SIMD kernels of layer shape \`k\`. */
function wasmDenseInOutForward3(arena: Arena, k: number, x: ${F}, a: ${F}, b: ${F}, c: ${F}, rows: number, IN: number, A: number, C: number, W: number, B: number): void {
  const forward = arena.kernels[k]!.forward;
  const heap = arena.heap;
  const OUT = A + 2 * C;
  const xs = SCRATCH_BYTE;
  const ys = xs + CHUNK * IN * ${elt};
  for (let r = 0; r < rows; r += CHUNK) {
    const m = Math.min(CHUNK, rows - r);
    heap.set(x.subarray(r * IN, (r + m) * IN), xs / ${elt});
    if (B >= 0) for (let i = 0, o = ys / ${elt}; i < m; i++, o += OUT) heap.copyWithin(o, B, B + OUT);
    forward(xs, W * ${elt}, ys, m);
    for (let i = 0, o = ys / ${elt}; i < m; i++, o += OUT) {
      a.set(heap.subarray(o, o + A), (r + i) * A);
      b.set(heap.subarray(o + A, o + A + C), (r + i) * C);
      c.set(heap.subarray(o + A + C, o + OUT), (r + i) * C);
    }
  }
}

/** Its backward from the gradients ga, gb, gc of the three arrays: dW += xᵀ dy, db += Σ dy, and, when
 *  \`dx\`, gx += dy Wᵀ, with dy = [ga | gb | gc]. */
function wasmDenseInOutBackward3(arena: Arena, k: number, x: ${F}, gx: ${F}, ga: ${F}, gb: ${F}, gc: ${F}, rows: number, IN: number, A: number, C: number, W: number, B: number, dx: boolean): void {
  const kernels = arena.kernels[k]!;
  const heap = arena.heap;
  const OUT = A + 2 * C;
  const xs = SCRATCH_BYTE;
  const gs = xs + CHUNK * IN * ${elt};
  const ds = gs + CHUNK * OUT * ${elt};
  for (let r = 0; r < rows; r += CHUNK) {
    const m = Math.min(CHUNK, rows - r);
    for (let i = 0, o = gs / ${elt}; i < m; i++, o += OUT) {
      heap.set(ga.subarray((r + i) * A, (r + i + 1) * A), o);
      heap.set(gb.subarray((r + i) * C, (r + i + 1) * C), o + A);
      heap.set(gc.subarray((r + i) * C, (r + i + 1) * C), o + A + C);
    }
${denseBackwardChunk(elt, "xs, gs", `gs, W * ${elt}, 0`)}
  }
}`;
}

/** The convolutions' staging, one sample at a time and, within it, one group at a time: the sample's input
 *  copied into the scratch area at \`X\`, a group's columns made there (im2col) at SCRATCH_BYTE, the products,
 *  y or dy copied out or in at \`Y\` (every group), and the input gradient made in the memory at \`DX\` (col2im
 *  into a copy of the sample's gradient, copied back). Offsets \`Y\`, \`DCOL\`, \`X\` and \`DX\` are elements
 *  from the start of the scratch area (conv.ts convScratch), \`W\` and \`B\` elements in the parameters
 *  (\`B\` −1 for no bias); \`IN\` is a sample's input size, \`OC\` and \`K\` a group's output channels and
 *  weight row, \`G\` the groups. */
function convStaging(F: string, elt: number): string {
  return `/** y = W·col + b on convolution kernel \`k\` for \`n\` samples of \`x\`. */
function wasmConvForward(a: Arena, k: number, x: ${F}, y: ${F}, n: number, IN: number, OC: number, P: number, K: number, G: number, W: number, B: number, Y: number, X: number): void {
  const heap = a.heap;
  const kernels = a.convs[k]!;
  const xs = SCRATCH_BYTE / ${elt} + X;
  const ys = SCRATCH_BYTE / ${elt} + Y;
  const OUT = G * OC * P;
  for (let b = 0; b < n; b++) {
    heap.set(x.subarray(b * IN, (b + 1) * IN), xs);
    for (let g = 0; g < G; g++) {
      kernels.im2col((xs + (g * IN) / G) * ${elt}, SCRATCH_BYTE);
      const yg = ys + g * OC * P;
      if (B >= 0) for (let oc = 0; oc < OC; oc++) heap.fill(heap[B + g * OC + oc]!, yg + oc * P, yg + (oc + 1) * P);
      kernels.forward((W + g * OC * K) * ${elt}, SCRATCH_BYTE, yg * ${elt}, 0);
    }
    y.set(heap.subarray(ys, ys + OUT), b * OUT);
  }
}

/** dW += dy·colᵀ into the arena's gradients for \`n\` samples and, when \`dx\`, gx += col2im(Wᵀ·dy). */
function wasmConvBackward(a: Arena, k: number, x: ${F}, gy: ${F}, gx: ${F}, n: number, IN: number, OC: number, P: number, K: number, G: number, W: number, Y: number, DCOL: number, X: number, DX: number, dx: boolean): void {
  const heap = a.heap;
  const kernels = a.convs[k]!;
  const xs = SCRATCH_BYTE / ${elt} + X;
  const ys = SCRATCH_BYTE / ${elt} + Y;
  const dxs = SCRATCH_BYTE / ${elt} + DX;
  const dcol = SCRATCH_BYTE + DCOL * ${elt};
  const OUT = G * OC * P;
  for (let b = 0; b < n; b++) {
    heap.set(x.subarray(b * IN, (b + 1) * IN), xs);
    heap.set(gy.subarray(b * OUT, (b + 1) * OUT), ys);
    if (dx) heap.set(gx.subarray(b * IN, (b + 1) * IN), dxs);
    for (let g = 0; g < G; g++) {
      const yg = (ys + g * OC * P) * ${elt};
      const wg = W + g * OC * K;
      kernels.im2col((xs + (g * IN) / G) * ${elt}, SCRATCH_BYTE);
      kernels.backwardWeight(yg, SCRATCH_BYTE, 0, GRADS_BYTE + wg * ${elt}, OC);
      if (dx) {
        kernels.backwardInput(wg * ${elt}, yg, dcol, 0);
        kernels.col2im((dxs + (g * IN) / G) * ${elt}, dcol);
      }
    }
    if (dx) gx.set(heap.subarray(dxs, dxs + IN), b * IN);
  }
}`;
}

/** The transposed convolutions' staging, on the kernels of the convolution whose input is their output
 *  (conv.ts: the same weight, [small channels, big channels / groups, k…]): forward y = col2im(Wᵀ·x) + b,
 *  a convolution's input gradient; backward dW += x·colᵀ and gx += W·col with col = im2col(gy), a
 *  convolution's weight gradient and forward. Per sample, x (the small side, \`G·OC·P\` values) lies at \`Y\`,
 *  the big side (y's accumulator, or gy) at \`DX\` or \`X\`; \`OUT\` is a big-side sample's size, \`C\` its
 *  channels, other arguments as wasmConvForward's. */
function convTransposeStaging(F: string, elt: number): string {
  return `/** y = col2im(Wᵀ·x) + b on convolution kernel \`k\` for \`n\` samples of \`x\`. */
function wasmConvTransposeForward(a: Arena, k: number, x: ${F}, y: ${F}, n: number, OUT: number, C: number, OC: number, P: number, K: number, G: number, W: number, B: number, Y: number, DCOL: number, DX: number): void {
  const heap = a.heap;
  const kernels = a.convs[k]!;
  const ys = SCRATCH_BYTE / ${elt} + Y;
  const dxs = SCRATCH_BYTE / ${elt} + DX;
  const dcol = SCRATCH_BYTE + DCOL * ${elt};
  const IN = G * OC * P;
  const plane = OUT / C;
  for (let b = 0; b < n; b++) {
    heap.set(x.subarray(b * IN, (b + 1) * IN), ys);
    if (B >= 0) for (let c = 0; c < C; c++) heap.fill(heap[B + c]!, dxs + c * plane, dxs + (c + 1) * plane);
    else heap.fill(0, dxs, dxs + OUT);
    for (let g = 0; g < G; g++) {
      kernels.backwardInput((W + g * OC * K) * ${elt}, (ys + g * OC * P) * ${elt}, dcol, 0);
      kernels.col2im((dxs + (g * OUT) / G) * ${elt}, dcol);
    }
    y.set(heap.subarray(dxs, dxs + OUT), b * OUT);
  }
}

/** dW += x·im2col(gy)ᵀ into the arena's gradients for \`n\` samples and, when \`dx\`, gx += W·im2col(gy). */
function wasmConvTransposeBackward(a: Arena, k: number, x: ${F}, gy: ${F}, gx: ${F}, n: number, OUT: number, OC: number, P: number, K: number, G: number, W: number, Y: number, X: number, dx: boolean): void {
  const heap = a.heap;
  const kernels = a.convs[k]!;
  const xs = SCRATCH_BYTE / ${elt} + X;
  const ys = SCRATCH_BYTE / ${elt} + Y;
  const IN = G * OC * P;
  for (let b = 0; b < n; b++) {
    heap.set(gy.subarray(b * OUT, (b + 1) * OUT), xs);
    heap.set(x.subarray(b * IN, (b + 1) * IN), ys);
    for (let g = 0; g < G; g++) {
      const yg = (ys + g * OC * P) * ${elt};
      const wg = W + g * OC * K;
      kernels.im2col((xs + (g * OUT) / G) * ${elt}, SCRATCH_BYTE);
      kernels.backwardWeight(yg, SCRATCH_BYTE, 0, GRADS_BYTE + wg * ${elt}, OC);
      // the group's x is used: its place takes W·col (the kernels' shape has no bias, so it overwrites)
      if (dx) kernels.forward(wg * ${elt}, SCRATCH_BYTE, yg, 0);
    }
    if (dx) for (let i = 0, o = b * IN; i < IN; i++, o++) gx[o]! += heap[ys + i]!;
  }
}`;
}
