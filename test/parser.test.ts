// Table-driven parser tests: each source is parsed and its AST rendered as a compact S-expression, so a case
// states the whole tree it expects in one line.
import { describe, expect, it } from "vitest";
import type * as A from "../src/syntax/ast.js";
import { parse } from "../src/syntax/parse.js";
import { NnParser } from "../grammar/parser.js";
import { createLexer } from "../grammar/tokens.js";

function e(x: A.Expr): string {
  switch (x.kind) {
    case "Int":
    case "Decimal":
      return x.raw;
    case "String":
      return JSON.stringify(x.value);
    case "Bool":
      return String(x.value);
    case "Ident":
      return x.name;
    case "Call":
      return `(${x.callee.name}${x.args.map((a) => " " + (a.name ? `${a.name.name}=` : "") + e(a.value)).join("")})`;
    case "Binary":
      return `(${x.op} ${e(x.left)} ${e(x.right)})`;
    case "Unary":
      return `(neg ${e(x.operand)})`;
    case "List":
      return `[${x.items.map(e).join(" ")}]`;
    case "Member":
      return `${e(x.object)}.${x.property.name}`;
    case "BodyLit":
      return `{${body(x.body)}}`;
  }
}

function stage(s: A.Stage): string {
  const alias = s.alias ? ` as ${s.alias.name}` : "";
  if (s.kind === "Repeat")
    return `(repeat ${e(s.count)}${alias}${s.start ? ` from ${e(s.start)}` : ""} {${body(s.body)}})`;
  return `${e(s.expr)}${alias}${s.body ? ` {${body(s.body)}}` : ""}`;
}

function flow(f: A.Flow): string {
  return f.stages.map((s, i) => (f.arrows[i] ? "-> " : "") + stage(s)).join(" ");
}

function stmt(s: A.Statement): string {
  switch (s.kind) {
    case "Input":
      return `input ${s.names.map((n) => n.name).join(",")}`;
    case "Output":
      return `output ${s.values.map(e).join(",")}`;
    case "Expect":
      return `expect ${s.quantity.name} ${s.op} ${e(s.value)}`;
    case "Loss":
      return `loss ${e(s.call)}`;
    case "Const":
      return `const ${s.name.name} ${e(s.value)}`;
    case "Binding":
      return `${s.targets.map((n) => n.name).join(",")} = ${flow(s.flow)}`;
    case "FlowStmt":
      return flow(s.flow);
  }
}

function body(b: A.Body): string {
  return b.statements.map(stmt).join("; ");
}

function item(i: A.Item): string {
  switch (i.kind) {
    case "Import":
      return `import ${i.names ? `{${i.names.map((n) => n.name).join(",")}} ` : ""}${JSON.stringify(i.path.value)}`;
    case "Const":
      return `const ${i.name.name} ${e(i.value)}`;
    case "Block":
      return `block ${i.name.name}(${i.params.map((p) => p.name.name + (p.default ? `=${e(p.default)}` : "")).join(",")}) {${body(i.body)}}`;
    case "Model": {
      const inputs = i.inputs.map((inp) => {
        const dims = inp.type.dims.map((d) => e(d.size) + (d.max ? `<=${e(d.max)}` : "")).join(",");
        return `${inp.name.name}:${inp.type.dtype.name}[${dims}]${inp.type.vocab ? ` of ${e(inp.type.vocab)}` : ""}`;
      });
      return `model ${i.name.name}(${inputs.join(",")}) {${body(i.body)}}`;
    }
  }
}

function sexpr(source: string): string {
  const r = parse(source, "t.nn");
  if (!r.value.ast) return "ERROR " + r.diagnostics.map((d) => d.code).join(",");
  return r.value.ast.items.map(item).join(" | ");
}

/** A body inside a model, to keep cases short. */
const m = (inner: string) => `model M(x: f32[4]) {\n${inner}\n}`;
const inModel = (s: string) => `model M(x:f32[4]) {${s}}`;

