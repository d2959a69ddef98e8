// WebAssembly SIMD kernels of the activations (issue 17 item 3): tanh, sigmoid, SiLU and GELU's tanh
// approximation forward, SiLU's and GELU's gradients (float32 builds), and tanh's and sigmoid's gradients
// (either precision), over arrays in the memory, two elements at a time.
//
// How: each float32 x is widened exactly to double (`f64x2.promote_low_f32x4`), the function is evaluated
// in double precision on f64x2 lanes, and the result is rounded once to float32
// (`f32x4.demote_f64x2_zero`, round to nearest even). WebAssembly has no exp, so the kernels compute it:
//   exp(t) = 2^k · e^r,  k = round(t / ln 2),  r = (t − k·LN2_HI) − k·LN2_LO,  |r| ≤ ln 2 / 2 (+ tiny)
// (Cody and Waite's reduction with fdlibm's split of ln 2, whose high part has 21 trailing zero bits, so
// k·LN2_HI is exact for |k| < 2^21), e^r − 1 by its Taylor polynomial of degree 12 in Estrin's scheme, and
// 2^(k−1) built from the bits of k (the round-to-integer by adding 1.5·2^52 leaves k in the low mantissa
// bits of the sum; shifted left by 52 and added to 1022·2^52 they are the exponent field of 2^(k−1)), so
// that e^t = (2^(k−1)·(1 + q))·2 stays finite up to Math.exp's own overflow (k reaches 1024 there). t is
// clamped to [−708, ln(DBL_MAX)], where 2^(k−1) is a normal double; above ln(DBL_MAX) = 709.782712893384,
// the largest double whose exp is finite, exp is +∞ as Math.exp's is (so a SiLU or GELU of −∞ stays NaN and
// a zero of GELU′ keeps the TypeScript path's sign); below −708 it is e^−708 (≈ 3.3e−308, which rounds to
// the same float32 results as the true value wherever it is added to 1 or is itself the result: both are
// 0 in float32). tanh uses expm1 instead, for no cancellation near 0: tanh|x| = E / (E + 2), E =
// e^(2|x|) − 1 = 2^k·q + (2^k − 1), q = e^r − 1, |x| clamped at 20 (tanh rounds to 1 in float32 from 9.02
// up), the sign put back by its bit.
//
// Error bound (the "≤ 2 ulp"): the truncated series leaves |Σ_{i≥13} r^i/i!| ≤ 1.1·|r|^13/13!
// < 2.0e−16·|r| for |r| ≤ 0.3466; the polynomial's rounding adds at most ~4 ulp of double (2^−51
// relative) to q, and the reduction, the scaling by 2^k (exact), and the two or three final operations
// (add, divide, each correctly rounded) at most 2^−53 relative each. So the double result y' has |y' − y| ≤ 2^−47·|y| (an
// over-estimate of ≈ 1e−15 relative), and its rounding to float32 lands on the correctly rounded float32
// of y or on its neighbour when y lies within 2^−47·|y| of a midpoint: the float32 result is within
// 0.5 + 2^−23 ulp of the true value, so within 1 ulp. The TypeScript path (Math.tanh / Math.exp in double,
// ≤ 1 ulp of double, then the Float32Array store) is within the same distance, so the two paths differ by at
// most 1 ulp and agree on every float32 input except those whose value lies that close to a midpoint.
// scripts/ulp-check.mjs checks this over all 2^32 float32 inputs (docs/performance.md has its counts) and
// test/wasm-math.test.ts on a sample. Only float32 builds use these kernels: in a float64 build the result
// would be the double y' itself, ~1e−15 off Math.exp's, and the TypeScript path stays.
//
// The gradients of SiLU and GELU's tanh form (their derivatives take an exp of x; tanh's and sigmoid's take
// the output y and no exp: outputGradientKernel, exact): gx = f′(x)·g or gx + f′(x)·g, with f′ computed as
// activation.ts's `silu_grad` / `gelu_tanh_grad` operation for operation in double, only the exp being
// ours (≤ ~1e−15 relative off Math.exp). Where f′ does not cancel the bound above carries (1 ulp of the
// TypeScript loop's float32); where it does (GELU′ crosses zero near x = −0.75), the difference is at most
// ~1e−15·|g| in absolute terms, as the TypeScript path's own error there.
import type { Precision } from "./dense.js";
import { Code, type FunctionDef, op, simd as v, u32 } from "./encoder.js";
import { type Expr, add, constant, load, mul, sub, updateKernel } from "./optimizer.js";

