import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../src/diagnostics/diagnostic.js";
import { evaluate, floorDiv, floorMod, type NumValue } from "../src/resolve/evaluate.js";
import { resolve, type ImportedSymbol, type ResolvedFile } from "../src/resolve/resolve.js";
import { parse } from "../src/syntax/parse.js";
import type { BlockDecl, Expr, FileNode } from "../src/syntax/ast.js";
import { layerKinds, layers, universalOptions } from "../src/vocabulary/layers.js";

function parseOk(source: string, file = "test.nn"): FileNode {
  const parsed = parse(source, file);
  expect(
    parsed.diagnostics.map((d) => `${d.code} ${d.message}`),
    "the case must parse",
  ).toEqual([]);
  expect(parsed.value.ast).not.toBeNull();
  return parsed.value.ast!;
}

function check(
  source: string,
  imported?: Map<string, ImportedSymbol>,
): { value: ResolvedFile; diagnostics: readonly Diagnostic[] } {
  return resolve(parseOk(source), imported);
}

const codes = (ds: readonly Diagnostic[]): string[] => ds.map((d) => d.code).sort();

// ── Clean sources ────────────────────────────────────────────────────────────────────────────────────

const clean: { name: string; source: string }[] = [
  {
    name: "mnist mlp",
    source: `
model MnistMlp(image: f32[1, 28, 28]) {
  flatten
  dense(128) relu
  dense(64) relu
  dense(10)
  expect params == 109_386
}`,
  },
  {
    name: "named values and a block with an explicit input",
    source: `
block SwiGlu(d, hidden) {
  input x
  gate = x -> dense(hidden, bias = false) as gate_proj -> silu
  up   = x -> dense(hidden, bias = false) as up_proj
  gate * up -> dense(d, bias = false) as down_proj
}
model M(x: f32[16]) { SwiGlu(16, 64) as mlp }`,
  },
  {
    name: "gpt-like: constants in any order, repeat, residual, tie, loss, expects",
    source: `
const d = 768
const heads = d / 64
block Mlp(d, hidden = 4 * d) {
  dense(hidden) as c_fc
  gelu(approximate = tanh)
  dense(d) as c_proj
}
block Layer(d, heads) {
  residual { layernorm as ln_1; attention(heads, causal = true, qkv = fused, dropout = 0.1) as attn }
  residual { layernorm as ln_2; Mlp(d) as mlp }
}
model Gpt(tokens: token[seq <= ctx] of vocab) {
  embedding(vocab, d) as wte
  positional(ctx, d) as wpe
  dropout(0.1)
  repeat n_layer as h { Layer(d, heads = n_head) }
  layernorm as ln_f
  dense(vocab, bias = false, tie = wte) as lm_head
  loss cross_entropy
  expect params == 124_439_808
  expect flops <= 1e12
}
const vocab = 50_257
const ctx = 1024
const n_layer = 12
const n_head = heads`,
  },
  {
    name: "shortcut body literal, block params used symbolically, defaults from earlier params",
    source: `
block Down(c, stride = 1) { conv2d(c, 1, stride = stride, bias = false); batchnorm }
block Basic(c, stride = 2, pad = stride - 1) {
  residual(shortcut = { Down(c, stride) as downsample }) {
    conv2d(c, 3, stride = stride, padding = pad, bias = false) as conv1
    batchnorm(eps = 1e-5, momentum = 0.1) as bn1
    relu
  }
  relu
}
model R(image: f32[3, 32, 32]) {
  Basic(64)
  max_pool2d([2, 2], stride = [2, 2])
  conv2d(8, [3, 3], padding = same, dilation = [1, 2])
  adaptive_avg_pool2d([1, 1]) flatten dense(10)
}`,
  },
  {
    name: "split, concat, lists of values, several inputs, output",
    source: `
block Pair { input a, b; [a, b] -> concat(axis = -1) }
model M(x: f32[8, 12], y: f32[8, 12]) {
  q, k, v = x -> split(3, axis = -1)
  s = [q, k] -> Pair
  parts = y -> split([4, 8])
  z = q + k * v
  output z, s
}`,
  },
  {
    name: "every argument by name, activations with positional defaults, aliases, containers",
    source: `
model M(x: f32[4, 16]) {
  dense(out = 32, bias = true, frozen = false)
  leaky_relu(0.2) leaky_relu(negative_slope = 0.1) prelu elu(alpha = 1) selu swish mish
  softplus(beta = 2, threshold = 10) softsign hard_sigmoid sigmoid tanh identity
  softmax(axis = -1) log_softmax
  moe(8, top_k = 2) { dense(64) gelu dense(32) }
  transpose(0, 1) reshape([-1, 4]) take(0) mean(axis = 0)
  rotary(theta = 10_000)
}
model Tied(tokens: token[16] of 100) {
  embedding(100, 8) as wte
  residual { dense(8, frozen = true) as enc }
  dense(8, tie = enc) dense(8, tie = transpose(wte)) dense(8, tie = encoder.embed.inner)
}
model T(tokens: token[seq <= 512] of 1000, mask: f32[seq, 4]) {
  embedding(1000, 64, padding_idx = 0) class_token(64)
  lstm(128, layers = 2, bidirectional = true, bias_convention = keras, sequences = false)
  rnn(32, nonlinearity = relu) gru(16)
  rmsnorm(eps = 1e-6, affine = false) groupnorm(4) layernorm(bias = false)
  attention(4, kv_heads = 2, qkv = separate, head_dim = 16, out_bias = false, rope = true, rope_theta = 500_000)
  conv1d(8, 3, padding = valid) max_pool1d(2) avg_pool1d(2, count_include_pad = false) global_avg_pool
  conv_transpose2d(4, [2, 2], output_padding = [1, 0]) avg_pool2d(2, ceil_mode = true) adaptive_avg_pool1d(4)
  loss binary_cross_entropy(logits = true)
}`,
  },
  {
    name: "constants inside a body, exact arithmetic with // and %",
    source: `
const a = -7 // 2
const b = -7 % 2
block B(d) {
  const h = 4 * d
  const q = 10 // 3 + 10 % 3
  dense(h) dense(q) dense(b)
}
model M(x: f32[4]) { B(4) dense(a * -1) }`,
  },
];

