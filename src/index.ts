// nnc's public API: everything a program gets from `import … from "nnc"`. What this file exports is covered
// by semantic versioning (README, "Stability"); every other module under `nnc/dist/` is internal and may
// change in any release. The declarations it ships name no dependency's types, so they type-check with
// `skipLibCheck: false` on TypeScript 5.0 and newer (tested from an installed tarball).
//
// Checking and counting load the front end only; the code generator (ts-morph, prettier) is imported the
// first time `compile` is called.
import { nodeHost as nodeFileHost } from "./program/node-host.js";
import { countJson, stringifyExact, type CountedModel } from "./count/report.js";
import type { CountReport } from "./count/report-types.js";
import { hasErrors, sortDiagnostics, type Diagnostic } from "./diagnostics/diagnostic.js";
import { renderDiagnostics as renderWithLookup } from "./diagnostics/render.js";
import { SourceText } from "./diagnostics/source.js";
import { format as formatText } from "./format/format.js";
import { checkProgram } from "./program/check.js";
import type { Host } from "./program/host.js";
import { verifyProgram } from "./program/verify.js";
import { oneModel } from "./program/one-model.js";
import { modelGraph, renderDot, renderMermaid } from "./count/graph.js";
import type { ModelGraph } from "./count/graph-types.js";
import { diffModels, renderDiffMarkdown, renderDiffText, type ModelDiff } from "./count/diff.js";
import type { VerifyReport } from "./weights/report-types.js";
import { version as nncVersion } from "./version.js";

export type { Diagnostic, Label, Severity, Span } from "./diagnostics/diagnostic.js";
export type { Host, ReadResult } from "./program/host.js";
export type {
  VerifyReport,
  VerifyMissing,
  VerifyUnexpected,
  VerifyShapeMismatch,
  VerifyDtypeMismatch,
  VerifyTie,
  VerifyNonFinite,
} from "./weights/report-types.js";
export type {
  CountBytes,
  CountReport,
  CountedLayer,
  CountedModelReport,
  CountedTensor,
  CountedTie,
  CountRoles,
} from "./count/report-types.js";

export type { GraphEdge, GraphNode, ModelGraph } from "./count/graph-types.js";
export type { DiffFigure, DiffTensor, ModelDiff } from "./count/diff.js";

/** nnc's version (the package's). */
export const version: string = nncVersion;

/** Reads spec files from the file system as strict UTF-8 (what the `nnc` command uses). */
export const nodeHost: Host = nodeFileHost;

/** The text of every file a call read (the entry file and its imports), by name: what `renderDiagnostics`
 *  needs for code frames. */
export type Sources = ReadonlyMap<string, string>;

export interface CheckOptions {
  /** The entry file's text; when absent it is read through `host`. */
  readonly text?: string;
  /** Reads the entry file (unless `text` is given) and its imports; `nodeHost` by default. */
  readonly host?: Host;
  /** Check only this model of the file. */
  readonly model?: string;
}

export interface CheckResult {
  /** No diagnostic of severity `error`. */
  readonly ok: boolean;
  /** The entry file's models that checked cleanly, in source order. */
  readonly models: readonly string[];
  /** Every diagnostic, sorted by file and position. */
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: Sources;
}

/** Checks a spec and everything it imports: syntax, names, options, shapes and `expect` assertions, as
 *  `nnc check` does. Never throws on user input; a TypeError for arguments of the wrong type. */
export function check(file: string, options: CheckOptions = {}): CheckResult {
  checkArguments("check", file, options);
  const { checked, diagnostics, sources } = checkWith(file, options);
  return {
    ok: !hasErrors(diagnostics),
    models: checked.value.models.map((m) => m.analysis.name),
    diagnostics,
    sources,
  };
}

export interface CountOptions extends CheckOptions {
  /** Rows of `layers` down to this depth (1 = the model's own layers); 3 by default, as `nnc count`. */
  readonly depth?: number;
}

export interface CountResult {
  readonly ok: boolean;
  /** The report `nnc count --format json` prints, with exact `bigint` counts; absent when the spec has an
   *  error (a broken spec never yields a number) or defines no model. */
  readonly report?: CountReport;
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: Sources;
}