const cases: [string, string, string][] = [
  // [name, source, expected]
  ["empty file", "", ""],
  ["only comments", "# a\n# b\n", ""],
  ["const with separators", "const vocab = 50_257", "const vocab 50_257"],
  ["precedence", "const x = 1 + 2 * 3 - 4 // 2 % 3", "const x (- (+ 1 (* 2 3)) (% (// 4 2) 3))"],
  ["parentheses", "const x = (1 + 2) * 3", "const x (* (+ 1 2) 3)"],
  ["unary minus", "const x = - -3 * 2", "const x (* (neg (neg 3)) 2)"],
  ["left associativity", "const x = 8 / 2 / 2", "const x (/ (/ 8 2) 2)"],
  ["decimal forms", "const a = 1e-5\nconst b = 0.5\nconst c = 1.5e3", "const a 1e-5 | const b 0.5 | const c 1.5e3"],
  ["import names", 'import { A, B } from "./x.nn"', 'import {A,B} "./x.nn"'],
  ["import trailing comma multi-line", 'import {\n  A,\n  B,\n} from "./x.nn"', 'import {A,B} "./x.nn"'],
  ["import all", 'import "./x.nn"', 'import "./x.nn"'],
  ["string escapes", 'import "./a\\"b\\\\.nn"', 'import "./a\\"b\\\\.nn"'],
  [
    "sequential stack",
    m("  flatten\n  dense(128) relu\n  dense(10)"),
    "model M(x:f32[4]) {flatten; (dense 128) relu; (dense 10)}",
  ],
  ["arrows", m("  dense(4) -> relu -> dense(2)"), "model M(x:f32[4]) {(dense 4) -> relu -> (dense 2)}"],
  ["named options", m("  dense(4, bias = false)"), "model M(x:f32[4]) {(dense 4 bias=false)}"],
  [
    "as names",
    m("  dense(4) as fc relu dense(2) as out_proj"),
    "model M(x:f32[4]) {(dense 4) as fc relu (dense 2) as out_proj}",
  ],
  ["semicolons", inModel("flatten; dense(3); relu"), "model M(x:f32[4]) {flatten; (dense 3); relu}"],
  [
    "call spanning lines",
    m("  conv2d(64, 3,\n    stride = 2,\n    padding = 1)"),
    "model M(x:f32[4]) {(conv2d 64 3 stride=2 padding=1)}",
  ],
  ["line continuation after arrow", m("  y = x ->\n    dense(4)\n  y"), "model M(x:f32[4]) {y = x -> (dense 4); y}"],
  [
    "blank lines and CRLF",
    "model M(x: f32[4]) {\r\n\r\n  relu\r\n\r\n  tanh\r\n}\r\n",
    "model M(x:f32[4]) {relu; tanh}",
  ],
  ["lone CR line ends", "model M(x: f32[4]) {\r  relu\r  tanh\r}", "model M(x:f32[4]) {relu; tanh}"],
  ["binding", m("  gate = x -> dense(8) -> silu"), "model M(x:f32[4]) {gate = x -> (dense 8) -> silu}"],
  ["multi binding", m("  q, k, v = x -> split(3)"), "model M(x:f32[4]) {q,k,v = x -> (split 3)}"],
  ["gating", m("  gate * up -> dense(4)"), "model M(x:f32[4]) {(* gate up) -> (dense 4)}"],
  ["residual add of values", m("  a + b"), "model M(x:f32[4]) {(+ a b)}"],
  ["concat of a list", m("  [a, b] -> concat(axis = -1)"), "model M(x:f32[4]) {[a b] -> (concat axis=(neg 1))}"],
  [
    "residual body",
    m("  residual {\n    layernorm as ln_1\n    relu\n  }"),
    "model M(x:f32[4]) {residual {layernorm as ln_1; relu}}",
  ],
  ["residual one line", m("  residual { layernorm; relu }"), "model M(x:f32[4]) {residual {layernorm; relu}}"],
  [
    "shortcut literal",
    m("  residual(shortcut = { conv2d(8, 1); batchnorm }) { relu }"),
    "model M(x:f32[4]) {(residual shortcut={(conv2d 8 1); batchnorm}) {relu}}",
  ],
  [
    "repeat",
    m("  repeat 12 as h { Layer(d, heads = 12) }"),
    "model M(x:f32[4]) {(repeat 12 as h {(Layer d heads=12)})}",
  ],
  ["repeat with expression, no alias", m("  repeat n - 1 { relu }"), "model M(x:f32[4]) {(repeat (- n 1) {relu})}"],
  [
    "moe container",
    m("  moe(8, top_k = 2) as experts { Mlp(d) }"),
    "model M(x:f32[4]) {(moe 8 top_k=2) as experts {(Mlp d)}}",
  ],
  ["tie path", m("  dense(10, tie = encoder.embed)"), "model M(x:f32[4]) {(dense 10 tie=encoder.embed)}"],
  ["tie transpose", m("  dense(10, tie = transpose(wte))"), "model M(x:f32[4]) {(dense 10 tie=(transpose wte))}"],
  [
    "expect",
    m("  expect params == 124_439_808\n  expect biases <= 10"),
    "model M(x:f32[4]) {expect params == 124_439_808; expect biases <= 10}",
  ],
  [
    "loss",
    m("  loss binary_cross_entropy(logits = true)"),
    "model M(x:f32[4]) {loss (binary_cross_entropy logits=true)}",
  ],
  ["output", m("  output a, b"), "model M(x:f32[4]) {output a,b}"],
  ["local const", m("  const h = 4 * 2\n  dense(h)"), "model M(x:f32[4]) {const h (* 4 2); (dense h)}"],
  [
    "block with defaults",
    "block Mlp(d, hidden = 4 * d) {\n  input x\n  dense(hidden)\n}",
    "block Mlp(d,hidden=(* 4 d)) {input x; (dense hidden)}",
  ],
  ["block without parameters", "block B {\n  relu\n}", "block B() {relu}"],
  [
    "token input with symbolic length",
    "model G(t: token[seq <= 1024] of vocab) {\n  relu\n}",
    "model G(t:token[seq<=1024] of vocab) {relu}",
  ],
  [
    "several inputs",
    "model C(a: f32[3, 224, 224], b: token[77] of 49_408,) {\n  relu\n}",
    "model C(a:f32[3,224,224],b:token[77] of 49_408) {relu}",
  ],
  ["empty body", "model M(x: f32[1]) {}", "model M(x:f32[1]) {}"],
  ["keywords as prefixes of names", m("  model_dim = x -> asin"), "model M(x:f32[4]) {model_dim = x -> asin}"],
  // name paths: `as` takes dotted segments, each a name, a keyword or an integer
  [
    "keywords as layer names",
    m("  dense(4) as output\n  Encoder as model\n  relu as block\n  dense(2) as input"),
    "model M(x:f32[4]) {(dense 4) as output; Encoder as model; relu as block; (dense 2) as input}",
  ],
  [
    "dotted layer names",
    m("  layernorm as attention.output.LayerNorm -> relu"),
    "model M(x:f32[4]) {layernorm as attention.output.LayerNorm -> relu}",
  ],
  [
    "integer segments",
    m("  dense(4) as 3\n  dense(4) as conv.0.0"),
    "model M(x:f32[4]) {(dense 4) as 3; (dense 4) as conv.0.0}",
  ],
  ["integer segments written as a decimal", m("  dense(4) as 1.5.2"), "model M(x:f32[4]) {(dense 4) as 1.5.2}"],
  ["integer segments as PyTorch writes them", m("  dense(4) as a.007"), "model M(x:f32[4]) {(dense 4) as a.7}"],
  ["a keyword name before a newline", m("  dense(4) as model\n  relu"), "model M(x:f32[4]) {(dense 4) as model; relu}"],
  [
    "tie paths with keywords and integers",
    m("  dense(4, tie = output.dense)\n  dense(4, tie = model)\n  dense(4, tie = transpose(features.0.0))"),
    "model M(x:f32[4]) {(dense 4 tie=output.dense); (dense 4 tie=model); (dense 4 tie=(transpose features.0.0))}",
  ],
  [
    "repeat numbered from",
    m("  repeat 5 as layer3 from 1 { Block }\n  repeat n - 1 from k + 1 { relu }"),
    "model M(x:f32[4]) {(repeat 5 as layer3 from 1 {Block}); (repeat (- n 1) from (+ k 1) {relu})}",
  ],
  ["a decimal stays a decimal elsewhere", "const x = 1.5", "const x 1.5"],
  // errors
  ["missing paren", m("  dense(4 relu"), "ERROR NN1007"],
  ["missing comma", m("  dense(4 bias = false)"), "ERROR NN1002"],
  ["two statements glued by =", m("  dense(4) = relu"), "ERROR NN1002"],
  ["model without inputs parens", "model M {\n}", "ERROR NN1002"],
  ["statement outside a body", "dense(4)", "ERROR NN1002"],
  ["bad number", "const x = 1__0", "ERROR NN1003"],
  ["number into a name", "const x = 4d", "ERROR NN1003"],
  ["unterminated string", 'import "./x.nn', "ERROR NN1004"],
  ["bad character", "const x = 3 $ 4", "ERROR NN1001"],
  ["expect without comparison", m("  expect params 3"), "ERROR NN1002"],
  ["a decimal with an exponent is no name", m("  dense(4) as 1e5"), "ERROR NN1002"],
  ["an empty path segment", m("  dense(4) as a..b"), "ERROR NN1002"],
  ["repeat from without a number", m("  repeat 2 from as h { relu }"), "ERROR NN1002"],
  ["a keyword value name is still an error", m("  output = x -> dense(4)"), "ERROR NN2010"],
];

