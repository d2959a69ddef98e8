// `nnc diff`: tensors added, removed, reshaped, moved and recounted, exact figure deltas, the three formats,
// exit codes, and bad input.
import { describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { diff, renderDiff } from "../src/index.js";
import { capture } from "./helpers/cli.js";

const v1 = "examples/ci/classifier-v1.nn";
const v2 = "examples/ci/classifier-v2.nn";

async function run(...args: string[]) {
  const c = capture();
  const code = await main(["diff", ...args], c.io);
  return { code, out: c.out(), err: c.err() };
}

describe("nnc diff", () => {
  it("classifier v1 → v2: every kind of change, and exact deltas", () => {
    const d = diff({ file: v1 }, { file: v2 }).diff!;
    const names = (xs: readonly { name: string }[]) => xs.map((x) => x.name);
    expect(names(d.tensors.added)).toEqual(["proj.weight", "proj.bias"]);
    expect(names(d.tensors.removed)).toEqual([]);
    expect(d.tensors.reshaped.map((r) => [r.name, r.from.shape, r.to.shape])).toEqual([
      ["fc_in.weight", [128n, 784n], [256n, 784n]],
      ["fc_in.bias", [128n], [256n]],
    ]);
    expect(d.tensors.moved.map((m) => `${m.from.name} → ${m.to.name}`)).toEqual([
      "head.weight → classifier.weight",
      "head.bias → classifier.bias",
    ]);
    expect(d.tensors.recounted.map((m) => [m.from.name, m.from.copies, m.to.name, m.to.copies])).toEqual([
      ["hidden.{0..1}.fc.weight", 2n, "hidden.{0..2}.fc.weight", 3n],
      ["hidden.{0..1}.fc.bias", 2n, "hidden.{0..2}.fc.bias", 3n],
    ]);
    expect(d.tensors.unchanged).toBe(0);
    // The files' own arithmetic: 134,794 and 284,682 parameters. MACs of dense layers are in × out:
    // v1 784·128 + 2·128·128 + 128·10 = 134,400; v2 784·256 + 256·128 + 3·128·128 + 128·10 = 283,904.
    expect(d.figures.parameters).toEqual({ a: 134_794n, b: 284_682n, delta: 149_888n });
    expect(d.figures.macs).toEqual({ a: 134_400n, b: 283_904n, delta: 149_504n });
    expect(d.figures.bytesFp32.delta).toBe(149_888n * 4n);
    expect(d.figures.bytesTrainingAdam.delta).toBe(149_888n * 16n);
    expect(d.changed).toBe(true);
    // The elements of every change add up to the parameter delta.
    const lines = renderDiff(d)
      .split("\n")
      .filter((l) => /^ {2}[+−~×→] /.test(l));
    const sum = lines.reduce(
      (a, l) => a + BigInt(l.trim().split(/\s+/).pop()!.replace(/[+,]/g, "").replace("−", "-")),
      0n,
    );
    expect(sum).toBe(149_888n);
  });

  it("--batch compares the activations the generated modules keep, and their training memory", async () => {
    // Worked by hand: at batch 32, float32, a module keeps its input copy (784 · 32 · 4 = 100,352 B) and every
    // layer's output. v1: fc_in 128 + relu 128 + 2 · (fc 128 + relu 128) + head 10 = 778 values per sample;
    // v2: 256 + 256 + proj 128 + relu 128 + 3 · (128 + 128) + 10 = 1,546. Per sample 4 bytes, 32 samples:
    // v1 100,352 + 778 · 128 = 199,936 B; v2 100,352 + 1,546 · 128 = 298,240 B.
    const d = diff({ file: v1 }, { file: v2 }, { batch: 32 }).diff!;
    expect(d.figures.activations).toEqual({ a: 199_936n, b: 298_240n, delta: 98_304n });
    // The training figure is `nnc count --batch`'s, for each side.
    const training = async (file: string) => {
      const c = capture();
      await main(["count", file, "--batch", "32", "--format", "json"], c.io);
      return BigInt(JSON.parse(c.out()).models[0].memory.module.training.adam.total);
    };
    const [ta, tb] = [await training(v1), await training(v2)];
    expect(d.figures.moduleTrainingAdam).toEqual({ a: ta, b: tb, delta: tb - ta });
    // Without a batch size there are no memory rows; the CLI prints them with --batch.
    expect(diff({ file: v1 }, { file: v2 }).diff!.figures.activations).toBeUndefined();
    const r = await run(v1, v2, "--batch", "32");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^activations at the batch +199,936 B \(195\.25 KiB\) +298,240 B \(291\.25 KiB\) +\+98,304 B/m,
    );
    expect(r.out).toContain("note: activations and module training at batch 32, float32");
    for (const bad of [
      ["--batch", "0"],
      ["--dtype", "float64"],
    ]) {
      const e = await run(v1, v2, ...bad);
      expect(e.code, bad.join(" ")).toBe(2);
      expect(e.err).toContain("NN0001");
    }
    expect(() => diff({ file: v1 }, { file: v2 }, { batch: 0 })).toThrow(TypeError);
  });

  it("two models of one file: PyTorch's LSTM (two bias vectors) against Keras's (one)", () => {
    // PyTorch nn.LSTM has bias_ih_l0 and bias_hh_l0, 4·hidden each; Keras one bias of 4·hidden: hidden 64
    // (examples/lstm-classifier.nn) gives 256 fewer parameters.
    const file = "examples/lstm-classifier.nn";
    const d = diff({ file, model: "LstmLayer" }, { file, model: "LstmLayerKeras" }).diff!;
    expect(d.tensors.removed.map((t) => t.name)).toEqual(["0.bias_hh_l0"]);
    expect(d.tensors.moved.map((m) => `${m.from.name} → ${m.to.name}`)).toEqual(["0.bias_ih_l0 → 0.bias_l0"]);
    expect(d.figures.parameters.delta).toBe(-256n);
  });

  it("text, markdown and JSON; `file#Model` picks a model; exit 0 on a change unless --fail-on-change", async () => {
    const text = await run(v1, v2);
    expect(text.code).toBe(0);
    expect(text.out).toContain("  → head.weight → classifier.weight");
    expect(text.out).toMatch(/parameters +134,794 +284,682 +\+149,888 +\+111\.2%/);
    const md = await run(v1, v2, "--format", "markdown");
    expect(md.out).toContain("| parameters | 134,794 | 284,682 | +149,888 | +111.2% |");
    expect(md.out).toContain("| + | `proj.weight` | [128, 256] | +32,768 |");
    const json = await run(`${v2}#Classifier`, `${v1}#Classifier`, "--format", "json");
    const parsed = JSON.parse(json.out);
    expect(parsed.figures.parameters).toEqual({ a: 284_682, b: 134_794, delta: -149_888 });
    expect(parsed.notes[0]).toContain("activation memory is compared with `--batch N`");
    expect((await run(v1, v2, "--fail-on-change")).code).toBe(1);
    const same = await run(v1, v1, "--fail-on-change");
    expect(same.code).toBe(0);
    expect(same.out).toContain(": no change");
    const lstm = await run("examples/lstm-classifier.nn#LstmLayer", "examples/lstm-classifier.nn#LstmLayerKeras");
    expect(lstm.out).toContain("−256  −1.0%");
    // --model names the model of a side that does not.
    const both = await run(
      "examples/lstm-classifier.nn",
      "examples/lstm-classifier.nn#LstmLayerKeras",
      "--model",
      "LstmLayer",
    );
    expect(both.out).toBe(lstm.out);
  });

  it("bad input: usage errors exit 2, unreadable files and unknown models exit 1 with their codes", async () => {
    expect((await run(v1)).code).toBe(2);
    expect((await run(v1, v2, v2)).code).toBe(2);
    expect((await run(v1, v2, "--format", "yaml")).err).toContain("unknown format `yaml`");
    expect((await run("-", "-")).code).toBe(2);
    const missing = await run(v1, "nope.nn");
    expect([missing.code, missing.out]).toEqual([1, ""]);
    expect(missing.err).toContain("error[NN0002]: cannot read nope.nn");
    const model = await run(v1, `${v2}#Nope`);
    expect([model.code, model.out]).toEqual([1, ""]);
    expect(model.err).toContain("error[NN0010]");
    const several = await run(v1, "examples/lstm-classifier.nn");
    expect(several.code).toBe(1);
    expect(several.err).toContain("error[NN0001]: examples/lstm-classifier.nn defines 3 models");
    const broken = diff({ file: "x.nn", text: "model M(x: f32[4]) {\n  dense(\n}\n" }, { file: v1 });
    expect(broken.ok).toBe(false);
    expect(broken.diagnostics[0]?.code).toMatch(/^NN1/);
  });
});