/** The exact parameter audit of every model of a spec (or of `options.model`), as `nnc count` computes it. */
export function count(file: string, options: CountOptions = {}): CountResult {
  checkArguments("count", file, options);
  const depth = options.depth ?? 3;
  if (!Number.isInteger(depth) || depth < 1)
    throw new RangeError(`depth must be a whole number of at least 1, got ${depth}`);
  const { checked, diagnostics, sources } = checkWith(file, options);
  if (hasErrors(diagnostics)) return { ok: false, diagnostics, sources };
  const models: CountedModel[] = checked.value.models.map((m) => ({ file, analysis: m.analysis, figures: m.figures }));
  if (models.length === 0) return { ok: true, diagnostics, sources };
  return { ok: true, report: countJson(models, depth), diagnostics, sources };
}

/** A count report as JSON text, exactly as `nnc count --format json` prints it: every count written as
 *  exact integer digits (parse counts above 2^53 as big integers). */
export function countReportToJson(report: CountReport): string {
  return stringifyExact(report);
}

export interface GraphOptions extends CheckOptions {
  /** Open blocks and repeats down to this depth (1 = the model's own layers, each one node); 2 by
   *  default, as `nnc graph`. */
  readonly depth?: number;
}

export interface GraphResult {
  readonly ok: boolean;
  /** One graph per model of the spec (or `options.model`); absent when the spec has an error. */
  readonly graphs?: readonly ModelGraph[];
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: Sources;
}

/** Every model of a spec (or `options.model`) as a graph, as `nnc graph` draws it: nodes with kind, output
 *  shape and parameters; edges for data flow, residuals, shortcuts, named values and ties. */
export function graph(file: string, options: GraphOptions = {}): GraphResult {
  checkArguments("graph", file, options);
  const depth = options.depth ?? 2;
  if (!Number.isInteger(depth) || depth < 1)
    throw new RangeError(`depth must be a whole number of at least 1, got ${depth}`);
  const { checked, diagnostics, sources } = checkWith(file, options);
  if (hasErrors(diagnostics)) return { ok: false, diagnostics, sources };
  return { ok: true, graphs: checked.value.models.map((m) => modelGraph(m.analysis, depth)), diagnostics, sources };
}

/** A graph as Graphviz DOT or as a Mermaid flowchart (`nnc graph --format dot|mermaid`). */
export function renderGraph(g: ModelGraph, format: "dot" | "mermaid" = "dot"): string {
  return format === "mermaid" ? renderMermaid(g) : renderDot(g);
}

/** A graph as SVG, laid out by Graphviz compiled to WebAssembly (`nnc graph --format svg`); the same graph
 *  gives the same bytes. */
export async function renderGraphSvg(g: ModelGraph): Promise<string> {
  const { dotToSvg } = await import("./count/svg.js");
  return dotToSvg(renderDot(g));
}

/** One side of a diff: a spec and which of its models (required when it has several). */
export interface DiffSide extends CheckOptions {
  readonly file: string;
}

export interface DiffOptions {
  /** Compare activation and training memory of the generated modules at this batch size (≥ 1). */
  readonly batch?: bigint | number;
  /** The generated modules' storage for `batch`: float32 (default) or float64. */
  readonly dtype?: "float32" | "float64";
}

export interface DiffResult {
  /** Both sides checked cleanly to one model each (whether or not anything changed: see `diff.changed`). */
  readonly ok: boolean;
  readonly diff?: ModelDiff;
  /** Both sides' diagnostics. */
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: Sources;
}

/** What changed from model `a` to model `b`, as `nnc diff` computes it. Never throws on user input. */
export function diff(a: DiffSide, b: DiffSide, options: DiffOptions = {}): DiffResult {
  const sides = [a, b].map((side) => {
    checkArguments("diff", side?.file, side);
    const m = oneModel(side.file, side.host ?? nodeFileHost, side.text, side.model, "compare");
    return { ...m, sources: textsOf(m.sources, (f) => f) };
  });
  const diagnostics = sides.flatMap((s) => s.diagnostics);
  const sources = new Map([...sides[0]!.sources, ...sides[1]!.sources]);
  const [x, y] = sides;
  if (!x!.model || !y!.model) return { ok: false, diagnostics, sources };
  const batch = options.batch;
  if (
    batch !== undefined &&
    !(typeof batch === "bigint" ? batch >= 1n : typeof batch === "number" && Number.isSafeInteger(batch) && batch >= 1)
  )
    throw new TypeError("diff: options.batch must be a whole number of samples, at least 1");
  if (options.dtype !== undefined && options.dtype !== "float32" && options.dtype !== "float64")
    throw new TypeError('diff: options.dtype must be "float32" or "float64"');
  const memory =
    options.batch !== undefined ? { batch: BigInt(options.batch), dtype: options.dtype ?? "float32" } : undefined;
  return { ok: true, diff: diffModels(x!.model, y!.model, memory), diagnostics, sources };
}

