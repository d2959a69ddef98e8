// The code generator's public entry: spec → checked program → one TypeScript module per model, formatted
// with prettier. Never throws on user input; a spec with errors (or a layer the generator cannot emit yet,
// NN9001) produces no file at all.
import path from "node:path";
import * as prettier from "prettier";
import { z } from "zod";
import { diagnostic, hasErrors, sortDiagnostics, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { SourceText } from "../diagnostics/source.js";
import { lower } from "../lower/lower.js";
import { checkProgram } from "../program/check.js";
import type { Host } from "../program/load.js";
import { version } from "../version.js";
import { buildLimits, expansionProblems, sourceProblems } from "./budgets.js";
import { kernels } from "./kernels/index.js";
import { emitModule, emitModuleParts, joinParts, type ModulePart } from "./module.js";
import { plan, type Plan } from "./plan.js";

/** A tensor's values as `--bake-weights` takes them: flat, or nested arrays of the tensor's shape (as
 *  PyTorch's `tensor.tolist()` gives them). */
export type NestedNumbers = number | readonly NestedNumbers[];
const nestedNumbers: z.ZodType<NestedNumbers> = z.lazy(() => z.union([z.number(), z.array(nestedNumbers)]));

export const compileOptionsSchema = z
  .object({
    /** Compile only this model of the file. */
    model: z.string().optional(),
    /** Storage type of parameters and activations in the generated code. */
    dtype: z.enum(["float32", "float64"]).default("float32"),
    /** Dense layers up to this many multiply–adds are fully unrolled: measured here, unrolling wins 1.4–1.8× up to 32×32 but a 32×32 layer costs 60–100 ms of compilation and sometimes stays unoptimized (bench/workloads.mjs), so the default stops at 16×16. */
    unrollLimit: z.number().int().min(0).max(buildLimits.unrollLimit).default(256),
    /** Kernels of dense layers above the unroll limit: \`auto\` (the default) embeds WebAssembly SIMD kernels
     *  and uses them where the engine has SIMD, the TypeScript kernels otherwise (decided once at load);
     *  \`wasm\` refuses to load without SIMD; \`ts\` embeds none. */
    target: z.enum(["ts", "wasm", "auto"]).default("auto"),
    /** Output columns per register tile in looped matrix kernels. */
    tileColumns: z.number().int().min(1).max(16).default(8),
    /** Format the module with prettier (the default, what `nnc build` and `generated/` use). `false` keeps
     *  ts-morph's printed output — already readable, and much faster (the bundler plugin and watch mode). */
    format: z.boolean().default(true),
    /** An inference build with these parameters baked in: by `state_dict` name, or paramCount values in
     *  manifest order. Small dense layers then multiply by constants; no backward or training code. */
    bakeWeights: z
      .union([
        z.record(z.string(), z.array(nestedNumbers)),
        z.array(z.number()),
        z.instanceof(Float32Array),
        z.instanceof(Float64Array),
      ])
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
    return {
      files: [],
      diagnostics: [diagnostic("UsageError", undefined, ["compileOptions", { problem: message }])],
      sources: new Map(),
    };
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
  const checked = checkProgram(file, host, text, options.model !== undefined ? { model: options.model } : {});
  const diagnostics: Diagnostic[] = checked.diagnostics.slice();
  const sources = new Map([...checked.value.program.files].map(([name, f]) => [name, f.source]));
  const entry = checked.value.resolved.get(file);
  // Budgets before lowering: a model too large to spell out is refused from its counts.
  const models = checked.value.models.filter((m) => {
    const span = entry?.models.get(m.analysis.name)?.decl.name.span;
    const refused = expansionProblems(m.analysis, m.figures, span, options.dtype);
    diagnostics.push(...refused);
    return !hasErrors(refused);
  });
  if (hasErrors(diagnostics)) return { files: [], diagnostics: sortDiagnostics(diagnostics), sources };
  const files: EmittedFile[] = [];
  const base = path.basename(file).replace(/\.nn$/, "");
  for (const m of models) {
    // Every copy spelled out (src/lower/), within the budgets just checked.
    const a = lower(m.analysis);
    const unsupported = a.ops.filter((op) => !kernels[op.kind]);
    // One diagnostic per kind, at its first use.
    for (const kind of new Set(unsupported.map((op) => op.kind))) {
      const uses = unsupported.filter((op) => op.kind === kind);
      diagnostics.push(
        diagnostic("UnsupportedInCodegen", uses[0]!.span, ["kind", { kind }], {
          notes: [
            `model \`${a.name}\` uses it ${uses.length === 1 ? "once" : `${uses.length} times`}; checking and counting support it`,
          ],
        }),
      );
    }
    if (a.inputIds.length === 0 || a.outputIds.length === 0) {
      diagnostics.push(
        diagnostic("UnsupportedInCodegen", entry?.models.get(a.name)?.decl.name.span, [
          "noInputOutput",
          { model: a.name, what: a.inputIds.length === 0 ? "input" : "output" },
        ]),
      );
      continue;
    }
    if (unsupported.length > 0) continue;
    const lossInfo = entry?.models.get(a.name)?.loss;
    const loss = lossInfo
      ? {
          name: lossInfo.entry.name,
          logits:
            lossInfo.args.get("logits")?.value?.kind === "bool" &&
            (lossInfo.args.get("logits")!.value as { value: boolean }).value,
        }
      : undefined;
    // The generated source, estimated from the expanded ops before any code is generated.
    const tooLarge = sourceProblems(a, entry?.models.get(a.name)?.decl.name.span, {
      unrollLimit: options.unrollLimit,
      dtype: options.dtype,
      target: options.target,
      ...(options.bakeWeights !== undefined ? { baked: m.figures.params } : {}),
    });
    if (tooLarge.length > 0) {
      diagnostics.push(...tooLarge);
      continue;
    }
    const planned = plan(a);
    let baked: BakedValues | undefined;
    if (options.bakeWeights !== undefined) {
      const result = bakedValues(planned, options.bakeWeights, options.dtype);
      if (typeof result === "string") {
        diagnostics.push(diagnostic("BakeWeightsMismatch", undefined, { model: a.name, problem: result }));
        continue;
      }
      baked = result;
    }
    const info = {
      source: file,
      version,
      ...(loss ? { loss } : {}),
      ...(baked ? { baked: baked.params, ...(planned.bufferCount > 0 ? { bakedBuffers: baked.buffers } : {}) } : {}),
    };
    const text = options.format
      ? await formatParts(emitModuleParts(planned, info, options))
      : emitModule(planned, info, options);
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
 *  alone). A statement of the engine's body is formatted inside a function of its own, which gives it the
 *  indentation and line breaks it has in the body (prettier formats a statement the same in any block at
 *  the same depth). */
async function formatParts(parts: readonly ModulePart[]): Promise<string> {
  const one = async (part: ModulePart): Promise<string> => {
    if (part.raw !== undefined) return part.text;
    if (!part.inner) return prettier.format(part.text, prettierOptions);
    const wrapped = await prettier.format(`function body() {\n${part.text}}\n`, prettierOptions);
    return wrapped.slice(wrapped.indexOf("\n") + 1, wrapped.lastIndexOf("}"));
  };
  const formatted = await Promise.all(
    parts.map((part) => {
      if (!part.fixed) return one(part);
      const key = `${part.inner ? "inner" : "top"}\n${part.text}`;
      let done = formattedRuntime.get(key);
      if (done === undefined) {
        if (formattedRuntime.size >= 64) formattedRuntime.clear();
        done = one(part);
        formattedRuntime.set(key, done);
      }
      return done;
    }),
  );
  return joinParts(parts.map((part, k) => ({ ...part, text: formatted[k]! })));
}

interface BakedValues {
  readonly params: Float64Array;
  readonly buffers: Float64Array;
}

/**
 * The flat parameter and buffer arrays from what `--bake-weights` gave, or what is wrong with it. By name:
 * every parameter and buffer tensor (a state_dict has both; BatchNorm's running statistics are what its
 * inference uses), each flat or nested to exactly its shape; a tied tensor may be left out, and when given
 * must equal the tensor it is tied to. As one flat array: the parameters in manifest order, then the
 * buffers. Every value must stay finite in the storage type (1e39 is Infinity in float32).
 */
function bakedValues(
  planned: Plan,
  given: Record<string, readonly NestedNumbers[]> | ArrayLike<number>,
  dtype: "float32" | "float64",
): BakedValues | string {
  const stored = dtype === "float32" ? Math.fround : (x: number) => x;
  const params = new Float64Array(planned.paramCount);
  const buffers = new Float64Array(planned.bufferCount);
  /** The first value not finite once stored, as a message. */
  const notFinite = (values: ArrayLike<number>, where: (i: number) => string): string | undefined => {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(stored(values[i]!))) return `${where(i)} is ${values[i]}, not finite in ${dtype}`;
    }
    return undefined;
  };
  if (isArrayLike(given)) {
    const total = planned.paramCount + planned.bufferCount;
    if (given.length !== total) {
      const buffersToo =
        planned.bufferCount > 0
          ? ` and ${planned.bufferCount} buffer values (after the parameters, in manifest order)`
          : "";
      return `${given.length} values given, the model has ${planned.paramCount} parameters${buffersToo}`;
    }
    const tensorAt = (i: number) => {
      const list = i < planned.paramCount ? planned.params : planned.buffers;
      const k = i < planned.paramCount ? i : i - planned.paramCount;
      const t = list.find((x) => !x.tiedTo && k >= x.offset && k < x.offset + x.size);
      return t ? `value ${i} (\`${t.name}\` element ${k - t.offset})` : `value ${i}`;
    };
    const bad = notFinite(given, tensorAt);
    if (bad !== undefined) return bad;
    params.set(Array.from({ length: planned.paramCount }, (_, i) => given[i]!));
    buffers.set(Array.from({ length: planned.bufferCount }, (_, i) => given[planned.paramCount + i]!));
    return { params, buffers };
  }
  const names = new Set(Object.keys(given));
  // Tensors first, then the ties (compared with the values their target put in place).
  const tensors = [
    ...planned.params.filter((t) => !t.tiedTo).map((t) => ({ t, into: params })),
    ...planned.buffers.map((t) => ({ t, into: buffers })),
    ...planned.params.filter((t) => t.tiedTo).map((t) => ({ t, into: params })),
  ];
  for (const { t, into } of tensors) {
    names.delete(t.name);
    const values = Object.prototype.hasOwnProperty.call(given, t.name) ? given[t.name] : undefined;
    if (values === undefined) {
      if (t.tiedTo) continue;
      return t.role === "buffer"
        ? `no values for the buffer \`${t.name}\` (a state_dict holds its buffers too)`
        : `no values for \`${t.name}\``;
    }
    const flat = flatten(values, t.shape, t.size);
    if (typeof flat === "string") return `\`${t.name}\` ${flat}`;
    const bad = notFinite(flat, (i) => `\`${t.name}\` element ${i}`);
    if (bad !== undefined) return bad;
    if (t.tiedTo) {
      // A transposed tie's element (r, c) of its [rows, cols] is the target's (c, r).
      const [rows, cols] = [t.shape[0] ?? 1, t.shape[1] ?? 1];
      const at = (i: number) => (t.tiedTransposed ? (i % cols) * rows + Math.floor(i / cols) : i);
      for (let i = 0; i < t.size; i++) {
        if (stored(flat[i]!) !== stored(into[t.offset + at(i)]!)) {
          return `\`${t.name}\` is tied to \`${t.tiedTo}\` but differs from it at element ${i} (${flat[i]} against ${into[t.offset + at(i)]}): give equal values or leave it out`;
        }
      }
      continue;
    }
    into.set(flat, t.offset);
  }
  if (names.size > 0)
    return `unknown tensor${names.size === 1 ? "" : "s"} ${[...names].map((n) => `\`${n}\``).join(", ")}`;
  return { params, buffers };
}

/** A tensor's values in row-major order: given flat (`size` numbers) or nested to exactly `shape` (a
 *  ragged or differently shaped nesting is refused, not flattened); or what is wrong with them. */
function flatten(values: readonly NestedNumbers[], shape: readonly number[], size: number): number[] | string {
  const shapeText = `[${shape.join(", ")}]`;
  if (values.every((v) => typeof v === "number")) {
    return values.length === size
      ? (values as number[])
      : `has ${values.length} values, expected ${size} (shape ${shapeText})`;
  }
  const out: number[] = [];
  const walk = (v: NestedNumbers, depth: number, at: string): string | undefined => {
    if (depth === shape.length) {
      if (typeof v !== "number") return `is not nested to shape ${shapeText}: ${at} is an array, expected a number`;
      out.push(v);
      return undefined;
    }
    if (typeof v === "number")
      return `is not nested to shape ${shapeText}: ${at} is a number, expected an array of ${shape[depth]}`;
    if (v.length !== shape[depth])
      return `is not nested to shape ${shapeText}: ${at} has ${v.length} elements, expected ${shape[depth]}`;
    for (let i = 0; i < v.length; i++) {
      const problem = walk(v[i]!, depth + 1, `${at}[${i}]`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  };
  return walk(values, 0, "the array") ?? out;
}

function isArrayLike(x: unknown): x is ArrayLike<number> {
  return ArrayBuffer.isView(x) || (Array.isArray(x) && x.every((v) => typeof v === "number"));
}
