// `nnc verify` and the API's `verify`: checkpoints written from PyTorch state dicts by
// test/fixtures/safetensors/make.py against the specs beside them (mlp.nn: Linear–BatchNorm1d–Linear;
// tied.nn: an embedding, a repeat and a tied head). make.py checks with torch 1.13 that
// `load_state_dict(strict=True)` accepts the matching files and refuses the mismatched ones.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { main } from "../src/cli/main.js";
import { capture } from "./helpers/cli.js";
import { verify, type VerifyResult } from "../src/index.js";
import { writeSafetensors } from "../src/weights/safetensors.js";

const dir = "test/fixtures/safetensors";
const mlp = `${dir}/mlp.nn`;
const tied = `${dir}/tied.nn`;

const codes = (r: VerifyResult) => r.diagnostics.map((d) => d.code);

function against(spec: string, file: string, options: { prefix?: string } = {}): VerifyResult {
  return verify(spec, { against: `${dir}/${file}`, ...options });
}

describe("matrices stored [in, out] (layout = in_out)", () => {
  // test/fixtures/safetensors/layouts.nn: c_fc stored [in, out], fc [out, in], an RNN (no `layout` option).
  const layouts = `${dir}/layouts.nn`;
  const tensors = (shapes: Record<string, number[]>) => {
    const bytes = writeSafetensors(
      Object.entries(shapes).map(([name, shape]) => ({
        name,
        dtype: "F32" as const,
        shape,
        data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
      })),
    );
    if (!bytes.ok) throw new Error(bytes.problem.message);
    return bytes.value;
  };
  const good = {
    "c_fc.weight": [8, 4],
    "c_fc.bias": [4],
    "fc.weight": [6, 4],
    "fc.bias": [6],
    "rnn.weight_ih_l0": [5, 6],
    "rnn.weight_hh_l0": [5, 5],
    "rnn.bias_ih_l0": [5],
    "rnn.bias_hh_l0": [5],
  };

  it("a checkpoint storing c_fc [in, out] matches", () => {
    const r = verify(layouts, { against: tensors(good) });
    expect(r.diagnostics).toEqual([]);
    expect(r.report!.matched).toBe(8);
  });

  it("each side of a transposed dense matrix is told what to change, and only dense layers hear of `layout`", () => {
    const r = verify(layouts, {
      against: tensors({ ...good, "c_fc.weight": [4, 8], "fc.weight": [4, 6], "rnn.weight_ih_l0": [6, 5] }),
    });
    expect(codes(r)).toEqual(["NN7004", "NN7004", "NN7004"]);
    const byName = (name: string) => r.diagnostics.find((d) => d.message.startsWith(`\`${name}\``))!;
    expect(byName("c_fc.weight").message).toBe(
      "`c_fc.weight` is [4, 8] in the checkpoint, [8, 4] in the model: stored transposed",
    );
    expect(byName("c_fc.weight").help).toContain("drop `layout = in_out`");
    expect(byName("fc.weight").help).toContain("write `layout = in_out`");
    expect(byName("rnn.weight_ih_l0").message).toContain("stored transposed");
    expect(byName("rnn.weight_ih_l0").help).toBeUndefined();
  });
});