/** The activations with a kernel here; their TypeScript forms are activation.ts's rules. */
export const unaryFunctions = ["tanh", "sigmoid", "silu", "gelu_tanh"] as const;
export type UnaryFunction = (typeof unaryFunctions)[number];

const LOG2E = 1.4426950408889634;
/** fdlibm's e_exp.c: ln2HI = 0x3FE62E42FEE00000, ln2LO = 0x3DEA39EF35793C76. */
const LN2_HI = 6.9314718036912381649e-1;
const LN2_LO = 1.90821492927058770002e-10;
/** 1.5·2^52: adding it rounds a double of magnitude < 2^51 to an integer held in the low mantissa bits. */
const SHIFT = 6755399441055744;
/** Terms 1/i! of e^r − 1, i = 1…12. */
const TAYLOR = Array.from({ length: 12 }, (_, i) => {
  let f = 1;
  for (let j = 2; j <= i + 1; j++) f *= j;
  return 1 / f;
});
/** The exponent bias less one in its place, 1022·2^52, as a double's bits: those of 0.5 (2^(k−1), not 2^k). */
const BIAS = 0.5;
/** exp's argument range: above, Math.exp is +∞ (the largest double whose exp is finite: ln(DBL_MAX)); below
 *  −708, 2^(k−1) would leave the normal doubles. */
const EXP_MAX = 709.782712893384;
const EXP_MIN = -708;

/** The 16 bytes of a v128 holding `x` in both f64 lanes. */
function f64x2Bytes(x: number): number[] {
  const b = new Uint8Array(16);
  const view = new DataView(b.buffer);
  view.setFloat64(0, x, true);
  view.setFloat64(8, x, true);
  return [...b];
}

/** Locals of a kernel after its parameters (Emit adds the parameter count): the loop's end address, then
 *  v128 values. */
const END = 0;
const X = 1;
const T = 2;
const KD = 3;
const K = 4;
const R = 5;
const Q = 6;
const P2K = 7;
const E = 8;
const M = 9;
const R2 = 10;
const R4 = 11;
const B2 = 12;
const G = 13;
const S = 14;

/** The first local free for constants. */
const CONSTANTS = 15;