describe("resolve: clean sources", () => {
  it.each(clean)("$name", ({ source }) => {
    const r = check(source);
    expect(r.diagnostics.map((d) => `${d.code} ${d.span?.line}:${d.span?.column} ${d.message}`)).toEqual([]);
  });
});

// ── Error cases ──────────────────────────────────────────────────────────────────────────────────────

const errors: { name: string; source: string; codes: string[] }[] = [
  // names at file level
  { name: "duplicate constant", source: "const a = 1\nconst a = 2", codes: ["NN2001"] },
  { name: "block and model with one name", source: "block M { relu }\nmodel M(x: f32[1]) { relu }", codes: ["NN2001"] },
  { name: "block named like a layer kind", source: "block dense(n) { relu }", codes: ["NN2010"] },
  { name: "block parameter named like a universal option", source: "block B(frozen) { relu }", codes: ["NN2010"] },
  { name: "duplicate block parameter", source: "block B(a, a) { relu }", codes: ["NN2001"] },
  // constants
  { name: "unknown name in a constant", source: "const d = 768\nconst h = dd * 4", codes: ["NN2002"] },
  { name: "constant cycle of two", source: "const a = b + 1\nconst b = a * 2", codes: ["NN2003"] },
  { name: "constant defined by itself", source: "const a = a + 1", codes: ["NN2003"] },
  {
    name: "a cycle is reported once, its users stay quiet",
    source: "const x = a\nconst a = b\nconst b = a",
    codes: ["NN2003"],
  },
  { name: "inexact division", source: "const a = 768 / 5", codes: ["NN3002"] },
  { name: "division by zero", source: "const z = 0\nconst a = 8 / z", codes: ["NN3003"] },
  { name: "remainder by zero", source: "const a = 8 % 0", codes: ["NN3003"] },
  { name: "floor division by zero", source: "const a = 8 // (2 - 2)", codes: ["NN3003"] },
  { name: "decimal constant", source: "const a = 1.5", codes: ["NN3004"] },
  {
    name: "integer overflow",
    source: "const a = 1_000_000_000_000_000_000 * 1_000_000_000_000_000_000 * 1_000_000_000_000_000_000",
    codes: ["NN3006"],
  },
  {
    name: "integer overflow at the literal",
    source: "const a = 100_000_000_000_000_000_000_000_000_000_000",
    codes: ["NN3006"],
  },
  // block parameters
  { name: "parameter without default after one with", source: "block B(a = 1, b) { dense(b) }", codes: ["NN4015"] },
  { name: "default refers to a later parameter", source: "block B(a = b, b = 2) { dense(a) }", codes: ["NN2002"] },
  // stages and values
  { name: "unknown layer with suggestion", source: "model M(x: f32[4]) { dense(4) rleu }", codes: ["NN2004"] },
  { name: "unknown called layer", source: "model M(x: f32[4]) { dens(4) }", codes: ["NN2004"] },
  {
    name: "a model is not callable",
    source: "model A(x: f32[4]) { relu }\nmodel B(x: f32[4]) { A }",
    codes: ["NN2004"],
  },
  {
    name: "unknown value",
    source: "block G { input x\n gate = x -> dense(4)\n up = x -> dense(4)\n gat * up }",
    codes: ["NN2005"],
  },
  {
    name: "value used before it is bound",
    source: "model M(x: f32[4]) { y -> relu\n y = x -> dense(4) }",
    codes: ["NN2005"],
  },
  {
    name: "inner bindings do not leak out of a residual",
    source: "model M(x: f32[4]) { residual { y = x -> relu }\n y -> relu }",
    codes: ["NN2005"],
  },
  { name: "binding named like a layer kind", source: "model M(x: f32[4]) { relu = x -> dense(4) }", codes: ["NN2006"] },
  {
    name: "binding named like a block",
    source: "block B { relu }\nmodel M(x: f32[4]) { B = x -> dense(4) }",
    codes: ["NN2006"],
  },
  { name: "input named like a layer kind", source: "model M(dense: f32[4]) { relu }", codes: ["NN2006"] },
  { name: "value bound twice", source: "model M(x: f32[4]) { y = x -> relu\n y = x -> tanh }", codes: ["NN2001"] },
  { name: "direct block recursion", source: "block A(n) { dense(n) A(n) }", codes: ["NN2007"] },
  {
    name: "indirect block recursion through a nested body",
    source: "block A { B }\nblock B { residual { C } }\nblock C { repeat 2 { A } }",
    codes: ["NN2007"],
  },
  { name: "duplicate as name", source: "model M(x: f32[4]) { dense(4) as fc\n dense(4) as fc }", codes: ["NN2008"] },
  {
    name: "residual is transparent for names",
    source: "model M(x: f32[4]) { dense(4) as fc\n residual { dense(4) as fc } }",
    codes: ["NN2008"],
  },
  // input types
  { name: "unknown dtype", source: "model M(x: f16[4]) { relu }", codes: ["NN3001"] },
  { name: "token without vocabulary", source: "model M(t: token[16]) { relu }", codes: ["NN3007"] },
  { name: "float with vocabulary", source: "model M(x: f32[16] of 10) { relu }", codes: ["NN3007"] },
  {
    name: "bounded dimension without a name",
    source: "model M(t: token[2 * 8 <= 16] of 10) { relu }",
    codes: ["NN3008"],
  },
  {
    name: "bounded dimension named like a constant",
    source: "const seq = 4\nmodel M(t: token[seq <= 16] of 10) { relu }",
    codes: ["NN3008"],
  },
  { name: "zero input size", source: "model M(x: f32[0, 4]) { relu }", codes: ["NN3005"] },
  { name: "undeclared symbolic dimension", source: "model M(x: f32[seq, 4]) { relu }", codes: ["NN2002"] },
  // arguments
  { name: "unknown option", source: "model M(x: f32[4]) { dense(128, bais = false) }", codes: ["NN4001"] },
  { name: "wrong option type", source: "model M(x: f32[4]) { dense(128, bias = 3) }", codes: ["NN4002"] },
  { name: "missing required argument", source: "model M(x: f32[3, 8, 8]) { conv2d(64) }", codes: ["NN4003"] },
  { name: "missing argument of a bare layer", source: "model M(x: f32[4]) { dense }", codes: ["NN4003"] },
  {
    name: "missing block argument",
    source: "block B(d, h = 2) { dense(d) }\nmodel M(x: f32[4]) { B(h = 3) }",
    codes: ["NN4003"],
  },
  {
    name: "option given twice",
    source: "model M(x: f32[4]) { dense(128, bias = false, bias = true) }",
    codes: ["NN4004"],
  },
  { name: "positional given again by name", source: "model M(x: f32[4]) { dense(128, out = 64) }", codes: ["NN4004"] },
  { name: "too many positional arguments", source: "model M(x: f32[4]) { dense(1, 2, 3) }", codes: ["NN4005"] },
  {
    name: "too many block arguments",
    source: "block B(d) { dense(d) }\nmodel M(x: f32[4]) { B(1, 2) }",
    codes: ["NN4005"],
  },
  { name: "positional after named", source: "model M(x: f32[3, 8, 8]) { conv2d(out = 3, 3) }", codes: ["NN4006"] },
  { name: "enum value not allowed", source: "model M(x: f32[4]) { gelu(approximate = fast) }", codes: ["NN4007"] },
  {
    name: "padding name not allowed",
    source: "model M(x: f32[3, 8, 8]) { conv2d(4, 3, padding = sme) }",
    codes: ["NN4007"],
  },
  { name: "body on a plain layer", source: "model M(x: f32[4]) { dense(3) { relu } }", codes: ["NN4008"] },
  { name: "body on a block call", source: "block B { relu }\nmodel M(x: f32[4]) { B { relu } }", codes: ["NN4008"] },
  { name: "residual without body", source: "model M(x: f32[4]) { residual }", codes: ["NN4009"] },
  { name: "moe without body", source: "model M(x: f32[4]) { moe(8, 2) }", codes: ["NN4009"] },
  { name: "decimal size", source: "model M(x: f32[4]) { dense(0.5) }", codes: ["NN3004"] },
  { name: "zero size", source: "model M(x: f32[4]) { dense(0) }", codes: ["NN3005"] },
  { name: "negative padding", source: "model M(x: f32[3, 8, 8]) { conv2d(4, 3, padding = -1) }", codes: ["NN3005"] },
  { name: "negative repeat count", source: "model M(x: f32[4]) { repeat 2 - 3 { relu } }", codes: ["NN3005"] },
  {
    name: "kernel list of the wrong length",
    source: "model M(x: f32[3, 8, 8]) { conv2d(4, [3, 3, 3]) }",
    codes: ["NN4002"],
  },
  { name: "list where an integer is required", source: "model M(x: f32[4]) { dense([4, 4]) }", codes: ["NN4002"] },
  {
    name: "tie to something that is not a path",
    source: "model M(x: f32[4]) { dense(4, tie = 3) }",
    codes: ["NN4002"],
  },
  {
    name: "shortcut that is not a body",
    source: "model M(x: f32[4]) { residual(shortcut = relu) { relu } }",
    codes: ["NN4002"],
  },
  {
    name: "symbolic dimension where a fixed size is needed",
    source: "model M(t: token[seq <= 8] of 10) { dense(seq) }",
    codes: ["NN4002"],
  },
  {
    name: "a value where a number is needed",
    source: "model M(x: f32[4]) { y = x -> relu\n dense(y) }",
    codes: ["NN4012"],
  },
  { name: "a number as a stage", source: "model M(x: f32[4]) { dense 128 }", codes: ["NN4003", "NN4012"] },
  { name: "division of values", source: "model M(x: f32[4], y: f32[4]) { x / y }", codes: ["NN4012"] },
  { name: "subtraction of values is allowed", source: "model M(x: f32[4], y: f32[4]) { x - y }", codes: [] },
  {
    name: "errors inside a shortcut body are found",
    source: "model M(x: f32[4]) { residual(shortcut = { dens(4) }) { relu } }",
    codes: ["NN2004"],
  },
  // statements
  { name: "input in a model", source: "model M(x: f32[4]) { input y\n relu }", codes: ["NN4011"] },
  { name: "input twice in a block", source: "block B { input a\n input b\n relu }", codes: ["NN4011"] },
  { name: "loss in a block", source: "block B { relu\n loss mse }", codes: ["NN4011"] },
  {
    name: "expect inside a repeat body",
    source: "model M(x: f32[4]) { repeat 2 { relu\n expect params == 0 } }",
    codes: ["NN4011"],
  },
  { name: "two losses", source: "model M(x: f32[4]) { relu\n loss mse\n loss cross_entropy }", codes: ["NN4013"] },
  { name: "unknown loss", source: "model M(x: f32[4]) { relu\n loss cross_entrpy }", codes: ["NN4014"] },
  {
    name: "unknown loss option",
    source: "model M(x: f32[4]) { relu\n loss binary_cross_entropy(logit = true) }",
    codes: ["NN4001"],
  },
  { name: "mse takes no options", source: "model M(x: f32[4]) { relu\n loss mse(logits = true) }", codes: ["NN4001"] },
  { name: "unknown expect quantity", source: "model M(x: f32[4]) { relu\n expect parms == 5 }", codes: ["NN4010"] },
  // all errors in one run
  {
    name: "every error of a file is reported",
    source: `
const a = 768 / 5
const b = c
block dense { relu }
model M(x: f16[4]) {
  rleu
  dense(4, bais = true, bias = 2)
  conv2d(8)
  loss mes
  expect parms == 1
}`,
    codes: ["NN2002", "NN2010", "NN3001", "NN3002", "NN4001", "NN4002", "NN4003", "NN4010", "NN4014", "NN2004"],
  },
];

