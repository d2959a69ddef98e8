// Counting semantics on small specs whose figures are worked out by hand in each case (the arithmetic is
// written next to the expected number), and the `nnc count` command: formats, schema, budgets, exit codes.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { main, type Io } from "../src/cli/main.js";
import { humanBytes } from "../src/count/count.js";
import { countReportSchema } from "../src/count/schema.js";
import type { Host } from "../src/program/load.js";
import { checkProgram } from "../src/program/check.js";

function memoryHost(files: Record<string, string>): Host {
  return {
    readFile: (f) => (f in files ? { ok: true, text: files[f]! } : { ok: false, reason: "no such file" }),
  };
}

function figures(source: string) {
  const checked = checkProgram("m.nn", memoryHost({ "m.nn": source }));
  const errors = checked.diagnostics.filter((d) => d.severity === "error");
  return { errors: errors.map((d) => d.code), model: checked.value.models[0], diagnostics: checked.diagnostics };
}

const model = (input: string, body: string) => `model M(x: ${input}) {\n${body}\n}\n`;

/** torchvision's SqueezeExcitation as a block: the gate [C, 1, 1] multiplies the feature map [C, H, W]. */
const seBlock = (activation: string, scale: string) => `block Se(channels, squeeze) {
  input x
  s = x -> adaptive_avg_pool2d([1, 1]) -> conv2d(squeeze, 1) as fc1 -> ${activation}
  g = s -> conv2d(channels, 1) as fc2 -> ${scale}
  g * x
}
`;

