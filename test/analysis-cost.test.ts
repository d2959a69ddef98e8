// Analysis cost: checking a spec takes work linear in its text. Generators of adversarial specs (fan-out of
// block calls, nested repeats whose first copy changes the shape, residual and moe bodies, named values,
// blocks called from repeats) are analyzed at growing sizes; the analysis's step counter
// (`ModelAnalysis.steps`: stages analyzed plus memo reuses) must grow linearly, while without memoization
// it grows exponentially. And memoization changes nothing else: diagnostics and every count report
// (text, markdown, JSON, every depth) are the same with it off, for the examples, the diagnostics corpus,
// the generators and specs that stress names, ties, conventions, moe, frozen calls and block `expect`s.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { layerRows } from "../src/count/count.js";
import { countJson, renderMarkdown, renderText, stringifyExact } from "../src/count/report.js";
import { columnNames } from "../src/count/columns.js";
import type { Host } from "../src/program/load.js";
import { checkProgram } from "../src/program/check.js";

function memoryHost(files: Record<string, string>): Host {
  return { readFile: (f) => (f in files ? { ok: true, text: files[f]! } : { ok: false, reason: "no such file" }) };
}

function analyze(source: string, memo = true) {
  const checked = checkProgram("m.nn", memoryHost({ "m.nn": source }), undefined, { memo });
  const errors = checked.diagnostics.filter((d) => d.severity === "error");
  expect(errors.map((d) => d.message)).toEqual([]);
  const m = checked.value.models[0]!;
  return { steps: m.analysis.steps, figures: m.figures, model: m };
}

// ── generators: text linear in n, copies exponential in n ─────────────────────────────────────────────

/** n nested `repeat 2` around a dense layer whose first copy changes the shape (4 → 8): 2^n copies. */
function nestedRepeats(n: number): string {
  let body = "dense(8)";
  for (let i = 0; i < n; i++) body = `repeat 2 { ${body} }`;
  return `model M(x: f32[4]) {\n  ${body}\n}\n`;
}

/** n blocks, each calling the next twice: 2^n calls of the last. */
function fanOut(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += `block B${i} {\n  B${i + 1}\n  B${i + 1}\n}\n`;
  return `${s}block B${n} {\n  dense(4)\n}\nmodel M(x: f32[4]) {\n  B0\n}\n`;
}

/** Blocks with an argument, each calling the next from a repeat whose first copy changes the shape. */
function repeatedCalls(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += `block B${i}(d) {\n  repeat 3 as r { B${i + 1}(d) }\n  B${i + 1}(d)\n}\n`;
  return `${s}block B${n}(d) {\n  dense(d) as fc\n}\nmodel M(x: f32[4]) {\n  B0(8)\n}\n`;
}

/** Residual and moe bodies and named values, three uses of the next block per level. */
function residualMoe(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) {
    s += `block B${i} {\n  input x\n  a = x -> B${i + 1}\n  residual { layernorm; moe(4, 2) { B${i + 1} } }\n  residual { B${i + 1} }\n  a + x\n}\n`;
  }
  return `${s}block B${n} {\n  dense(8) relu\n}\nmodel M(x: f32[s <= 16, 8]) {\n  B0\n}\n`;
}

const generators: { name: string; make: (n: number) => string; params?: (n: number) => bigint }[] = [
  // The first leaf copy is 4→8 (32 + 8 = 40), the other 2^n − 1 are 8→8 (72).
  {
    name: "nested repeats whose first copy changes the shape",
    make: nestedRepeats,
    params: (n) => 40n + 72n * (2n ** BigInt(n) - 1n),
  },
  // 2^n dense layers 4→4 (16 + 4 = 20).
  { name: "blocks that each call the next twice", make: fanOut, params: (n) => 20n * 2n ** BigInt(n) },
  // 4^n leaves: the first 4→8 (40), the rest 8→8 (72).
  { name: "blocks called from repeats", make: repeatedCalls, params: (n) => 40n + 72n * (4n ** BigInt(n) - 1n) },
  { name: "residual, moe and named values", make: residualMoe },
];

