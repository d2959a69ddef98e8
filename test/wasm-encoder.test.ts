// The WebAssembly encoder (src/emit/wasm/encoder.ts), byte for byte against the WebAssembly Core
// Specification 2.0: LEB128 integers (§5.2.2; the 624485 and −123456 examples are those of the DWARF 5
// standard, §7.6, which the spec's LEB128 follows), instruction opcodes (§5.4 and the opcode index,
// Appendix 7.7: the SIMD instructions are 0xFD followed by a u32, e.g. f32x4.add = 0xFD 228), memargs
// (§5.4.6: alignment as log2 bytes, then the offset) and a whole module assembled by hand from §5.5.
// Every module is also checked with the engine's own `WebAssembly.validate`, and executed.
import { describe, expect, it } from "vitest";
import { Code, type FunctionDef, encodeModule, s32, u32 } from "../src/emit/wasm/encoder.js";
import { simdProbe } from "../src/emit/wasm/probe.js";
import { wasm } from "./helpers/wasm.js";

const bytesOf = (build: (c: Code) => Code) => build(new Code()).bytes;

describe("LEB128 (spec 5.2.2)", () => {
  it("unsigned", () => {
    expect(u32(0)).toEqual([0x00]);
    expect(u32(127)).toEqual([0x7f]);
    expect(u32(128)).toEqual([0x80, 0x01]);
    expect(u32(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(u32(2 ** 32 - 1)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(() => u32(2 ** 32)).toThrow(RangeError);
    expect(() => u32(-1)).toThrow(RangeError);
  });
  it("signed", () => {
    expect(s32(0)).toEqual([0x00]);
    expect(s32(-1)).toEqual([0x7f]);
    expect(s32(63)).toEqual([0x3f]);
    expect(s32(64)).toEqual([0xc0, 0x00]);
    expect(s32(-64)).toEqual([0x40]);
    expect(s32(-65)).toEqual([0xbf, 0x7f]);
    expect(s32(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(s32(2 ** 31 - 1)).toEqual([0xff, 0xff, 0xff, 0xff, 0x07]);
    expect(s32(-(2 ** 31))).toEqual([0x80, 0x80, 0x80, 0x80, 0x78]);
    expect(() => s32(2 ** 31)).toThrow(RangeError);
  });
});

describe("instructions (spec 5.4)", () => {
  it("control and variables", () => {
    expect(bytesOf((c) => c.block().loop().if().end())).toEqual([0x02, 0x40, 0x03, 0x40, 0x04, 0x40, 0x0b]);
    // `if … else … end` (spec 5.4.1: else is 0x05)
    expect(bytesOf((c) => c.if().else().end())).toEqual([0x04, 0x40, 0x05, 0x0b]);
    expect(bytesOf((c) => c.br(1).brIf(0))).toEqual([0x0c, 0x01, 0x0d, 0x00]);
    expect(bytesOf((c) => c.get(2).set(200).tee(3))).toEqual([0x20, 0x02, 0x21, 0xc8, 0x01, 0x22, 0x03]);
  });
  it("numeric", () => {
    expect(bytesOf((c) => c.i32Const(-1))).toEqual([0x41, 0x7f]);
    // An unsigned constant above 2^31 is written as the signed value with the same bits.
    expect(bytesOf((c) => c.i32Const(0xffff_ffff))).toEqual([0x41, 0x7f]);
    expect(bytesOf((c) => c.f32Const(1))).toEqual([0x43, 0x00, 0x00, 0x80, 0x3f]);
    expect(bytesOf((c) => c.f64Const(1))).toEqual([0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
    expect(bytesOf((c) => c.i32Add().i32Sub().i32Mul().i32And().i32ShrU().i32LtU().i32GeU().i32Eqz())).toEqual([
      0x6a, 0x6b, 0x6c, 0x71, 0x76, 0x49, 0x4f, 0x45,
    ]);
    expect(bytesOf((c) => c.f32Add().f32Mul().f64Add().f64Mul())).toEqual([0x92, 0x94, 0xa0, 0xa2]);
  });
  it("memory: opcode, log2 alignment, offset", () => {
    expect(bytesOf((c) => c.f32Load(8))).toEqual([0x2a, 0x02, 0x08]);
    expect(bytesOf((c) => c.f64Load(0))).toEqual([0x2b, 0x03, 0x00]);
    expect(bytesOf((c) => c.f32Store(3136))).toEqual([0x38, 0x02, 0xc0, 0x18]);
    expect(bytesOf((c) => c.f64Store())).toEqual([0x39, 0x03, 0x00]);
  });
  it("vector (0xFD prefix, u32 opcode)", () => {
    expect(bytesOf((c) => c.v128Load(16))).toEqual([0xfd, 0x00, 0x04, 0x10]);
    expect(bytesOf((c) => c.v128Store(0))).toEqual([0xfd, 0x0b, 0x04, 0x00]);
    expect(bytesOf((c) => c.v128Load32Splat(4))).toEqual([0xfd, 0x09, 0x02, 0x04]);
    expect(bytesOf((c) => c.v128Load64Splat(8))).toEqual([0xfd, 0x0a, 0x03, 0x08]);
    expect(bytesOf((c) => c.v128Const(new Array<number>(16).fill(7)))).toEqual([0xfd, 0x0c, ...new Array(16).fill(7)]);
    expect(bytesOf((c) => c.f32x4Splat().f64x2Splat())).toEqual([0xfd, 0x13, 0xfd, 0x14]);
    expect(bytesOf((c) => c.f32x4ExtractLane(3).f64x2ExtractLane(1))).toEqual([0xfd, 0x1f, 0x03, 0xfd, 0x21, 0x01]);
    expect(bytesOf((c) => c.f32x4Add().f32x4Mul())).toEqual([0xfd, 0xe4, 0x01, 0xfd, 0xe6, 0x01]);
    expect(bytesOf((c) => c.f64x2Add().f64x2Mul())).toEqual([0xfd, 0xf0, 0x01, 0xfd, 0xf2, 0x01]);
  });
});

describe("modules (spec 5.5)", () => {
  it("a minimal module, assembled by hand from the spec", () => {
    const f: FunctionDef = { name: "f", params: [], results: [], locals: [], body: new Code() };
    const bytes = encodeModule({ memory: { exportAs: "mem", minPages: 1 }, functions: [f] });
    expect([...bytes]).toEqual([
      ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
      ...[0x01, 0x04, 0x01, 0x60, 0x00, 0x00], // type section: one type, func [] → []
      ...[0x03, 0x02, 0x01, 0x00], // function section: function 0 has type 0
      ...[0x05, 0x03, 0x01, 0x00, 0x01], // memory section: one memory, min 1, no max
      ...[0x07, 0x0b, 0x02, 0x01, 0x66, 0x00, 0x00, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00], // exports "f", "mem"
      ...[0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b], // code section: one body of 2 bytes, no locals, end
    ]);
    expect(wasm.validate(bytes)).toBe(true);
  });

  it("an imported memory, locals in runs, shared types; validates and runs", () => {
    // dot4(a, b): the four-lane f32 dot product of two vectors at byte addresses a and b.
    const dot = new Code().get(0).v128Load().get(1).v128Load().f32x4Mul().set(2);
    dot.get(2).f32x4ExtractLane(0).get(2).f32x4ExtractLane(1).f32Add();
    dot.get(2).f32x4ExtractLane(2).get(2).f32x4ExtractLane(3).f32Add().f32Add();
    // axpy2(a, y): y[0..2] += 2·a[0..2], in float64 lanes, with a splat constant.
    const axpy = new Code().get(1).get(0).v128Load().f64Const(2).f64x2Splat().f64x2Mul();
    axpy.get(1).v128Load().f64x2Add().v128Store();
    // count(n): a do-while loop with an i32 counter, returning how often it ran (n ≥ 1).
    const count = new Code().loop().get(1).i32Const(1).i32Add().set(1);
    count.get(1).get(0).i32LtU().brIf(0).end().get(1);
    const fns: FunctionDef[] = [
      { name: "dot4", params: ["i32", "i32"], results: ["f32"], locals: ["v128"], body: dot },
      { name: "axpy2", params: ["i32", "i32"], results: [], locals: [], body: axpy },
      { name: "count", params: ["i32"], results: ["i32"], locals: ["i32"], body: count },
    ];
    const bytes = encodeModule({ memory: { import: { module: "env", name: "memory" }, minPages: 1 }, functions: fns });
    expect(wasm.validate(bytes)).toBe(true);
    // Three distinct signatures: the type section (id 1, after the 8-byte header) holds three types.
    expect([bytes[8], bytes[10]]).toEqual([1, 3]);
    const again = encodeModule({
      memory: { exportAs: "m", minPages: 1 },
      functions: [fns[0]!, { ...fns[0]!, name: "dot4b" }],
    });
    expect([again[8], again[10]]).toEqual([1, 1]); // one type shared by two functions
    const memory = new wasm.Memory({ initial: 1 });
    const e = new wasm.Instance(new wasm.Module(bytes), { env: { memory } }).exports as Record<
      string,
      (...a: number[]) => number
    >;
    new Float32Array(memory.buffer, 0, 8).set([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(e.dot4!(0, 16)).toBe(1 * 5 + 2 * 6 + 3 * 7 + 4 * 8);
    new Float64Array(memory.buffer, 64, 4).set([1.5, -2, 10, 20]);
    e.axpy2!(64, 80);
    expect([...new Float64Array(memory.buffer, 80, 2)]).toEqual([13, 16]);
    expect(e.count!(5)).toBe(5);
  });

  it("an invalid body is caught by validation (the tests' oracle can fail)", () => {
    // f32x4.add with nothing on the stack.
    const f: FunctionDef = { name: "f", params: [], results: [], locals: [], body: new Code().f32x4Add() };
    expect(wasm.validate(encodeModule({ memory: { exportAs: "m", minPages: 1 }, functions: [f] }))).toBe(false);
  });
});

describe("the SIMD probe", () => {
  it("validates where SIMD128 exists (Node 20), runs, and is small", () => {
    const bytes = simdProbe();
    expect(wasm.validate(bytes)).toBe(true);
    const probe = new wasm.Instance(new wasm.Module(bytes)).exports.probe as () => number;
    expect(probe()).toBe(1);
    expect(bytes.length).toBeLessThan(64);
  });
  it("the same shape with an opcode the engine does not know fails validation", () => {
    // Stands for an engine without SIMD128: 0xFD followed by an unassigned opcode (16383, the largest
    // two-byte u32), encoded by the same encoder so that every size stays right.
    const body = new Code()
      .f32Const(1)
      .raw(0xfd, ...u32(0x3fff))
      .f32x4ExtractLane(0);
    const fn: FunctionDef = { name: "probe", params: [], results: ["f32"], locals: [], body };
    const bytes = encodeModule({ memory: { exportAs: "memory", minPages: 0 }, functions: [fn] });
    expect(wasm.validate(bytes)).toBe(false);
  });
});
