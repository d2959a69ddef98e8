// The canonical printer (`nnc fmt`): idempotence, exact round trip of the tree, comments kept in order, golden
// input/expected pairs (test/format/cases/NAME.nn → NAME.expected.nn), and no crash on broken input.
// Re-bless the golden files: `npm run bless` (NNC_BLESS=1).
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { format } from "../src/format/format.js";
import { print, printExpr } from "../src/format/print.js";
import type { FileNode } from "../src/syntax/ast.js";
import { parse } from "../src/syntax/parse.js";

const bless = process.env["NNC_BLESS"] === "1";

/** Every `.nn` file under a directory, sorted (whatever exists: the examples are being written). */
function nnFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...nnFiles(p));
    else if (entry.isFile() && entry.name.endsWith(".nn")) out.push(p);
  }
  return out.sort();
}

/** The tree with spans stripped and bigints as strings. */
function shape(ast: FileNode | null): unknown {
  return JSON.parse(
    JSON.stringify(ast, (key, value: unknown) =>
      key === "span" ? undefined : typeof value === "bigint" ? value.toString() : value,
    ),
  );
}

function parsed(text: string) {
  const r = parse(text, "test.nn");
  expect(r.diagnostics, `does not parse:\n${text}`).toEqual([]);
  const { ast, comments } = r.value;
  expect(ast).not.toBeNull();
  return { ast: ast!, comments, texts: comments.map((c) => c.image.trimEnd()) };
}

/** The printer itself (no safety net): parse and print. */
function canonical(text: string): string {
  const { ast, comments } = parsed(text);
  return print(ast, comments, text);
}

/** Checks every property on one input; returns the canonical text. */
function checkAll(text: string): string {
  const before = parsed(text);
  const once = canonical(text);
  // Round trip: the canonical text means the same tree.
  const after = parsed(once);
  expect(shape(after.ast)).toEqual(shape(before.ast));
  // Comments: the same texts in the same order.
  expect(after.texts).toEqual(before.texts);
  // Idempotence.
  expect(canonical(once)).toBe(once);
  // The layout promises.
  if (once !== "") expect(once.endsWith("\n") && !once.endsWith("\n\n")).toBe(true);
  expect(once).not.toMatch(/[ \t]+\n/);
  expect(once).not.toMatch(/\r/);
  expect(once).not.toMatch(/\n\n\n/);
  expect(once).not.toMatch(/\t/);
  // `format` agrees with the printer (its safety net never fires on these inputs).
  expect(format(text, "test.nn").value).toBe(once);
  return once;
}

