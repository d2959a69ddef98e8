// A small WebAssembly binary encoder: the part of the format nnc's kernels need, written from the
// WebAssembly Core Specification 2.0 ("Binary Format", https://webassembly.github.io/spec/core/binary/)
// and its opcode index (https://webassembly.github.io/spec/core/appendix/index-instructions.html), which
// since release 2.0 includes the fixed-width SIMD proposal's 0xFD-prefixed instructions
// (https://github.com/WebAssembly/simd/blob/main/proposals/simd/BinarySIMD.md).
//
// Why our own and not binaryen or wabt at compile time: the kernels use ~40 instructions, which take ~300
// lines here; binaryen 132.0.0 is 23 MB packed
// (108 MB unpacked) and wabt 1.0.39 1.7 MB (5.6 MB unpacked; `npm pack --dry-run`), both asynchronous to load (their
// Emscripten modules instantiate with a promise) and both would add their start-up to `nnc build`. This
// encoder is deterministic by construction (the bytes are a function of the kernel description, no
// optimizer passes whose output may change between releases), synchronous, and encodes a kernel in
// microseconds. It does not validate: every module it produces is checked with `WebAssembly.validate` in
// test/wasm-encoder.test.ts and test/wasm-kernels.test.ts.

/** Value types (spec 5.3.3; SIMD: v128 = 0x7B). */
export const valType = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;
export type ValType = keyof typeof valType;

/** Unsigned LEB128 of an integer in [0, 2^32) (spec 5.2.2). */
export function u32(n: number): number[] {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new RangeError(`u32 out of range: ${n}`);
  const out: number[] = [];
  let v = n;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of an integer in [-2^31, 2^31) (spec 5.2.2). */
export function s32(n: number): number[] {
  if (!Number.isInteger(n) || n < -0x8000_0000 || n > 0x7fff_ffff) throw new RangeError(`s32 out of range: ${n}`);
  const out: number[] = [];
  let v = n;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7; // arithmetic shift: v stays within int32
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** A name: its UTF-8 bytes as a vector (spec 5.2.4). */
export function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...u32(bytes.length), ...bytes];
}

/** A vector of already-encoded elements (spec 5.1.3). */
function vec(items: readonly (readonly number[])[]): number[] {
  return [...u32(items.length), ...items.flat()];
}

/** Opcodes (spec 5.4; the SIMD ones follow the 0xFD prefix as a u32). */
export const op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  drop: 0x1a,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  f32Load: 0x2a,
  f64Load: 0x2b,
  i32Store: 0x36,
  f32Store: 0x38,
  f64Store: 0x39,
  i32Const: 0x41,
  f32Const: 0x43,
  f64Const: 0x44,
  i32Eqz: 0x45,
  i32LtU: 0x49,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32ShrU: 0x76,
  f32Add: 0x92,
  f32Mul: 0x94,
  f64Add: 0xa0,
  f64Mul: 0xa2,
  simdPrefix: 0xfd,
} as const;

/** SIMD opcodes after the 0xFD prefix (spec 5.4.8 / BinarySIMD.md). */
export const simd = {
  v128Load: 0,
  v128Load32Splat: 9,
  v128Load64Splat: 10,
  v128Store: 11,
  v128Const: 12,
  f32x4Splat: 19,
  f64x2Splat: 20,
  f32x4ExtractLane: 31,
  f64x2ExtractLane: 33,
  f64x2Gt: 74,
  v128And: 78,
  v128Or: 80,
  v128Bitselect: 82,
  v128Store64Lane: 91,
  v128Load64Zero: 93,
  f32x4DemoteF64x2Zero: 94,
  f64x2PromoteLowF32x4: 95,
  i64x2Shl: 203,
  i64x2Add: 206,
  f32x4Add: 228,
  f32x4Mul: 230,
  f64x2Abs: 236,
  f64x2Neg: 237,
  f64x2Sqrt: 239,
  f64x2Add: 240,
  f64x2Sub: 241,
  f64x2Mul: 242,
  f64x2Div: 243,
  f64x2Pmin: 246,
  f64x2Pmax: 247,
} as const;

