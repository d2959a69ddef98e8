// `nnc build`: one module per model, as TypeScript (`x.ts`) or as JavaScript with its declarations (`x.js`
// + `x.d.ts`, `--emit js`). All or nothing: when any input has an error, no file is written. Each file is
// written atomically (temporary file, then rename), and only when its content changes: an unchanged file
// keeps its mtime, so `tsc --watch`, Vite and make do not wake up for nothing. main.ts loads this module
// (and with it the code generator, prettier and ts-morph) only for `nnc build`.
import fs from "node:fs";
import path from "node:path";
import { compileFile, compileOptionsSchema, type EmittedFile } from "../emit/compile.js";
import { toJavaScript } from "../emit/javascript.js";
import { diagnostic, hasErrors, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { SourceText } from "../diagnostics/source.js";
import type { Host } from "../program/load.js";

export type EmitKind = "ts" | "js";

export interface BuildRequest {
  readonly inputs: readonly { name: string; text?: string }[];
  readonly out: string;
  readonly options: Record<string, unknown>;
  readonly host: Host;
  readonly write: (file: string, text: string) => void;
  /** The current text of an output file, `undefined` when there is none; a file whose text would not
   *  change is not written. */
  readonly existing: (file: string) => string | undefined;
  /** `ts` (the default): `x.ts`; `js`: `x.js` and `x.d.ts`. */
  readonly emit?: EmitKind;
  /** Called after each model's module is emitted, in order. */
  readonly onModel?: (input: string, model: string) => void;
}

export interface BuildOutput {
  readonly file: string;
  /** False when the file already had this content and was left alone. */
  readonly written: boolean;
}

export interface BuildOutcome {
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: ReadonlyMap<string, SourceText>;
  /** Every output file of a successful build, in order; empty when the inputs have errors; when a write
   *  fails, the files before it. */
  readonly outputs: readonly BuildOutput[];
  /** An option error: the caller reports it as a usage error (exit 2). */
  readonly usage?: string;
}

/** The command-line flag of each compile option whose name differs. */
const flags: Record<string, string> = { unrollLimit: "unroll-limit", tileColumns: "tile", bakeWeights: "bake-weights" };

export async function build(request: BuildRequest): Promise<BuildOutcome> {
  const parsed = compileOptionsSchema.safeParse(request.options);
  if (!parsed.success) {
    const flag = (key: PropertyKey | undefined) => flags[String(key)] ?? String(key);
    const usage = parsed.error.issues.map((i) => `\`--${flag(i.path[0])}\`: ${i.message}`).join("; ");
    return { diagnostics: [], sources: new Map(), outputs: [], usage };
  }
  const diagnostics: Diagnostic[] = [];
  const sources = new Map<string, SourceText>();
  const modules: EmittedFile[] = [];
  for (const input of request.inputs) {
    const onModel = request.onModel;
    const result = await compileFile(input.name, request.host, parsed.data, input.text, onModel && ((model) => onModel(input.name, model)));
    for (const d of result.diagnostics) diagnostics.push(d);
    for (const [name, source] of result.sources) sources.set(name, source);
    modules.push(...result.files);
  }
  if (hasErrors(diagnostics)) return { diagnostics, sources, outputs: [] };
  const files: { path: string; text: string }[] = [];
  for (const m of modules) {
    if (request.emit === "js") {
      const { js, dts } = toJavaScript(m.text, m.path);
      const stem = m.path.replace(/\.ts$/, "");
      files.push({ path: `${stem}.js`, text: js }, { path: `${stem}.d.ts`, text: dts });
    } else {
      files.push({ path: m.path, text: m.text });
    }
  }
  const names = new Set<string>();
  for (const f of files) {
    if (names.has(f.path)) {
      return { diagnostics, sources, outputs: [], usage: `two inputs would both write ${f.path}; build them into different --out directories` };
    }
    names.add(f.path);
  }
  try {
    fs.mkdirSync(request.out, { recursive: true });
  } catch (error) {
    diagnostics.push(diagnostic("WriteFailed", undefined, `cannot create ${request.out}: ${reason(error)}`));
    return { diagnostics, sources, outputs: [] };
  }
  const outputs: BuildOutput[] = [];
  for (const f of files) {
    const target = path.join(request.out, f.path);
    if (request.existing(target) === f.text) {
      outputs.push({ file: target, written: false });
      continue;
    }
    try {
      request.write(target, f.text);
    } catch (error) {
      // The files before this one are written (each whole): the caller says so.
      diagnostics.push(diagnostic("WriteFailed", undefined, `cannot write ${target}: ${reason(error)}`));
      return { diagnostics, sources, outputs };
    }
    outputs.push({ file: target, written: true });
  }
  return { diagnostics, sources, outputs };
}

function reason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code === "EACCES" || e.code === "EPERM" ? "permission denied" : e.code === "ENOTDIR" ? "a path component is not a directory" : e.message;
}