/** A diff as `nnc diff --format text|markdown|json` prints it (JSON with exact integers). */
export function renderDiff(d: ModelDiff, format: "text" | "markdown" | "json" = "text"): string {
  if (format === "json") return stringifyExact(d) + "\n";
  return format === "markdown" ? renderDiffMarkdown(d) : renderDiffText(d);
}

export interface VerifyOptions extends CheckOptions {
  /** The checkpoint: a `.safetensors` file name (read in pieces, never whole), or the file's bytes. */
  readonly against: string | Uint8Array;
  /** Strip this prefix from the checkpoint's names that start with it (`"net."`). Without it, a prefix
   *  that makes the names match is found, applied, and reported as a mismatch (NN7008). */
  readonly prefix?: string;
}

export interface VerifyResult {
  /** The checkpoint holds exactly the model's tensors (no error diagnostic): what `nnc verify` exits 0 on. */
  readonly ok: boolean;
  /** What was compared; absent when the spec has errors, defines no model or several (without `model`),
   *  or the checkpoint cannot be read or is not valid safetensors (NN7001, naming the tensor). */
  readonly report?: VerifyReport;
  /** Every mismatch as a diagnostic (NN7xxx), located at the layer that owns the tensor when it has one. */
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: Sources;
}

/** Checks a checkpoint against a spec's model, as `nnc verify` does: like PyTorch's
 *  `load_state_dict(strict=True)` before any training, plus ties, NaN/Inf values and both sides' totals.
 *  Never throws on user input. */
export function verify(file: string, options: VerifyOptions): VerifyResult {
  const result = verifyProgram(file, options.host ?? nodeFileHost, options.text, {
    against: options.against,
    ...(options.model !== undefined ? { model: options.model } : {}),
    ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
  });
  const sources = textsOf(result.value.checked.program.files, (f) => f.source);
  const report = result.value.report;
  return { ok: report?.match === true, ...(report ? { report } : {}), diagnostics: result.diagnostics, sources };
}

export interface CompileOptions {
  /** The spec's file name, for diagnostics and for resolving its imports; `"<input>.nn"` by default. */
  readonly file?: string;
  /** Reads imported files; `nodeHost` by default. */
  readonly host?: Host;
  /** Compile only this model of the file. */
  readonly model?: string;
  /** Storage type of parameters and activations in the generated code; `"float32"` by default. */
  readonly dtype?: "float32" | "float64";
  /** Dense layers up to this many multiply–adds are fully unrolled (default 256, at most 1,000,000). */
  readonly unrollLimit?: number;
  /** Output columns per register tile in looped matrix kernels (1–16, default 8). */
  readonly tileColumns?: number;
  /** Format with prettier (default `true`, as `nnc build`); `false` is several times faster and still
   *  readable (what the bundler plugin uses). */
  readonly format?: boolean;
  /** An inference build with these parameters baked in: tensors by `state_dict` name (parameters and
   *  buffers, each flat or nested to its shape), or every parameter then every buffer in manifest order. */
  readonly bakeWeights?:
    Readonly<Record<string, readonly NestedNumbers[]>> | readonly number[] | Float32Array | Float64Array;
}

/** A tensor's values for `bakeWeights`: numbers, or arrays nested to the tensor's shape. */
type NestedNumbers = number | readonly NestedNumbers[];

export interface CompiledModule {
  /** File name, relative to an output directory: `<spec>.ts`, or `<spec>.<Model>.ts` when the spec defines
   *  several models (with `model` too: building each model on its own never gives two the same name). */
  readonly path: string;
  readonly model: string;
  /** The module's TypeScript source. */
  readonly text: string;
}

export interface CompileResult {
  readonly ok: boolean;
  /** One module per model; none at all when any diagnostic is an error. */
  readonly files: readonly CompiledModule[];
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: Sources;
}

/** Compiles spec text to one TypeScript module per model (forward, backward, losses, training). Never
 *  throws on user input: option errors are NN0001 diagnostics; a `source` that is not a string is a
 *  TypeError (the promise rejects). */