describe("resolve: diagnostics", () => {
  it.each(errors)("$name", ({ source, codes: wanted }) => {
    const r = check(source);
    expect(codes(r.diagnostics)).toEqual([...wanted].sort());
  });
});

// ── Messages, labels and help ────────────────────────────────────────────────────────────────────────

function only(source: string, imported?: Map<string, ImportedSymbol>): Diagnostic {
  const r = check(source, imported);
  expect(r.diagnostics).toHaveLength(1);
  return r.diagnostics[0]!;
}

describe("resolve: messages", () => {
  it("unknown option suggests the closest option, spanning only the option name", () => {
    const source = "model M(x: f32[4]) { dense(128, bais = false) }";
    const d = only(source);
    expect(d.message).toBe("`dense` has no option `bais`");
    expect(d.help).toBe("did you mean `bias`?");
    expect(source.slice(d.span!.start, d.span!.end)).toBe("bais");
  });

  it("unknown layer suggests a layer kind or block", () => {
    const d = only("block MyMlp { relu }\nmodel M(x: f32[4]) { MyMpl }");
    expect(d.code).toBe("NN2004");
    expect(d.help).toBe("did you mean `MyMlp`?");
  });

  it("inexact division names both operands and suggests //", () => {
    const d = only("const n = 768\nconst a = n / 5");
    expect(d.message).toBe("768 / 5 does not divide exactly");
    expect(d.help).toContain("`//`");
    expect(d.help).toContain("153");
    expect(d.labels.map((l) => l.message)).toEqual(["this is 768"]);
  });

  it("a constant cycle labels each step", () => {
    const source = "const a = b + 1\nconst b = c\nconst c = a";
    const d = only(source);
    expect(d.message).toBe("constants form a cycle: `a` → `b` → `c` → `a`");
    expect(d.labels.map((l) => l.message)).toEqual(["`a` uses `b`", "`b` uses `c`", "`c` uses `a`"]);
    expect(source.slice(d.span!.start, d.span!.end)).toBe("a");
  });

  it("duplicate definitions point at the first one", () => {
    const source = "const a = 1\nconst a = 2";
    const d = only(source);
    expect(d.span!.line).toBe(2);
    expect(d.labels).toHaveLength(1);
    expect(d.labels[0]!.span.line).toBe(1);
    expect(d.labels[0]!.message).toBe("first defined here");
  });

  it("block recursion lists the cycle", () => {
    const d = only("block A { B }\nblock B { C }\nblock C { A }");
    expect(d.message).toBe("block `A` calls itself through `B` and `C`");
    expect(d.labels.map((l) => l.message)).toEqual(["`A` calls `B`", "`B` calls `C`", "`C` calls `A`"]);
  });

  it("enum errors list the allowed values", () => {
    const d = only("model M(x: f32[4]) { gelu(approximate = tanhh) }");
    expect(d.message).toBe("`tanhh` is not a valid value for `approximate`");
    expect(d.help).toBe("did you mean `tanh`?");
    expect(d.notes.join(" ")).toContain("`none`");
  });

  it("padding lists integers and names", () => {
    const d = only("model M(x: f32[3, 8, 8]) { conv2d(4, 3, padding = full) }");
    expect(d.notes[0]).toBe(
      "`padding` accepts a non-negative integer, a list of 2 non-negative integers, `same` or `valid`",
    );
  });

  it("wrong type says what was expected and found", () => {
    const d = only("model M(x: f32[4]) { dense(128, bias = 3) }");
    expect(d.message).toBe("`bias` expects `true` or `false`, found `3`");
  });

  it("block calls show the block's parameters", () => {
    const d = only("block B(d, h = 2) { dense(d) }\nmodel M(x: f32[4]) { B(h = 3) }");
    expect(d.message).toBe("missing argument `d` of block `B`");
    expect(d.help).toBe("block `B` is called as `B(d, h = …)`");
  });

  it("missing arguments show the call form", () => {
    const d = only("model M(x: f32[3, 8, 8]) { conv2d }");
    expect(d.message).toBe("missing arguments `out` and `kernel` of `conv2d`");
    expect(d.help).toBe("`conv2d` is called as `conv2d(out, kernel)`");
  });

  it("unknown value suggests a bound value", () => {
    const d = only("model M(x: f32[4]) { gate = x -> relu\n gat -> relu }");
    expect(d.code).toBe("NN2005");
    expect(d.help).toBe("did you mean `gate`?");
  });

  it("unknown constant names suggest constants and parameters", () => {
    const d = only("const hidden = 4\nblock B(width) { dense(widht) dense(hidden) }");
    expect(d.code).toBe("NN2002");
    expect(d.help).toBe("did you mean `width`?");
  });

  it("a body on a plain layer points at the brace", () => {
    const source = "model M(x: f32[4]) { dense(3) { relu } }";
    const d = only(source);
    expect(source.slice(d.span!.start, d.span!.end)).toBe("{");
  });

  it("messages are lowercase without a final period", () => {
    const r = check(errors.find((c) => c.name === "every error of a file is reported")!.source);
    for (const d of r.diagnostics) {
      expect(d.message).toMatch(/^[^A-Z]/);
      expect(d.message.endsWith(".")).toBe(false);
    }
  });
});