/** Block type of a block, loop or if with no parameters and no results (spec 5.4.1: 0x40). */
const emptyBlock = 0x40;

/** An instruction sequence, built by appending; every method returns `this`. Memory instructions take the
 *  natural alignment (as log2 bytes) and a constant byte offset (`memarg`, spec 5.4.6). */
export class Code {
  readonly bytes: number[] = [];

  raw(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  private memarg(code: number[], alignLog2: number, offset: number): this {
    return this.raw(...code, ...u32(alignLog2), ...u32(offset));
  }
  private simdOp(n: number): this {
    return this.raw(op.simdPrefix, ...u32(n));
  }

  // Control (5.4.1)
  block(): this {
    return this.raw(op.block, emptyBlock);
  }
  loop(): this {
    return this.raw(op.loop, emptyBlock);
  }
  if(): this {
    return this.raw(op.if, emptyBlock);
  }
  else(): this {
    return this.raw(op.else);
  }
  end(): this {
    return this.raw(op.end);
  }
  br(depth: number): this {
    return this.raw(op.br, ...u32(depth));
  }
  brIf(depth: number): this {
    return this.raw(op.brIf, ...u32(depth));
  }
  return(): this {
    return this.raw(op.return);
  }

  // Variables (5.4.4)
  get(local: number): this {
    return this.raw(op.localGet, ...u32(local));
  }
  set(local: number): this {
    return this.raw(op.localSet, ...u32(local));
  }
  tee(local: number): this {
    return this.raw(op.localTee, ...u32(local));
  }

  // Numeric (5.4.7)
  /** `i32.const`; an integer in [2^31, 2^32) is written as the signed value with the same bits. */
  i32Const(n: number): this {
    return this.raw(op.i32Const, ...s32(n > 0x7fff_ffff && n <= 0xffff_ffff ? n - 2 ** 32 : n));
  }
  f32Const(x: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    return this.raw(op.f32Const, ...b);
  }
  f64Const(x: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, x, true);
    return this.raw(op.f64Const, ...b);
  }
  i32Add(): this {
    return this.raw(op.i32Add);
  }
  i32Sub(): this {
    return this.raw(op.i32Sub);
  }
  i32Mul(): this {
    return this.raw(op.i32Mul);
  }
  i32And(): this {
    return this.raw(op.i32And);
  }
  i32ShrU(): this {
    return this.raw(op.i32ShrU);
  }
  i32LtU(): this {
    return this.raw(op.i32LtU);
  }
  i32GeU(): this {
    return this.raw(op.i32GeU);
  }
  i32Eqz(): this {
    return this.raw(op.i32Eqz);
  }
  f32Add(): this {
    return this.raw(op.f32Add);
  }
  f32Mul(): this {
    return this.raw(op.f32Mul);
  }
  f64Add(): this {
    return this.raw(op.f64Add);
  }
  f64Mul(): this {
    return this.raw(op.f64Mul);
  }

  // Memory (5.4.6)
  f32Load(offset = 0): this {
    return this.memarg([op.f32Load], 2, offset);
  }
  f64Load(offset = 0): this {
    return this.memarg([op.f64Load], 3, offset);
  }
  f32Store(offset = 0): this {
    return this.memarg([op.f32Store], 2, offset);
  }
  f64Store(offset = 0): this {
    return this.memarg([op.f64Store], 3, offset);
  }

