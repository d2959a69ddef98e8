// `nnc count --batch / --length / --dim / --columns / --format csv / --depth 0` (issue 15, items 1 and 2):
// the figures on the command line, and every bad input as a usage error (NN0001, exit 2) or a located
// diagnostic (NN3018, exit 1).
import { describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { countReportSchema } from "../src/count/schema.js";
import { csvField, percent } from "../src/count/columns.js";
import type { Host } from "../src/program/load.js";
import { capture } from "./helpers/cli.js";

const files: Record<string, string> = {
  "seq.nn": "model S(tokens: token[seq <= 16] of 10) {\n  embedding(10, 4)\n  dense(3)\n}\n",
  "two.nn":
    "model T(a: f32[s <= 4, 2], b: f32[t <= 3, 2]) {\n  x = a -> dense(2)\n  y = b -> dense(2)\n  output x, y\n}\n",
  "fixed.nn": "model F(x: f32[4]) {\n  dense(2)\n  relu\n}\n",
  "names.nn": "model M(x: f32[4]) {\n  dense(2) as first\n  dense(2) as second\n}\n",
  "conv.nn": "model C(x: f32[1, 6, 6]) {\n  conv2d(2, 3)\n  relu\n}\n",
  "convattn.nn":
    "model A(x: f32[4, 8]) {\n  conv1d(4, 3, padding = 1)\n  transpose(0, 1)\n  attention(2, add_bias_kv = true)\n}\n",
};
const host: Host = {
  readFile: (f) => (f in files ? { ok: true, text: files[f]! } : { ok: false, reason: "no such file" }),
};

async function nnc(...argv: string[]) {
  const c = capture({ host });
  const code = await main(argv, c.io);
  return { code, out: c.out(), err: c.err() };
}

describe("nnc count --batch", () => {
  it("prints memory in both conventions, every term, exact bytes", async () => {
    const r = await nnc("count", "fixed.nn", "--batch", "5");
    expect(r.code).toBe(0);
    // dense(2): outputs 2 + relu outputs 2 per sample, plus the input's 4: (4 + 4) × 5 × 4 bytes.
    expect(r.out).toContain("activations kept for backward: 160 bytes");
    expect(r.out).toContain("PyTorch eager (fp32, training mode, CPU)");
    // Linear saves its input (4) and ReLU its result (2): 6 × 5 × 4 bytes.
    expect(r.out).toContain("saved activations: 120 bytes");
    expect(r.out).toMatch(/training with Adam \(createTrainer \+ trainStep\): [\d,]+ bytes/);
    expect(r.out).toMatch(/\n {6}parameter gradients +40 bytes/);
  });

  it("prints PyTorch eager's inference peak, every term, in text, Markdown and JSON", async () => {
    // At batch 5: the input (4 floats) alive throughout; at the ReLU the Linear's output (2) and its own
    // (2) besides: (4 + 2 + 2) × 5 × 4 = 160 bytes; parameters 10 × 4 bytes.
    const r = await nnc("count", "fixed.nn", "--batch", "5");
    expect(r.out).toContain(
      "PyTorch eager inference peak (fp32, eval mode, torch.no_grad(), CPU, one thread, as c10's allocator sees it): parameters, buffers and the most activations alive at once: 200 bytes",
    );
    expect(r.out).toMatch(/\n {4}activations alive at the peak \(inputs included\) +160 bytes/);
    const md = await nnc("count", "fixed.nn", "--batch", "5", "--format", "markdown");
    expect(md.out).toContain("| PyTorch eager (fp32, eval, no_grad, CPU) | inference peak | **total** | 200 |");
    const json = countReportSchema.parse(
      JSON.parse((await nnc("count", "fixed.nn", "--batch", "5", "--format", "json")).out),
    );
    expect(json.models[0]!.memory!.eager.inference!.total).toBe(200);
    expect(json.models[0]!.memory!.eager.inferenceUnknownKinds).toEqual([]);
    // No convolution on oneDNN: PyTorch's default dispatch, no convention named.
    expect(json.models[0]!.memory!.eager.inference!.onednn).toBeUndefined();
    expect(r.out).not.toContain("oneDNN");
  });

  it("where PyTorch runs a convolution on oneDNN, the eager inference peak is given with oneDNN off, named so", async () => {
    // conv2d(2, 3) at batch 2: PyTorch 1.13's use_mkldnn takes it (batch > 1, a 3×3 kernel). With oneDNN
    // disabled, thnn_conv2d: the input 2 × 1×6×6 (288 bytes) alive throughout, the columns of the whole
    // batch, 2 × 9 kernel positions × 16 output positions (1,152 bytes), and the output 2 × 2 × 16 (256
    // bytes): 1,696 bytes; parameters 20 × 4.
    const r = await nnc("count", "conv.nn", "--batch", "2");
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      "PyTorch eager inference peak (fp32, eval mode, torch.no_grad(), CPU, one thread, as c10's allocator sees it, oneDNN off (torch.backends.mkldnn.enabled = False)): parameters, buffers and the most activations alive at once: 1,776 bytes",
    );
    expect(r.out).toMatch(/\n {4}activations alive at the peak \(inputs included\) +1,696 bytes/);
    expect(r.out).toContain(
      "with oneDNN on (PyTorch's default on x86), PyTorch 1.13 runs `conv2d` on oneDNN at batch 2, and each such convolution also holds blocked copies laid out per CPU, not included",
    );
    const md = await nnc("count", "conv.nn", "--batch", "2", "--format", "markdown");
    expect(md.out).toContain(
      "| PyTorch eager (fp32, eval, no_grad, CPU, oneDNN off (torch.backends.mkldnn.enabled = False)) | inference peak | **total** | 1,776 |",
    );
    expect(md.out).toContain("| | | with oneDNN on (PyTorch's default on x86), PyTorch 1.13 runs `conv2d` on oneDNN");
    const json = countReportSchema.parse(
      JSON.parse((await nnc("count", "conv.nn", "--batch", "2", "--format", "json")).out),
    );
    const inference = json.models[0]!.memory!.eager.inference!;
    expect(inference.total).toBe(1776);
    expect(inference.onednn).toBe(false);
    expect(inference.convention).toBe("oneDNN off (torch.backends.mkldnn.enabled = False)");
    expect(inference.oneDnnKinds).toEqual(["conv2d"]);
    expect(json.models[0]!.memory!.eager.inferenceUnknownKinds).toEqual([]);
  });

  it("a convolution on oneDNN with a kind not measured: not estimated, both named", async () => {
    // conv1d(4, 3) at batch 2 runs on oneDNN; attention with add_bias_kv is not measured either way.
    const r = await nnc("count", "convattn.nn", "--batch", "2");
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      "not estimated: PyTorch 1.13 runs `conv1d` on oneDNN at batch 2, whose blocked copies and buffers are laid out per CPU",
    );
    expect(r.out).toContain("not estimated: the temporaries of `attention (add_bias_kv)` are not measured");
    const md = await nnc("count", "convattn.nn", "--batch", "2", "--format", "markdown");
    expect(md.out).toContain(
      "| inference peak: not estimated | `conv1d` on oneDNN (laid out per CPU); `attention (add_bias_kv)` not measured |",
    );
    const json = countReportSchema.parse(
      JSON.parse((await nnc("count", "convattn.nn", "--batch", "2", "--format", "json")).out),
    );
    expect(json.models[0]!.memory!.eager.inference).toBeUndefined();
    expect(json.models[0]!.memory!.eager.inferenceUnknownKinds).toEqual(["attention (add_bias_kv)", "conv1d (oneDNN)"]);
  });

  it("at batch 1 the same convolution runs on ATen's thnn_conv2d and is estimated", async () => {
    // The input 1×6×6 (144 bytes), alive throughout; the conv's im2col columns, 1 · 9 kernel positions × 16
    // output positions (576 bytes), with its output 2 × 16 (128 bytes): 848 bytes; parameters 20 × 4.
    const r = await nnc("count", "conv.nn", "--batch", "1");
    expect(r.out).toMatch(
      /as c10's allocator sees it\): parameters, buffers and the most activations alive at once: 928 bytes/,
    );
    expect(r.out).toMatch(/\n {4}activations alive at the peak \(inputs included\) +848 bytes/);
  });

  it("float64 doubles the module's figures", async () => {
    const r = await nnc("count", "fixed.nn", "--batch", "5", "--dtype", "float64");
    expect(r.out).toContain("activations kept for backward: 320 bytes");
  });

  it("a huge batch: exact integers past 2^53, in text and JSON", async () => {
    const batch = 2n ** 62n + 3n;
    const r = await nnc("count", "fixed.nn", "--batch", batch.toString(), "--format", "json");
    expect(r.code).toBe(0);
    const json = r.out;
    // (4 + 4) elements × 4 bytes per sample, exactly.
    expect(json).toContain(`"total": ${(batch * 32n).toString()}`);
    const text = (await nnc("count", "fixed.nn", "--batch", batch.toString())).out;
    expect(text).toContain(`activations kept for backward: ${(batch * 32n).toLocaleString("en-US")} bytes`);
  });

  it("--length and --dim set a symbolic dimension; the JSON follows schema 2", async () => {
    const at16 = await nnc("count", "seq.nn", "--batch", "1", "--format", "json");
    const at4 = await nnc("count", "seq.nn", "--batch", "1", "--length", "4", "--format", "json");
    const byDim = await nnc("count", "seq.nn", "--batch", "1", "--dim", "seq=4", "--format", "json");
    expect(at4.out).toBe(byDim.out);
    const parse = (s: string) => countReportSchema.parse(JSON.parse(s));
    const [a, b] = [parse(at16.out), parse(at4.out)];
    expect(a.schemaVersion).toBe(2);
    expect(b.models[0]!.memory!.dims).toEqual({ seq: 4 });
    expect(a.models[0]!.layers[0]!.outputShape).toEqual([16, 4]);
    expect(b.models[0]!.layers[0]!.outputShape).toEqual([4, 4]);
    expect(b.models[0]!.layers[1]!.inputShapes).toEqual([[4, 4]]);
    // Token ids are Int32Array copies (1 × 4 bytes), embedding [L, 4] and dense [L, 3] floats: L × 8 × 4 bytes.
    expect(a.models[0]!.memory!.module.activations.total).toBe(16 * 8 * 4);
    expect(b.models[0]!.memory!.module.activations.total).toBe(4 * 8 * 4);
  });
});