// ── What the resolver hands on ───────────────────────────────────────────────────────────────────────

describe("resolve: the resolved file", () => {
  it("exposes constant values, blocks, models and per-call targets", () => {
    const source = `
const d = 2 * half
const half = 384
block Mlp(d, hidden = 4 * d) { dense(hidden) gelu dense(d) }
model M(tokens: token[seq <= 1024] of 50_257) {
  embedding(50_257, d) as wte
  repeat 3 as h { Mlp(d) }
  dense(50_257, bias = false, tie = wte)
  loss cross_entropy
}`;
    const r = check(source);
    expect(r.diagnostics).toEqual([]);
    const f = r.value;
    expect(f.constants.get("d")).toBe(768n);
    expect(f.constants.get("half")).toBe(384n);
    expect([...f.blocks.keys()]).toEqual(["Mlp"]);
    const model = f.models.get("M")!;
    expect(model.inputs[0]!.dtype).toBe("token");
    expect(model.inputs[0]!.vocab).toBe(50_257n);
    expect(model.inputs[0]!.dims).toEqual([{ kind: "symbol", name: "seq", max: 1024n }]);
    expect(model.loss?.entry.name).toBe("cross_entropy");
    expect([...f.repeats.values()]).toEqual([3n]);

    const targets = [...f.calls.values()];
    const kinds = targets.map((t) =>
      t.kind === "layer" ? t.entry.kind : t.kind === "block" ? `block ${t.block.name}` : t.name,
    );
    expect(kinds).toEqual(["dense", "gelu", "dense", "embedding", "block Mlp", "dense"]);
    const lmHead = targets[5]!;
    expect(lmHead.kind === "layer" && lmHead.args.get("tie")?.value).toEqual({
      kind: "path",
      path: ["wte"],
      transposed: false,
    });
    expect(lmHead.kind === "layer" && lmHead.args.get("out")?.value).toEqual({ kind: "int", value: 50_257n });
    const embedding = targets[3]!;
    expect(embedding.kind === "layer" && embedding.args.get("dim")?.value).toEqual({ kind: "int", value: 768n });
    // Inside the block, `hidden` is a parameter: symbolic.
    const firstDense = targets[0]!;
    expect(firstDense.kind === "layer" && firstDense.args.get("out")?.value?.kind).toBe("symbolic");
  });

  it("maps value uses to their bindings", () => {
    const r = check("model M(x: f32[4]) { y = x -> relu\n y + x }");
    expect(r.diagnostics).toEqual([]);
    const uses = [...r.value.values].map(
      ([ident, name]) => `${ident.name}@${ident.span.line}→${name.span.line}:${name.span.column}`,
    );
    expect(uses).toEqual(["x@1→1:9", "y@2→1:22", "x@2→1:9"]);
  });

  it("evaluates constants inside bodies", () => {
    const r = check("block B(d) { const k = 3 * 4\n dense(k) }");
    expect([...r.value.bodyConstants.values()]).toEqual([12n]);
  });
});