describe("analysis cost", () => {
  for (const g of generators) {
    it(`is linear in the text: ${g.name}`, () => {
      const started = Date.now();
      // Doubling the spec at most doubles the work (plus the model's own few stages), checked from
      // small sizes up so that an exponential analysis fails before it takes long…
      let previous = analyze(g.make(5)).steps;
      for (const n of [10, 20, 40]) {
        const steps = analyze(g.make(n)).steps;
        expect(steps, `steps at n = ${n}`).toBeLessThanOrEqual(2 * previous + 4);
        previous = steps;
      }
      // …and the work per level is a small constant: at most 12 steps per level (each level is a few
      // lines of text; measured: 4, 3, 10 and 11 steps per level).
      expect(previous).toBeLessThanOrEqual(12 * 40);
      if (g.params) expect(analyze(g.make(40)).figures.params).toBe(g.params(40));
      // A sanity bound on time, far above what linear work takes (the exponential analysis takes hours).
      expect(Date.now() - started).toBeLessThan(20_000);
    });

    it(`is exponential without memoization (the generator is adversarial): ${g.name}`, () => {
      const small = analyze(g.make(3), false).steps;
      const large = analyze(g.make(7), false).steps;
      expect(large).toBeGreaterThan(8 * small);
      // Memoized, the same specs give the same figures.
      expect(analyze(g.make(7)).figures).toEqual(analyze(g.make(7), false).figures);
    });
  }

  it("folds the table below the display depth: rows grow with the depth, not with the copies", () => {
    const { model } = analyze(fanOut(40));
    // The model calls B0, which calls B1 twice, each calling B2 twice: 1 + 2 + 4 rows down to depth 3.
    const rows = layerRows(model.analysis, 3);
    expect(rows.map((r) => `${r.name} ${r.kind}`)).toEqual([
      "0 B0",
      "0.0 B1",
      "0.0.0 B2",
      "0.0.1 B2",
      "0.1 B1",
      "0.1.0 B2",
      "0.1.1 B2",
    ]);
    // Each call of B2 holds 2^38 dense layers of 20 parameters, with their MACs (16 each).
    expect(rows.map((r) => r.params)).toEqual([40, 39, 38, 38, 39, 38, 38].map((k) => 20n * 2n ** BigInt(k)));
    expect(rows.at(-1)!.macs).toBe(16n * 2n ** 38n);
  });

  it("prints `nnc count`'s text and markdown reports without spelling out the copies", () => {
    // What the reports read besides the rows: ties, conventions (none here: skipped without walking the
    // 2^40 shared groups), totals. Broken, this does not finish.
    for (const source of [fanOut(40), nestedRepeats(40), repeatedCalls(40)]) {
      const { model } = analyze(source);
      const models = [{ file: "m.nn", analysis: model.analysis, figures: model.figures }];
      expect(model.analysis.conventions).toEqual([]);
      expect(renderText(models, 3)).toContain(`total parameters`);
      expect(renderMarkdown(models, 3)).toContain(`| parameters |`);
    }
  });
});

// ── memoization changes nothing ──────────────────────────────────────────────────────────────────────

