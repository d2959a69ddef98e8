// WebAssembly SIMD kernels of the optimizer updates (issue 17 item 3): SGD, SGD with momentum, Adam and
// AdamW over the parameters, gradients and moments a memory holds (target.ts: the arena's `params`,
// `grads`, `m` and `v`), one call per range of trainable elements.
//
// Exactness: each kernel does, per element, the same IEEE operations in the same order as the TypeScript
// update in the generated trainStep (src/emit/module.ts), in double precision, on f64x2 lanes (two elements
// at a time; one element in scalar f64 code at the end of an odd range). JavaScript's arithmetic is double,
// and add, sub, mul, div and sqrt are correctly rounded in both JavaScript and WebAssembly, so every
// intermediate is the same double. In a float32 build the kernels read float32 values exactly
// (`f64x2.promote_low_f32x4`, `f64.promote_f32`) and round each stored value once to nearest-even
// (`f32x4.demote_f64x2_zero`, `f32.demote_f64`), which is what a store into a Float32Array does. Where the
// TypeScript update reads back a value it has just stored (AdamW's decayed parameter) the kernel rounds it
// to float32 and back in the same place. So the results are bit for bit the TypeScript path's in both
// precisions (NaN payloads aside); test/wasm-optimizer.test.ts checks equality. Scalars computed once per
// step on the host (1 − β₁, 1 − β₂, the bias corrections, AdamW's 1 − lr·wd) are passed in as the same
// doubles the TypeScript loop computes.
import { type Precision, kernelModule } from "./dense.js";
import { Code, type FunctionDef, type ValType, op, simd, u32 } from "./encoder.js";

/** Scalar opcodes these kernels add to encoder.ts's (spec 5.4.7 numeric); the SIMD ones are encoder.ts's `simd`. */
const scalarOp = { f64Sqrt: 0x9f, f64Sub: 0xa1, f64Div: 0xa3, f32DemoteF64: 0xb6, f64PromoteF32: 0xbb } as const;

/** An expression of the update of one element (scalar) or of two (f64x2), in double precision. */
export type Expr =
  | { readonly load: string }
  /** A constant (the same double in both lanes). */
  | { readonly constant: number }
  | { readonly scalar: string }
  | { readonly name: string }
  | { readonly op: "add" | "sub" | "mul" | "div"; readonly a: Expr; readonly b: Expr }
  | { readonly sqrt: Expr }
  /** Rounded to the storage precision and back (a value stored and read again). */
  | { readonly round: Expr };

/** `let name = expr` or `store array = expr`. */
type Statement = { readonly let: string; readonly value: Expr } | { readonly store: string; readonly value: Expr };

export const load = (array: string): Expr => ({ load: array });
const s = (name: string): Expr => ({ scalar: name });
const v = (name: string): Expr => ({ name });
export const constant = (x: number): Expr => ({ constant: x });
export const add = (a: Expr, b: Expr): Expr => ({ op: "add", a, b });
export const sub = (a: Expr, b: Expr): Expr => ({ op: "sub", a, b });
export const mul = (a: Expr, b: Expr): Expr => ({ op: "mul", a, b });
const div = (a: Expr, b: Expr): Expr => ({ op: "div", a, b });

/** One optimizer kernel: the arrays it reads and writes (byte addresses), its scalars, its update. */
export interface Update {
  readonly name: string;
  readonly arrays: readonly string[];
  readonly scalars: readonly string[];
  readonly body: readonly Statement[];
}

/** The updates, each the TypeScript loop of module.ts's trainStep written as expressions in its order:
 *  d = g + wd·p; SGD p − lr·d; momentum buf = μ·m + d (d itself on the first step); Adam/AdamW
 *  m = β₁·m + (1 − β₁)·d, v = β₂·v + ((1 − β₂)·d)·d, p − (lr·(m / c₁)) / (√(v / c₂) + ε), AdamW's p first
 *  scaled by 1 − lr·wd (stored, read again) and d = g. */