describe("parser", () => {
  it.each(cases)("%s", (_name, source, expected) => {
    expect(sexpr(source)).toBe(expected);
  });

  it("reports every syntax error of a file in one run", () => {
    const r = parse(m("  dense(4 bias = 2)\n  relu\n  x = = 3\n  conv2d(3,, 4)"), "t.nn");
    expect(r.value.ast).toBeNull();
    expect(r.diagnostics.map((d) => `${d.code}@${d.span?.line}`)).toEqual(["NN1002@2", "NN1002@4", "NN1002@5"]);
  });

  it("spans a name path from its first segment to its last", () => {
    const r = parse(m("  dense(4) as conv.0.0"), "t.nn");
    const st = ((r.value.ast!.items[0] as A.ModelDecl).body.statements[0] as A.FlowStmt).flow.stages[0]!;
    expect(st.alias?.span).toMatchObject({ line: 2, column: 15, endLine: 2, endColumn: 23 });
  });

  it("gives spans with 1-based lines and columns", () => {
    const r = parse(m("  dense(4) as fc"), "t.nn");
    const model = r.value.ast!.items[0] as A.ModelDecl;
    const flowStmt = model.body.statements[0] as A.FlowStmt;
    const st = flowStmt.flow.stages[0] as A.ExprStage;
    expect(st.alias?.span).toMatchObject({ line: 2, column: 15, endLine: 2, endColumn: 17 });
    expect(st.expr.span).toMatchObject({ line: 2, column: 3, endColumn: 11 });
  });
});

describe("the grammar passes Chevrotain's validations", () => {
  // The shared lexer and parser skip them to start faster (grammar/tokens.ts, grammar/parser.ts).
  it("the token definitions", () => {
    expect(createLexer(true).lexerDefinitionErrors).toEqual([]);
  });
  it("the grammar: no left recursion, ambiguity or unreachable alternative", () => {
    expect(() => new NnParser(true)).not.toThrow();
  });
});