describe("bad input", () => {
  it.each([
    [["count", "fixed.nn", "--batch", "0"], "`--batch` must be at least 1"],
    [["count", "seq.nn", "--length", "0"], "`--length` must be at least 1"],
    [["count", "seq.nn", "--dim", "seq=0"], "`--dim seq=0`: a dimension must be at least 1"],
    [["count", "seq.nn", "--dim", "seq"], "`--dim seq` is not NAME=V"],
    [["count", "seq.nn", "--dim", "sq=4"], "unknown dimension `sq`\n  = help: did you mean `seq`?"],
    [["count", "two.nn", "--dim", "u=4"], "unknown dimension `u`\n  = help: the model's symbolic dimensions: `s`, `t`"],
    [["count", "two.nn", "--length", "2"], "`--length` is ambiguous: the model declares `s`, `t`"],
    [["count", "fixed.nn", "--length", "2"], "`--length` needs a symbolic dimension, and the model declares none"],
    [["count", "seq.nn", "--length", "2", "--dim", "seq=3"], "give `--length` or `--dim`, not both"],
    [["count", "seq.nn", "--dim", "seq=3", "--dim", "seq=4"], "`seq` is given twice with --dim"],
    [["count", "fixed.nn", "--columns", "layer,parms"], "unknown column `parms`\n  = help: did you mean `params`?"],
    [["count", "fixed.nn", "--columns", "layer,layer"], "column `layer` is given twice"],
    [["count", "fixed.nn", "--columns", "activations"], "the `activations` column needs a batch size"],
    [["count", "fixed.nn", "--dtype", "float64"], "`--dtype` applies to the memory figures of `--batch`"],
    [["count", "fixed.nn", "--batch", "-3"], "`--batch` takes a whole number, found `-3`"],
    [["count", "fixed.nn", "--batch", "2.5"], "`--batch` takes a whole number, found `2.5`"],
  ])("%j", async (argv, message) => {
    const r = await nnc(...argv);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toContain(`error[NN0001]: ${message}`);
  });

  it("a length above the declared maximum: NN3018 at the maximum, no figures", async () => {
    const r = await nnc("count", "seq.nn", "--length", "17", "--batch", "2");
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toContain("error[NN3018]: `seq` is set to 17, above its declared maximum 16\n --> seq.nn:1:30");
    expect((await nnc("count", "seq.nn", "--length", "16")).code).toBe(0);
  });
});

