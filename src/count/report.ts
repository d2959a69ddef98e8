// The `nnc count` report in three forms: a per-layer table for people (text), a Markdown report, and JSON
// for machines (schema in schema.ts). Every number is exact; JSON integers are written as exact digits.
import type { ModelAnalysis } from "../analyze/analyze.js";
import { roles, type Role } from "../vocabulary/types.js";
import { grouped, humanBytes, layerRows, type Figures, type LayerRow } from "./count.js";
import type { CountReport } from "./report-types.js";
import { escapeControls } from "../diagnostics/render.js";
import { modelGraph } from "./graph.js";

export interface CountedModel {
  readonly file: string;
  readonly analysis: ModelAnalysis;
  readonly figures: Figures;
}

const roleLabels: Record<Role, string> = {
  matrix: "matrices and kernels",
  embedding: "embeddings",
  normScale: "norm scales",
  bias: "layer biases",
  normShift: "norm shifts",
  other: "other",
};

export const conventionsText = [
  "weights = matrices + embeddings + norm scales + other learned; biases = layer biases + norm shifts (PyTorch `*.weight` / `*.bias`)",
  "tied tensors are counted once; buffers (BatchNorm running statistics) are not parameters",
  "MACs: multiply–accumulates of one forward pass of one sample, matrix products and convolutions only; FLOPs = 2 × MACs; symbolic lengths at their maximum",
  "memory: exact bytes; MiB = 2^20 bytes, MB = 10^6 bytes; int4 packs two parameters per byte",
  "training memory with Adam: fp32 weights + gradients + two moments (16 bytes per trainable parameter, 4 per frozen one) + buffers; activations not included",
];

// ── text ─────────────────────────────────────────────────────────────────────────────────────────────

function table(header: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "─".repeat(w)).join("──");
  return [line(header), rule, ...rows.map(line), rule];
}

function rowCells(r: LayerRow): string[] {
  return [
    "  ".repeat(r.depth - 1) + r.name,
    r.tiedTo.length > 0 ? `${r.kind} (tied to ${r.tiedTo.join(", ")})` : r.kind,
    r.outputShape,
    r.count === 1n ? "" : `×${grouped(r.count)}`,
    grouped(r.weights),
    grouped(r.biases),
    grouped(r.params),
    r.buffers === 0n ? "" : grouped(r.buffers),
    grouped(r.macs),
  ];
}

export function renderText(models: readonly CountedModel[], depth: number): string {
  const out: string[] = [];
  for (const m of models) {
    // A file name's control characters never reach the terminal (the JSON report keeps them, escaped by JSON).
    out.push(`model ${m.analysis.name} (${escapeControls(m.file)})`);
    for (const i of m.analysis.inputs) out.push(`  input ${i.name}: ${i.dtype} ${i.shape}`);
    out.push("");
    const rows = layerRows(m.analysis, depth);
    out.push(
      ...table(
        ["layer", "kind", "output shape", "copies", "weights", "biases", "parameters", "buffers", "MACs"],
        rows.map(rowCells),
        new Set([3, 4, 5, 6, 7, 8]),
      ),
    );
    out.push("each row covers its whole subtree, for one copy; `copies` says how many there are");
    out.push("");
    out.push(...totalsText(m));
    out.push("");
  }
  out.push("conventions:");
  for (const c of conventionsText) out.push(`  - ${c}`);
  return out.join("\n") + "\n";
}

function totalsText(m: CountedModel): string[] {
  const f = m.figures;
  const w = grouped(f.params).length;
  const n = (x: bigint) => grouped(x).padStart(w);
  const lines = [
    `total parameters     ${n(f.params)}`,
    `  weights            ${n(f.weights)}   = ${roles
      .filter((r) => r !== "bias" && r !== "normShift")
      .map((r) => `${roleLabels[r]} ${grouped(f.roles[r])}`)
      .join(" + ")}`,
    `  biases             ${n(f.biases)}   = ${roleLabels.bias} ${grouped(f.roles.bias)} + ${roleLabels.normShift} ${grouped(f.roles.normShift)}`,
    `  trainable          ${n(f.trainable)}`,
    `  non-trainable      ${n(f.nonTrainable)}`,
    `buffers              ${n(f.buffers)}   (not parameters)`,
  ];
  if (f.activeParams !== f.params)
    lines.push(`active per token     ${n(f.activeParams)}   (mixture of experts: top-k experts)`);
  for (const t of m.analysis.ties) {
    lines.push(`tie: ${t.tensor} shares ${t.target}${t.transposed ? " (transposed)" : ""} [${t.shape.join(", ")}]`);
  }
  if (m.analysis.ties.length > 0)
    lines.push(`  counting tied tensors twice would give ${grouped(f.paramsIfTiesCountedTwice)}`);
  for (const c of m.analysis.conventions) lines.push(`convention: ${c}`);
  lines.push(`MACs per sample      ${grouped(f.macs)}`);
  lines.push(`FLOPs per sample     ${grouped(f.flops)}   (2 × MACs)`);
  lines.push(`memory, fp32         ${humanBytes(f.bytes.fp32)}`);
  lines.push(`memory, bf16/fp16    ${humanBytes(f.bytes.bf16)}`);
  lines.push(`memory, int8         ${humanBytes(f.bytes.int8)}`);
  lines.push(`memory, int4         ${humanBytes(f.bytes.int4)}`);
  if (f.bytes.buffers > 0n) lines.push(`buffers              ${humanBytes(f.bytes.buffers)}`);
  lines.push(`training with Adam   ${humanBytes(f.bytes.trainingAdam)}`);
  return lines;
}