const snippets: [string, string][] = [
  [
    "comments everywhere",
    `# header comment

import { A, B, } from "./x.nn"   # after an import
import "./y.nn"
const d = 4 * (2 + 3)  # after a const


# before a block, after two blank lines
block Blk(d, hidden = 4 * d) {  # on the brace line
  # leading comment
  dense(hidden)   # after a statement


  relu
  # after the last statement
}
# between items
model M(x: f32[d]) { Blk(d) }   # after the model's brace
# at the end of the file
`,
  ],
  [
    "nested residuals with shortcut literals",
    `block R(c) {
  residual(shortcut = { conv2d(c, 1, bias = false); batchnorm }) {
    residual { conv2d(c, 3, padding = 1) batchnorm }
    residual(shortcut = { residual { relu } }) { relu }
    residual(shortcut = {}) {}
  }
}
`,
  ],
  [
    "operators and parentheses",
    `const a = (x + y) * z
const b = x - (y - z)
const c = -(x + y)
const e = x // y % z
const f = x // (y % z)
const g = x + (y + z)
const h = -x * -y
const i = - -x
const j = ((x)) + (((y * z)))
const k = x - y - z
const l = x / (y * z) % (w // 2)
const m = -(-x)
const n = (x * y) + (z / w)
`,
  ],
  ["multi-target bindings", `block S { input x\n q,k ,  v=x->split(3,axis=-1)\n output q, k, v }\n`],
  [
    "arrows mixed with juxtaposition",
    `model M(x: f32[8]) {\n  x -> dense(4) relu->dense(2) as out sigmoid\n  dense(3)   ->   relu   gelu\n}\n`,
  ],
  [
    "empty bodies",
    `model M(x: f32[1]) {}\nblock B {}\nblock C() {\n\n}\nblock D { residual {} repeat 3 {}\n moe(8, 2) { } }\n`,
  ],
  [
    "import forms",
    `import {A} from "./a.nn"\nimport { A , B , C, } from "./b.nn"\nimport "./c.nn"\nimport {\n  D,  # one\n  E,\n} from "./d.nn"\n`,
  ],
  ["string escapes", `import "./we\\"ird \\\\ path.nn"\n`],
  [
    "symbolic dims",
    `model M(t: token[seq<=1024] of vocab, f: f32[seq, 512], g: f64[2*seq,]) { embedding(vocab, 512) }\n`,
  ],
  ["trailing commas in calls", `model M(x: f32[4],) { dense(4, bias = false,) reshape([2, 2,],) }\n`],
  [
    "semicolon-separated statements",
    `block B { dense(4); relu; dense(2) }\nblock C {\n  dense(4) ; relu  # end\n  ;;\n  sigmoid;\n}\n`,
  ],
  ["CRLF line endings", "# crlf\r\nblock B {\r\n  dense(4)  # t\r\n\r\n\r\n  relu\r\n}\r\n"],
  ["tabs", "block B {\n\tdense(4)\t# tab\n\t\trelu\t\n}\n"],
  [
    "comments in a multi-line call",
    `block B(c) {
  relu
  conv2d(c, 3,   # out, kernel
         padding = 1,  # same
         bias = false)  # after
  relu
}
`,
  ],
  [
    "comments after a body inside its statement",
    `block B {
  x = residual {
    relu
  } -> dense(3, # inside the call
    4) -> relu  # trailing
  residual { relu } dense(4, # between
  ) residual { gelu }
  y = residual { relu } -> dense(2, # same line as the body
  )
}
`,
  ],
  [
    "juxtaposed stages that need care",
    `block B {\n  input y\n  x = dense(3) (-y)\n  layernorm(eps = 1e-6) (-1) as ln dense(2) ({ relu }) as r\n  z = [x, y] (-y) -> concat\n  dense(3) as a -y\n  residual { relu } -y\n  x.w ({ relu })\n  w = 3 (2) -4\n}\n`,
  ],
  ["numbers as written", `block B { layernorm(eps = 1e-5) dropout(p = 0.10) dense(50_257) embedding(1_000, 1E3) }\n`],
  [
    "statements of every kind",
    `model M(x: f32[4]) {
  const h = 2 * 4
  dense(h) as fc
  y = softmax(axis = -1)
  output   x ,y
  loss binary_cross_entropy(logits = true)
  expect params==40
  expect macs <= 1_000
  expect trainable != 3
  expect flops>2
}
block I { input a, b\n [a, b] -> concat(axis = 0) }
`,
  ],
  ["comment-only file", `# just a comment\n\n\n# and another   \n`],
  ["empty file", ``],
  [
    "one-line repeat with a trailing comment",
    `model M(x: f32[4]) {\n  repeat 2 as layer1 { dense(4) } # 2 blocks\n  repeat n - 1 as rest { dense(4) relu }\n}\n`,
  ],
  [
    "runs of blank lines",
    `\n\n\nconst a = 1\n\n\n\nconst b = 2\nconst c = 3\n\n\n\nblock B {\n\n\n  relu\n\n\n\n  gelu\n\n\n}\n\n\n`,
  ],
  [
    "body literal with a comment inside",
    `block B {\n  residual(shortcut = { conv2d(8, 1)  # proj\n    batchnorm }) { relu }\n  residual(shortcut = {  # open\n    relu\n  }) {\n    relu  # x\n  }\n}\n`,
  ],
  [
    "nested repeats in residuals with aliases",
    `block B(n) { residual as r { repeat n as h { residual { dense(4) as fc relu } } } }\n`,
  ],
  [
    "ties and paths",
    `model M(t: token[8] of 10) { embedding(10, 4) as wte\n dense(10, bias = false, tie = transpose(wte)) as head\n dense(10, tie = enc.embed.x) }\n`,
  ],
  [
    "a line longer than 100 columns is not wrapped",
    `model M(x: f32[4]) { conv2d(64, 3, stride = 1, padding = 1, dilation = 1, groups = 1, bias = false, frozen = true) as a_rather_long_name }\n`,
  ],
  ["comment at the end without a newline", `const a = 1 # last`],
  ["statements on the brace lines", `block B { relu\n  dense(3) }\nblock C { # c\n}\n`],
  ["body literal holding a container", `block B { residual(shortcut = { residual { relu } dense(2) }) { relu } }\n`],
];

