// The WebAssembly target of a generated module (`nnc build --target wasm|auto`, issue 17): which dense
// layers run on the SIMD kernels of dense.ts, the kernel bytes a module embeds, and the module-level code
// that compiles them once at load and gives each parameter array a WebAssembly memory of its own.
//
// Memory layout (one `WebAssembly.Memory` per parameter array made by `createParams`, sized once and never
// grown, so that no view of it is ever detached):
//   [0, paramBytes)                        the parameters: `createParams()` returns a view of them
//   [gradsByte, gradsByte + paramBytes)    the gradients: a model's `grads`, a trainer's `grads`
//   [scratchByte, …)                       the kernels' rows: CHUNK rows of x, of dy and of dx
// Weights and gradients stay where they are (PyTorch's [out, in] layout, nothing packed); the activations
// live in the engine's workspace arrays and pass through the scratch rows, CHUNK rows at a time (one copy
// in, one out per product).
import { base64DecoderSource } from "../base64.js";
import { type DenseShape, denseBackwardBias, denseBackwardInput, denseBackwardWeight, denseForward } from "./dense.js";
import { type ConvShape, convBackwardInput, convBackwardWeight, convForward, convScratch } from "./conv.js";
import type { FunctionDef } from "./encoder.js";
import { kernelModule } from "./dense.js";
import { simdProbe } from "./probe.js";

export type Target = "ts" | "wasm" | "auto";

/** Rows per pass through the scratch area. */
export const CHUNK = 64;
/** Browsers compile a module synchronously on the main thread only up to 4 KB (Chrome's limit for
 *  `new WebAssembly.Module`); kernels are grouped into modules of at most this many bytes. */
export const SYNC_MODULE_BYTES = 4096;
/** The memory a module may ask for: 1 GiB. Above it (parameters, gradients and scratch), the layers stay
 *  on the TypeScript path. */
export const MAX_MEMORY_BYTES = 2 ** 30;

