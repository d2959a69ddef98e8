// The small examples compile to modules whose gradients match finite differences (float64), and the
// compiler is deterministic: the same spec gives the same bytes on every run.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { compile } from "../src/emit/compile.js";
import { build, gradientCheck } from "./helpers/generated.js";

describe("small examples: gradients against finite differences (float64)", () => {
  it.each(["xor", "mnist-mlp", "lenet5"])("examples/%s.nn", async (name) => {
    const { module: m } = await build(fs.readFileSync(`examples/${name}.nn`, "utf8"), { dtype: "float64" });
    // A seeded sample of at most 60 parameters and 60 input elements per check keeps this fast.
    const errors = gradientCheck(m, 2, { limit: 60, h: 1e-5 });
    expect(errors.params).toBeLessThan(1e-6);
    expect(errors.input).toBeLessThan(1e-6);
  });
});

describe("determinism", () => {
  it("compiling twice gives identical bytes", async () => {
    const source = fs.readFileSync("examples/lenet5.nn", "utf8");
    const a = await compile(source, {}, "examples/lenet5.nn");
    const b = await compile(source, {}, "examples/lenet5.nn");
    expect(a.files.length).toBe(1);
    expect(b.files[0]!.text).toBe(a.files[0]!.text);
  });

  it("rejects unknown or ill-typed options (zod)", async () => {
    const bad = await compile("model M(x: f32[2]) {\n  dense(1)\n}\n", { unrollLimit: -1, nope: true } as never);
    expect(bad.files).toEqual([]);
    expect(bad.diagnostics[0]!.code).toBe("NN0001");
    expect(bad.diagnostics[0]!.message).toMatch(/unrollLimit/);
  });

  it("a spec with an error emits nothing", async () => {
    const r = await compile("model M(x: f32[1, 28, 28]) {\n  dense(10)\n}\n");
    expect(r.files).toEqual([]);
    expect(r.diagnostics.map((d) => d.code)).toContain("NN3010");
  });
});