describe("format: examples", () => {
  const files = [...nnFiles("examples"), ...nnFiles("test/format/cases").filter((f) => !f.endsWith(".expected.nn"))];
  it("finds files", () => {
    expect(files.length).toBeGreaterThan(0);
  });
  it.each(files)("%s: idempotent, same tree, same comments", (file) => {
    checkAll(fs.readFileSync(file, "utf8"));
  });
});

describe("format: snippets", () => {
  it.each(snippets)("%s", (_name, text) => {
    checkAll(text);
  });
});

describe("format: specific layouts", () => {
  const fmt = (text: string): string => canonical(text);

  it("prints the canonical spellings", () => {
    expect(fmt(`import {A,B} from "./x.nn"`)).toBe(`import { A, B } from "./x.nn"\n`);
    expect(fmt(`block Mlp(d,hidden=4*d){dense(hidden)}`)).toBe(`block Mlp(d, hidden = 4 * d) {\n  dense(hidden)\n}\n`);
    expect(fmt(`block B(){relu}`)).toBe(`block B {\n  relu\n}\n`);
    expect(fmt(`model M(a:f32[4],b:token[8]of 10){a}`)).toBe(`model M(a: f32[4], b: token[8] of 10) {\n  a\n}\n`);
    expect(fmt(`model M(t: token[seq<=1024]of vocab) {t}`)).toBe(`model M(t: token[seq <= 1024] of vocab) {\n  t\n}\n`);
    expect(fmt(`block B { q,k,v=x->split(3) }`)).toBe(`block B {\n  q, k, v = x -> split(3)\n}\n`);
  });

  it("keeps arrows where written and a space elsewhere", () => {
    expect(fmt(`block B { dense(128)relu->dense(4)as fc }`)).toBe(
      `block B {\n  dense(128) relu -> dense(4) as fc\n}\n`,
    );
  });

  it("prints container bodies over several lines and body literals on one", () => {
    expect(fmt(`block B { residual(shortcut={conv2d(256,1);batchnorm}){relu} }`)).toBe(
      `block B {\n  residual(shortcut = { conv2d(256, 1); batchnorm }) {\n    relu\n  }\n}\n`,
    );
    expect(fmt(`block B { residual{} }`)).toBe(`block B {\n  residual {}\n}\n`);
  });

  it("keeps one blank line between paragraphs and around blocks and models", () => {
    expect(fmt(`const a = 1\nconst b = 2\n\n\nconst c = 3\nblock B {relu}\nconst d = 4`)).toBe(
      `const a = 1\nconst b = 2\n\nconst c = 3\n\nblock B {\n  relu\n}\n\nconst d = 4\n`,
    );
  });

  it("places comments", () => {
    expect(fmt(`block B {\n  relu     # a\n}`)).toBe(`block B {\n  relu  # a\n}\n`);
    expect(fmt(`block B {\n  conv2d(1, # k\n  3)\n}`)).toBe(`block B {\n  # k\n  conv2d(1, 3)\n}\n`);
    expect(fmt(`block B {\n  relu\n  # end\n}`)).toBe(`block B {\n  relu\n  # end\n}\n`);
    expect(fmt(`block B { repeat 2 { relu } # two\n}`)).toBe(`block B {\n  repeat 2 {  # two\n    relu\n  }\n}\n`);
  });

  it("prints expressions with the parentheses precedence needs", () => {
    const expr = (s: string): string => {
      const { ast } = parsed(`const x = ${s}`);
      const item = ast.items[0];
      if (item?.kind !== "Const") throw new Error("not a const");
      return printExpr(item.value);
    };
    expect(expr("(a + b) * c")).toBe("(a + b) * c");
    expect(expr("a - (b - c)")).toBe("a - (b - c)");
    expect(expr("(a - b) - c")).toBe("a - b - c");
    expect(expr("-(a + b)")).toBe("-(a + b)");
    expect(expr("a // b % c")).toBe("a // b % c");
    expect(expr("a // (b % c)")).toBe("a // (b % c)");
    expect(expr("(a * b) + c")).toBe("a * b + c");
    expect(expr("a * (b + c)")).toBe("a * (b + c)");
    expect(expr("[1,2 , 3]")).toBe("[1, 2, 3]");
    expect(expr("f(1,k=2)")).toBe("f(1, k = 2)");
    expect(expr("50_257")).toBe("50_257");
    expect(expr("{ a; b }")).toBe("{ a; b }");
  });
});