/** Specs where a memoized subtree is reused under another name, count, frozen flag or tie. */
const edgeCases: Record<string, string> = {
  "conventions in shape-changing repeats": `
block Rec(h) {
  lstm(h) as l
  repeat 2 { gru(h, bias_convention = keras) }
}
model A(x: f32[t <= 8, 4]) {
  repeat 3 as r { lstm(16, bias_convention = keras) }
  repeat 2 { Rec(8) }
  Rec(8)
  repeat 2 as s { Rec(8) dense(8) }
}
`,
  "ties into reused calls and from repeated bodies": `
block Enc(d) {
  dense(d) as fc
  repeat 2 as h { dense(d) as inner }
}
block Tied(d) {
  Enc(d) as e
  dense(d, tie = e.fc) as t
}
model A(x: f32[8]) {
  Enc(8) as a
  Enc(8) as b
  repeat 3 as r { Enc(8) as e; dense(8, tie = e.fc) as t }
  repeat 2 as u { Tied(8) }
  Tied(8)
  Tied(8)
  dense(8, tie = b.fc) as head
  dense(8, tie = transpose(a.fc)) as head3
}
`,
  "tie errors and suggestions among reused names": `
block Enc(d) {
  dense(d) as fc
  repeat 2 as h { dense(d) as inner }
}
model A(x: f32[8]) {
  Enc(8) as a
  Enc(8) as b
  repeat 2 as r { Enc(8) as e }
  dense(8, tie = b.fcc) as head
  dense(8, tie = r.fc) as head2
  dense(4, tie = a.fc) as head4
}
`,
  "block expects failing in a reused or first copy": `
block P(o) {
  dense(o) as fc
  expect params == 72
}
block Q(o) {
  P(o)
  P(o)
}
model A(x: f32[8]) {
  Q(8)
  repeat 3 as r { Q(8) }
  repeat 3 as s { P(16) }
}
model B(x: f32[4]) {
  repeat 2 as r { Q(8) }
}
`,
  "moe with reused experts": `
block E(d) {
  dense(2 * d) relu dense(d)
}
block L(d) {
  residual { layernorm; moe(4, 2) { E(d) } }
  residual { moe(3, 1) { repeat 2 { E(d) } } }
}
model A(x: f32[s <= 16, 8]) {
  repeat 3 as h { L(8) }
  L(8)
  L(8) as last
}
`,
  "frozen and trainable calls of one block": `
block B(d) {
  dense(d) batchnorm
}
model A(x: f32[8, 4, 4]) {
  flatten
  dense(8)
  B(8, frozen = true)
  B(8)
  B(8, frozen = true)
  repeat 2 { B(8, frozen = true) }
  repeat 2 { B(8) }
}
`,
  "named values, tuples and outer values in repeated bodies": `
block G(d) {
  input x
  a = x -> dense(d) as gate
  b = x -> dense(d) as up
  a * b -> dense(d) as down
}
block S(d) {
  q, k = dense(2 * d) -> split(2)
  output q, k
}
block J(d) {
  input a, b
  a + b -> dense(d)
}
model A(x: f32[8]) {
  y = x -> dense(8)
  repeat 2 as r { residual { G(8) } }
  z = y -> G(8)
  repeat 2 as q { y -> dense(8) }
  repeat 2 as p { z -> dense(8) }
  z -> G(8)
  repeat 3 as w { G(8) }
  S(8) -> J(8)
  S(8) -> J(8)
  repeat 2 { S(8) -> J(8) }
}
`,
  "a repeated body reading a value whose shape differs between calls": `
block K(d) {
  input x
  dense(d)
  repeat 2 as r { x -> dense(d) as fc }
}
model A(x: f32[4]) {
  K(8)
  K(8)
  repeat 2 { K(8) }
}
`,
  "counts, defaults and constants": `
const n = 3
block B(d, h = 2 * d) {
  const k = h // 2
  dense(h) dense(k)
}
model A(x: f32[4]) {
  repeat 0 { dense(5) }
  repeat 1 as one { dense(6) }
  repeat n as many { B(6) }
  repeat 2 { B(d = 6, h = 12) }
  B(6)
  repeat 1_000_000_000 as big { B(6) }
  repeat 4 { repeat 3 { dense(7) } repeat 2 { B(7) } }
}
`,
  "an error in a later call": `
block B(d) {
  residual { dense(d) }
}
model A(x: f32[8]) {
  B(8)
  B(8)
  B(4)
}
`,
  "blocks nested up to the instantiation limit, reused from different depths": (() => {
    let s = "";
    for (let i = 0; i < 62; i++) s += `block D${i} {\n  D${i + 1}\n}\n`;
    s += "block D62 {\n  dense(4)\n}\nblock W {\n  D1\n}\nblock V {\n  W\n}\n";
    return `${s}model A(x: f32[4]) {\n  D2\n  D1\n  D0\n}\nmodel B(x: f32[4]) {\n  D2\n  V\n}\nmodel C(x: f32[4]) {\n  D1\n  W\n  V\n}\n`;
  })(),
};

/** Everything a user can see of a spec: diagnostics, and the count reports at several depths. */
function everything(file: string, host: Host, memo: boolean): { out: string[]; steps: number } {
  const checked = checkProgram(file, host, undefined, { memo });
  const out = [stringifyExact(checked.diagnostics)];
  const models = checked.value.models.map((m) => ({ file, analysis: m.analysis, figures: m.figures }));
  if (!checked.diagnostics.some((d) => d.severity === "error") && models.length > 0) {
    for (const depth of [1, 2, 3, 6, 1000])
      out.push(renderText(models, depth), renderMarkdown(models, depth), stringifyExact(countJson(models, depth)));
    // Memory at a batch size (every column), per layer and in total, in both conventions.
    const memory = { memory: { batch: 3n, dtype: "float32" as const }, columns: [...columnNames] };
    out.push(renderText(models, 1000, memory), stringifyExact(countJson(models, 1000, memory)));
  }
  return { out, steps: checked.value.models.reduce((a, m) => a + m.analysis.steps, 0) };
}