class Emit {
  readonly c = new Code();
  /** Constants by value, each in a local set once before the loop. */
  readonly constants = new Map<string, { readonly value: number; readonly local: number }>();
  /** `params`: the kernel's parameter count (its locals come after). */
  constructor(readonly params: number) {}
  simd(n: number): this {
    this.c.raw(op.simdPrefix, ...u32(n));
    return this;
  }
  const(x: number): this {
    const key = Object.is(x, -0) ? "-0" : String(x);
    let entry = this.constants.get(key);
    if (entry === undefined) {
      entry = { value: x, local: CONSTANTS + this.constants.size };
      this.constants.set(key, entry);
    }
    return this.get(entry.local);
  }
  /** A local of the list above (or a constant's). */
  get(l: number): this {
    this.c.get(this.params + l);
    return this;
  }
  set(l: number): this {
    this.c.set(this.params + l);
    return this;
  }
  /** Two float32 values at the address in parameter \`param\`, widened to f64x2. */
  load(param: number): this {
    this.c.get(param).raw(op.simdPrefix, ...u32(v.v128Load64Zero), 3, 0);
    return this.simd(v.f64x2PromoteLowF32x4);
  }
  /** The f64x2 on the stack rounded to two float32 values, stored at the address in parameter \`param\`
   *  (pushed first: \`store\` takes the address below the value). */
  storeTo(param: number, value: () => void): this {
    this.c.get(param);
    value();
    this.simd(v.f32x4DemoteF64x2Zero);
    this.c.raw(op.simdPrefix, ...u32(v.v128Store64Lane), 3, 0, 0);
    return this;
  }
  /** The function: \`body\` once per pair while parameter 0 is below the end (parameter \`pairs\` pairs
   *  from its start), every address parameter before \`pairs\` then advanced by 8 bytes. */
  kernel(name: string, pairs: number, body: () => void): FunctionDef {
    const c = this.c;
    c.block().loop();
    c.get(0);
    this.get(END);
    c.i32GeU().brIf(1);
    body();
    for (let a = 0; a < pairs; a++) c.get(a).i32Const(8).i32Add().set(a);
    c.br(0).end().end();
    // end = first address + 8·pairs; the constants
    const prologue = new Code()
      .get(0)
      .get(pairs)
      .i32Const(8)
      .i32Mul()
      .i32Add()
      .set(this.params + END);
    for (const { value, local } of this.constants.values())
      prologue.v128Const(f64x2Bytes(value)).set(this.params + local);
    prologue.raw(...c.bytes);
    return {
      name,
      params: Array.from({ length: this.params }, (): "i32" => "i32"),
      results: [],
      locals: ["i32", ...Array.from({ length: CONSTANTS - 1 + this.constants.size }, (): "v128" => "v128")],
      body: prologue,
    };
  }

  /** From t in local T (clamped): Q = e^r − 1 and P2K = 2^(k−1), so e^t = (P2K·Q + P2K)·2. */
  expParts(): this {
    // kd = t·log2e + 1.5·2^52; k = kd − 1.5·2^52
    this.get(T).const(LOG2E).simd(v.f64x2Mul).const(SHIFT).simd(v.f64x2Add).set(KD);
    this.get(KD).const(SHIFT).simd(v.f64x2Sub).set(K);
    // r = (t − k·LN2_HI) − k·LN2_LO
    this.get(T).get(K).const(LN2_HI).simd(v.f64x2Mul).simd(v.f64x2Sub);
    this.get(K).const(LN2_LO).simd(v.f64x2Mul).simd(v.f64x2Sub).set(R);
    // q = r·P(r), P(r) = c1 + c2·r + … + c12·r^11 by Estrin's scheme (a short dependency chain):
    // pairs a_i = c_{2i+1} + c_{2i+2}·r, b_j = a_{2j} + a_{2j+1}·r², P = (b0 + b1·r⁴) + b2·r⁸
    this.get(R).get(R).simd(v.f64x2Mul).set(R2);
    this.get(R2).get(R2).simd(v.f64x2Mul).set(R4);
    const pair = (i: number) =>
      this.get(R)
        .const(TAYLOR[2 * i + 1]!)
        .simd(v.f64x2Mul)
        .const(TAYLOR[2 * i]!)
        .simd(v.f64x2Add);
    const b = (j: number) => {
      pair(2 * j + 1);
      this.get(R2).simd(v.f64x2Mul);
      pair(2 * j);
      this.simd(v.f64x2Add);
    };
    b(2);
    this.set(B2);
    b(1);
    this.get(R4).simd(v.f64x2Mul);
    b(0);
    this.simd(v.f64x2Add);
    this.get(B2).get(R4).get(R4).simd(v.f64x2Mul).simd(v.f64x2Mul).simd(v.f64x2Add);
    this.get(R).simd(v.f64x2Mul).set(Q);
    // 2^(k−1): the low 12 bits of kd's mantissa (k mod 4096) into the exponent field, plus the bias less one
    this.get(KD);
    this.c.i32Const(52);
    this.simd(v.i64x2Shl);
    this.const(BIAS);
    this.simd(v.i64x2Add).set(P2K);
    return this;
  }