  // Vector (5.4.8). The alignment is a hint: unaligned addresses stay correct.
  v128Load(offset = 0): this {
    return this.memarg([op.simdPrefix, ...u32(simd.v128Load)], 4, offset);
  }
  v128Store(offset = 0): this {
    return this.memarg([op.simdPrefix, ...u32(simd.v128Store)], 4, offset);
  }
  v128Load32Splat(offset = 0): this {
    return this.memarg([op.simdPrefix, ...u32(simd.v128Load32Splat)], 2, offset);
  }
  v128Load64Splat(offset = 0): this {
    return this.memarg([op.simdPrefix, ...u32(simd.v128Load64Splat)], 3, offset);
  }
  v128Const(bytes: readonly number[]): this {
    if (bytes.length !== 16) throw new RangeError("v128.const takes 16 bytes");
    return this.simdOp(simd.v128Const).raw(...bytes);
  }
  f32x4Splat(): this {
    return this.simdOp(simd.f32x4Splat);
  }
  f64x2Splat(): this {
    return this.simdOp(simd.f64x2Splat);
  }
  f32x4ExtractLane(lane: number): this {
    return this.simdOp(simd.f32x4ExtractLane).raw(lane);
  }
  f64x2ExtractLane(lane: number): this {
    return this.simdOp(simd.f64x2ExtractLane).raw(lane);
  }
  f32x4Add(): this {
    return this.simdOp(simd.f32x4Add);
  }
  f32x4Mul(): this {
    return this.simdOp(simd.f32x4Mul);
  }
  f64x2Add(): this {
    return this.simdOp(simd.f64x2Add);
  }
  f64x2Mul(): this {
    return this.simdOp(simd.f64x2Mul);
  }
}

/** One function: its signature, its locals beyond the parameters (declared in the order given; indices
 *  continue after the parameters) and its body, which `encodeModule` closes with `end`. */
export interface FunctionDef {
  readonly name: string;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
  readonly locals: readonly ValType[];
  readonly body: Code;
}

/** Where the module's memory comes from: imported (`module.name`, the host creates and views it) or
 *  defined here and exported under `exportAs`. Sizes in 64 KiB pages. */
export type MemoryDef =
  | {
      readonly import: { readonly module: string; readonly name: string };
      readonly minPages: number;
      readonly maxPages?: number;
    }
  | { readonly exportAs: string; readonly minPages: number; readonly maxPages?: number };

export interface ModuleDef {
  readonly memory: MemoryDef;
  readonly functions: readonly FunctionDef[];
}

/** Limits (spec 5.3.7). */
function limits(min: number, max: number | undefined): number[] {
  return max === undefined ? [0x00, ...u32(min)] : [0x01, ...u32(min), ...u32(max)];
}

/** A section: id, byte size, contents (spec 5.5.2). */
function section(id: number, contents: readonly number[]): number[] {
  return [id, ...u32(contents.length), ...contents];
}

/** Locals as runs of one type (spec 5.5.13). */
function localRuns(locals: readonly ValType[]): number[][] {
  const runs: number[][] = [];
  let i = 0;
  while (i < locals.length) {
    let j = i;
    while (j < locals.length && locals[j] === locals[i]) j++;
    runs.push([...u32(j - i), valType[locals[i]!]]);
    i = j;
  }
  return runs;
}

/** The module's bytes (spec 5.5.16): type, import, function, memory, export and code sections, in that
 *  order; one function type per distinct signature, in order of first use. Deterministic. */
export function encodeModule(def: ModuleDef): Uint8Array {
  const types: string[] = [];
  const typeBytes: number[][] = [];
  const typeOf = def.functions.map((f) => {
    const bytes = [0x60, ...vec(f.params.map((t) => [valType[t]])), ...vec(f.results.map((t) => [valType[t]]))];
    const key = bytes.join(",");
    let i = types.indexOf(key);
    if (i < 0) {
      i = types.length;
      types.push(key);
      typeBytes.push(bytes);
    }
    return i;
  });
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  out.push(...section(1, vec(typeBytes)));
  const mem = def.memory;
  if ("import" in mem) {
    const entry = [...name(mem.import.module), ...name(mem.import.name), 0x02, ...limits(mem.minPages, mem.maxPages)];
    out.push(...section(2, vec([entry])));
  }
  out.push(...section(3, vec(typeOf.map((t) => u32(t)))));
  if (!("import" in mem)) out.push(...section(5, vec([limits(mem.minPages, mem.maxPages)])));
  const exports = def.functions.map((f, i) => [...name(f.name), 0x00, ...u32(i)]);
  if (!("import" in mem)) exports.push([...name(mem.exportAs), 0x02, ...u32(0)]);
  out.push(...section(7, vec(exports)));
  const bodies = def.functions.map((f) => {
    const body = [...vec(localRuns(f.locals)), ...f.body.bytes, op.end];
    return [...u32(body.length), ...body];
  });
  out.push(...section(10, vec(bodies)));
  return Uint8Array.from(out);
}
