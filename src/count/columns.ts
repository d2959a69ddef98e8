// The columns of `nnc count`'s per-layer table (`--columns` chooses and orders them) and their cells, for the
// text and Markdown tables and for CSV (RFC 4180). A row's figures cover one copy of its whole subtree; its
// shapes come from the analysis's ops (sizes at the analyzed length: a symbolic dimension at its maximum, or
// at the size `--length`/`--dim` gave it).
import type { ModelAnalysis, LayerNode } from "../analyze/analyze.js";
import { sharedOrigin } from "../analyze/shared.js";
import { grouped } from "../diagnostics/numbers.js";
import type { LayerRow } from "./count.js";
import { rowActivationBytes, type MemoryOptions } from "./memory.js";

export const columnNames = [
  "layer",
  "kind",
  "input",
  "output",
  "shapes",
  "copies",
  "weights",
  "biases",
  "params",
  "share",
  "trainable",
  "buffers",
  "macs",
  "activations",
] as const;
export type Column = (typeof columnNames)[number];

export const columnHeaders: Readonly<Record<Column, string>> = {
  layer: "layer",
  kind: "kind",
  input: "input shape",
  output: "output shape",
  shapes: "tensor shapes",
  copies: "copies",
  weights: "weights",
  biases: "biases",
  params: "parameters",
  share: "share",
  trainable: "trainable",
  buffers: "buffers",
  macs: "MACs",
  activations: "activation bytes",
};

/** Right-aligned (numbers). */
export const numericColumns: ReadonlySet<Column> = new Set([
  "copies",
  "weights",
  "biases",
  "params",
  "share",
  "buffers",
  "macs",
  "activations",
]);

/** The table's columns when `--columns` is not given (activation bytes only with `--batch`). */
export function defaultColumns(withMemory: boolean): Column[] {
  return [
    "layer",
    "kind",
    "output",
    "copies",
    "weights",
    "biases",
    "params",
    "buffers",
    "macs",
    ...(withMemory ? (["activations"] as const) : []),
  ];
}

/** What a table row shows besides count.ts's figures. */
export interface RowDetails {
  /** Shapes of the values the row's first op reads (a layer's inputs; a block's first layer's), and of
   *  the row's outputs. */
  readonly inputShapes: readonly (readonly bigint[])[];
  readonly outputShapes: readonly (readonly bigint[])[];
  /** The row's own tensors (a layer's; none for a block or a container). */
  readonly tensors: readonly { readonly name: string; readonly shape: readonly bigint[] }[];
  /** Copies of the row in the whole model (the product of the enclosing counts). */
  readonly copiesInModel: bigint;
  /** Activation bytes of one copy at the batch, in the generated module (with `--batch`). */
  readonly activationBytes?: bigint;
}

/** The first op a node runs: its first child's (a block, a repeat, a moe), or its own (a layer). Walks
 *  children in the order they run: op numbers do not tell the order, since a reused block's ops are those
 *  of its first analysis. */
function firstOp(n: LayerNode): number | undefined {
  for (let node = sharedOrigin(n); ;) {
    const child = node.children[0];
    if (child === undefined) return node.ops[0];
    node = sharedOrigin(child);
  }
}

/** Shapes written in a node's output text (`[s≤6, 8], [4]`): each size after `≤`, or the size itself. */
export function shapesOfText(text: string): bigint[][] {
  return [...text.matchAll(/\[([^\]]*)\]/g)].map((m) =>
    m[1]!.trim() === "" ? [] : m[1]!.split(",").map((d) => BigInt(d.trim().replace(/^.*≤/, ""))),
  );
}

export function rowDetails(model: ModelAnalysis, row: LayerRow, memory?: MemoryOptions): RowDetails {
  const n = row.node;
  const first = firstOp(n);
  return {
    inputShapes: first === undefined ? [] : model.ops[first]!.inputs.map((id) => model.values[id]!.shape),
    outputShapes: shapesOfText(n.outputShape),
    tensors: n.tensors.map((t) => ({ name: t.name.slice(n.name.length + 1), shape: t.shape })),
    copiesInModel: n.multiplicity,
    ...(memory ? { activationBytes: rowActivationBytes(model, n, memory) } : {}),
  };
}

const showShape = (s: readonly bigint[]) => `[${s.join(", ")}]`;

/** `12.3%`: tenths of a percent, rounded half up, in exact arithmetic. */
export function percent(part: bigint, whole: bigint): string {
  if (whole === 0n) return "";
  const tenths = (part * 2000n + whole) / (2n * whole);
  return `${tenths / 10n}.${tenths % 10n}%`;
}

/** One cell: grouped digits for people, plain digits for CSV. */
export function cell(column: Column, row: LayerRow, details: RowDetails, totalParams: bigint, plain: boolean): string {
  const num = (x: bigint) => (plain ? x.toString() : grouped(x));
  switch (column) {
    case "layer":
      return row.name;
    case "kind":
      return row.tiedTo.length > 0 ? `${row.kind} (tied to ${row.tiedTo.join(", ")})` : row.kind;
    case "input":
      return details.inputShapes.map(showShape).join(", ");
    case "output":
      return row.outputShape;
    case "shapes":
      return details.tensors.map((t) => `${t.name} ${showShape(t.shape)}`).join(", ");
    case "copies":
      return plain ? row.count.toString() : row.count === 1n ? "" : `×${grouped(row.count)}`;
    case "weights":
      return num(row.weights);
    case "biases":
      return num(row.biases);
    case "params":
      return num(row.params);
    case "share":
      return percent(row.params * details.copiesInModel, totalParams);
    case "trainable":
      return row.params === 0n ? "" : row.nonTrainable === 0n ? "yes" : row.trainable === 0n ? "no" : "partly";
    case "buffers":
      return plain ? row.buffers.toString() : row.buffers === 0n ? "" : grouped(row.buffers);
    case "macs":
      return num(row.macs);
    case "activations":
      return details.activationBytes === undefined ? "" : num(details.activationBytes);
  }
}

/** A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break; quotes doubled. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A CSV table: a header line, then one line per row, each ended by CRLF (RFC 4180). */
export function csvTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(",") + "\r\n").join("");
}