describe("resolve: ties", () => {
  it("records tie paths, plain, dotted and transposed", () => {
    const r = check(
      "model M(t: token[4] of 10) { embedding(10, 8) as wte\n dense(8, tie = transpose(wte)) dense(8, tie = enc.embed) }",
    );
    expect(r.diagnostics).toEqual([]);
    const ties = [...r.value.calls.values()].flatMap((t) =>
      t.kind === "layer" && t.args.get("tie")?.value ? [t.args.get("tie")!.value] : [],
    );
    expect(ties).toEqual([
      { kind: "path", path: ["wte"], transposed: true },
      { kind: "path", path: ["enc", "embed"], transposed: false },
    ]);
  });
});

// ── Hostile input: deep or long sources must not overflow the stack ──────────────────────────────────

describe("resolve: size limits", () => {
  it("evaluates an expression nested as deep as the parser allows", () => {
    let e = "1";
    for (let i = 0; i < 100; i++) e = `(${e}${" + 1".repeat(200)})`;
    const r = check(`const a = ${e}\nmodel M(x: f32[a]) { dense(a) }`);
    expect(r.diagnostics).toEqual([]);
    expect(r.value.constants.get("a")).toBe(20_001n);
  });

  it("evaluates a long chain of constants", () => {
    const n = 5000;
    const lines = Array.from({ length: n }, (_, i) => `const c${i} = c${i + 1} + 1`);
    const r = check(`${lines.join("\n")}\nconst c${n} = 0`);
    expect(r.diagnostics).toEqual([]);
    expect(r.value.constants.get("c0")).toBe(BigInt(n));
  });

  it("reports a long cycle of constants once, with a bounded message", () => {
    const n = 5000;
    const lines = Array.from({ length: n }, (_, i) => `const c${i} = c${(i + 1) % n} + 1`);
    const r = check(lines.join("\n"));
    expect(codes(r.diagnostics)).toEqual(["NN2003"]);
    expect(r.diagnostics[0]!.message.length).toBeLessThan(200);
    expect(r.diagnostics[0]!.labels.length).toBeLessThanOrEqual(12);
  });

  it("finds a long cycle of blocks", () => {
    const n = 5000;
    const lines = Array.from({ length: n }, (_, i) => `block B${i} { B${(i + 1) % n} }`);
    const r = check(lines.join("\n"));
    expect(codes(r.diagnostics)).toEqual(["NN2007"]);
    expect(r.diagnostics[0]!.message).toMatch(/^block `B0` calls itself through `B1`, .* and \d+ more$/);
  });

  it("checks a deeply nested value expression", () => {
    let e = "x";
    for (let i = 0; i < 100; i++) e = `(${e}${" + x".repeat(200)})`;
    const r = check(`model M(x: f32[4]) { ${e} }`);
    expect(r.diagnostics).toEqual([]);
    expect(r.value.values.size).toBe(20_001);
  });
});

