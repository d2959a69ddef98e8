// What changed between two models (`nnc diff`): their tensors by `state_dict` name — added, removed,
// reshaped (same name, another shape), moved (same shape and role, another name), recounted (the same
// tensor with another number of copies: a repeat count changed) — and the exact deltas of their figures.
// With a batch size, activation memory and training memory of the generated modules are compared too
// (src/count/memory.ts, what `nnc count --batch` prints).
import type { TensorRecord } from "../analyze/analyze.js";
import { escapeControls } from "../diagnostics/render.js";
import { grouped } from "./count.js";
import { modelMemory, type MemoryOptions } from "./memory.js";
import type { CountedModel } from "./report.js";

export interface DiffTensor {
  readonly name: string;
  readonly shape: readonly bigint[];
  readonly role: "matrix" | "embedding" | "normScale" | "bias" | "normShift" | "other" | "buffer";
  readonly copies: bigint;
  /** Elements of all its copies (0 for a tied tensor, which is counted at the one it shares). */
  readonly elements: bigint;
}

export interface DiffFigure {
  readonly a: bigint;
  readonly b: bigint;
  readonly delta: bigint;
}

export interface ModelDiff {
  readonly a: { readonly file: string; readonly model: string };
  readonly b: { readonly file: string; readonly model: string };
  /** Any tensor or figure differs. */
  readonly changed: boolean;
  readonly tensors: {
    readonly added: readonly DiffTensor[];
    readonly removed: readonly DiffTensor[];
    readonly reshaped: readonly { readonly name: string; readonly from: DiffTensor; readonly to: DiffTensor }[];
    readonly moved: readonly { readonly from: DiffTensor; readonly to: DiffTensor }[];
    readonly recounted: readonly { readonly from: DiffTensor; readonly to: DiffTensor }[];
    /** Same name, shape, role and copies on both sides. */
    readonly unchanged: number;
  };
  readonly figures: {
    readonly parameters: DiffFigure;
    readonly trainable: DiffFigure;
    readonly nonTrainable: DiffFigure;
    readonly buffers: DiffFigure;
    readonly macs: DiffFigure;
    readonly flops: DiffFigure;
    readonly bytesFp32: DiffFigure;
    readonly bytesBf16: DiffFigure;
    readonly bytesInt8: DiffFigure;
    readonly bytesInt4: DiffFigure;
    readonly bytesBuffers: DiffFigure;
    readonly bytesTrainingAdam: DiffFigure;
    /** With a batch size: what the generated module keeps for backward at that batch, and allocates to
     *  train with Adam (`nnc count --batch`). */
    readonly activations?: DiffFigure;
    readonly moduleTrainingAdam?: DiffFigure;
  };
  readonly notes: readonly string[];
}

export const diffNotes = [
  "activation memory is compared with `--batch N` (the generated modules' figures, as `nnc count --batch`)",
  "MACs and FLOPs: one forward pass of one sample; bytes exact (MiB = 2^20 bytes)",
];

function memoryNote(m: MemoryOptions): string {
  return `activations and module training at batch ${grouped(m.batch)}, ${m.dtype}: the generated modules' allocations (as \`nnc count --batch\`)`;
}

function tensor(t: TensorRecord): DiffTensor {
  const elements = t.tiedTo ? 0n : t.shape.reduce((a, b) => a * b, 1n) * t.multiplicity;
  return { name: t.name, shape: t.shape, role: t.role, copies: t.multiplicity, elements };
}

