// GPT-2 and ViT-B/16 against their public state dicts (issue 13 item 4): the analysis's parameters and
// buffers — names, shapes, and a tied tensor listed once under its target with the other names as
// `tied_aliases` — equal test/reference/state-dicts/gpt2.json (HF GPT2LMHeadModel: `transformer.` prefix,
// Conv1D matrices [in, out], lm_head tied to transformer.wte) and vit-b16.json (torchvision 0.14 vit_b_16:
// bare class_token and encoder.pos_embedding, nn.MultiheadAttention's in_proj_weight, encoder_layer_{i})
// exactly. Rows in the format of test/state-dicts.test.ts, for the coordinator to fold into its table.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { nodeHost } from "../src/program/node-host.js";
import { checkProgram } from "../src/program/check.js";
import { lower } from "../src/lower/lower.js";

interface Row {
  readonly example: string;
  readonly reference: string;
  /** "module": the reference's order too; "names": names and shapes only, `why` says where orders part. */
  readonly order: "module" | "names";
  readonly why?: string;
}

const rows: readonly Row[] = [
  { example: "examples/gpt2.nn", reference: "gpt2.json", order: "module" },
  {
    example: "examples/vit-b16.nn",
    reference: "vit-b16.json",
    order: "names",
    why: "torchvision's VisionTransformer holds class_token itself, so its state dict lists it before conv_proj, which runs first",
  },
];

interface ReferenceTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly tied_aliases?: readonly string[];
}

type Line = string;

function line(name: string, shape: readonly (number | bigint)[], aliases: readonly string[] = []): Line {
  return `${name} [${shape.join(", ")}]${aliases.length > 0 ? ` = ${[...aliases].sort().join(", ")}` : ""}`;
}

function referenceOf(file: string): { parameters: Line[]; buffers: Line[] } {
  const ref = JSON.parse(fs.readFileSync(`test/reference/state-dicts/${file}`, "utf8")) as {
    parameters: ReferenceTensor[];
    buffers: ReferenceTensor[];
  };
  return {
    parameters: ref.parameters.map((p) => line(p.name, p.shape, p.tied_aliases)),
    buffers: ref.buffers.map((b) => line(b.name, b.shape)),
  };
}

/** The model's tensors with every repeated copy spelled out (an expanded analysis). */
function tensorsOf(example: string): { parameters: Line[]; buffers: Line[] } {
  const checked = checkProgram(example, nodeHost, undefined);
  expect(checked.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  const analysis = lower(checked.value.models[0]!.analysis);
  const aliases = new Map<string, string[]>();
  for (const t of analysis.tensors)
    if (t.tiedTo !== undefined) aliases.set(t.tiedTo, [...(aliases.get(t.tiedTo) ?? []), t.name]);
  const parameters: Line[] = [];
  const buffers: Line[] = [];
  for (const t of analysis.tensors) {
    if (t.tiedTo !== undefined) continue;
    if (t.role === "buffer") buffers.push(line(t.name, t.shape));
    else parameters.push(line(t.name, t.shape, aliases.get(t.name)));
  }
  return { parameters, buffers };
}

describe("GPT-2 and ViT-B/16 state dicts equal the public checkpoints'", () => {
  it.each(rows)("$example", (row) => {
    const ours = tensorsOf(row.example);
    const ref = referenceOf(row.reference);
    const sorted = (l: Line[]) => [...l].sort();
    expect(sorted(ours.parameters)).toEqual(sorted(ref.parameters));
    expect(sorted(ours.buffers)).toEqual(sorted(ref.buffers));
    if (row.order === "module") {
      expect(ours.parameters).toEqual(ref.parameters);
      expect(ours.buffers).toEqual(ref.buffers);
    } else {
      expect(row.why).toBeTruthy();
      expect(ours.parameters).not.toEqual(ref.parameters);
    }
  });

  it("GPT-2's Conv1D matrices are stored [in, out] and its lm_head is an [out, in] nn.Linear tied to wte", () => {
    const checked = checkProgram("examples/gpt2.nn", nodeHost, undefined, {});
    const analysis = checked.value.models[0]!.analysis;
    const layoutOf = (name: string) => analysis.tensors.find((t) => t.name === name)!.layout;
    expect(layoutOf("transformer.h.{0..11}.attn.c_attn.weight")).toBe("in_out");
    expect(layoutOf("transformer.h.{0..11}.attn.c_proj.weight")).toBe("in_out");
    expect(layoutOf("transformer.h.{0..11}.mlp.c_fc.weight")).toBe("in_out");
    expect(layoutOf("transformer.h.{0..11}.mlp.c_proj.weight")).toBe("in_out");
    expect(analysis.ties).toEqual([
      expect.objectContaining({ tensor: "lm_head.weight", target: "transformer.wte.weight", transposed: false }),
    ]);
  });
});