// ── Imports ──────────────────────────────────────────────────────────────────────────────────────────

describe("resolve: imports", () => {
  const lib = parseOk("block Mlp(d, hidden = 4 * d) { dense(hidden) dense(d) }", "lib.nn");
  const mlp = lib.items[0] as BlockDecl;
  const imported = (): Map<string, ImportedSymbol> =>
    new Map<string, ImportedSymbol>([
      ["Mlp", { kind: "block", decl: mlp }],
      ["width", { kind: "const", value: 64n }],
    ]);

  it("checks calls of imported blocks and uses imported constants", () => {
    const r = check(
      'import { Mlp, width } from "./lib.nn"\nmodel M(x: f32[width]) { Mlp(width, hidden = 3) }',
      imported(),
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.value.constants.get("width")).toBe(64n);
    expect(r.value.models.get("M")!.inputs[0]!.dims).toEqual([{ kind: "int", value: 64n }]);
    expect(
      codes(check('import { Mlp } from "./lib.nn"\nmodel M(x: f32[4]) { Mlp(hiden = 3) }', imported()).diagnostics),
    ).toEqual(["NN4001", "NN4003"]);
  });

  it("a local definition may not reuse an imported name", () => {
    const d = only('import { Mlp } from "./lib.nn"\nblock Mlp { relu }', imported());
    expect(d.code).toBe("NN6004");
    expect(d.labels[0]?.message).toBe("imported here");
  });

  it("without the imported symbols, imported names are accepted as they are used", () => {
    expect(
      check('import { Mlp, width } from "./lib.nn"\nmodel M(x: f32[width]) { Mlp(width, anything = 3) }').diagnostics,
    ).toEqual([]);
    expect(check('import "./lib.nn"\nmodel M(x: f32[width]) { Whatever(3) }').diagnostics).toEqual([]);
    // Names not imported are still unknown.
    expect(codes(check('import { Mlp } from "./lib.nn"\nmodel M(x: f32[4]) { Mpl(3) }').diagnostics)).toEqual([
      "NN2004",
    ]);
  });
});