export const updates: readonly Update[] = [
  {
    name: "sgd",
    arrays: ["p", "g"],
    scalars: ["lr", "wd"],
    body: [
      { let: "P", value: load("p") },
      { let: "D", value: add(load("g"), mul(s("wd"), v("P"))) },
      { store: "p", value: sub(v("P"), mul(s("lr"), v("D"))) },
    ],
  },
  {
    name: "sgdMomentumFirst",
    arrays: ["p", "g", "m"],
    scalars: ["lr", "wd"],
    body: [
      { let: "P", value: load("p") },
      { let: "D", value: add(load("g"), mul(s("wd"), v("P"))) },
      { store: "m", value: v("D") },
      { store: "p", value: sub(v("P"), mul(s("lr"), v("D"))) },
    ],
  },
  {
    name: "sgdMomentum",
    arrays: ["p", "g", "m"],
    scalars: ["lr", "wd", "mu"],
    body: [
      { let: "P", value: load("p") },
      { let: "D", value: add(load("g"), mul(s("wd"), v("P"))) },
      { let: "B", value: add(mul(s("mu"), load("m")), v("D")) },
      { store: "m", value: v("B") },
      { store: "p", value: sub(v("P"), mul(s("lr"), v("B"))) },
    ],
  },
  {
    // Gradient clipping's scaling: g·c, rounded once.
    name: "scale",
    arrays: ["g"],
    scalars: ["c"],
    body: [{ store: "g", value: mul(load("g"), s("c")) }],
  },
  ...(["adam", "adamw"] as const).map((name): Update => ({
    name,
    arrays: ["p", "g", "m", "v"],
    scalars: ["lr", name === "adam" ? "wd" : "decay", "b1", "ob1", "b2", "ob2", "c1", "c2", "eps"],
    body: [
      ...(name === "adam"
        ? [
            { let: "P", value: load("p") },
            { let: "D", value: add(load("g"), mul(s("wd"), v("P"))) },
          ]
        : [
            { let: "P", value: { round: mul(load("p"), s("decay")) } },
            { let: "D", value: load("g") },
          ]),
      { let: "M", value: add(mul(s("b1"), load("m")), mul(s("ob1"), v("D"))) },
      { let: "V", value: add(mul(s("b2"), load("v")), mul(mul(s("ob2"), v("D")), v("D"))) },
      { store: "m", value: v("M") },
      { store: "v", value: v("V") },
      {
        store: "p",
        value: sub(v("P"), div(mul(s("lr"), div(v("M"), s("c1"))), add({ sqrt: div(v("V"), s("c2")) }, s("eps")))),
      },
    ],
  })),
];

/** The kernel of an update: `name(arrays…, n, scalars…)`, byte addresses and n elements. Two elements per
 *  step on f64x2 lanes, the last of an odd n in scalar code. */
export function updateKernel(u: Update, dtype: Precision): FunctionDef {
  const f32 = dtype === "float32";
  const elt = f32 ? 4 : 8;
  const array = (a: string) => u.arrays.indexOf(a);
  const n = u.arrays.length;
  const scalarParam = (x: string) => n + 1 + u.scalars.indexOf(x);
  const params: ValType[] = [...u.arrays.map((): ValType => "i32"), "i32", ...u.scalars.map((): ValType => "f64")];
  const first = params.length;
  const o = first; // byte offset of the current element
  const end = first + 1; // byte offset where the vector steps end
  const splat = (x: string) => first + 2 + u.scalars.indexOf(x);
  const names = u.body.flatMap((st) => ("let" in st ? [st.let] : []));
  const vecName = (x: string) => first + 2 + u.scalars.length + names.indexOf(x);
  const scalarName = (x: string) => first + 2 + u.scalars.length + names.length + names.indexOf(x);
  const locals: ValType[] = [
    "i32",
    "i32",
    ...u.scalars.map((): ValType => "v128"),
    ...names.map((): ValType => "v128"),
    ...names.map((): ValType => "f64"),
  ];
  const c = new Code();
  const vector = (k: number) => c.raw(op.simdPrefix, ...u32(k));
  const address = (a: string) => c.get(array(a)).get(o).i32Add();

  const expr = (e: Expr, vec: boolean): void => {
    if ("load" in e) {
      address(e.load);
      if (vec && f32) c.raw(op.simdPrefix, ...u32(simd.v128Load64Zero), 3, 0);
      if (vec && f32) vector(simd.f64x2PromoteLowF32x4);
      if (vec && !f32) c.v128Load();
      if (!vec && f32) c.f32Load().raw(scalarOp.f64PromoteF32);
      if (!vec && !f32) c.f64Load();
    } else if ("constant" in e) {
      if (vec) c.f64Const(e.constant).f64x2Splat();
      else c.f64Const(e.constant);
    } else if ("scalar" in e) {
      c.get(vec ? splat(e.scalar) : scalarParam(e.scalar));
    } else if ("name" in e) {
      c.get(vec ? vecName(e.name) : scalarName(e.name));
    } else if ("sqrt" in e) {
      expr(e.sqrt, vec);
      if (vec) vector(simd.f64x2Sqrt);
      else c.raw(scalarOp.f64Sqrt);
    } else if ("round" in e) {
      expr(e.round, vec);
      if (f32 && vec) vector(simd.f32x4DemoteF64x2Zero).raw(op.simdPrefix, ...u32(simd.f64x2PromoteLowF32x4));
      if (f32 && !vec) c.raw(scalarOp.f32DemoteF64, scalarOp.f64PromoteF32);
    } else {
      expr(e.a, vec);
      expr(e.b, vec);
      if (vec) {
        if (e.op === "add") c.f64x2Add();
        else if (e.op === "mul") c.f64x2Mul();
        else vector(e.op === "sub" ? simd.f64x2Sub : simd.f64x2Div);
      } else if (e.op === "add") c.f64Add();
      else if (e.op === "mul") c.f64Mul();
      else c.raw(e.op === "sub" ? scalarOp.f64Sub : scalarOp.f64Div);
    }
  };
  const statements = (vec: boolean): void => {
    for (const st of u.body) {
      if ("let" in st) {
        expr(st.value, vec);
        c.set(vec ? vecName(st.let) : scalarName(st.let));
      } else {
        address(st.store);
        expr(st.value, vec);
        if (vec && f32) vector(simd.f32x4DemoteF64x2Zero).raw(op.simdPrefix, ...u32(simd.v128Store64Lane), 3, 0, 0);
        if (vec && !f32) c.v128Store();
        if (!vec && f32) c.raw(scalarOp.f32DemoteF64).f32Store();
        if (!vec && !f32) c.f64Store();
      }
    }
  };

  for (const x of u.scalars) c.get(scalarParam(x)).f64x2Splat().set(splat(x));
  // end = (n & ~1) · elt; for (o = 0; o < end; o += 2 · elt) two elements; then the last of an odd n.
  c.get(n).i32Const(-2).i32And().i32Const(elt).i32Mul().set(end);
  c.block().loop();
  c.get(o).get(end).i32GeU().brIf(1);
  statements(true);
  c.get(o)
    .i32Const(2 * elt)
    .i32Add()
    .set(o);
  c.br(0).end().end();
  c.get(n).i32Const(1).i32And().if();
  statements(false);
  c.end();
  return { name: u.name, params, results: [], locals, body: c };
}

