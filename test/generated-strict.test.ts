// Every module in generated/ is clean under the strictest common settings: TypeScript with
// @tsconfig/strictest (noUncheckedIndexedAccess, exactOptionalPropertyTypes, noUnusedLocals and
// noUnusedParameters, noPropertyAccessFromIndexSignature, noImplicitOverride, …) and typescript-eslint's
// `recommended` rules, without any `@ts-nocheck` or `eslint-disable` in them. So are modules of the kinds
// no example uses (built here unformatted, as the bundler plugin and watch mode get them), and an
// inference build with baked weights. One program and one ESLint run over all the files
// (test/generated.test.ts keeps generated/ current with the generator).
import fs from "node:fs";
import path from "node:path";
import { ESLint } from "eslint";
import tseslint from "typescript-eslint";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";
import { compile, type CompileOptions } from "../src/emit/compile.js";

const modules = fs
  .readdirSync("generated")
  .filter((f) => f.endsWith(".ts"))
  .map((f) => path.join("generated", f));

/** Specs covering every op kind that no example in generated/ uses. */
const coverage: Record<string, [string, CompileOptions]> = {
  activations: [
    `model M(x: f32[6]) {
  dense(5) leaky_relu(negative_slope = 0.2) dense(5) elu(alpha = 0.7) dense(5) selu dense(5) mish
  dense(5) hard_sigmoid dense(5) softplus(beta = 2, threshold = 5) dense(5) softsign dense(5) prelu
  dense(40) gelu(approximate = tanh) dropout(0.3) dense(33, bias = false) softmax dense(3) log_softmax
}
`,
    {},
  ],
  combine: [
    `model M(x: f32[3, 4]) {
  flatten dense(12) reshape([3, 4]) prelu(3) softmax(axis = 0)
  v0, v1 = x -> split(2, axis = 1)
  [v1, v0] -> concat(axis = 1) -> flatten
  a = x -> flatten -> dense(4) -> sigmoid
  b = x -> flatten -> dense(4)
  a * b -> residual { dense(4) tanh } -> dense(2)
}
`,
    {},
  ],
  conv1d: [
    `model M(x: f32[4, 10]) {
  conv1d(6, 3, dilation = 2, groups = 2, padding = same, bias = false) max_pool1d(2) conv1d(4, 3)
  avg_pool1d(2, ceil_mode = true) adaptive_avg_pool1d(2) flatten dense(2)
}
`,
    {},
  ],
  convTranspose: [
    "model M(x: f32[2, 5, 5]) {\n  conv_transpose2d(4, 3, stride = 2, padding = 1, output_padding = 1) groupnorm(2) conv2d(2, 3, groups = 2) global_avg_pool\n}\n",
    {},
  ],
  volume: [
    `model M(x: f32[2, 4, 5, 5]) {
  conv3d(4, 3, padding = 1) batchnorm max_pool3d(2, ceil_mode = true) conv3d(2, [1, 2, 2], groups = 2)
  avg_pool3d([1, 2, 2], padding = [0, 1, 1], count_include_pad = false) adaptive_avg_pool3d([2, 2, 3])
  drop_path(0.2) reshape([4, 2, 3]) upsample(size = [5, 7], mode = bilinear, align_corners = true)
  upsample(scale_factor = [1, 2]) reshape([20, 14]) upsample(size = 9) conv_transpose1d(3, 3, stride = 2)
  drop_path(0.1, mode = batch) flatten dense(2)
}
`,
    {},
  ],
  recurrent: [
    "model M(x: f32[t <= 4, 3]) {\n  gru(5, bidirectional = true) rnn(4, nonlinearity = relu, sequences = false)\n}\n",
    {},
  ],
  recurrentOptions: [
    "model M(x: f32[t <= 4, 3]) {\n  lstm(5, proj_size = 2, layers = 2, bidirectional = true) gru(3, reset_after = false)\n}\n",
    {},
  ],
  broadcast: [
    `model M(x: f32[4, 3, 3]) {
  h = x -> conv2d(4, 1)
  s = h -> adaptive_avg_pool2d([1, 1]) -> conv2d(2, 1) -> relu -> conv2d(4, 1) -> sigmoid
  d = h * s - s
  d + s -> abs -> flatten -> dense(5)
}
`,
    {},
  ],
  moe: [
    "model M(x: f32[s <= 3, 6]) {\n  moe(4, top_k = 2) as moe {\n    dense(8) as up\n    tanh\n    dense(6) as down\n  }\n}\n",
    {},
  ],
  // Matrices stored [in, out] on the WebAssembly kernels (compile's default target, auto): the staging
  // functions wasmDenseInOutForward / wasmDenseInOutBackward, and the fused c_attn's …Forward3 / …Backward3.
  inOut: [
    "model M(x: f32[s <= 3, 24]) {\n  dense(40, layout = in_out) tanh\n  attention(2, qkv = separate, layout = in_out)\n  attention(2, layout = in_out)\n  dense(24, layout = in_out, bias = false)\n}\n",
    {},
  ],
  rotary: ["model M(x: f32[s <= 5, 8]) { class_token(8) rotary dense(2) }\n", { dtype: "float64" }],
  baked: [
    "model M(x: f32[3]) {\n  dense(4) relu dense(2)\n}\n",
    { bakeWeights: Array.from({ length: 26 }, (_, i) => i / 10) },
  ],
  // Inference builds of the kinds that keep values for backward in a trainable build (they keep none
  // here), with baked BatchNorm statistics (44 parameters, then 5 buffer values); and of a token model.
  bakedNorms: [
    "model M(x: f32[2, 4, 4]) {\n  batchnorm groupnorm(2) max_pool2d(2) dropout(0.5) flatten dense(3) layernorm rmsnorm\n}\n",
    { bakeWeights: Array.from({ length: 49 }, (_, i) => i / 100) },
  ],
  bakedTokens: [
    "model T(ids: token[3] of 5) {\n  embedding(5, 2) flatten dense(2)\n}\n",
    { bakeWeights: Array.from({ length: 24 }, (_, i) => i / 10) },
  ],
};
const extra: string[] = [];