describe("format: comments preserved", () => {
  it.each(snippets)("%s", (_name, text) => {
    const before = parse(text, "t.nn").value.comments.map((c) => c.image.trimEnd());
    const out = format(text, "t.nn").value ?? "";
    const after = parse(out, "t.nn").value.comments.map((c) => c.image.trimEnd());
    expect(after).toEqual(before);
  });
});

describe("format: golden cases", () => {
  const dir = "test/format/cases";
  const inputs = nnFiles(dir).filter((f) => !f.endsWith(".expected.nn"));
  it("has cases", () => {
    expect(inputs.length).toBeGreaterThan(0);
  });
  it.each(inputs)("%s", (input) => {
    const expectedFile = input.replace(/\.nn$/, ".expected.nn");
    const out = format(fs.readFileSync(input, "utf8"), input).value;
    expect(out).not.toBeNull();
    if (bless) {
      fs.writeFileSync(expectedFile, out!);
      return;
    }
    expect(fs.existsSync(expectedFile), `${expectedFile} is missing: run \`npm run bless\``).toBe(true);
    expect(out).toBe(fs.readFileSync(expectedFile, "utf8"));
    // The expected output is itself canonical.
    expect(format(out!, expectedFile).value).toBe(out);
  });
});

describe("format: files that do not parse", () => {
  const broken = [
    "model M(x: f32[4]) { dense( }",
    "block B { relu",
    "const = 3",
    "model M(x: f32[4]) { dense(4d) }",
    'import "unterminated',
    "block B { x = }",
    "const a = 1__0",
    "block B { @ }",
    "}}}",
    "(".repeat(500),
    "block B { residual { ".repeat(200) + "}".repeat(400),
  ];
  it.each(broken.map((text, i) => [i, text] as const))("broken input %i", (_i, text) => {
    const r = format(text, "bad.nn");
    expect(r.value).toBeNull();
    expect(r.diagnostics.length).toBeGreaterThan(0);
    expect(r.source.text).toBe(text);
  });

  it("never throws on mutated examples, and whatever parses round-trips", () => {
    const sources = [...nnFiles("examples"), ...snippets.map(([, t]) => t)].map((f) =>
      f.endsWith(".nn") ? fs.readFileSync(f, "utf8") : f,
    );
    // Random characters, and insertions that often keep the file parsing (comments, blank lines, stages).
    const alphabet = [
      "{",
      "}",
      "(",
      ")",
      "[",
      "]",
      ",",
      ";",
      "->",
      "-",
      "#",
      "\n",
      " ",
      "x",
      "1",
      "=",
      "as ",
      '"',
      "*",
    ];
    const keeps = [
      "# c\n",
      " # c\n",
      "\n# c\n",
      "\n\n",
      "\r\n",
      "\t",
      " residual { relu } ",
      "(-1)",
      " as q ",
      "({ relu })",
    ];
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let parsedCount = 0;
    for (let i = 0; i < 800; i++) {
      let text = sources[random(sources.length)] ?? "";
      for (let k = 0, edits = 1 + random(3); k < edits; k++) {
        const at = random(text.length + 1);
        const choice = random(3);
        if (choice === 0) text = text.slice(0, at) + alphabet[random(alphabet.length)]! + text.slice(at);
        else if (choice === 1) text = text.slice(0, at) + keeps[random(keeps.length)]! + text.slice(at);
        else text = text.slice(0, at) + text.slice(at + 1 + random(3));
      }
      const r = format(text, "fuzz.nn");
      if (r.value === null) {
        expect(r.diagnostics.length).toBeGreaterThan(0);
        continue;
      }
      parsedCount++;
      const { ast, comments } = parse(text, "fuzz.nn").value;
      const once = print(ast!, comments, text);
      const again = parse(once, "fuzz.nn");
      expect(again.diagnostics, `${text}\n---\n${once}`).toEqual([]);
      expect(shape(again.value.ast)).toEqual(shape(ast));
      expect(again.value.comments.map((c) => c.image.trimEnd())).toEqual(comments.map((c) => c.image.trimEnd()));
      expect(print(again.value.ast!, again.value.comments, once)).toBe(once);
    }
    expect(parsedCount).toBeGreaterThan(100);
  });
});