describe("verify (API)", () => {
  it.each([
    "mlp.safetensors",
    "mlp-meta.safetensors",
    "mlp-f64.safetensors",
    "mlp-f16.safetensors",
    "mlp-bf16.safetensors",
  ])("%s matches mlp.nn: every tensor, buffers included, both sides' totals", (file) => {
    const r = against(mlp, file);
    expect(r.diagnostics).toEqual([]);
    expect(r.ok).toBe(true);
    const report = r.report!;
    expect(report.match).toBe(true);
    expect(report.matched).toBe(9);
    // 83 parameters and 17 buffer elements (mlp.nn's header: 4·8 + 8 + 8 + 8 + 8·3 + 3; 8 + 8 + 1).
    expect(report.spec).toEqual({ tensors: 9n, parameters: 83n, buffers: 17n });
    expect(report.checkpoint.parameters).toBe(83n);
    expect(report.checkpoint.buffers).toBe(17n);
    expect(report.checkpoint.elements).toBe(100n);
    expect(report.checkpoint.tensors).toBe(9);
  });

  it("reads the dtypes and metadata of the file", () => {
    expect(against(mlp, "mlp-f16.safetensors").report!.checkpoint.dtypes).toEqual({ I64: 1, F16: 8 });
    expect(against(mlp, "mlp-meta.safetensors").report!.checkpoint.metadata).toEqual({ format: "pt" });
  });

  it("a missing tensor: NN7002 at the layer that owns it, exit status false", () => {
    const r = against(mlp, "mlp-missing.safetensors");
    expect(r.ok).toBe(false);
    expect(codes(r)).toEqual(["NN7002"]);
    expect(r.diagnostics[0]!.message).toBe("the checkpoint has no `fc2.bias` [3]");
    expect(r.diagnostics[0]!.span?.line).toBe(9); // `dense(3) as fc2`
    expect(r.report!.missing).toEqual([{ name: "fc2.bias", shape: [3n], role: "bias" }]);
    expect(r.report!.checkpoint.parameters).toBe(80n);
  });

  it("an unexpected tensor: NN7003", () => {
    const r = against(mlp, "mlp-unexpected.safetensors");
    expect(codes(r)).toEqual(["NN7003"]);
    expect(r.report!.unexpected).toEqual([{ name: "fc3.weight", shape: [2, 3], dtype: "F32" }]);
    expect(r.report!.checkpoint.parameters).toBe(89n); // 83 + 2·3
  });

  it("a transposed matrix is recognized", () => {
    const r = against(mlp, "mlp-transposed.safetensors");
    expect(codes(r)).toEqual(["NN7004"]);
    expect(r.diagnostics[0]!.message).toBe(
      "`fc1.weight` is [4, 8] in the checkpoint, [8, 4] in the model: stored transposed",
    );
    expect(r.report!.shapeMismatches).toEqual([
      { name: "fc1.weight", expected: [8n, 4n], found: [4, 8], transposed: true },
    ]);
  });

  it("another shape is not called transposed", () => {
    const r = against(mlp, "mlp-wrong-shape.safetensors");
    expect(codes(r)).toEqual(["NN7004"]);
    expect(r.report!.shapeMismatches).toEqual([
      { name: "fc2.weight", expected: [3n, 8n], found: [3, 7], transposed: false },
    ]);
  });

  it("an integer weight is a dtype mismatch; F64, F16 and BF16 are not (they load, converted)", () => {
    const r = against(mlp, "mlp-wrong-dtype.safetensors");
    expect(codes(r)).toEqual(["NN7005"]);
    expect(r.report!.dtypeMismatches).toEqual([
      { name: "fc2.weight", expected: "F32, F64, F16 or BF16", found: "I32" },
    ]);
  });

  it("a prefix on every name is found, applied and reported; given, it matches", () => {
    const found = against(mlp, "mlp-prefixed.safetensors");
    expect(found.ok).toBe(false);
    expect(codes(found)).toEqual(["NN7008"]);
    expect(found.diagnostics[0]!.help).toContain("use prefix `net.`");
    expect(found.report!.prefix).toEqual({ value: "net.", given: false });
    expect(found.report!.matched).toBe(9);
    const given = against(mlp, "mlp-prefixed.safetensors", { prefix: "net." });
    expect(given.diagnostics).toEqual([]);
    expect(given.ok).toBe(true);
    // A prefix that starts no name: a warning, and the names as they are.
    const unused = against(mlp, "mlp.safetensors", { prefix: "model." });
    expect(unused.ok).toBe(true);
    expect(codes(unused)).toEqual(["NN7010"]);
  });

  it("a missing num_batches_tracked is a note (PyTorch's BatchNorm fills it in), not a mismatch", () => {
    const r = against(mlp, "mlp-no-counter.safetensors");
    expect(r.ok).toBe(true);
    expect(codes(r)).toEqual(["NN7009"]);
    expect(r.report!.checkpoint.buffers).toBe(16n);
  });

  it("NaN and infinite values are reported per tensor", () => {
    const r = against(mlp, "mlp-nan.safetensors");
    expect(r.ok).toBe(false);
    expect(codes(r)).toEqual(["NN7006", "NN7006"]);
    expect(r.report!.nonFinite).toEqual([
      { name: "bn.running_var", nan: 0, infinite: 1 },
      { name: "fc1.weight", nan: 1, infinite: 1 },
    ]);
    expect(r.diagnostics.map((d) => d.span?.line)).toEqual([7, 6]); // `batchnorm as bn`, `dense(8) as fc1`
  });

  it("ties: stored once under either name, or twice with equal values; twice with different values is a mismatch", () => {
    const once = against(tied, "tied-once.safetensors");
    expect(once.diagnostics).toEqual([]);
    expect(once.report!.ties).toEqual([
      { tensor: "lm_head.weight", target: "wte.weight", transposed: false, stored: "once", as: "wte.weight" },
    ]);
    const head = against(tied, "tied-once-head.safetensors");
    expect(head.diagnostics).toEqual([]);
    expect(head.report!.ties[0]!.as).toBe("lm_head.weight");
    const twice = against(tied, "tied-twice.safetensors");
    expect(twice.diagnostics).toEqual([]);
    expect(twice.report!.ties[0]).toMatchObject({ stored: "twice", equal: true });
    // tied.nn: 80 parameters (40 + 2·20); stored twice, the head's 40 are not counted again.
    expect(twice.report!.checkpoint.parameters).toBe(80n);
    expect(twice.report!.checkpoint.elements).toBe(120n);
    const differ = against(tied, "tied-differ.safetensors");
    expect(codes(differ)).toEqual(["NN7007"]);
    expect(differ.report!.ties[0]).toMatchObject({ stored: "twice", equal: false });
  });

  it("matches repeated layers' copies (`h.{0..1}.0.weight`) one by one", () => {
    const r = against(tied, "tied-once.safetensors");
    expect(r.report!.matched).toBe(5);
    expect(r.report!.spec.tensors).toBe(6n); // wte, h.0.0.{weight,bias}, h.1.0.{weight,bias}, lm_head
  });

  it("an unexpected name near a missing one gets a did-you-mean", () => {
    const f32 = (name: string, shape: number[]) => ({
      name,
      dtype: "F32" as const,
      shape,
      data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
    });
    const bytes = writeSafetensors([
      f32("fc1.weight", [8, 4]),
      f32("fc1.bias", [8]),
      f32("bn.weight", [8]),
      f32("bn.bias", [8]),
      f32("bn.running_mean", [8]),
      f32("bn.running_var", [8]),
      f32("fc2.weight", [3, 8]),
      f32("fc2.bais", [3]),
    ]);
    if (!bytes.ok) throw new Error(bytes.problem.message);
    const r = verify(mlp, { against: bytes.value });
    expect(codes(r)).toEqual(["NN7009", "NN7002", "NN7003"]);
    expect(r.diagnostics[2]!.help).toBe("did you mean `fc2.bias`, which the checkpoint lacks?");
  });

  it("a copy beyond a repeat's count is unexpected (`h.2.0.weight` of `repeat 2`)", () => {
    const bytes = writeSafetensors([
      { name: "wte.weight", dtype: "F32", shape: [10, 4], data: new Float32Array(40) },
      ...[0, 1, 2].flatMap((i) => [
        { name: `h.${i}.0.weight`, dtype: "F32" as const, shape: [4, 4], data: new Float32Array(16) },
        { name: `h.${i}.0.bias`, dtype: "F32" as const, shape: [4], data: new Float32Array(4) },
      ]),
    ]);
    if (!bytes.ok) throw new Error(bytes.problem.message);
    const r = verify(tied, { against: bytes.value });
    expect(r.report!.unexpected.map((u) => u.name)).toEqual(["h.2.0.bias", "h.2.0.weight"]);
    expect(r.report!.matched).toBe(5);
  });

  it("a file that is not valid safetensors: NN7001 naming the tensor; an unreadable one: NN0002", () => {
    const bad = against(mlp, "hostile-overlap.safetensors");
    expect(bad.report).toBeUndefined();
    expect(codes(bad)).toEqual(["NN7001"]);
    expect(bad.diagnostics[0]!.message).toContain("tensor `b` (bytes 8–24) overlaps tensor `a`");
    expect(codes(against(mlp, "no-such-file.safetensors"))).toEqual(["NN0002"]);
  });

  it("takes the checkpoint's bytes as well as its name", () => {
    const tensors = [
      { name: "fc1.weight", dtype: "F32", shape: [8, 4], data: new Float32Array(32) },
      { name: "fc1.bias", dtype: "F32", shape: [8], data: new Float32Array(8) },
    ] as const;
    const bytes = writeSafetensors(tensors);
    if (!bytes.ok) throw new Error(bytes.problem.message);
    const r = verify(mlp, { against: bytes.value });
    expect(r.report!.matched).toBe(2);
    expect(r.report!.missing.map((m) => m.name)).toEqual([
      "bn.weight",
      "bn.bias",
      "bn.running_mean",
      "bn.running_var",
      "fc2.weight",
      "fc2.bias",
    ]);
  });

  it("never spells out a huge model: 2^40 copies missing are counted, 50 listed", () => {
    // 40 nested `repeat 2`: 2^40 copies of one dense layer (the analysis memoizes them; verify matches names
    // against the pattern `l.{0..1}.{0..1}…` and enumerates only what it lists).
    let body = "dense(2)";
    for (let i = 0; i < 40; i++) body = `repeat 2 {\n${body}\n}`;
    const text = `model Deep(x: f32[2]) {\n${body.replace(/^repeat 2/, "repeat 2 as l")}\n}\n`;
    // The pattern is `l.{0..1}.0.{0..1}.0.…{0..1}.weight` (an unnamed repeat inside a repeat is its `0`).
    const one = writeSafetensors([
      { name: `l.${"1.0.".repeat(39)}1.weight`, dtype: "F32", shape: [2, 2], data: new Float32Array(4) },
    ]);
    if (!one.ok) throw new Error(one.problem.message);
    const started = performance.now();
    const r = verify("deep.nn", { text, against: one.value });
    expect(performance.now() - started).toBeLessThan(5000);
    expect(r.report!.matched).toBe(1);
    expect(r.report!.spec.tensors).toBe(2n * 2n ** 40n);
    expect(r.report!.missing.length).toBe(50);
    expect(BigInt(r.report!.missing.length) + r.report!.missingNotListed).toBe(2n * 2n ** 40n - 1n);
  });
});