/** The dense and convolution shapes a module runs on WebAssembly, each with an index into its kernel table. */
export class WasmDenseTable {
  readonly shapes: DenseShape[] = [];
  readonly convs: ConvShape[] = [];
  /** `paramCount`: the parameters the memory holds, for the cap on its size. */
  constructor(
    readonly dtype: "float32" | "float64",
    readonly paramCount = 0,
  ) {}
  /** Whether any layer runs on WebAssembly. */
  get used(): boolean {
    return this.shapes.length > 0 || this.convs.length > 0;
  }
  /** The kernel index of a convolution (groups 1) with `outChannels` rows of `taps` weights over `plane`
   *  output positions, or undefined when its scratch would take the memory past MAX_MEMORY_BYTES (the layer
   *  then stays on the TypeScript kernels). */
  conv(outChannels: number, taps: number, plane: number, bias: boolean): number | undefined {
    const k = this.convs.findIndex(
      (s) => s.outChannels === outChannels && s.taps === taps && s.plane === plane && s.bias === bias,
    );
    if (k >= 0) return k;
    const shape: ConvShape = { outChannels, taps, plane, bias, dtype: this.dtype };
    this.convs.push(shape);
    if (memoryBytes(this, this.paramCount) > MAX_MEMORY_BYTES) {
      this.convs.pop();
      return undefined;
    }
    return this.convs.length - 1;
  }
  /** Whether some layer calls `wasmDenseForward` / `wasmDenseBackward` (a recurrent layer's projection runs
   *  the kernels itself: recurrent.ts). */
  staged = false;
  /** The kernel index of a dense layer `IN → OUT`; `staged`: its code calls the staging functions. */
  index(inFeatures: number, outFeatures: number, bias: boolean, staged = true): number {
    this.staged ||= staged;
    const k = this.shapes.findIndex(
      (s) => s.inFeatures === inFeatures && s.outFeatures === outFeatures && s.bias === bias,
    );
    if (k >= 0) return k;
    this.shapes.push({ inFeatures, outFeatures, bias, dtype: this.dtype });
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
  const functions: FunctionDef[] = table.shapes.flatMap((s, k) => [
    denseForward(s, `forward${k}`),
    denseBackwardInput(s, overwrite, `backwardInput${k}`),
    denseBackwardWeight(s, accumulate, `backwardWeight${k}`),
    ...(s.bias ? [denseBackwardBias(s, accumulate, `backwardBias${k}`)] : []),
  ]);
  for (const [k, s] of table.convs.entries()) {
    functions.push(
      convForward(s, `convForward${k}`),
      convBackwardWeight(s, `convBackwardWeight${k}`),
      convBackwardInput(s, `convBackwardInput${k}`),
    );
  }
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

/** Elements of the scratch area: CHUNK dense rows of x, dy and dx, or one sample's convolution buffers. */
function scratchElements(table: WasmDenseTable): number {
  const rows = Math.max(0, ...table.shapes.map((s) => 2 * s.inFeatures + s.outFeatures));
  return Math.max(CHUNK * rows, ...table.convs.map((s) => convScratch(s).end));
}

/** Bytes of the memory of one parameter array: parameters, gradients and scratch rows, 16-byte aligned. */
export function memoryBytes(table: WasmDenseTable, paramCount: number): number {
  const elt = table.dtype === "float32" ? 4 : 8;
  const align = (n: number) => Math.ceil(n / 16) * 16;
  return 2 * align(paramCount * elt) + align(scratchElements(table) * elt);
}

/** The module-level code of the WebAssembly target: the embedded kernels, the SIMD test at load, arenas. */
export function wasmTargetSource(F: string, table: WasmDenseTable, paramCount: number, target: Target): string {
  const elt = table.dtype === "float32" ? 4 : 8;
  const modules = kernelModules(table).map(base64);
  const paramBytes = Math.ceil((paramCount * elt) / 16) * 16;
  const rows = Math.max(0, ...table.shapes.map((s) => 2 * s.inFeatures + s.outFeatures));
  const pages = Math.ceil(memoryBytes(table, paramCount) / 65536);
  const lanes = table.dtype === "float32" ? "f32x4" : "f64x2";
  const dense = table.shapes.length > 0;
  const conv = table.convs.length > 0;
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

/** Which kernels run the ${conv ? (dense ? "dense layers and the convolutions" : "convolutions") + " (conv1d/conv2d with groups 1; grouped, depthwise, 3-D and\n *  transposed convolutions always run on TypeScript)" : "dense layers"}: decided once, at load. */
export const kernelTarget: "wasm-simd" | "typescript" = wasmModules ? "wasm-simd" : "typescript";

type WasmKernel = (...addresses: number[]) => void;
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
/** A convolution's kernels (src/emit/wasm/conv.ts): y (+)= W·col, dW += dy·colᵀ, dcol = Wᵀ·dy. */
interface ConvKernels {
  readonly forward: WasmKernel;
  readonly backwardWeight: WasmKernel;
  readonly backwardInput: WasmKernel;
}
`
      : ""
  }
/** A parameter array's memory: parameters at byte 0, gradients at GRADS_BYTE, scratch rows at SCRATCH_BYTE. */
interface Arena {
  readonly heap: ${F};
  readonly params: ${F};
  readonly grads: ${F};${dense ? "\n  readonly kernels: readonly DenseKernels[];" : ""}${conv ? "\n  readonly convs: readonly ConvKernels[];" : ""}
}

const GRADS_BYTE = ${paramBytes};
const SCRATCH_BYTE = ${2 * paramBytes};${
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
    grads: new ${F}(buffer, GRADS_BYTE, paramCount),${
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
          `{ forward: kernel("convForward${k}"), backwardWeight: kernel("convBackwardWeight${k}"), backwardInput: kernel("convBackwardInput${k}") }`,
      )
      .join(", ")}],`
        : ""
    }
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

/** grads += the gradients the kernels wrote into their memory (\`backward\` given other \`grads\`). */
function addGrads(staged: ${F}, grads: ${F}): void {
  for (let i = 0; i < paramCount; i++) grads[i]! += staged[i]!;
}

${[...(dense && table.staged ? [denseStaging(F, elt)] : []), ...(conv ? [convStaging(F, elt)] : [])].join("\n\n")}`;
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
    heap.set(x.subarray(r * IN, (r + m) * IN), xs / ${elt});
    kernels.backwardWeight(gs, xs, GRADS_BYTE + W * ${elt}, m);
    if (B >= 0) kernels.backwardBias(gs, GRADS_BYTE + B * ${elt}, m);
    if (dx) {
      kernels.backwardInput(gs, W * ${elt}, ds, m);
      for (let i = 0, g = r * IN, d = ds / ${elt}, e = m * IN; i < e; i++) gx[g + i]! += heap[d + i]!;
    }
  }
}`;
}

/** The convolutions' staging, one sample at a time: the layer's own code fills the columns at SCRATCH_BYTE
 *  (im2col) and adds dcol back to its input gradient (col2im); these copy y and dy in and out and run the
 *  kernels. Offsets \`Y\` and \`DCOL\` are elements from the start of the scratch area (conv.ts
 *  convScratch), \`W\` and \`B\` elements in the parameters (\`B\` −1 for no bias). */
function convStaging(F: string, elt: number): string {
  return `/** One sample's y = W·col + b on convolution kernel \`k\`, written to \`y\` from element \`yo\`. */
function wasmConvForward(a: Arena, k: number, y: ${F}, yo: number, OC: number, P: number, W: number, B: number, Y: number): void {
  const heap = a.heap;
  const ys = SCRATCH_BYTE / ${elt} + Y;
  if (B >= 0) for (let oc = 0; oc < OC; oc++) heap.fill(heap[B + oc]!, ys + oc * P, ys + (oc + 1) * P);
  a.convs[k]!.forward(W * ${elt}, SCRATCH_BYTE, ys * ${elt}, 0);
  y.set(heap.subarray(ys, ys + OC * P), yo);
}

/** One sample's dW += dy·colᵀ into the arena's gradients and, when \`dx\`, dcol = Wᵀ·dy (for col2im), from
 *  \`gy\` at element \`go\`. */
function wasmConvBackward(a: Arena, k: number, gy: ${F}, go: number, OC: number, P: number, W: number, Y: number, DCOL: number, dx: boolean): void {
  const kernels = a.convs[k]!;
  const ys = SCRATCH_BYTE + Y * ${elt};
  a.heap.set(gy.subarray(go, go + OC * P), ys / ${elt});
  kernels.backwardWeight(ys, SCRATCH_BYTE, 0, GRADS_BYTE + W * ${elt}, OC);
  if (dx) kernels.backwardInput(W * ${elt}, ys, SCRATCH_BYTE + DCOL * ${elt}, 0);
}`;
}
