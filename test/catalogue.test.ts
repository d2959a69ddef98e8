import { describe, expect, it } from "vitest";
import { catalogue } from "../src/diagnostics/catalogue.js";

const entries = Object.entries(catalogue);

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
  it("has entries", () => {
    expect(entries.length).toBeGreaterThan(10);
  });

  it("every code matches NNdddd", () => {
    const bad = entries.filter(([, e]) => !/^NN\d{4}$/.test(e.code)).map(([name, e]) => `${name}: ${e.code}`);
    expect(bad).toEqual([]);
  });

  it("no code is used twice", () => {
    const byCode = new Map<string, string[]>();
    for (const [name, e] of entries) byCode.set(e.code, [...(byCode.get(e.code) ?? []), name]);
    const dupes = [...byCode].filter(([, names]) => names.length > 1).map(([code, names]) => `${code}: ${names.join(", ")}`);
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
});