describe("counting", () => {
  const cases: { name: string; source: string; params: bigint; extra?: Record<string, bigint> }[] = [
    // dense 4→8: 4·8 + 8 = 40
    {
      name: "dense with bias",
      source: model("f32[4]", "dense(8)"),
      params: 40n,
      extra: { weights: 32n, biases: 8n, macs: 32n },
    },
    {
      name: "dense without bias",
      source: model("f32[4]", "dense(8, bias = false)"),
      params: 32n,
      extra: { biases: 0n },
    },
    // 10^9 copies of dense 4→4 (4·4 + 4 = 20): 2·10^10, counted without expanding.
    {
      name: "a billion repeats",
      source: model("f32[4]", "repeat 1_000_000_000 { dense(4) }"),
      params: 20_000_000_000n,
    },
    // first copy 4→8 (40), then two copies 8→8 (72 each): 184
    {
      name: "repeat whose first copy changes the shape",
      source: model("f32[4]", "repeat 3 { dense(8) }"),
      params: 184n,
    },
    // nn.ReLU6 has no parameters (PyTorch docs: "Applies ReLU6(x) = min(max(0, x), 6)", no weights; its
    // state_dict is empty): only dense 4→8 (4·8 + 8 = 40) counts, and relu6 adds no MACs (32 from dense)
    {
      name: "relu6 has no parameters",
      source: model("f32[4]", "dense(8) relu6"),
      params: 40n,
      extra: { macs: 32n },
    },
    // nn.Hardswish and nn.Hardsigmoid have no parameters (PyTorch docs: Hardswish(x) = x · ReLU6(x + 3) / 6,
    // Hardsigmoid(x) = ReLU6(x + 3) / 6, no weights; `list(nn.Hardswish().parameters())` is empty): only dense
    // 4→8 (4·8 + 8 = 40) counts, and they add no MACs. `hardsigmoid` is PyTorch's spelling of `hard_sigmoid`.
    {
      name: "hardswish and hardsigmoid have no parameters",
      source: model("f32[4]", "dense(8) hardswish hardsigmoid hard_sigmoid"),
      params: 40n,
      extra: { macs: 32n },
    },
    // Squeeze-and-excitation written with a broadcasting `*` (the excitation [C, 1, 1] over [C, H, W]), as
    // torchvision's SqueezeExcitation (torchvision/ops/misc.py, v0.14 for torch 1.13,
    // https://github.com/pytorch/vision/blob/v0.14.0/torchvision/ops/misc.py): avgpool =
    // AdaptiveAvgPool2d(1), fc1 = Conv2d(input_channels, squeeze_channels, 1), activation, fc2 =
    // Conv2d(squeeze_channels, input_channels, 1), scale_activation, `scale * input`. EfficientNet-B0's first
    // MBConv (torchvision/models/efficientnet.py: squeeze_channels = max(1, input_channels // 4) = 32 // 4 = 8,
    // SiLU as the activation, Sigmoid as the scale): fc1 32·8 + 8 = 264, fc2 8·32 + 32 = 288, 552 in all;
    // weights 2·256 = 512, biases 8 + 32 = 40; MACs 256 + 256 = 512 (1×1 convolutions on a 1×1 map).
    {
      name: "squeeze-and-excitation, EfficientNet-B0 (SqueezeExcitation(32, 8), SiLU, Sigmoid)",
      source: seBlock("silu", "sigmoid") + model("f32[32, 112, 112]", "Se(32, 8)"),
      params: 552n,
      extra: { weights: 512n, biases: 40n, macs: 512n },
    },
    // MobileNetV3-Large's third SE block (torchvision/models/mobilenetv3.py: expanded 72, squeeze
    // _make_divisible(72 // 4, 8) = 24, ReLU, Hardsigmoid as the scale): fc1 72·24 + 24 = 1,752, fc2
    // 24·72 + 72 = 1,800, 3,552 in all.
    {
      name: "squeeze-and-excitation, MobileNetV3 (SqueezeExcitation(72, 24), ReLU, Hardsigmoid)",
      source: seBlock("relu", "hardsigmoid") + model("f32[72, 28, 28]", "Se(72, 24)"),
      params: 3552n,
      extra: { weights: 3456n, biases: 96n, macs: 3456n },
    },
    // nn.InstanceNorm1d(8) has affine=False and track_running_stats=False by default (PyTorch docs): no
    // parameters and no buffers (torch 1.13: sum of parameters() 0, empty state_dict). With affine=True,
    // weight and bias of C: nn.InstanceNorm2d(16, affine=True) has 32 (torch 1.13: state_dict keys weight,
    // bias). conv1d 4→8 kernel 3: 4·8·3 + 8 = 104; conv2d 3→16 kernel 3: 3·16·9 + 16 = 448.
    {
      name: "instancenorm, default (no affine)",
      source: model("f32[4, 10]", "conv1d(8, 3) instancenorm"),
      params: 104n,
    },
    {
      name: "instancenorm with affine",
      source: model("f32[3, 8, 8]", "conv2d(16, 3) instancenorm(affine = true)"),
      params: 480n,
      extra: { buffers: 0n },
    },
    // nn.PixelShuffle has no parameters (PyTorch docs; torch 1.13: empty state_dict): conv2d 3→12 kernel 3
    // (3·12·9 + 12 = 336) then [12, 6, 6] → [3, 12, 12]; the dense 432→2 after it (432·2 + 2 = 866) checks the
    // output shape (3·12·12 = 432).
    {
      name: "pixel_shuffle has no parameters",
      source: model("f32[3, 8, 8]", "conv2d(12, 3) pixel_shuffle(2) flatten dense(2)"),
      params: 1202n,
    },
    { name: "repeat zero times", source: model("f32[4]", "repeat 0 { dense(4) }\ndense(2)"), params: 10n },
    // embedding 10·4 = 40; dense 4→10 tied to it: 10 biases only → 50; counted twice 90
    {
      name: "tie counted once",
      source: "model M(t: token[3] of 10) {\n  embedding(10, 4) as emb\n  dense(10, tie = emb)\n}\n",
      params: 50n,
      extra: { twice: 90n },
    },
    // dense 4→6 weight [6, 4]; dense 6→4 tied transposed to it: weight [4, 6] shared, bias 4 → 24 + 6 + 4 = 34
    {
      name: "tie to the transpose",
      source: model("f32[4]", "dense(6) as up\ndense(4, tie = transpose(up))"),
      params: 34n,
    },
    // frozen dense 4→4 (20) and a trainable dense 4→2 (10)
    {
      name: "frozen",
      source: model("f32[4]", "dense(4, frozen = true)\ndense(2)"),
      params: 30n,
      extra: { trainable: 10n, nonTrainable: 20n },
    },
    // BatchNorm on 3 channels: weight 3 + bias 3; buffers: running_mean 3 + running_var 3 + num_batches_tracked 1
    {
      name: "batchnorm buffers",
      source: model("f32[3, 4, 4]", "batchnorm"),
      params: 6n,
      extra: { buffers: 7n, bufferBytes: 32n /* 6·4 + 8 (int64) */ },
    },
    {
      name: "batchnorm without running statistics",
      source: model("f32[3, 4, 4]", "batchnorm(track_running_stats = false)"),
      params: 6n,
      extra: { buffers: 0n },
    },
    // Axis discipline (issue 14): a sequence read as channels is refused (test/diagnostics/
    // conv1d-over-sequence-axis.nn); with the axes swapped first, PyTorch's counts. Embedding 1000·32 =
    // 32,000; Conv1d(in 32, out 64, k 3): weight 64·32·3 = 6,144, bias 64 → 38,208 (the figure).
    {
      name: "conv1d over embeddings after transpose",
      source:
        "model M(x: token[s <= 100] of 1000) {\n  embedding(1000, 32) transpose(0, 1) conv1d(64, 3, padding = 1)\n}\n",
      params: 38_208n,
    },
    // LSTM 32→64 (4·64·(32 + 64) + 2·4·64 = 25,088) then BatchNorm1d(64) on [64, t]: 2·64 = 128 parameters,
    // running_mean 64 + running_var 64 + num_batches_tracked 1 = 129 buffers → 25,216.
    {
      name: "batchnorm over lstm features after transpose",
      source: model("f32[t <= 10, 32]", "lstm(64) transpose(0, 1) batchnorm"),
      params: 25_216n,
      extra: { buffers: 129n },
    },
    // A text CNN then an LSTM, with both transposes: embedding 32,000 + Conv1d(32, 64, 3) 6,208 +
    // LSTM(64 → 32) 4·32·(64 + 32) + 2·4·32 = 12,544 + Linear(32, 4) 132 = 50,884.
    {
      name: "conv1d then lstm over a sequence",
      source:
        "model M(x: token[s <= 100] of 1000) {\n  embedding(1000, 32) transpose(0, 1) conv1d(64, 3, padding = 1) transpose(0, 1) lstm(32) mean dense(4)\n}\n",
      params: 50_884n,
    },
    // PReLU with one shared slope reads no channel axis: fine on a sequence.
    { name: "shared prelu on a sequence", source: model("f32[t <= 10, 32]", "prelu"), params: 1n },
    // PReLU with 3 slopes: role "other", a weight
    { name: "prelu slopes", source: model("f32[3, 4, 4]", "prelu(3)"), params: 3n, extra: { weights: 3n, other: 3n } },
    // conv2d 1→6, 5×5 on 32×32: weight 6·1·25 = 150, bias 6 → 156; out 28×28×6, MACs 28·28·6·25 = 117,600
    { name: "conv2d", source: model("f32[1, 32, 32]", "conv2d(6, 5)"), params: 156n, extra: { macs: 117_600n } },
    // grouped conv: 8→8, groups 4, 3×3: weight 8·2·9 = 144, no bias
    { name: "grouped conv", source: model("f32[8, 8, 8]", "conv2d(8, 3, groups = 4, bias = false)"), params: 144n },
    // moe: router 4·8 = 32; expert dense 8→8 = 72; total 32 + 4·72 = 320; active 32 + 2·72 = 176
    {
      name: "mixture of experts",
      source: model("f32[s <= 16, 8]", "moe(4, top_k = 2) { dense(8) }"),
      params: 320n,
      extra: { active: 176n },
    },
    // GQA: width 8, 4 heads (head_dim 2), 2 kv heads: qkv 8·(8 + 2·4) = 128 + 16 bias; out 8·8 + 8 → 216
    {
      name: "grouped-query attention",
      source: model("f32[s <= 4, 8]", "attention(4, kv_heads = 2)"),
      params: 216n,
    },
    // LSTM 32→64 bidirectional, one layer: per direction 4·64·(32+64) + 2·4·64 = 25,088 → 50,176
    {
      name: "bidirectional lstm",
      source: model("f32[t <= 10, 32]", "lstm(64, bidirectional = true)"),
      params: 50_176n,
    },
    // GRU 32→64, Keras convention: reset_after keeps two biases, like PyTorch: 3·64·96 + 2·3·64 = 18,816
    {
      name: "gru keras convention",
      source: model("f32[t <= 10, 32]", "gru(64, bias_convention = keras)"),
      params: 18_816n,
    },
    // nn.LSTM(10, 20, num_layers = 2, bidirectional = True, proj_size = 5) (PyTorch 1.13 docs, nn.LSTM
    // "Variables": weight_ih_l0 (4·hidden, input), weight_ih_l1 (4·hidden, num_directions·proj_size),
    // weight_hh (4·hidden, proj_size), weight_hr (proj_size, hidden), two biases of 4·hidden): per direction
    // 80·10 + 80·5 + 2·80 + 5·20 = 1,460 at both layers (layer 1 reads 2·5 = 10), four directions in all: 5,840;
    // biases 4·160 = 640; weights 5,200. Output [t, 2·5].
    {
      name: "lstm with a projection (proj_size)",
      source: model("f32[t <= 7, 10]", "lstm(20, proj_size = 5, layers = 2, bidirectional = true) dense(3)"),
      params: 5_840n + 33n,
      extra: { biases: 640n + 3n, weights: 5_200n + 30n },
    },
    // GRU 32→64 with reset_after = false (Keras, keras/layers/rnn/gru.py: kernel (input, 3·units),
    // recurrent_kernel (units, 3·units), bias (3·units,) with reset_after = False, (2, 3·units) with True):
    // Keras's single bias: 3·64·96 + 3·64 = 18,624; PyTorch's two bias vectors: 3·64·96 + 2·3·64 = 18,816.
    {
      name: "gru reset_after = false, keras convention: one bias",
      source: model("f32[t <= 10, 32]", "gru(64, reset_after = false, bias_convention = keras)"),
      params: 18_624n,
      extra: { biases: 192n },
    },
    {
      name: "gru reset_after = false, pytorch convention: two biases",
      source: model("f32[t <= 10, 32]", "gru(64, reset_after = false)"),
      params: 18_816n,
      extra: { biases: 384n },
    },
    // two layers of RNN 4→3: layer 0: 3·4 + 3·3 + 2·3 = 27; layer 1: 3·3 + 3·3 + 6 = 24 → 51
    { name: "stacked rnn", source: model("f32[t <= 5, 4]", "rnn(3, layers = 2)"), params: 51n },
  ];

  // The help of NN4002 for `padding = same` on conv_transpose2d (test/diagnostics/transposed-padding-same.nn):
  // out = (in − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1 (nn.ConvTranspose2d,
  // "Shape"), with in = 16: 15·2 − 2 + 3 + 0 + 1 = 32 for kernel 4, stride 2, padding 1;
  // 15·2 − 2 + 2 + 1 + 1 = 32 for kernel 3, stride 2, padding 1, output_padding 1; 15·1 − 4 + 4 + 0 + 1 = 16
  // for kernel 5, stride 1, padding 2. Each is stride × the input.
  it.each([
    ["conv_transpose2d(4, 4, stride = 2, padding = 1)", "[4, 32, 32]"],
    ["conv_transpose2d(4, 3, stride = 2, padding = 1, output_padding = 1)", "[4, 32, 32]"],
    ["conv_transpose2d(4, 5, padding = 2)", "[4, 16, 16]"],
  ])("the transposed padding advised for out = in · stride: %s", (call, shape) => {
    const f = figures(model("f32[8, 16, 16]", call));
    expect(f.errors).toEqual([]);
    expect(f.model!.analysis.root.outputShape).toBe(shape);
  });

  it("squeeze-and-excitation has torchvision's state_dict names and shapes", () => {
    // torchvision SqueezeExcitation(32, 8).state_dict(): fc1.weight [8, 32, 1, 1], fc1.bias [8], fc2.weight
    // [32, 8, 1, 1], fc2.bias [32] (the Conv2d modules fc1 and fc2; pooling and activations hold none).
    const { errors, model: m } = figures(seBlock("silu", "sigmoid") + model("f32[32, 7, 7]", "Se(32, 8) as se"));
    expect(errors).toEqual([]);
    expect(m!.analysis.tensors.map((t) => [t.name, t.shape.map(Number)])).toEqual([
      ["se.fc1.weight", [8, 32, 1, 1]],
      ["se.fc1.bias", [8]],
      ["se.fc2.weight", [32, 8, 1, 1]],
      ["se.fc2.bias", [32]],
    ]);
  });

  it.each(cases)("$name", ({ source, params, extra }) => {
    const { errors, model } = figures(source);
    expect(errors).toEqual([]);
    const f = model!.figures;
    expect(f.params).toBe(params);
    if (extra?.["weights"] !== undefined) expect(f.weights).toBe(extra["weights"]);
    if (extra?.["biases"] !== undefined) expect(f.biases).toBe(extra["biases"]);
    if (extra?.["macs"] !== undefined) expect(f.macs).toBe(extra["macs"]);
    if (extra?.["twice"] !== undefined) expect(f.paramsIfTiesCountedTwice).toBe(extra["twice"]);
    if (extra?.["trainable"] !== undefined) expect(f.trainable).toBe(extra["trainable"]);
    if (extra?.["nonTrainable"] !== undefined) expect(f.nonTrainable).toBe(extra["nonTrainable"]);
    if (extra?.["buffers"] !== undefined) expect(f.buffers).toBe(extra["buffers"]);
    if (extra?.["bufferBytes"] !== undefined) expect(f.bytes.buffers).toBe(extra["bufferBytes"]);
    if (extra?.["other"] !== undefined) expect(f.roles.other).toBe(extra["other"]);
    if (extra?.["active"] !== undefined) expect(f.activeParams).toBe(extra["active"]);
  });

  // The issue-14 kinds against a torch run (test/reference/pytorch/count_volume.py → volume_counts.json,
  // PyTorch 1.13, torchvision 0.14): parameters, buffers, the state_dict's names and shapes, and the output
  // shape of nn.Conv3d, nn.ConvTranspose1d, nn.MaxPool3d, nn.AvgPool3d, nn.AdaptiveAvgPool3d, nn.BatchNorm3d,
  // nn.Upsample and torchvision's StochasticDepth.
  const volume = JSON.parse(readFileSync("test/reference/pytorch/volume_counts.json", "utf8")) as {
    cases: {
      layer: string;
      shape: number[];
      params: number;
      buffers: number;
      out_shape: number[];
      state_dict: Record<string, number[]>;
    }[];
  };
  it.each(volume.cases.map((c) => [`${c.layer} on [${c.shape.join(", ")}]`, c] as const))(
    "issue-14 kinds against a torch run: %s",
    (_name, c) => {
      const { errors, model: m } = figures(model(`f32[${c.shape.join(", ")}]`, c.layer));
      expect(errors).toEqual([]);
      expect(m!.figures.params).toBe(BigInt(c.params));
      expect(m!.figures.buffers).toBe(BigInt(c.buffers));
      expect(m!.analysis.root.outputShape).toBe(`[${c.out_shape.join(", ")}]`);
      const tensors = Object.fromEntries(
        m!.analysis.tensors.map((t) => [t.name.replace(/^.*\./, ""), t.shape.map(Number)]),
      );
      expect(tensors).toEqual(c.state_dict);
    },
  );

  // MACs (one multiply-accumulate per weight use, the convention of src/vocabulary/kind.ts): conv3d 3→16,
  // kernel 3³, padding 1 on [3, 8, 16, 16]: output 16·8·16·16 = 32,768 elements × 3·27 = 2,654,208;
  // conv_transpose1d 3→6, kernel 4 on [3, 10]: 30 input elements × 6·4 = 720 (each input element meets every
  // weight of its group once).
  it("MACs of conv3d and conv_transpose1d by hand", () => {
    expect(figures(model("f32[3, 8, 16, 16]", "conv3d(16, 3, padding = 1)")).model!.figures.macs).toBe(2_654_208n);
    expect(figures(model("f32[3, 10]", "conv_transpose1d(6, 4, stride = 2, padding = 1)")).model!.figures.macs).toBe(
      720n,
    );
  });

  it("LeNet-5 MACs by hand: 117,600 + 240,000 + 48,000 + 10,080 + 840 = 416,520", () => {
    const { model: m } = figures(
      model(
        "f32[1, 32, 32]",
        "conv2d(6, 5) tanh avg_pool2d(2)\nconv2d(16, 5) tanh avg_pool2d(2)\nflatten\ndense(120) tanh\ndense(84) tanh\ndense(10)",
      ),
    );
    expect(m!.figures.macs).toBe(416_520n);
    expect(m!.figures.flops).toBe(833_040n);
  });

  it("exact bytes: int4 rounds half bytes up; units are labelled", () => {
    const { model: m } = figures(model("f32[2]", "dense(2) sigmoid dense(1) sigmoid")); // 9 parameters
    expect(m!.figures.bytes).toMatchObject({ fp32: 36n, bf16: 18n, int8: 9n, int4: 5n, trainingAdam: 144n });
    expect(humanBytes(497_759_232n)).toBe("497,759,232 bytes (474.70 MiB, 497.76 MB)");
    expect(humanBytes(512n)).toBe("512 bytes (512 B, 512 B)");
  });
});