beforeAll(async () => {
  const dir = path.join("test", ".tmp", `strict-${process.pid}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, [source, options]] of Object.entries(coverage)) {
    const result = await compile(source, { ...options, format: false }, `${name}.nn`);
    expect(
      result.diagnostics.filter((d) => d.severity === "error"),
      name,
    ).toEqual([]);
    const file = path.join(dir, `${name}.ts`);
    fs.writeFileSync(file, result.files[0]!.text);
    extra.push(file);
  }
});

describe("generated/ under the strictest settings", () => {
  it("has modules, and none silences a checker", () => {
    expect(modules.length).toBeGreaterThan(10);
    for (const file of modules)
      expect(fs.readFileSync(file, "utf8"), file).not.toMatch(/@ts-nocheck|@ts-ignore|@ts-expect-error|eslint-disable/);
  });

  it("type-checks with @tsconfig/strictest", () => {
    const config = ts.getParsedCommandLineOfConfigFile(
      path.resolve("test/generated-strict.tsconfig.json"),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
        },
      },
    );
    expect(config).toBeDefined();
    const options = config!.options;
    // The flags this test is about, read from the parsed configuration (so a broken `extends` cannot pass).
    for (const flag of [
      "strict",
      "noUncheckedIndexedAccess",
      "exactOptionalPropertyTypes",
      "noUnusedLocals",
      "noUnusedParameters",
      "noImplicitOverride",
      "noPropertyAccessFromIndexSignature",
      "noImplicitReturns",
      "noFallthroughCasesInSwitch",
    ] as const) {
      expect(options[flag], flag).toBe(true);
    }
    expect(config!.fileNames.map((f) => path.relative(process.cwd(), f)).sort()).toEqual([...modules].sort());
    expect(extra.length).toBe(Object.keys(coverage).length);
    const program = ts.createProgram([...config!.fileNames, ...extra], options);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const where =
        d.file && d.start !== undefined
          ? `${path.relative(process.cwd(), d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}`
          : "";
      return `${where} TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    });
    expect(problems.slice(0, 20)).toEqual([]);
    expect(problems.length).toBe(0);
  }, 120_000);

  it("passes typescript-eslint's recommended rules", async () => {
    // A flat config given here, so no eslint.config.js is read (and nothing else in the repository is linted).
    const eslint = new ESLint({
      cwd: process.cwd(),
      overrideConfigFile: true,
      overrideConfig: tseslint.configs.recommended,
    });
    const rules = (await eslint.calculateConfigForFile(modules[0]!)) as { rules: Record<string, unknown> };
    expect(Object.keys(rules.rules)).toEqual(
      expect.arrayContaining([
        "@typescript-eslint/no-unused-vars",
        "@typescript-eslint/no-explicit-any",
        "prefer-const",
      ]),
    );
    const results = await eslint.lintFiles([...modules, ...extra]);
    expect(results.map((r) => path.relative(process.cwd(), r.filePath)).sort()).toEqual([...modules, ...extra].sort());
    const problems = results.flatMap((r) =>
      r.messages.map(
        (m) => `${path.relative(process.cwd(), r.filePath)}:${m.line} ${m.ruleId ?? "fatal"} ${m.message}`,
      ),
    );
    expect(problems.slice(0, 20)).toEqual([]);
    expect(problems.length).toBe(0);
    // Every module carries the weight-file runtime (~1,000 lines): minutes on a loaded 2-core machine.
  }, 300_000);
});
