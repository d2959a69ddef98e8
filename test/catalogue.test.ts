import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { catalogue, retired } from "../src/diagnostics/catalogue.js";
import { withCatalogue } from "../src/diagnostics/catalogue-doc.js";

const entries = Object.entries(catalogue);

function listTs(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? listTs(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** The range of the catalogue's header comment: the first digit of the code after `NN`. */
const ranges: Record<string, string> = {
  "0": "command line and files",
  "1": "lexing and parsing",
  "2": "names and resolution",
  "3": "types, shapes and sizes",
  "4": "layer arguments and options",
  "5": "parameters, ties, counts, assertions",
  "6": "imports",
  "7": "weight files and checkpoints",
  "9": "code generation",
};

describe("diagnostic catalogue", () => {
  it("every code is emitted somewhere in src/ or grammar/ (by its name, outside the catalogue)", () => {
    const sources = [...listTs("src"), ...listTs("grammar")]
      .filter((f) => !f.endsWith(path.join("diagnostics", "catalogue.ts")))
      .map((f) => fs.readFileSync(f, "utf8"))
      .join("\n");
    const unused = entries.map(([name]) => name).filter((name) => !new RegExp(`["'\`]${name}["'\`]`).test(sources));
    expect(unused).toEqual([]);
  });

  it("every code matches NNdddd", () => {
    const bad = entries.filter(([, e]) => !/^NN\d{4}$/.test(e.code)).map(([name, e]) => `${name}: ${e.code}`);
    expect(bad).toEqual([]);
  });

  it("no code is used twice", () => {
    const byCode = new Map<string, string[]>();
    for (const [name, e] of entries) byCode.set(e.code, [...(byCode.get(e.code) ?? []), name]);
    const dupes = [...byCode]
      .filter(([, names]) => names.length > 1)
      .map(([code, names]) => `${code}: ${names.join(", ")}`);
    expect(dupes).toEqual([]);
  });

  it("every code is in one of the documented ranges", () => {
    const outside = entries.filter(([, e]) => !(e.code.charAt(2) in ranges)).map(([name, e]) => `${name}: ${e.code}`);
    expect(outside).toEqual([]);
  });

  it("every summary follows the message style (lowercase start, no final period)", () => {
    const bad = entries
      .filter(([, e]) => e.summary.length === 0 || /^[A-Z]/.test(e.summary) || e.summary.endsWith("."))
      .map(([name]) => name);
    expect(bad).toEqual([]);
  });

  it("every code is documented in the language reference (grammar/README.md, generated: npm run grammar)", () => {
    const readme = fs.readFileSync("grammar/README.md", "utf8");
    expect(withCatalogue(readme)).toBe(readme);
    const missing = entries.filter(([, e]) => !readme.includes(`| ${e.code} |`)).map(([name]) => name);
    expect(missing).toEqual([]);
  });

  it("retired codes stay reserved: not in the catalogue, not emitted, replaced by catalogued codes", () => {
    const codes = new Set(entries.map(([, e]) => e.code));
    for (const r of retired) {
      expect(codes.has(r.code), r.code).toBe(false);
      for (const c of r.replacedBy) expect(codes.has(c), `${r.code} → ${c}`).toBe(true);
    }
  });
});
