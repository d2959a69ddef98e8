// Exactness: published parameter counts reproduced from the examples/ specs — the total and the role split
// (matrices + embeddings, norm scales, layer biases, norm shifts; buffers apart). The `source` of each row
// says where its total comes from:
// - arithmetic: counted by hand, the arithmetic is in the example's comments (XOR, MNIST MLP, LeNet-5 in
//   the modern form of LeCun et al. 1998, the LSTM layer with PyTorch's two bias vectors per gate set:
//   `bias_ih_l0` and `bias_hh_l0`, torch.nn.LSTM docs, https://pytorch.org/docs/stable/generated/torch.nn.LSTM.html);
// - torchvision: the `num_params` of the model's `*_Weights.IMAGENET1K_V1` entry in the torchvision docs
//   (https://pytorch.org/vision/stable/models/generated/torchvision.models.<builder>.html for resnet18,
//   resnet50, vgg16, mobilenet_v2, efficientnet_b0, mobilenet_v3_large, densenet121, vit_b_16);
// - HF: the Hugging Face `transformers` model with the config of the named checkpoint; the model cards and
//   papers round these ("124M", "110M", "7B"), so the exact figure is checked by the arithmetic in the
//   example's comments (GPT-2: Radford et al. 2019, https://huggingface.co/openai-community/gpt2; BERT:
//   Devlin et al. 2019, arXiv:1810.04805, https://huggingface.co/google-bert/bert-base-uncased; Llama 2:
//   Touvron et al. 2023, arXiv:2307.09288, https://huggingface.co/meta-llama/Llama-2-7b-hf).
// The role split follows PyTorch's parameter names (`*.weight` / `*.bias`), counted from each model's
// definition; weights + biases = `sum(p.numel() for p in model.parameters())`, and the split is checked
// again from the tensors' names.
import { describe, expect, it } from "vitest";
import { nodeHost } from "../src/program/node-host.js";
import { checkProgram } from "../src/program/check.js";

interface Row {
  file: string;
  model: string;
  source: string;
  total: bigint;
  /** matrices + embeddings */
  matEmb: bigint;
  normScale: bigint;
  biases: bigint;
  normShift: bigint;
  buffers: bigint;
}

const rows: Row[] = [
  {
    file: "xor.nn",
    model: "Xor",
    source: "arithmetic",
    total: 9n,
    matEmb: 6n,
    normScale: 0n,
    biases: 3n,
    normShift: 0n,
    buffers: 0n,
  },
  {
    file: "mnist-mlp.nn",
    model: "MnistMlp",
    source: "arithmetic",
    total: 109_386n,
    matEmb: 109_184n,
    normScale: 0n,
    biases: 202n,
    normShift: 0n,
    buffers: 0n,
  },
  {
    file: "lenet5.nn",
    model: "LeNet5",
    source: "arithmetic",
    total: 61_706n,
    matEmb: 61_470n,
    normScale: 0n,
    biases: 236n,
    normShift: 0n,
    buffers: 0n,
  },
  {
    file: "resnet18.nn",
    model: "ResNet18",
    source: "torchvision ResNet18_Weights.IMAGENET1K_V1 num_params",
    total: 11_689_512n,
    matEmb: 11_678_912n,
    normScale: 4_800n,
    biases: 1_000n,
    normShift: 4_800n,
    buffers: 9_620n,
  },
  {
    file: "resnet50.nn",
    model: "ResNet50",
    source: "torchvision ResNet50_Weights.IMAGENET1K_V1 num_params",
    total: 25_557_032n,
    matEmb: 25_502_912n,
    normScale: 26_560n,
    biases: 1_000n,
    normShift: 26_560n,
    buffers: 53_173n,
  },
  {
    file: "vgg16.nn",
    model: "Vgg16",
    source: "torchvision VGG16_Weights.IMAGENET1K_V1 num_params",
    total: 138_357_544n,
    matEmb: 138_344_128n,
    normScale: 0n,
    biases: 13_416n,
    normShift: 0n,
    buffers: 0n,
  },
  {
    file: "mobilenet-v2.nn",
    model: "MobileNetV2",
    source: "torchvision MobileNet_V2_Weights.IMAGENET1K_V1 num_params",
    total: 3_504_872n,
    matEmb: 3_469_760n,
    normScale: 17_056n,
    biases: 1_000n,
    normShift: 17_056n,
    buffers: 34_164n,
  },
  {
    file: "efficientnet-b0.nn",
    model: "EfficientNetB0",
    source: "torchvision EfficientNet_B0_Weights.IMAGENET1K_V1 num_params",
    total: 5_288_548n,
    matEmb: 5_236_192n,
    normScale: 21_008n,
    biases: 10_340n,
    normShift: 21_008n,
    buffers: 42_065n,
  },
  {
    file: "mobilenet-v3-large.nn",
    model: "MobileNetV3Large",
    source: "torchvision MobileNet_V3_Large_Weights.IMAGENET1K_V1 num_params",
    total: 5_483_032n,
    matEmb: 5_451_272n,
    normScale: 12_200n,
    biases: 7_360n,
    normShift: 12_200n,
    buffers: 24_446n,
  },
  {
    file: "densenet-121.nn",
    model: "DenseNet121",
    source: "torchvision DenseNet121_Weights.IMAGENET1K_V1 num_params",
    total: 7_978_856n,
    matEmb: 7_894_208n,
    normScale: 41_824n,
    biases: 1_000n,
    normShift: 41_824n,
    buffers: 83_769n,
  },
  {
    file: "vit-b16.nn",
    model: "VitB16",
    source: "torchvision ViT_B_16_Weights.IMAGENET1K_V1 num_params",
    total: 86_567_656n,
    matEmb: 86_444_544n,
    normScale: 19_200n,
    biases: 84_712n,
    normShift: 19_200n,
    buffers: 0n,
  },
  {
    file: "gpt2.nn",
    model: "Gpt2",
    source: "HF GPT2LMHeadModel (openai-community/gpt2), tie counted once; arithmetic",
    total: 124_439_808n,
    matEmb: 124_318_464n,
    normScale: 19_200n,
    biases: 82_944n,
    normShift: 19_200n,
    buffers: 0n,
  },
  {
    file: "bert-base.nn",
    model: "BertBase",
    source: "HF BertModel with pooler (google-bert/bert-base-uncased); arithmetic",
    total: 109_482_240n,
    matEmb: 109_360_128n,
    normScale: 19_200n,
    biases: 83_712n,
    normShift: 19_200n,
    buffers: 0n,
  },
  {
    file: "llama2-7b.nn",
    model: "Llama2_7B",
    source: "HF LlamaForCausalLM (meta-llama/Llama-2-7b-hf config); arithmetic",
    total: 6_738_415_616n,
    matEmb: 6_738_149_376n,
    normScale: 266_240n,
    biases: 0n,
    normShift: 0n,
    buffers: 0n,
  },
  {
    file: "lstm-classifier.nn",
    model: "LstmLayer",
    source: "arithmetic: 4·64·(32+64) + 2·4·64 (torch.nn.LSTM)",
    total: 25_088n,
    matEmb: 24_576n,
    normScale: 0n,
    biases: 512n,
    normShift: 0n,
    buffers: 0n,
  },
];