// ── the command line ─────────────────────────────────────────────────────────────────────────────────

async function run(argv: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { io, out, err } = capture();
  const code = await main(argv, io);
  return { code, stdout: out(), stderr: err() };
}

/** The JSON `nnc verify --format json` prints (docs/cli.md). */
const name = z.string();
const verifyJson = z
  .object({
    file: z.string(),
    against: z.string(),
    model: z.string(),
    match: z.boolean(),
    prefix: z.object({ value: z.string(), given: z.boolean() }).strict().optional(),
    spec: z.object({ tensors: z.number().int(), parameters: z.number().int(), buffers: z.number().int() }).strict(),
    checkpoint: z
      .object({
        tensors: z.number().int(),
        elements: z.number().int(),
        parameters: z.number().int(),
        buffers: z.number().int(),
        dtypes: z.record(z.string(), z.number().int()),
        metadata: z.record(z.string(), z.string()).optional(),
      })
      .strict(),
    matched: z.number().int(),
    missing: z.array(z.object({ name, shape: z.array(z.number().int()), role: z.string() }).strict()),
    missingNotListed: z.number().int(),
    unexpected: z.array(z.object({ name, shape: z.array(z.number().int()), dtype: z.string() }).strict()),
    shapeMismatches: z.array(
      z
        .object({
          name,
          expected: z.array(z.number().int()),
          found: z.array(z.number().int()),
          transposed: z.boolean(),
        })
        .strict(),
    ),
    dtypeMismatches: z.array(z.object({ name, expected: z.string(), found: z.string() }).strict()),
    ties: z.array(
      z
        .object({
          tensor: name,
          target: name,
          transposed: z.boolean(),
          stored: z.enum(["once", "twice", "missing"]),
          as: name.optional(),
          equal: z.boolean().optional(),
        })
        .strict(),
    ),
    nonFinite: z.array(z.object({ name, nan: z.number().int(), infinite: z.number().int() }).strict()),
    diagnostics: z.array(z.object({ code: z.string(), severity: z.string(), message: z.string() }).passthrough()),
  })
  .strict();

