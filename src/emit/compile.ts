// The code generator's public entry: spec → checked program → one TypeScript module per model, formatted
// with prettier. Never throws on user input; a spec with errors (or a layer the generator cannot emit yet,
// NN9001) produces no file at all.
import path from "node:path";
import * as prettier from "prettier";
import { z } from "zod";
import { diagnostic, hasErrors, sortDiagnostics, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { SourceText } from "../diagnostics/source.js";
import { checkProgram } from "../program/check.js";
import type { Host } from "../program/load.js";
import { version } from "../version.js";
import { buildLimits, expansionProblems, sourceProblems } from "./budgets.js";
import { kernels } from "./kernels/index.js";
import { emitModule, emitModuleParts, type ModulePart } from "./module.js";
import { plan, type Plan } from "./plan.js";

export const compileOptionsSchema = z
  .object({
    /** Compile only this model of the file. */
    model: z.string().optional(),
    /** Storage type of parameters and activations in the generated code. */
    dtype: z.enum(["float32", "float64"]).default("float32"),
    /** Dense layers up to this many multiply–adds are fully unrolled: measured here, unrolling wins 1.4–1.8× up to 32×32 but a 32×32 layer costs 60–100 ms of compilation and sometimes stays unoptimized (bench/workloads.mjs), so the default stops at 16×16. */
    unrollLimit: z.number().int().min(0).max(buildLimits.unrollLimit).default(256),
    /** Output columns per register tile in looped matrix kernels. */
    tileColumns: z.number().int().min(1).max(16).default(8),
    /** Format the module with prettier (the default, what `nnc build` and `generated/` use). `false` keeps
     *  ts-morph's printed output — already readable, and much faster (the bundler plugin and watch mode). */
    format: z.boolean().default(true),
    /** An inference build with these parameters baked in: by `state_dict` name, or paramCount values in
     *  manifest order. Small dense layers then multiply by constants; no backward or training code. */
    bakeWeights: z
      .union([z.record(z.string(), z.array(z.number())), z.array(z.number()), z.instanceof(Float32Array), z.instanceof(Float64Array)])
      .optional(),
  })
  .strict();

export type CompileOptions = z.input<typeof compileOptionsSchema>;

export interface EmittedFile {
  /** File name, relative to the output directory. */
  readonly path: string;
  readonly model: string;
  readonly text: string;
}

export interface CompileResult {
  readonly files: readonly EmittedFile[];
  readonly diagnostics: readonly Diagnostic[];
  /** The text of every file read, for rendering diagnostics with code frames. */
  readonly sources: ReadonlyMap<string, SourceText>;
}

/** Compiles spec text (imports resolved through `host`, relative to `file`). */
export async function compile(
  source: string,
  options: CompileOptions = {},
  file = "<input>.nn",
  host: Host = { readFile: () => ({ ok: false, reason: "no file system given to compile()" }) },
): Promise<CompileResult> {
  const parsed = compileOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const message = parsed.error.issues.map((i) => `${i.path.join(".") || "options"}: ${i.message}`).join("; ");
    return { files: [], diagnostics: [diagnostic("UsageError", undefined, `invalid compile options: ${message}`)], sources: new Map() };
  }
  return compileFile(file, host, parsed.data, source);
}