describe("table columns", () => {
  it("--columns chooses and orders them", async () => {
    const r = await nnc("count", "names.nn", "--columns", "params,layer,input,shapes,share,trainable");
    expect(r.code).toBe(0);
    const lines = r.out.split("\n");
    expect(lines[3]).toMatch(/^parameters +layer +input shape +tensor shapes +share +trainable$/);
    expect(lines[5]).toMatch(/^ +10 +first +\[4\] +weight \[2, 4\], bias \[2\] +62\.5% +yes$/);
    expect(lines[6]).toMatch(/^ +6 +second +\[2\] +weight \[2, 2\], bias \[2\] +37\.5% +yes$/);
  });

  it("CSV: RFC 4180 (quoted fields with commas, doubled quotes, CRLF), plain digits", async () => {
    const r = await nnc("count", "names.nn", "--format", "csv", "--columns", "layer,input,shapes,params");
    expect(r.out).toBe(
      'layer,input shape,tensor shapes,parameters\r\nfirst,[4],"weight [2, 4], bias [2]",10\r\nsecond,[2],"weight [2, 2], bias [2]",6\r\n',
    );
    expect(csvField('a "b", c')).toBe('"a ""b"", c"');
    expect(csvField("a\nb")).toBe('"a\nb"');
    expect(csvField("plain")).toBe("plain");
  });

  it("--depth 0: totals only (torchinfo's depth 0)", async () => {
    const r = await nnc("count", "names.nn", "--depth", "0");
    expect(r.code).toBe(0);
    expect(r.out).not.toContain("first");
    expect(r.out).toContain("total parameters     16");
    const json = JSON.parse((await nnc("count", "names.nn", "--depth", "0", "--format", "json")).out) as {
      models: { layers: unknown[] }[];
    };
    expect(json.models[0]!.layers).toEqual([]);
    expect((await nnc("count", "names.nn", "--depth", "0", "--format", "csv")).out).toBe(
      "layer,kind,output shape,copies,weights,biases,parameters,buffers,MACs\r\n",
    );
  });

  it("share: tenths of a percent, rounded half up, exactly", () => {
    expect(percent(1n, 3n)).toBe("33.3%");
    expect(percent(2n, 3n)).toBe("66.7%");
    expect(percent(1n, 2000n)).toBe("0.1%"); // 0.05% rounds up
    expect(percent(10n ** 30n, 10n ** 30n)).toBe("100.0%");
  });
});