  /** e^t for t in local T, left on the stack: +∞ above EXP_MAX, e^EXP_MIN below EXP_MIN, NaN for NaN. */
  exp(): this {
    // the lanes where t > EXP_MAX, kept for the overflow select below
    this.get(T).const(EXP_MAX).simd(v.f64x2Gt).set(M);
    this.get(T).const(EXP_MIN).simd(v.f64x2Pmax).const(EXP_MAX).simd(v.f64x2Pmin).set(T);
    this.expParts();
    // (2^(k−1)·q + 2^(k−1))·2: the doubling is exact, and finite wherever Math.exp's result is
    this.get(P2K).get(Q).simd(v.f64x2Mul).get(P2K).simd(v.f64x2Add).const(2).simd(v.f64x2Mul).set(E);
    // bitselect(∞, e, mask): ∞ where t > EXP_MAX
    return this.const(Infinity).get(E).get(M).simd(v.v128Bitselect);
  }
}

/** The body computing f(x) for x in local X (f64x2), leaving the f64x2 result on the stack. */
function evaluate(e: Emit, fn: UnaryFunction): void {
  switch (fn) {
    case "tanh": {
      // t = min(2|x|, 40); E = 2^k·q + (2^k − 1), 2^k = 2·2^(k−1) (exact); tanh|x| = E / (E + 2); the sign
      // of x put back
      e.get(X).simd(v.f64x2Abs).const(2).simd(v.f64x2Mul).const(40).simd(v.f64x2Pmin).set(T);
      e.expParts();
      e.get(P2K).const(2).simd(v.f64x2Mul).set(P2K);
      e.get(P2K).get(Q).simd(v.f64x2Mul).get(P2K).const(1).simd(v.f64x2Sub).simd(v.f64x2Add).set(E);
      e.get(E).get(E).const(2).simd(v.f64x2Add).simd(v.f64x2Div);
      e.get(X).const(-0).simd(v.v128And).simd(v.v128Or);
      return;
    }
    case "sigmoid":
      // 1 / (1 + exp(−x))
      e.get(X).simd(v.f64x2Neg).set(T);
      e.const(1).const(1).exp().simd(v.f64x2Add).simd(v.f64x2Div);
      return;
    case "silu":
      // x / (1 + exp(−x))
      e.get(X).simd(v.f64x2Neg).set(T);
      e.get(X).const(1).exp().simd(v.f64x2Add).simd(v.f64x2Div);
      return;
    case "gelu_tanh":
      // x / (1 + exp(−1.5957691216057308 · (x + 0.044715·x·x·x))), the operations in activation.ts's order
      e.const(-1.5957691216057308);
      e.get(X).const(0.044715).get(X).simd(v.f64x2Mul).get(X).simd(v.f64x2Mul).get(X).simd(v.f64x2Mul);
      e.simd(v.f64x2Add).simd(v.f64x2Mul).set(T);
      e.get(X).const(1).exp().simd(v.f64x2Add).simd(v.f64x2Div);
      return;
  }
}

/** `name(ptr, pairs)`: f over the `2·pairs` float32 values at byte address `ptr`, in place. */
export function unaryKernel(fn: UnaryFunction, name: string): FunctionDef {
  const e = new Emit(2);
  return e.kernel(name, 1, () => {
    e.load(0).set(X);
    e.storeTo(0, () => evaluate(e, fn));
  });
}

/** The activations whose gradient has a kernel here: those whose derivative takes an exp of x (tanh's and
 *  sigmoid's take their output y, a multiply the TypeScript loop does as fast). */
export const gradientFunctions = ["silu", "gelu_tanh"] as const;
export type GradientFunction = (typeof gradientFunctions)[number];

/** `name(x, g, gx, pairs)`: gx = f′(x)·g, or with `accumulate` gx = gx + f′(x)·g, over `2·pairs` float32
 *  values at byte addresses x, g and gx; f′ as activation.ts's helpers `silu_grad` and `gelu_tanh_grad`
 *  compute it, operation for operation, in double, rounded once on the store. */