// ── Exact arithmetic ─────────────────────────────────────────────────────────────────────────────────

describe("evaluate", () => {
  const constExpr = (text: string): Expr => {
    const file = parseOk(`const x = ${text}`);
    const item = file.items[0]!;
    if (item.kind !== "Const") throw new Error("not a const");
    return item.value;
  };
  const run = (text: string, decimals = false): { value: NumValue; codes: string[] } => {
    const ds: Diagnostic[] = [];
    const value = evaluate(constExpr(text), { decimals, lookup: () => ({ kind: "symbolic" }) }, ds);
    return { value, codes: ds.map((d) => d.code) };
  };

  it.each([
    ["1 + 2 * 3", 7n],
    ["(1 + 2) * 3", 9n],
    ["768 / 12", 64n],
    ["7 // 2", 3n],
    ["-7 // 2", -4n],
    ["7 // -2", -4n],
    ["-7 % 2", 1n],
    ["7 % -2", -1n],
    ["- - 5", 5n],
    ["50_257 * 768", 38_597_376n],
    ["10 - 3 - 2", 5n],
  ] as const)("%s = %s", (text, want) => {
    expect(run(text)).toEqual({ value: { kind: "int", value: want }, codes: [] });
  });

  it.each([
    ["768 / 5", "NN3002"],
    ["1 / 0", "NN3003"],
    ["1 % 0", "NN3003"],
    ["1.5 + 1", "NN3004"],
    ["4 * 79_228_162_514_264_337_593_543_950_336", "NN3006"],
  ] as const)("%s → %s", (text, code) => {
    const r = run(text);
    expect(r.value.kind).toBe("invalid");
    expect(r.codes).toEqual([code]);
  });

  it("is exact far beyond 2^53", () => {
    expect(run("9_007_199_254_740_993 * 1_000_000_007").value).toEqual({
      kind: "int",
      value: 9_007_199_254_740_993n * 1_000_000_007n,
    });
  });

  it("stays symbolic with unknown names, but still finds a zero divisor", () => {
    expect(run("n * 4 + 1")).toEqual({ value: { kind: "symbolic" }, codes: [] });
    expect(run("n / 0").codes).toEqual(["NN3003"]);
  });

  it("accepts decimals where asked", () => {
    expect(run("1e-5", true)).toEqual({ value: { kind: "decimal", value: 1e-5 }, codes: [] });
    expect(run("-0.5 * 2", true)).toEqual({ value: { kind: "decimal", value: -1 }, codes: [] });
  });

  it("floorDiv and floorMod agree: a == (a // b) * b + a % b", () => {
    for (const a of [-9n, -7n, -1n, 0n, 1n, 7n, 9n]) {
      for (const b of [-4n, -3n, -1n, 1n, 3n, 4n]) {
        expect(floorDiv(a, b) * b + floorMod(a, b)).toBe(a);
        const m = floorMod(a, b);
        expect(m === 0n || m < 0n === b < 0n).toBe(true);
      }
    }
  });
});