// ── markdown ─────────────────────────────────────────────────────────────────────────────────────────

export function renderMarkdown(models: readonly CountedModel[], depth: number): string {
  const out: string[] = [];
  const esc = (s: string) => escapeControls(s).replace(/\|/g, "\\|");
  for (const m of models) {
    const f = m.figures;
    out.push(`## ${esc(m.analysis.name)}`, "", `Source: \`${esc(m.file)}\``, "");
    out.push("| layer | kind | output shape | copies | weights | biases | parameters | buffers | MACs |");
    out.push("|---|---|---|--:|--:|--:|--:|--:|--:|");
    for (const r of layerRows(m.analysis, depth)) {
      const c = rowCells(r).map(esc);
      c[0] = `${"&nbsp;&nbsp;".repeat(r.depth - 1)}\`${esc(r.name)}\``;
      out.push(`| ${c.join(" | ")} |`);
    }
    out.push("", "| figure | value |", "|---|--:|");
    const rows: [string, string][] = [
      ["parameters", grouped(f.params)],
      ["weights", grouped(f.weights)],
      ["biases", grouped(f.biases)],
      ...roles.map((r): [string, string] => [`— ${roleLabels[r]}`, grouped(f.roles[r])]),
      ["trainable", grouped(f.trainable)],
      ["non-trainable", grouped(f.nonTrainable)],
      ["buffers (not parameters)", grouped(f.buffers)],
      ["MACs per sample", grouped(f.macs)],
      ["FLOPs per sample (2 × MACs)", grouped(f.flops)],
      ["memory fp32", humanBytes(f.bytes.fp32)],
      ["memory bf16/fp16", humanBytes(f.bytes.bf16)],
      ["memory int8", humanBytes(f.bytes.int8)],
      ["memory int4", humanBytes(f.bytes.int4)],
      ["training with Adam", humanBytes(f.bytes.trainingAdam)],
    ];
    if (f.activeParams !== f.params) rows.splice(3, 0, ["active per token", grouped(f.activeParams)]);
    for (const [k, v] of rows) out.push(`| ${k} | ${v} |`);
    if (m.analysis.ties.length > 0) {
      out.push("", "Ties (counted once):", "");
      for (const t of m.analysis.ties) out.push(`- \`${t.tensor}\` shares \`${t.target}\` [${t.shape.join(", ")}]`);
      out.push(`- counting them twice would give ${grouped(f.paramsIfTiesCountedTwice)}`);
    }
    if (m.analysis.conventions.length > 0) {
      out.push("", "Conventions:", "");
      for (const c of m.analysis.conventions) out.push(`- ${esc(c)}`);
    }
    out.push("");
  }
  out.push("Counting conventions:", "");
  for (const c of conventionsText) out.push(`- ${c}`);
  return out.join("\n") + "\n";
}

// ── JSON ─────────────────────────────────────────────────────────────────────────────────────────────

function roleObject(r: Record<Role, bigint>): Record<Role, bigint> {
  return {
    matrix: r.matrix,
    embedding: r.embedding,
    normScale: r.normScale,
    bias: r.bias,
    normShift: r.normShift,
    other: r.other,
  };
}

export function countJson(models: readonly CountedModel[], depth: number): CountReport {
  return {
    models: models.map((m) => {
      const f = m.figures;
      return {
        name: m.analysis.name,
        file: m.file,
        inputs: m.analysis.inputs,
        total: f.params,
        weights: f.weights,
        biases: f.biases,
        trainable: f.trainable,
        nonTrainable: f.nonTrainable,
        buffers: f.buffers,
        activeParams: f.activeParams,
        roles: roleObject(f.roles),
        tied: m.analysis.ties.map((t) => ({
          tensor: t.tensor,
          target: t.target,
          shape: t.shape,
          transposed: t.transposed,
          elements: t.elements,
        })),
        totalIfTiesCountedTwice: f.paramsIfTiesCountedTwice,
        macs: f.macs,
        flops: f.flops,
        bytes: { ...f.bytes },
        conventions: m.analysis.conventions,
        layers: layerRows(m.analysis, depth).map((r) => ({
          name: r.name,
          kind: r.kind,
          depth: r.depth,
          outputShape: r.outputShape,
          count: r.count,
          parameters: { total: r.params, weights: r.weights, biases: r.biases, ...roleObject(r.roles) },
          buffers: r.buffers,
          macs: r.macs,
          ...(r.convention ? { convention: r.convention } : {}),
        })),
        tensors: m.analysis.tensors.map((t) => ({
          name: t.name,
          shape: t.shape,
          role: t.role,
          copies: t.multiplicity,
          trainable: !t.frozen && t.role !== "buffer",
          ...(t.tiedTo ? { tiedTo: t.tiedTo } : {}),
        })),
        graph: graphJson(m.analysis, depth),
      };
    }),
    conventions: conventionsText,
  };
}

function graphJson(analysis: ModelAnalysis, depth: number): CountReport["models"][number]["graph"] {
  const { nodes, edges } = modelGraph(analysis, depth);
  return { nodes, edges };
}

/** JSON with bigints written as exact integer digits (JSON numbers of any size). */
export function stringifyExact(value: unknown): string {
  const marker = "__nnc_exact_integer__:";
  const text = JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? `${marker}${v.toString()}` : v), 2);
  return text.replace(new RegExp(`"${marker}(-?\\d+)"`, "g"), "$1");
}