describe("nnc verify", () => {
  it("exit 0 and a text report on stdout when the checkpoint matches", async () => {
    const r = await run(["verify", mlp, "--against", `${dir}/mlp.safetensors`]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(`Mlp (${mlp}) against ${dir}/mlp.safetensors: match`);
    expect(r.stdout).toContain("spec:        9 tensors, 83 parameters, 17 buffer elements");
  });

  it.each([
    ["mlp-missing.safetensors", "NN7002"],
    ["mlp-unexpected.safetensors", "NN7003"],
    ["mlp-transposed.safetensors", "NN7004"],
    ["mlp-wrong-dtype.safetensors", "NN7005"],
    ["mlp-nan.safetensors", "NN7006"],
    ["mlp-prefixed.safetensors", "NN7008"],
    ["hostile-truncated.safetensors", "NN7001"],
  ])("exit 1 on %s (%s on stderr)", async (file, code) => {
    const r = await run(["verify", mlp, "--against", `${dir}/${file}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error[${code}]`);
  });

  it("--prefix accepts a prefix; --model picks the model", async () => {
    expect((await run(["verify", mlp, "--against", `${dir}/mlp-prefixed.safetensors`, "--prefix", "net."])).code).toBe(
      0,
    );
    expect((await run(["verify", mlp, "--against", `${dir}/mlp.safetensors`, "--model", "Mlp"])).code).toBe(0);
    expect((await run(["verify", mlp, "--against", `${dir}/mlp.safetensors`, "--model", "Nope"])).code).toBe(1);
  });

  it("exit 2 on a usage error", async () => {
    expect((await run(["verify", mlp])).code).toBe(2);
    expect((await run(["verify", "--against", `${dir}/mlp.safetensors`])).code).toBe(2);
    expect((await run(["verify", mlp, tied, "--against", `${dir}/mlp.safetensors`])).code).toBe(2);
    expect((await run(["verify", mlp, "--against", `${dir}/mlp.safetensors`, "--format", "yaml"])).code).toBe(2);
  });

  it("--format json: one object on stdout, diagnostics inside, in the documented schema", async () => {
    for (const file of [
      "mlp.safetensors",
      "mlp-missing.safetensors",
      "mlp-prefixed.safetensors",
      "mlp-meta.safetensors",
    ]) {
      const r = await run(["verify", mlp, "--against", `${dir}/${file}`, "--format", "json"]);
      expect(r.stderr).toBe("");
      const json = verifyJson.parse(JSON.parse(r.stdout));
      expect(r.code).toBe(json.match ? 0 : 1);
      expect(json.match).toBe(file !== "mlp-missing.safetensors" && file !== "mlp-prefixed.safetensors");
    }
    const tiedRun = await run(["verify", tied, "--against", `${dir}/tied-twice.safetensors`, "--format", "json"]);
    expect(verifyJson.parse(JSON.parse(tiedRun.stdout)).ties).toEqual([
      { tensor: "lm_head.weight", target: "wte.weight", transposed: false, stored: "twice", equal: true },
    ]);
  });

  it("--format json for a file that cannot be verified: match false and the diagnostic", async () => {
    const r = await run(["verify", mlp, "--against", `${dir}/hostile-duplicate.safetensors`, "--format", "json"]);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout) as { match: boolean; diagnostics: { code: string; message: string }[] };
    expect(json.match).toBe(false);
    expect(json.diagnostics.map((d) => d.code)).toEqual(["NN7001"]);
    expect(json.diagnostics[0]!.message).toContain("the header names `a` twice");
  });

  it("appears in `nnc help` and has its own help", async () => {
    expect((await run(["help"])).stdout).toContain("verify  check a checkpoint against a spec");
    const help = await run(["verify", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--against FILE");
  });
});