describe("shape errors", () => {
  const cases: [string, string, string][] = [
    ["dense needs one feature axis", model("f32[28, 28]", "dense(128)"), "NN3010"],
    ["conv output below 1", model("f32[3, 4, 4]", "conv2d(8, 7)"), "NN3011"],
    ["heads must divide the width", model("f32[s <= 8, 10]", "attention(3)"), "NN3012"],
    ["kv heads must divide heads", model("f32[s <= 8, 12]", "attention(4, kv_heads = 3)"), "NN3012"],
    ["groups must divide channels", model("f32[6, 8, 8]", "conv2d(8, 3, groups = 4)"), "NN3012"],
    ["residual shape mismatch", model("f32[4]", "residual { dense(8) }"), "NN3009"],
    ["add of shapes that do not broadcast", model("f32[4]", "a = x -> dense(8)\nb = x -> dense(4)\na + b"), "NN3028"],
    ["tie between different shapes", model("f32[4]", "dense(6) as a\ndense(5, tie = a)"), "NN5003"],
    ["tie to nothing", model("f32[4]", "dense(6, tie = nowhere)"), "NN5002"],
    ["expect that fails", model("f32[4]", "dense(8)\nexpect params == 41"), "NN5001"],
    [
      "sequence longer than positional",
      "model M(t: token[s <= 10] of 5) {\n  embedding(5, 4)\n  positional(8, 4)\n}\n",
      "NN3014",
    ],
    ["embedding smaller than the vocabulary", "model M(t: token[4] of 100) {\n  embedding(50, 4)\n}\n", "NN3009"],
  ];
  it.each(cases)("%s", (_name, source, code) => {
    const { errors } = figures(source);
    expect(errors).toContain(code);
  });

  it("a shape error names where the shape came from", () => {
    const { diagnostics } = figures(model("f32[28, 28]", "dense(128)"));
    const d = diagnostics.find((x) => x.code === "NN3010")!;
    expect(d.message).toBe("`dense` expects one feature axis (or a sequence of feature vectors), found [28, 28]");
    expect(d.labels[0]!.message).toBe("this has shape [28, 28]");
    expect(d.labels[0]!.span.line).toBe(1);
    expect(d.help).toContain("flatten");
  });
});

