// The `nnc count` report in three forms: a per-layer table for people (text), a Markdown report, and JSON
// for machines (schema in schema.ts). Every number is exact; JSON integers are written as exact digits.
import type { ModelAnalysis } from "../analyze/analyze.js";
import { roles, type Role } from "../vocabulary/types.js";
import { grouped, humanBytes, layerRows, type Figures, type LayerRow } from "./count.js";
import type { CountReport } from "./report-types.js";
import { countSchemaVersion } from "./schema-version.js";
import { escapeControls } from "../diagnostics/render.js";
import { modelGraph } from "./graph.js";
import {
  cell,
  columnHeaders,
  csvTable,
  defaultColumns,
  numericColumns,
  rowDetails,
  type Column,
  type RowDetails,
} from "./columns.js";
import { memoryJson, memoryMarkdown, memoryText } from "./memory-report.js";
import { modelMemory, type MemoryOptions, type ModelMemory } from "./memory.js";

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

/** What `nnc count` adds to the default report: chosen columns, and memory at a batch size. */
export interface ReportOptions {
  /** The table's columns, in order (default: columns.ts `defaultColumns`). */
  readonly columns?: readonly Column[];
  /** Memory at this batch size, in the module's storage dtype (`--batch`, `--dtype`). */
  readonly memory?: MemoryOptions;
  /** Symbolic dimensions set by name (`--length`, `--dim`), shown with the memory figures. */
  readonly dims?: ReadonlyMap<string, bigint>;
}

/** The rows of one model's table, as cells for the chosen columns. */
function tableOf(
  m: CountedModel,
  depth: number,
  options: ReportOptions,
  plain: boolean,
): { header: string[]; rows: { row: LayerRow; details: RowDetails; cells: string[] }[]; columns: readonly Column[] } {
  const columns = options.columns ?? defaultColumns(options.memory !== undefined);
  const rows = layerRows(m.analysis, depth).map((row) => {
    const details = rowDetails(m.analysis, row, options.memory);
    return { row, details, cells: columns.map((c) => cell(c, row, details, m.figures.params, plain)) };
  });
  return { header: columns.map((c) => columnHeaders[c]), rows, columns };
}

function memoryOf(m: CountedModel, options: ReportOptions): ModelMemory | undefined {
  return options.memory ? modelMemory(m.analysis, m.figures, options.memory) : undefined;
}

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

export function renderText(models: readonly CountedModel[], depth: number, options: ReportOptions = {}): string {
  const out: string[] = [];
  for (const m of models) {
    // A file name's control characters never reach the terminal (the JSON report keeps them, escaped by JSON).
    out.push(`model ${m.analysis.name} (${escapeControls(m.file)})`);
    for (const i of m.analysis.inputs) out.push(`  input ${i.name}: ${i.dtype} ${i.shape}`);
    out.push("");
    if (depth > 0) {
      const t = tableOf(m, depth, options, false);
      for (const r of t.rows) {
        const k = t.columns.indexOf("layer");
        if (k >= 0) r.cells[k] = "  ".repeat(r.row.depth - 1) + r.cells[k]!;
      }
      const right = new Set(t.columns.flatMap((c, i) => (numericColumns.has(c) ? [i] : [])));
      out.push(
        ...table(
          t.header,
          t.rows.map((r) => r.cells.map(escapeControls)),
          right,
        ),
      );
      out.push("each row covers its whole subtree, for one copy; `copies` says how many there are");
      out.push("");
    }
    out.push(...totalsText(m));
    const memory = memoryOf(m, options);
    if (memory) out.push("", ...memoryText(memory, options.dims));
    out.push("");
  }
  out.push("conventions:");
  for (const c of conventionsText) out.push(`  - ${c}`);
  return out.join("\n") + "\n";
}

/** The table as CSV (RFC 4180), with a `model` column first when the file has several models. */
export function renderCsv(models: readonly CountedModel[], depth: number, options: ReportOptions = {}): string {
  const several = models.length > 1;
  let header: string[] = [];
  const lines: string[][] = [];
  for (const m of models) {
    const t = tableOf(m, depth, options, true);
    header = several ? ["model", ...t.header] : t.header;
    for (const r of t.rows) lines.push(several ? [m.analysis.name, ...r.cells] : r.cells);
  }
  if (models.length === 0) header = (options.columns ?? defaultColumns(false)).map((c) => columnHeaders[c]);
  return csvTable(header, lines);
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

export function renderMarkdown(models: readonly CountedModel[], depth: number, options: ReportOptions = {}): string {
  const out: string[] = [];
  const esc = (s: string) => escapeControls(s).replace(/\|/g, "\\|");
  for (const m of models) {
    const f = m.figures;
    out.push(`## ${esc(m.analysis.name)}`, "", `Source: \`${esc(m.file)}\``, "");
    if (depth > 0) {
      const t = tableOf(m, depth, options, false);
      out.push(`| ${t.header.join(" | ")} |`);
      out.push(`|${t.columns.map((c) => (numericColumns.has(c) ? "--:" : "---")).join("|")}|`);
      const k = t.columns.indexOf("layer");
      for (const r of t.rows) {
        const c = r.cells.map(esc);
        if (k >= 0) c[k] = `${"&nbsp;&nbsp;".repeat(r.row.depth - 1)}\`${esc(r.row.name)}\``;
        out.push(`| ${c.join(" | ")} |`);
      }
      out.push("");
    }
    out.push("| figure | value |", "|---|--:|");
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
    const memory = memoryOf(m, options);
    if (memory) out.push("", ...memoryMarkdown(memory, options.dims));
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

export function countJson(models: readonly CountedModel[], depth: number, options: ReportOptions = {}): CountReport {
  return {
    schemaVersion: countSchemaVersion,
    models: models.map((m) => {
      const f = m.figures;
      const memory = memoryOf(m, options);
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
        layers: tableOf(m, depth, options, true).rows.map(({ row: r, details: d }) => ({
          name: r.name,
          kind: r.kind,
          depth: r.depth,
          inputShapes: d.inputShapes,
          outputShape: d.outputShapes[0] ?? [],
          outputShapes: d.outputShapes,
          outputShapeText: r.outputShape,
          tensorShapes: d.tensors,
          count: r.count,
          copiesInModel: d.copiesInModel,
          parameters: { total: r.params, weights: r.weights, biases: r.biases, ...roleObject(r.roles) },
          trainable: r.trainable,
          nonTrainable: r.nonTrainable,
          buffers: r.buffers,
          macs: r.macs,
          ...(d.activationBytes !== undefined ? { activationBytes: d.activationBytes } : {}),
          ...(r.convention ? { convention: r.convention } : {}),
        })),
        ...(memory ? { memory: memoryJson(memory, options.dims) } : {}),
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