/** `onModel` is called after each model's module is emitted (the CLI's progress lines time them). */
export async function compileFile(
  file: string,
  host: Host,
  options: z.output<typeof compileOptionsSchema>,
  text?: string,
  onModel?: (model: string) => void,
): Promise<CompileResult> {
  const checked = checkProgram(file, host, text, {
    expand: true,
    ...(options.model !== undefined ? { model: options.model } : {}),
    // Budgets before expanding: a model too large to spell out is refused from its counts.
    beforeExpand: (a, figures, model) => expansionProblems(a, figures, model.decl.name.span, options.dtype),
  });
  const diagnostics: Diagnostic[] = checked.diagnostics.slice();
  const sources = new Map([...checked.value.program.files].map(([name, f]) => [name, f.source]));
  if (hasErrors(diagnostics)) return { files: [], diagnostics: sortDiagnostics(diagnostics), sources };
  const entry = checked.value.resolved.get(file);
  const models = checked.value.models;
  const files: EmittedFile[] = [];
  const base = path.basename(file).replace(/\.nn$/, "");
  for (const m of models) {
    const a = m.analysis;
    const unsupported = a.ops.filter((op) => !kernels[op.kind]);
    // One diagnostic per kind, at its first use.
    for (const kind of new Set(unsupported.map((op) => op.kind))) {
      const uses = unsupported.filter((op) => op.kind === kind);
      diagnostics.push(
        diagnostic("UnsupportedInCodegen", uses[0]!.span, `the code generator cannot emit \`${kind}\` yet`, {
          notes: [`model \`${a.name}\` uses it ${uses.length === 1 ? "once" : `${uses.length} times`}; checking and counting support it`],
        }),
      );
    }
    if (a.inputIds.length === 0 || a.outputIds.length === 0) {
      diagnostics.push(
        diagnostic("UnsupportedInCodegen", entry?.models.get(a.name)?.decl.name.span, `\`${a.name}\` has no ${a.inputIds.length === 0 ? "input" : "output"} to compile`),
      );
      continue;
    }
    if (unsupported.length > 0) continue;
    const lossInfo = entry?.models.get(a.name)?.loss;
    const loss = lossInfo
      ? { name: lossInfo.entry.name, logits: lossInfo.args.get("logits")?.value?.kind === "bool" && (lossInfo.args.get("logits")!.value as { value: boolean }).value }
      : undefined;
    // The generated source, estimated from the expanded ops before any code is generated.
    const tooLarge = sourceProblems(a, entry?.models.get(a.name)?.decl.name.span, {
      unrollLimit: options.unrollLimit,
      dtype: options.dtype,
      ...(options.bakeWeights !== undefined ? { baked: m.figures.params } : {}),
    });
    if (tooLarge.length > 0) {
      diagnostics.push(...tooLarge);
      continue;
    }
    const planned = plan(a);
    let baked: Float64Array | undefined;
    if (options.bakeWeights !== undefined) {
      const result = bakedParameters(planned, options.bakeWeights);
      if (typeof result === "string") {
        diagnostics.push(diagnostic("UsageError", undefined, `--bake-weights for \`${a.name}\`: ${result}`));
        continue;
      }
      baked = result;
    }
    const info = { source: file, version, ...(loss ? { loss } : {}), ...(baked ? { baked } : {}) };
    const text = options.format ? await formatParts(emitModuleParts(planned, info, options)) : emitModule(planned, info, options);
    // Named by what the spec defines, not by what was selected: `--model A` and `--model B` of one spec
    // never write the same file.
    const several = (entry?.models.size ?? models.length) > 1;
    files.push({ path: several ? `${base}.${a.name}.ts` : `${base}.ts`, model: a.name, text });
    onModel?.(a.name);
  }
  if (hasErrors(diagnostics)) return { files: [], diagnostics: sortDiagnostics(diagnostics), sources };
  return { files, diagnostics: sortDiagnostics(diagnostics), sources };
}

const prettierOptions: prettier.Options = { parser: "babel-ts", printWidth: 120 };

/** Formatted fixed parts (the runtime every module shares), by their text: formatted once per process. */
const formattedRuntime = new Map<string, Promise<string>>();

/** A module formatted with prettier piece by piece: the model's own code every time, the runtime once. The
 *  result is the same whichever piece was formatted first (each piece's formatting depends on its text
 *  alone). */
async function formatParts(parts: readonly ModulePart[]): Promise<string> {
  const formatted = await Promise.all(
    parts.map((part) => {
      if (!part.fixed) return prettier.format(part.text, prettierOptions);
      let done = formattedRuntime.get(part.text);
      if (done === undefined) {
        if (formattedRuntime.size >= 64) formattedRuntime.clear();
        done = prettier.format(part.text, prettierOptions);
        formattedRuntime.set(part.text, done);
      }
      return done;
    }),
  );
  return formatted.join("\n");
}

/** The flat parameter array from what `--bake-weights` gave, or what is wrong with it. */
function bakedParameters(planned: Plan, given: Record<string, number[]> | ArrayLike<number>): Float64Array | string {
  const out = new Float64Array(planned.paramCount);
  if (isArrayLike(given)) {
    if (given.length !== planned.paramCount) return `${given.length} values given, the model has ${planned.paramCount} parameters`;
    out.set(Array.from(given));
    return out;
  }
  const names = new Set(Object.keys(given));
  for (const t of planned.params) {
    if (t.tiedTo) continue;
    const values = given[t.name];
    if (values === undefined) return `no values for \`${t.name}\``;
    if (values.length !== t.size) return `\`${t.name}\` has ${values.length} values, expected ${t.size} (shape [${t.shape.join(", ")}])`;
    out.set(values, t.offset);
    names.delete(t.name);
  }
  for (const t of planned.params) if (t.tiedTo) names.delete(t.name);
  if (names.size > 0) return `unknown tensor${names.size === 1 ? "" : "s"} ${[...names].map((n) => `\`${n}\``).join(", ")}`;
  return out;
}

function isArrayLike(x: unknown): x is ArrayLike<number> {
  return Array.isArray(x) || x instanceof Float32Array || x instanceof Float64Array;
}