const sameShape = (a: readonly bigint[], b: readonly bigint[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** A name with its copy ranges left out: `h.{0..11}.attn.weight` and `h.{0..23}.attn.weight` agree. */
const pattern = (name: string) => name.replace(/\{\d+\.\.\d+\}/g, "{…}");

export function diffModels(a: CountedModel, b: CountedModel, memory?: MemoryOptions): ModelDiff {
  const before = a.analysis.tensors.map(tensor);
  const after = b.analysis.tensors.map(tensor);
  const afterByName = new Map(after.map((t) => [t.name, t]));
  const beforeNames = new Set(before.map((t) => t.name));
  const reshaped: { name: string; from: DiffTensor; to: DiffTensor }[] = [];
  let unchanged = 0;
  let gone: DiffTensor[] = [];
  for (const t of before) {
    const other = afterByName.get(t.name);
    if (!other) gone.push(t);
    else if (!sameShape(t.shape, other.shape) || t.role !== other.role || t.copies !== other.copies)
      reshaped.push({ name: t.name, from: t, to: other });
    else unchanged++;
  }
  let fresh = after.filter((t) => !beforeNames.has(t.name));
  // The same tensor with other copies (a repeat count changed): its name's pattern is unchanged.
  const recounted: { from: DiffTensor; to: DiffTensor }[] = [];
  const freshByPattern = new Map<string, DiffTensor[]>();
  for (const t of fresh) freshByPattern.set(pattern(t.name), [...(freshByPattern.get(pattern(t.name)) ?? []), t]);
  gone = gone.filter((t) => {
    const candidates = freshByPattern.get(pattern(t.name));
    const match = candidates?.length === 1 && t.name !== candidates[0]!.name ? candidates[0] : undefined;
    if (!match || match.role !== t.role) return true;
    recounted.push({ from: t, to: match });
    freshByPattern.delete(pattern(t.name));
    return false;
  });
  const recountedNames = new Set(recounted.map((r) => r.to.name));
  fresh = fresh.filter((t) => !recountedNames.has(t.name));
  // Moved: a removed tensor and an added one of the same shape, role and copies, paired in order.
  const moved: { from: DiffTensor; to: DiffTensor }[] = [];
  const taken = new Set<DiffTensor>();
  gone = gone.filter((t) => {
    const match = fresh.find(
      (f) => !taken.has(f) && f.role === t.role && f.copies === t.copies && sameShape(f.shape, t.shape),
    );
    if (!match) return true;
    taken.add(match);
    moved.push({ from: t, to: match });
    return false;
  });
  const added = fresh.filter((t) => !taken.has(t));
  const fa = a.figures;
  const fb = b.figures;
  const fig = (x: bigint, y: bigint): DiffFigure => ({ a: x, b: y, delta: y - x });
  const figures = {
    parameters: fig(fa.params, fb.params),
    trainable: fig(fa.trainable, fb.trainable),
    nonTrainable: fig(fa.nonTrainable, fb.nonTrainable),
    buffers: fig(fa.buffers, fb.buffers),
    macs: fig(fa.macs, fb.macs),
    flops: fig(fa.flops, fb.flops),
    bytesFp32: fig(fa.bytes.fp32, fb.bytes.fp32),
    bytesBf16: fig(fa.bytes.bf16, fb.bytes.bf16),
    bytesInt8: fig(fa.bytes.int8, fb.bytes.int8),
    bytesInt4: fig(fa.bytes.int4, fb.bytes.int4),
    bytesBuffers: fig(fa.bytes.buffers, fb.bytes.buffers),
    bytesTrainingAdam: fig(fa.bytes.trainingAdam, fb.bytes.trainingAdam),
    ...(memory !== undefined ? memoryFigures(a, b, memory) : {}),
  };
  const changed =
    added.length + gone.length + reshaped.length + moved.length + recounted.length > 0 ||
    Object.values(figures).some((f) => f.delta !== 0n);
  return {
    a: { file: a.file, model: a.analysis.name },
    b: { file: b.file, model: b.analysis.name },
    changed,
    tensors: { added, removed: gone, reshaped, moved, recounted, unchanged },
    figures,
    notes: memory === undefined ? diffNotes : [memoryNote(memory), ...diffNotes.slice(1)],
  };
}

function memoryFigures(
  a: CountedModel,
  b: CountedModel,
  options: MemoryOptions,
): { activations: DiffFigure; moduleTrainingAdam: DiffFigure } {
  const [ma, mb] = [a, b].map((m) => modelMemory(m.analysis, m.figures, options).module) as [
    ReturnType<typeof modelMemory>["module"],
    ReturnType<typeof modelMemory>["module"],
  ];
  const fig = (x: bigint, y: bigint): DiffFigure => ({ a: x, b: y, delta: y - x });
  return {
    activations: fig(ma.activations.total, mb.activations.total),
    moduleTrainingAdam: fig(ma.training.adam.total, mb.training.adam.total),
  };
}

// ── rendering ────────────────────────────────────────────────────────────────────────────────────────

const figureRows: readonly [keyof ModelDiff["figures"], string, boolean][] = [
  ["parameters", "parameters", false],
  ["trainable", "trainable", false],
  ["nonTrainable", "non-trainable", false],
  ["buffers", "buffers (not parameters)", false],
  ["macs", "MACs per sample", false],
  ["flops", "FLOPs per sample", false],
  ["bytesFp32", "memory fp32", true],
  ["bytesBf16", "memory bf16/fp16", true],
  ["bytesInt8", "memory int8", true],
  ["bytesInt4", "memory int4", true],
  ["bytesBuffers", "buffer memory", true],
  ["bytesTrainingAdam", "training with Adam", true],
  ["activations", "activations at the batch", true],
  ["moduleTrainingAdam", "module training, Adam", true],
];

/** The figure rows a diff has (the memory rows only with a batch size). */
function shownRows(d: ModelDiff): typeof figureRows {
  return figureRows.filter(([k]) => d.figures[k] !== undefined);
}

function signed(x: bigint): string {
  return x > 0n ? `+${grouped(x)}` : x < 0n ? `−${grouped(-x)}` : "0";
}

/** The delta relative to `a`, to 0.1%, rounded half away from zero in exact integer arithmetic. */
function percent(f: DiffFigure): string {
  if (f.delta === 0n) return "";
  if (f.a === 0n) return "new";
  const tenths = (f.delta * 2000n) / f.a;
  const rounded = (tenths + (tenths < 0n ? -1n : 1n)) / 2n;
  const abs = rounded < 0n ? -rounded : rounded;
  return `${rounded < 0n ? "−" : "+"}${abs / 10n}.${abs % 10n}%`;
}

function value(f: bigint, bytes: boolean): string {
  return bytes ? shortBytes(f) : grouped(f);
}

/** Exact bytes, and in binary units from 1 KiB on (two decimals, rounded half up, exact arithmetic). */
function shortBytes(bytes: bigint): string {
  const names = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  let div = 1n;
  while (i < names.length - 1 && bytes >= div * 1024n) {
    div *= 1024n;
    i++;
  }
  if (i === 0) return `${grouped(bytes)} B`;
  const hundredths = (bytes * 100n + div / 2n) / div;
  return `${grouped(bytes)} B (${hundredths / 100n}.${String(hundredths % 100n).padStart(2, "0")} ${names[i]})`;
}

const shape = (s: readonly bigint[]) => `[${s.join(", ")}]`;
const copies = (t: DiffTensor) => (t.copies === 1n ? "" : ` ×${grouped(t.copies)}`);

function side(s: { file: string; model: string }): string {
  return `${escapeControls(s.file)}#${s.model}`;
}

/** One line per changed tensor, each starting with its sign: + added, − removed, ~ reshaped,
 *  → moved, × recounted; `delta` is the change in elements of all copies (a tie counts none). */
function tensorLines(d: ModelDiff): { sign: string; what: string; detail: string; delta: bigint }[] {
  const t = d.tensors;
  return [
    ...t.added.map((x) => ({ sign: "+", what: x.name, detail: shape(x.shape) + copies(x), delta: x.elements })),
    ...t.removed.map((x) => ({ sign: "−", what: x.name, detail: shape(x.shape) + copies(x), delta: -x.elements })),
    ...t.reshaped.map((x) => ({
      sign: "~",
      what: x.name,
      detail: `${shape(x.from.shape)}${copies(x.from)} → ${shape(x.to.shape)}${copies(x.to)}`,
      delta: x.to.elements - x.from.elements,
    })),
    ...t.recounted.map((x) => ({
      sign: "×",
      what: `${x.from.name} → ${x.to.name}`,
      detail: `${shape(x.from.shape)} ×${grouped(x.from.copies)} → ${shape(x.to.shape)} ×${grouped(x.to.copies)}`,
      delta: x.to.elements - x.from.elements,
    })),
    ...t.moved.map((x) => ({
      sign: "→",
      what: `${x.from.name} → ${x.to.name}`,
      detail: shape(x.to.shape) + copies(x.to),
      delta: x.to.elements - x.from.elements,
    })),
  ];
}

function counts(d: ModelDiff): string {
  const t = d.tensors;
  return [
    `${t.added.length} added`,
    `${t.removed.length} removed`,
    `${t.reshaped.length} reshaped`,
    `${t.moved.length} moved`,
    `${t.recounted.length} recounted`,
    `${t.unchanged} unchanged`,
  ].join(", ");
}

export function renderDiffText(d: ModelDiff): string {
  const out = [`diff ${side(d.a)} → ${side(d.b)}${d.changed ? "" : ": no change"}`, ""];
  out.push(`tensors: ${counts(d)}`);
  const lines = tensorLines(d);
  if (lines.length > 0) {
    const w = Math.max(...lines.map((l) => l.what.length));
    const wd = Math.max(...lines.map((l) => l.detail.length));
    for (const l of lines)
      out.push(`  ${l.sign} ${l.what.padEnd(w)}  ${l.detail.padEnd(wd)}  ${signed(l.delta)}`.trimEnd());
  }
  out.push("");
  const rows = shownRows(d).map(([k, label, bytes]) => {
    const f = d.figures[k]!;
    return [label, value(f.a, bytes), value(f.b, bytes), bytes ? signedBytes(f.delta) : signed(f.delta), percent(f)];
  });
  const header = ["figure", "before", "after", "delta", ""];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  out.push(line(header), ...rows.map(line), "");
  for (const n of d.notes) out.push(`note: ${n}`);
  return out.join("\n") + "\n";
}

function signedBytes(x: bigint): string {
  return x > 0n ? `+${shortBytes(x)}` : x < 0n ? `−${shortBytes(-x)}` : "0";
}

/** Markdown for a pull-request comment: a headline, the figures, and the tensors that changed. */
export function renderDiffMarkdown(d: ModelDiff): string {
  const esc = (s: string) => escapeControls(s).replace(/\|/g, "\\|");
  const p = d.figures.parameters;
  const out = [
    `### nnc diff: \`${esc(d.a.model)}\`${d.a.model === d.b.model ? "" : ` → \`${esc(d.b.model)}\``}`,
    "",
    d.changed
      ? `Parameters ${grouped(p.a)} → ${grouped(p.b)} (${signed(p.delta)}${percent(p) === "" ? "" : `, ${percent(p)}`}); tensors: ${counts(d)}.`
      : `No change: ${grouped(p.a)} parameters, ${d.tensors.unchanged} tensors.`,
    "",
    `Before: \`${esc(side(d.a))}\` · after: \`${esc(side(d.b))}\``,
    "",
    "| figure | before | after | delta | |",
    "|---|--:|--:|--:|--:|",
  ];
  for (const [k, label, bytes] of shownRows(d)) {
    const f = d.figures[k]!;
    const delta = bytes ? signedBytes(f.delta) : signed(f.delta);
    out.push(`| ${label} | ${value(f.a, bytes)} | ${value(f.b, bytes)} | ${delta} | ${percent(f)} |`);
  }
  const lines = tensorLines(d);
  if (lines.length > 0) {
    out.push("", "| | tensor | shape | elements |", "|---|---|---|--:|");
    for (const l of lines) out.push(`| ${l.sign} | \`${esc(l.what)}\` | ${esc(l.detail)} | ${signed(l.delta)} |`);
  }
  out.push("");
  for (const n of d.notes) out.push(`<sub>${n}</sub>`, "");
  return out.join("\n").replace(/\n+$/, "\n");
}