describe("nnc count", () => {
  const files: Record<string, string> = {
    "mlp.nn": model("f32[1, 28, 28]", "flatten\ndense(128) relu\ndense(10)"),
    "bad.nn": model("f32[1, 28, 28]", "dense(128)"),
  };
  async function run(argv: string[]) {
    let stdout = "";
    let stderr = "";
    const io: Io = {
      stdout: (s) => void (stdout += s),
      stderr: (s) => void (stderr += s),
      readStdin: () => new Uint8Array(),
      stderrIsTty: false,
      env: {},
      host: memoryHost(files),
    };
    const code = await main(argv, io);
    return { code, stdout, stderr };
  }

  it("prints the per-layer table and totals", async () => {
    const r = await run(["count", "mlp.nn"]);
    expect(r.code).toBe(0);
    // 784·128 + 128 + 128·10 + 10 = 101,770
    expect(r.stdout).toContain("total parameters     101,770");
    expect(r.stdout).toMatch(/^1 +dense +\[128\] +100,352 +128 +100,480 +100,352$/m);
    expect(r.stdout).toContain("MiB");
  });

  it("--format json follows the documented schema", async () => {
    const r = await run(["count", "mlp.nn", "--format", "json"]);
    expect(r.code).toBe(0);
    const parsed = countReportSchema.parse(JSON.parse(r.stdout));
    const m = parsed.models[0]!;
    expect(m.total).toBe(101_770);
    expect(m.weights).toBe(784 * 128 + 128 * 10); // the two matrices
    expect(m.biases).toBe(128 + 10);
    expect(m.layers.map((l) => l.name)).toEqual(["0", "1", "2", "3"]);
    expect(m.tensors.map((t) => t.name)).toEqual(["1.weight", "1.bias", "3.weight", "3.bias"]);
  });

  it("--format markdown prints tables", async () => {
    const r = await run(["count", "mlp.nn", "--format", "markdown"]);
    expect(r.stdout).toContain("| layer | kind | output shape |");
    expect(r.stdout).toContain("| parameters | 101,770 |");
  });

  it("--max-params and --max-bytes fail the run when exceeded", async () => {
    expect((await run(["count", "mlp.nn", "--max-params", "101770"])).code).toBe(0);
    const over = await run(["count", "mlp.nn", "--max-params", "101_769"]);
    expect(over.code).toBe(1);
    expect(over.stderr).toContain("NN5004");
    expect((await run(["count", "mlp.nn", "--max-bytes", "407080"])).code).toBe(0); // 101,770 · 4
    expect((await run(["count", "mlp.nn", "--max-bytes", "407079"])).code).toBe(1);
  });

  it("a spec with errors prints no number and exits 1", async () => {
    const r = await run(["count", "bad.nn"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("NN3010");
  });

  it("usage errors exit 2", async () => {
    expect((await run(["count"])).code).toBe(2);
    expect((await run(["count", "mlp.nn", "--depth", "x"])).code).toBe(2);
    expect((await run(["count", "mlp.nn", "--format", "xml"])).code).toBe(2);
    expect((await run(["count", "mlp.nn", "--model", "Nope"])).code).toBe(1);
  });
});