// ── The vocabulary table ─────────────────────────────────────────────────────────────────────────────

describe("vocabulary", () => {
  it("has one entry per kind, including swish as an alias of silu", () => {
    expect(layerKinds.size).toBe(layers.length);
    expect(layerKinds.get("swish")?.aliasOf).toBe("silu");
  });

  it("lists every kind of the README", () => {
    const readme = [
      "dense",
      "conv1d",
      "conv2d",
      "conv3d",
      "conv_transpose1d",
      "conv_transpose2d",
      "max_pool1d",
      "max_pool2d",
      "max_pool3d",
      "avg_pool1d",
      "avg_pool2d",
      "avg_pool3d",
      "global_avg_pool",
      "adaptive_avg_pool1d",
      "adaptive_avg_pool2d",
      "adaptive_avg_pool3d",
      "flatten",
      "reshape",
      "transpose",
      "take",
      "mean",
      "pixel_shuffle",
      "upsample",
      "concat",
      "split",
      "embedding",
      "positional",
      "class_token",
      "parameter",
      "rotary",
      "layernorm",
      "rmsnorm",
      "batchnorm",
      "groupnorm",
      "instancenorm",
      "dropout",
      "drop_path",
      "attention",
      "rnn",
      "lstm",
      "gru",
      "moe",
      "residual",
      "relu",
      "relu6",
      "leaky_relu",
      "prelu",
      "elu",
      "selu",
      "gelu",
      "silu",
      "swish",
      "mish",
      "sigmoid",
      "hard_sigmoid",
      "hardsigmoid",
      "hardswish",
      "tanh",
      "softplus",
      "softsign",
      "abs",
      "softmax",
      "log_softmax",
      "identity",
    ];
    expect([...layerKinds.keys()].sort()).toEqual([...readme].sort());
  });

  it("only containers take a body", () => {
    expect(
      layers
        .filter((l) => l.body === "required")
        .map((l) => l.kind)
        .sort(),
    ).toEqual(["moe", "residual"]);
  });

  it("no kind repeats a parameter name or shadows a universal option", () => {
    for (const entry of layers) {
      const names = [...entry.args, ...entry.options].map((p) => p.name);
      expect(new Set(names).size, entry.kind).toBe(names.length);
      for (const u of universalOptions) expect(names, entry.kind).not.toContain(u.name);
    }
  });

  it("required positional arguments come before defaulted ones", () => {
    for (const entry of layers) {
      const firstDefault = entry.args.findIndex((a) => a.default !== undefined);
      if (firstDefault >= 0)
        expect(
          entry.args.slice(firstDefault).every((a) => a.default !== undefined),
          entry.kind,
        ).toBe(true);
    }
  });
});