/** `sumSquares(g, n, sums)`: adds the squares of n gradient elements (read exactly, squared and summed in
 *  double precision) into four partial sums, the doubles at byte address `sums`: element 4j + k of the
 *  range into sum k, the last n mod 4 elements into sum 0, in order. The caller combines them as
 *  (s₀ + s₂) + (s₁ + s₃): the order of clipGradients in src/emit/runtime/weights.ts, so both targets agree
 *  bit for bit. Two f64x2 accumulators (sums 0–1 and 2–3) break V8's one-add-at-a-time chain. */
export function sumSquaresKernel(dtype: Precision): FunctionDef {
  const f32 = dtype === "float32";
  const elt = f32 ? 4 : 8;
  const [g, n, sums, o, end, a0, a1] = [0, 1, 2, 3, 4, 5, 6];
  const c = new Code();
  /** The square of the elements at byte offset `at` past g + o: two (f64x2) or one (f64). */
  const square = (at: number, vec: boolean) => {
    for (let k = 0; k < 2; k++) {
      c.get(g).get(o).i32Add();
      if (vec && f32)
        c.raw(op.simdPrefix, ...u32(simd.v128Load64Zero), 3, ...u32(at)).raw(
          op.simdPrefix,
          ...u32(simd.f64x2PromoteLowF32x4),
        );
      if (vec && !f32) c.v128Load(at);
      if (!vec && f32) c.f32Load(at).raw(scalarOp.f64PromoteF32);
      if (!vec && !f32) c.f64Load(at);
    }
    if (vec) c.f64x2Mul();
    else c.f64Mul();
  };
  c.get(sums).v128Load(0).set(a0);
  c.get(sums).v128Load(16).set(a1);
  c.get(n).i32Const(-4).i32And().i32Const(elt).i32Mul().set(end);
  c.block().loop();
  c.get(o).get(end).i32GeU().brIf(1);
  c.get(a0);
  square(0, true);
  c.f64x2Add().set(a0);
  c.get(a1);
  square(2 * elt, true);
  c.f64x2Add().set(a1);
  c.get(o)
    .i32Const(4 * elt)
    .i32Add()
    .set(o);
  c.br(0).end().end();
  c.get(sums).get(a0).v128Store(0);
  c.get(sums).get(a1).v128Store(16);
  // The last n mod 4 elements into sum 0, one at a time.
  c.get(n).i32Const(elt).i32Mul().set(end);
  c.block().loop();
  c.get(o).get(end).i32GeU().brIf(1);
  c.get(sums).get(sums).f64Load(0);
  square(0, false);
  c.f64Add().f64Store(0);
  c.get(o).i32Const(elt).i32Add().set(o);
  c.br(0).end().end();
  return {
    name: "sumSquares",
    params: ["i32", "i32", "i32"],
    results: [],
    locals: ["i32", "i32", "v128", "v128"],
    body: c,
  };
}

/** Every update's kernel and sumSquares, for one precision. */
export function optimizerKernels(dtype: Precision): FunctionDef[] {
  return [...updates.map((u) => updateKernel(u, dtype)), sumSquaresKernel(dtype)];
}

/** The update kernels in one module (for tests and benchmarks; generated modules group them with the
 *  layers' kernels, target.ts). */
export function optimizerModule(dtype: Precision): Uint8Array {
  return kernelModule(optimizerKernels(dtype));
}
