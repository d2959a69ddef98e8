// `nnc build`: one module per model, as TypeScript (`x.ts`) or as JavaScript with its declarations (`x.js`
// + `x.d.ts`, `--emit js`). All or nothing: when any input has an error, or any output cannot be written,
// no file is written (the writer stages every file, then moves them into place; program/node-host.ts).
// A file is written only when its content changes: an unchanged file keeps its mtime, so `tsc --watch`,
// Vite and make do not wake up for nothing. main.ts loads this module (and with it the code generator,
// prettier and ts-morph) only for `nnc build`.
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
  /** Writes every file or none (creating their directories); throws an Error whose message says why. */
  readonly writeAll: (files: readonly { file: string; text: string }[]) => void;
  /** The current text of an output file, `undefined` when there is none; a file whose text would not
   *  change is not written. */
  readonly existing: (file: string) => string | undefined;
  /** `ts` (the default): `x.ts`; `js`: `x.js` and `x.d.ts`. */
  readonly emit?: EmitKind;
  /** Standard input (`nnc build -`): the one module is returned in `printed` instead of written. */
  readonly toStdout?: boolean;
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
  /** Every output file of a successful build, in order; empty when anything failed (nothing is written
   *  then). */
  readonly outputs: readonly BuildOutput[];
  /** `toStdout`: the module's text. */
  readonly printed?: string;
  /** An option error: the caller reports it as a usage error (exit 2). */
  readonly usage?: string;
}

/** The command-line flag of each compile option whose name differs. */
const flags: Record<string, string> = { unrollLimit: "unroll-limit", tileColumns: "tile", bakeWeights: "bake-weights" };

/** A compile option's problem in nnc's words, named by its flag (`--unroll-limit`, never `unrollLimit`). */
function optionProblem(
  issue: { path: readonly PropertyKey[]; message: string; code?: string; maximum?: unknown; minimum?: unknown },
  given: Record<string, unknown>,
): string {
  const key = issue.path[0];
  const flag = `\`--${flags[String(key)] ?? String(key)}\``;
  const value = key === undefined ? undefined : given[String(key)];
  const found = typeof value === "number" ? `, found ${value}` : "";
  if (issue.code === "too_big" && issue.maximum !== undefined)
    return `${flag} must be at most ${String(issue.maximum)}${found}`;
  if (issue.code === "too_small" && issue.minimum !== undefined)
    return `${flag} must be at least ${String(issue.minimum)}${found}`;
  return `${flag}: ${issue.message}`;
}

export async function build(request: BuildRequest): Promise<BuildOutcome> {
  const parsed = compileOptionsSchema.safeParse(request.options);
  if (!parsed.success) {
    const usage = parsed.error.issues
      .map((i) => optionProblem(i as Parameters<typeof optionProblem>[0], request.options))
      .join("; ");
    return { diagnostics: [], sources: new Map(), outputs: [], usage };
  }
  const diagnostics: Diagnostic[] = [];
  const sources = new Map<string, SourceText>();
  const modules: EmittedFile[] = [];
  /** Inputs that checked cleanly and define no model. */
  const empty: string[] = [];
  for (const input of request.inputs) {
    const onModel = request.onModel;
    const result = await compileFile(
      input.name,
      request.host,
      parsed.data,
      input.text,
      onModel && ((model) => onModel(input.name, model)),
    );
    for (const d of result.diagnostics) diagnostics.push(d);
    for (const [name, source] of result.sources) sources.set(name, source);
    modules.push(...result.files);
    if (result.files.length === 0 && !hasErrors(result.diagnostics)) empty.push(input.name);
  }
  if (hasErrors(diagnostics)) return { diagnostics, sources, outputs: [] };
  if (modules.length === 0) {
    // As tsc's "No inputs were found" (TS18003): a build that would produce nothing at all is an error.
    const what =
      request.inputs.length === 1
        ? `${request.inputs[0]!.name} defines no model`
        : `none of the ${request.inputs.length} inputs defines a model`;
    diagnostics.push(
      diagnostic(
        "NothingToBuild",
        undefined,
        { what },
        {
          help: "a file of blocks and constants is imported by a spec that defines a `model`; build that spec",
        },
      ),
    );
    return { diagnostics, sources, outputs: [] };
  }
  for (const name of empty) {
    diagnostics.push(
      diagnostic(
        "NoModelToBuild",
        undefined,
        { file: name },
        {
          help: "a file of blocks and constants is imported by a spec that defines a `model`; build that spec",
        },
      ),
    );
  }
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
  if (request.toStdout) {
    if (modules.length > 1) {
      const names = modules.map((m) => `\`${m.model}\``).join(", ");
      return {
        diagnostics,
        sources,
        outputs: [],
        usage: `standard input defines ${modules.length} models (${names}); \`nnc build -\` prints one module: choose it with --model`,
      };
    }
    return { diagnostics, sources, outputs: [], printed: files[0]!.text };
  }
  const names = new Set<string>();
  for (const f of files) {
    if (names.has(f.path)) {
      return {
        diagnostics,
        sources,
        outputs: [],
        usage: `two inputs would both write ${f.path}; build them into different --out directories`,
      };
    }
    names.add(f.path);
  }
  const outputs: BuildOutput[] = [];
  const changed: { file: string; text: string }[] = [];
  for (const f of files) {
    const target = path.join(request.out, f.path);
    const same = request.existing(target) === f.text;
    outputs.push({ file: target, written: !same });
    if (!same) changed.push({ file: target, text: f.text });
  }
  try {
    request.writeAll(changed);
  } catch (error) {
    diagnostics.push(
      diagnostic("WriteFailed", undefined, ["outputs", { problem: (error as Error).message }], {
        help: "nothing was written: every output is left as it was",
      }),
    );
    return { diagnostics, sources, outputs: [] };
  }
  return { diagnostics, sources, outputs };
}