export function gradientKernel(fn: GradientFunction, accumulate: boolean, name: string): FunctionDef {
  const e = new Emit(4);
  return e.kernel(name, 3, () => {
    e.load(0).set(X);
    e.load(1).set(G);
    // s = 1 / (1 + exp(t)): t = −x (SiLU), −1.5957691216057308·(x + 0.044715·x·x·x) (GELU)
    if (fn === "silu") {
      e.get(X).simd(v.f64x2Neg).set(T);
    } else {
      e.const(-1.5957691216057308);
      e.get(X).const(0.044715).get(X).simd(v.f64x2Mul).get(X).simd(v.f64x2Mul).get(X).simd(v.f64x2Mul);
      e.simd(v.f64x2Add).simd(v.f64x2Mul).set(T);
    }
    e.const(1).const(1).exp().simd(v.f64x2Add).simd(v.f64x2Div).set(S);
    e.storeTo(2, () => {
      if (accumulate) e.load(2);
      if (fn === "silu") {
        // s·(1 + x·(1 − s))
        e.get(S).const(1).get(X).const(1).get(S).simd(v.f64x2Sub).simd(v.f64x2Mul).simd(v.f64x2Add).simd(v.f64x2Mul);
      } else {
        // s + 1.5957691216057308·x·s·(1 − s)·(1 + 0.134145·x·x), left to right as JavaScript evaluates it
        e.get(S);
        e.const(1.5957691216057308).get(X).simd(v.f64x2Mul).get(S).simd(v.f64x2Mul);
        e.const(1).get(S).simd(v.f64x2Sub).simd(v.f64x2Mul);
        e.const(1).const(0.134145).get(X).simd(v.f64x2Mul).get(X).simd(v.f64x2Mul).simd(v.f64x2Add);
        e.simd(v.f64x2Mul).simd(v.f64x2Add);
      }
      e.get(G).simd(v.f64x2Mul);
      if (accumulate) e.simd(v.f64x2Add);
    });
  });
}

/** The activations whose gradient takes their output y (activation.ts's rules `g * (1 - y * y)` and
 *  `g * y * (1 - y)`). */
export const outputGradientFunctions = ["tanh", "sigmoid"] as const;
export type OutputGradientFunction = (typeof outputGradientFunctions)[number];

/** Whether an activation's gradient takes its output (tanh, sigmoid: outputGradientKernel, either precision)
 *  rather than an exp of its input (gradientKernel, float32 only). */
export function isOutputGradient(fn: GradientFunction | OutputGradientFunction): fn is OutputGradientFunction {
  return (outputGradientFunctions as readonly string[]).includes(fn);
}

/** `name(y, g, gx, pairs)`: gx = rule(y, g), or gx + rule(y, g) with `accumulate`, over `2·pairs` values —
 *  the TypeScript loop's operations in its order, in double, rounded once on the store (optimizer.ts's
 *  `updateKernel`), so the same values bit for bit in either precision. Pairs, as gradientKernel's: the
 *  element count is doubled on entry (an odd count's last pair reads one value past it, which the caller
 *  does not copy out). */
export function outputGradientKernel(
  fn: OutputGradientFunction,
  accumulate: boolean,
  dtype: Precision,
  name: string,
): FunctionDef {
  const y = load("y");
  const g = load("g");
  const rule: Expr = fn === "tanh" ? mul(g, sub(constant(1), mul(y, y))) : mul(mul(g, y), sub(constant(1), y));
  const kernel = updateKernel(
    {
      name,
      arrays: ["y", "g", "gx"],
      scalars: [],
      body: [{ store: "gx", value: accumulate ? add(load("gx"), rule) : rule }],
    },
    dtype,
  );
  // parameter 3, the element count, from pairs
  const body = new Code()
    .get(3)
    .i32Const(2)
    .i32Mul()
    .set(3)
    .raw(...kernel.body.bytes);
  return { ...kernel, body };
}