const fileHost: Host = { readFile: (f) => ({ ok: true, text: readFileSync(f, "utf8") }) };

describe("memoized analysis gives the same results", () => {
  for (const [name, source] of Object.entries(edgeCases)) {
    it(name, () => {
      const host = memoryHost({ "m.nn": source });
      const memo = everything("m.nn", host, true);
      const fresh = everything("m.nn", host, false);
      expect(memo.out).toEqual(fresh.out);
      // The memo was used (fewer steps), or the comparison would prove nothing (a spec with errors has
      // no analyzed model to count steps of).
      if (!name.includes("error")) expect(memo.steps).toBeLessThan(fresh.steps);
    });
  }

  it("on the generators, at sizes the unmemoized analysis can still do", () => {
    for (const g of generators) {
      const host = memoryHost({ "m.nn": g.make(5) });
      expect(everything("m.nn", host, true).out).toEqual(everything("m.nn", host, false).out);
    }
  });

  it("on random specs of nested blocks, repeats, residuals, moe, named values and frozen calls", () => {
    // A fixed-seed generator (a linear congruential one): the same specs every run.
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const body = (depth: number, block: number, blocks: number, names: readonly string[]): string => {
      const out: string[] = [];
      for (let k = 0, n = 1 + Math.floor(random() * 3); k < n; k++) {
        const r = random();
        if (r < 0.2)
          out.push(
            pick([
              "dense(8)",
              "dense(4)",
              "dense(d)",
              "dense(8, bias = false)",
              "relu",
              "layernorm",
              "rmsnorm",
              "dense(8, frozen = true)",
            ]),
          );
        else if (r < 0.4 && depth < 3)
          out.push(
            `repeat ${pick(["0", "1", "2", "3", "n"])}${random() < 0.5 ? ` as r${k}` : ""} { ${body(depth + 1, block, blocks, names)} }`,
          );
        else if (r < 0.5 && depth < 3) out.push(`residual { ${body(depth + 1, block, blocks, names)} }`);
        else if (r < 0.58 && depth < 3)
          out.push(`moe(${pick(["2, 1", "3, 2"])}) { ${body(depth + 1, block, blocks, names)} }`);
        else if (r < 0.85 && block + 1 < blocks) {
          const callee = block + 1 + Math.floor(random() * Math.min(2, blocks - block - 1));
          out.push(`B${callee}(${pick(["d", "8", "4", "d, frozen = true"])})${random() < 0.3 ? ` as c${k}` : ""}`);
        } else if (names.length > 0 && random() < 0.5) out.push(`${pick(names)} -> dense(d)`);
        else out.push("gelu");
      }
      return out.join("; ");
    };
    let valid = 0;
    let reused = 0;
    for (let k = 0; k < 150; k++) {
      const blocks = 2 + Math.floor(random() * 4);
      let source = "const n = 2\nconst d = 8\n";
      for (let i = blocks - 1; i >= 0; i--) {
        const named = random() < 0.4;
        source += `block B${i}(d) {\n${named ? "  input x\n  y = x -> dense(d) as proj\n" : ""}  ${body(0, i, blocks, named ? ["x", "y"] : [])}\n}\n`;
      }
      source += `model M(x: f32[s <= 4, 8]) {\n  ${body(0, -1, blocks, ["x"])}\n  ${body(0, -1, blocks, ["x"])}\n}\n`;
      const host = memoryHost({ "m.nn": source });
      const memo = everything("m.nn", host, true);
      const fresh = everything("m.nn", host, false);
      expect(memo.out, source).toEqual(fresh.out);
      if (memo.out.length > 1) valid++;
      if (memo.steps < fresh.steps) reused++;
    }
    // Enough of them analyze cleanly and reuse something for the comparison to mean something.
    expect(valid).toBeGreaterThan(60);
    expect(reused).toBeGreaterThan(30);
  });

  it("on every example and every spec of the diagnostics corpus", () => {
    const files = [
      ...readdirSync("examples")
        .filter((f) => f.endsWith(".nn"))
        .map((f) => `examples/${f}`),
      ...readdirSync("test/diagnostics")
        .filter((f) => f.endsWith(".nn"))
        .map((f) => `test/diagnostics/${f}`),
    ];
    expect(files.length).toBeGreaterThan(20);
    for (const f of files) expect(everything(f, fileHost, true).out, f).toEqual(everything(f, fileHost, false).out);
  });
});