export async function compile(source: string, options: CompileOptions = {}): Promise<CompileResult> {
  expectString("compile", "source", source);
  expectOptions("compile", options);
  if (options.file !== undefined) expectString("compile", "options.file", options.file);
  const { file = "<input>.nn", host = nodeFileHost, bakeWeights, ...settings } = options;
  const generator = await import("./emit/compile.js");
  const baked =
    bakeWeights === undefined
      ? {}
      : {
          bakeWeights: isNumberList(bakeWeights)
            ? Array.from(bakeWeights)
            : { ...(bakeWeights as Readonly<Record<string, NestedNumbers[]>>) },
        };
  const result = await generator.compile(source, { ...settings, ...baked }, file, host);
  return {
    ok: !hasErrors(result.diagnostics),
    files: result.files.map((f) => ({ path: f.path, model: f.model, text: f.text })),
    diagnostics: result.diagnostics,
    sources: textsOf(result.sources, (f) => f),
  };
}

export interface FormatResult {
  /** The canonical text; `null` when the spec does not parse. */
  readonly text: string | null;
  readonly diagnostics: readonly Diagnostic[];
}

/** The canonical form of a spec, as `nnc fmt` prints it. Comments are kept. */
export function format(text: string, file = "<input>.nn"): FormatResult {
  expectString("format", "text", text);
  expectString("format", "file", file);
  const result = formatText(text, file);
  return { text: result.value, diagnostics: result.diagnostics };
}

export interface RenderOptions {
  /** ANSI colours (off by default). */
  readonly color?: boolean;
}

/** Diagnostics as people read them: `file:line:col`, a code frame, labels, `help:` and `note:` lines. */
export function renderDiagnostics(
  diagnostics: readonly Diagnostic[],
  sources: Sources = new Map(),
  options: RenderOptions = {},
): string {
  const texts = new Map<string, SourceText>();
  const lookup = (name: string): SourceText | undefined => {
    const text = sources.get(name);
    if (text === undefined) return undefined;
    let source = texts.get(name);
    if (!source) texts.set(name, (source = new SourceText(name, text)));
    return source;
  };
  return renderWithLookup(diagnostics, lookup, options.color === undefined ? {} : { color: options.color });
}

/** What a value is, for "must be a string, got …". */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  const type = typeof value;
  return type === "object"
    ? "an object"
    : type === "undefined"
      ? "undefined"
      : `a ${type}${type === "number" || type === "boolean" ? ` (${String(value)})` : ""}`;
}

/** A TypeError for a call the declarations forbid (`compile(42)`): a mistake in the calling program, not
 *  in the spec, reported at once, as Node's own APIs do (`ERR_INVALID_ARG_TYPE`). */
function expectString(fn: string, name: string, value: unknown): void {
  if (typeof value !== "string") throw new TypeError(`${fn}: \`${name}\` must be a string, got ${describe(value)}`);
}

function expectOptions(fn: string, options: unknown): void {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`${fn}: \`options\` must be an object, got ${describe(options)}`);
  }
}

function checkArguments(fn: string, file: unknown, options: CheckOptions): void {
  expectString(fn, "file", file);
  expectOptions(fn, options);
  if (options.text !== undefined) expectString(fn, "options.text", options.text);
  if (options.model !== undefined) expectString(fn, "options.model", options.model);
}

function isNumberList(
  x: NonNullable<CompileOptions["bakeWeights"]>,
): x is readonly number[] | Float32Array | Float64Array {
  return Array.isArray(x) || ArrayBuffer.isView(x);
}

/** The checking pipeline as `check` and `count` run it: sorted diagnostics and the text of every file read. */
function checkWith(file: string, options: CheckOptions) {
  const checked = checkProgram(
    file,
    options.host ?? nodeFileHost,
    options.text,
    options.model !== undefined ? { model: options.model } : {},
  );
  return {
    checked,
    diagnostics: sortDiagnostics(checked.diagnostics),
    sources: textsOf(checked.value.program.files, (f) => f.source),
  };
}

/** File name → text, from any map of files to their `SourceText`. */
function textsOf<T>(files: ReadonlyMap<string, T>, source: (file: T) => SourceText): Sources {
  return new Map([...files].map(([name, f]) => [name, source(f).text] as const));
}
