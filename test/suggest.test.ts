import { describe, expect, it } from "vitest";
import { didYouMean, didYouMeanHelp, editDistance, suggestionThreshold } from "../src/diagnostics/suggest.js";

describe("editDistance (Damerau–Levenshtein, optimal string alignment)", () => {
  const cases: { a: string; b: string; d: number }[] = [
    { a: "", b: "", d: 0 },
    { a: "", b: "abc", d: 3 },
    { a: "abc", b: "", d: 3 },
    { a: "dense", b: "dense", d: 0 },
    { a: "dense", b: "dens", d: 1 }, // deletion
    { a: "dense", b: "denser", d: 1 }, // insertion
    { a: "dense", b: "dunse", d: 1 }, // substitution
    { a: "bias", b: "bais", d: 1 }, // one transposition, not two substitutions
    { a: "rleu", b: "relu", d: 1 },
    { a: "ca", b: "abc", d: 3 }, // OSA: no edit of a transposed pair (true Damerau would give 2)
    { a: "kitten", b: "sitting", d: 3 },
    { a: "conv2d", b: "conv1d", d: 1 },
  ];
  it.each(cases)("$a ↔ $b = $d", ({ a, b, d }) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe("suggestionThreshold", () => {
  it.each([
    ["x", 1],
    ["ab", 1],
    ["bias", 1],
    ["dense", 1],
    ["stride", 2],
    ["layernorm", 3],
  ] as const)("%s → %i", (name, t) => {
    expect(suggestionThreshold(name)).toBe(t);
  });
});

describe("didYouMean", () => {
  const layers = ["dense", "conv1d", "conv2d", "relu", "gelu", "selu", "layernorm", "rmsnorm", "batchnorm", "dropout"];
  const cases: { name: string; candidates: string[]; want: string | undefined }[] = [
    { name: "rleu", candidates: layers, want: "relu" },
    { name: "dnse", candidates: layers, want: "dense" },
    { name: "Dense", candidates: layers, want: "dense" }, // case-insensitive exact match wins
    { name: "LAYERNORM", candidates: layers, want: "layernorm" }, // even when the distance is large
    { name: "layrnorm", candidates: layers, want: "layernorm" },
    { name: "bais", candidates: ["bias", "stride", "padding"], want: "bias" },
    { name: "xyzzy", candidates: layers, want: undefined }, // nothing close
    { name: "dense", candidates: layers, want: undefined }, // never the name itself
    { name: "x", candidates: ["y", "z"], want: undefined }, // shares nothing
    { name: "x", candidates: ["xs"], want: "xs" },
    { name: "conv3d", candidates: layers, want: "conv1d" }, // tie at distance 1: alphabetical
    { name: "conv3d", candidates: [...layers].reverse(), want: "conv1d" }, // independent of order
    { name: "elu", candidates: ["selu", "gelu", "relu"], want: "gelu" }, // tie: same length gap, alphabetical
    { name: "padding_id", candidates: ["padding_idx", "padding"], want: "padding_idx" }, // distance 1 beats 3
    { name: "abcd", candidates: ["abc", "abce"], want: "abce" }, // tie at distance 1: closer length beats alphabetical
    { name: "anything", candidates: [], want: undefined },
  ];
  it.each(cases)("$name → $want", ({ name, candidates, want }) => {
    expect(didYouMean(name, candidates)).toBe(want);
  });

  it("threshold grows with the length of the name", () => {
    // distance 2: too far for a 5-letter name, close enough for a 6-letter one
    expect(didYouMean("dxnxe", ["dense"])).toBeUndefined();
    expect(didYouMean("strxdx", ["stride"])).toBe("stride");
  });

  it("accepts any iterable", () => {
    expect(didYouMean("gelu_", new Set(["gelu", "relu"]))).toBe("gelu");
  });
});

describe("didYouMeanHelp", () => {
  it("formats the help line", () => {
    expect(didYouMeanHelp("bais", ["bias", "stride"])).toBe("did you mean `bias`?");
  });
  it("is undefined without a suggestion", () => {
    expect(didYouMeanHelp("qqqq", ["bias", "stride"])).toBeUndefined();
  });
});