function figuresOf(file: string, model: string) {
  const checked = checkProgram(`examples/${file}`, nodeHost, undefined, { model });
  const errors = checked.diagnostics.filter((d) => d.severity === "error");
  expect(errors.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  const m = checked.value.models.find((x) => x.analysis.name === model);
  expect(m, `model ${model} in ${file}`).toBeDefined();
  return m!;
}

describe("published parameter counts, exactly", () => {
  it.each(rows)("$model ($source)", (row) => {
    const { figures: f } = figuresOf(row.file, row.model);
    expect(f.params).toBe(row.total);
    expect(f.roles.matrix + f.roles.embedding).toBe(row.matEmb);
    expect(f.roles.normScale).toBe(row.normScale);
    expect(f.roles.bias).toBe(row.biases);
    expect(f.roles.normShift).toBe(row.normShift);
    expect(f.buffers).toBe(row.buffers);
    // weights + biases = parameters, as with PyTorch's `*.weight` / `*.bias` names.
    expect(f.weights).toBe(row.matEmb + row.normScale + f.roles.other);
    expect(f.biases).toBe(row.biases + row.normShift);
    // The same split by another route: PyTorch's names. A parameter whose last name part starts with
    // `bias` (`bias`, `bias_ih_l0`, `in_proj_bias`) is a bias, every other one a weight.
    const { analysis } = figuresOf(row.file, row.model);
    const byName = { weights: 0n, biases: 0n };
    for (const t of analysis.tensors) {
      if (t.role === "buffer" || t.tiedTo !== undefined) continue;
      const n = t.shape.reduce((a, b) => a * b, 1n) * t.multiplicity;
      if (/^bias/.test(t.name.split(".").pop()!) || t.name.endsWith("_bias")) byName.biases += n;
      else byName.weights += n;
    }
    expect(byName).toEqual({ weights: f.weights, biases: f.biases });
  });

  it("GPT-2 counted with the tie twice gives the classic wrong figure (163,037,184 = 124,439,808 + 50,257·768)", () => {
    const { figures, analysis } = figuresOf("gpt2.nn", "Gpt2");
    expect(figures.paramsIfTiesCountedTwice).toBe(163_037_184n);
    expect(analysis.ties.map((t) => `${t.tensor} -> ${t.target}`)).toEqual([
      "lm_head.weight -> transformer.wte.weight",
    ]);
  });

  it("the LSTM row under the Keras convention: one bias vector per gate set (keras.layers.LSTM: 24,832 = 4·64·(32+64) + 4·64)", () => {
    const { figures, analysis } = figuresOf("lstm-classifier.nn", "LstmLayerKeras");
    expect(figures.params).toBe(24_832n);
    expect(figures.roles.bias).toBe(256n);
    expect(analysis.conventions.join("\n")).toContain("keras: one bias vector per gate set");
  });

  it("the PyTorch convention is named in the output", () => {
    const { analysis } = figuresOf("lstm-classifier.nn", "LstmLayer");
    expect(analysis.conventions.join("\n")).toContain("pytorch: two bias vectors per gate set");
  });
});
