// The checking pipeline for one entry file:
//   load (parse the file and its imports) → resolve every file (imports first) → analyze every model of
//   the entry file (shapes, parameter tensors) → figures and `expect` assertions.
// A stage does not run on a file an earlier stage found broken: a file with syntax errors is not resolved,
// and a model is analyzed only when its file resolved cleanly.
import { analyzeModel, type AnalysisContext, type ModelAnalysis } from "../analyze/analyze.js";
import {
  resolve,
  type CallTarget,
  type ImportedSymbol,
  type ModelInfo,
  type ResolvedFile,
} from "../resolve/resolve.js";
import type { ResolveCache } from "../resolve/cache.js";
import { modelFigures, type Figures } from "../count/count.js";
import { diagnostic, hasErrors, type Diagnostic, type Result } from "../diagnostics/diagnostic.js";
import { didYouMeanHelp } from "../diagnostics/suggest.js";
import type { BlockDecl, Call, ExpectStmt, Ident } from "../syntax/ast.js";
import { checkExpects } from "./expect.js";
import { load, type Host, type ParseFile, type Program } from "./load.js";

export interface CheckedModel {
  readonly analysis: ModelAnalysis;
  readonly figures: Figures;
}

export interface Checked {
  readonly program: Program;
  /** Resolution of every file that parsed, by file name. */
  readonly resolved: ReadonlyMap<string, ResolvedFile>;
  /** The entry file's models that analyzed cleanly, in source order. */
  readonly models: readonly CheckedModel[];
}

export interface CheckOptions {
  /** Analyze only this model of the entry file. */
  readonly model?: string;
  /** `false`: analyze every block call and repeated element afresh (see `AnalyzeOptions.memo`). */
  readonly memo?: boolean;
  /** Symbolic dimensions set by name (`nnc count --dim`; see `AnalyzeOptions.dims`). */
  readonly dims?: ReadonlyMap<string, bigint>;
  /** How files are parsed (default `parse`; the language server reuses unchanged items). */
  readonly parse?: ParseFile;
  /** The resolution cache of each file (the language server's: src/resolve/cache.ts); none by default. */
  readonly resolveCache?: (file: string) => ResolveCache;
}

/** What `resolveProgram` returns: the loaded files and their resolution, and whether the entry file's
 *  models may be analyzed (every file parsed and resolved cleanly). */
export interface ResolvedProgram {
  readonly program: Program;
  readonly resolved: ReadonlyMap<string, ResolvedFile>;
  readonly analyzable: boolean;
}

/** The first half of `checkProgram`: load every file and resolve each, imports first. */
export function resolveProgram(
  entry: string,
  host: Host,
  text?: string,
  options: Pick<CheckOptions, "parse" | "resolveCache"> = {},
): Result<ResolvedProgram> {
  const loaded = load(entry, host, text, options.parse);
  const diagnostics: Diagnostic[] = loaded.diagnostics.slice();
  const program = loaded.value;
  const resolved = new Map<string, ResolvedFile>();
  /** Files whose names cannot all be trusted (a syntax error, a failed import): not analyzed. */
  const incomplete = new Set<string>();

  /** Resolves `file`, whose imports are resolved already (`importsFirst`). */
  const resolveFile = (file: string): void => {
    const loadedFile = program.files.get(file);
    if (!loadedFile?.ast) {
      incomplete.add(file);
      return;
    }
    const imported = new Map<string, ImportedSymbol>();
    /** The file each imported name comes from, to tell a clash from the same name imported twice. */
    const origin = new Map<string, string>();
    let complete = true;
    for (const { decl, target } of loadedFile.imports) {
      // Undefined as well for an import that would close a cycle (load cut it: its target is undefined).
      const other = target === undefined ? undefined : resolved.get(target);
      if (!other || incomplete.has(target!)) {
        complete = false;
        continue;
      }
      const exported = exportsOf(other);
      const names = decl.names ?? [...exported.keys()].map((name) => ({ name, span: decl.path.span }));
      for (const n of names) {
        const symbol = exported.get(n.name);
        if (!symbol) {
          diagnostics.push(
            diagnostic(
              "ImportNameNotFound",
              n.span,
              { name: n.name, file: decl.path.value },
              {
                help:
                  didYouMeanHelp(n.name, exported.keys()) ??
                  `it defines ${[...exported.keys()].map((k) => `\`${k}\``).join(", ") || "nothing to import"}`,
              },
            ),
          );
          complete = false;
          continue;
        }
        const previous = imported.get(n.name);
        if (previous && origin.get(n.name) !== target) {
          diagnostics.push(
            diagnostic("ImportClash", n.span, ["twice", { name: n.name }], {
              ...(previous.span
                ? { labels: [{ span: previous.span, message: `first imported here, from ${origin.get(n.name)}` }] }
                : {}),
              help: "import it from one file only, or rename one of the definitions",
            }),
          );
          complete = false;
          continue;
        }
        imported.set(n.name, { ...symbol, span: n.span });
        origin.set(n.name, target!);
      }
    }
    const result = resolve(loadedFile.ast, complete ? imported : undefined, options.resolveCache?.(file));
    for (const d of result.diagnostics) diagnostics.push(d);
    if (!complete || hasErrors(result.diagnostics)) incomplete.add(file);
    resolved.set(file, result.value);
  };

  for (const file of importsFirst(program)) resolveFile(file);

  const analyzable =
    resolved.has(entry) && !incomplete.has(entry) && ![...program.files.keys()].some((f) => incomplete.has(f));
  return { value: { program, resolved, analyzable }, diagnostics };
}

/** The second half of `checkProgram` for one model of the entry file: analysis, figures and `expect`
 *  assertions. `value` is undefined when the model did not analyze cleanly. */
export function checkModel(
  entryResolved: ResolvedFile,
  model: ModelInfo,
  context: AnalysisContext,
  options: Omit<CheckOptions, "model" | "parse" | "resolveCache"> = {},
): Result<CheckedModel | undefined> {
  const diagnostics: Diagnostic[] = [];
  const analyzed = analyzeModel(entryResolved, model, context, {
    ...(options.memo !== undefined ? { memo: options.memo } : {}),
    ...(options.dims !== undefined ? { dims: options.dims } : {}),
  });
  for (const d of analyzed.diagnostics) diagnostics.push(d);
  if (!analyzed.value) return { value: undefined, diagnostics };
  const figures = modelFigures(analyzed.value);
  diagnostics.push(...checkExpects(model.decl, figures, analyzed.value, context));
  return { value: { analysis: analyzed.value, figures }, diagnostics };
}

export function checkProgram(entry: string, host: Host, text?: string, options: CheckOptions = {}): Result<Checked> {
  const first = resolveProgram(entry, host, text, options.parse ? { parse: options.parse } : {});
  const { program, resolved, analyzable } = first.value;
  const diagnostics = first.diagnostics.slice();
  const models: CheckedModel[] = [];
  const entryResolved = resolved.get(entry);
  if (entryResolved && analyzable) {
    const context = analysisContext(resolved);
    for (const model of entryResolved.models.values()) {
      if (options.model !== undefined && model.name !== options.model) continue;
      const checked = checkModel(entryResolved, model, context, options);
      for (const d of checked.diagnostics) diagnostics.push(d);
      if (checked.value) models.push(checked.value);
    }
    if (options.model !== undefined && !entryResolved.models.has(options.model)) {
      diagnostics.push(
        diagnostic("NoSuchModel", undefined, ["named", { file: entry, model: options.model }], {
          help:
            didYouMeanHelp(options.model, entryResolved.models.keys()) ??
            `its models: ${[...entryResolved.models.keys()].join(", ") || "none"}`,
        }),
      );
    }
  }
  return { value: { program, resolved, models }, diagnostics };
}

/** Every loaded file, each after the files it imports (a post-order of the import graph, which load keeps
 *  free of cycles), computed with an explicit stack: no recursion, whatever the length of an import chain. */
export function importsFirst(program: Program): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  for (const root of program.files.keys()) {
    if (seen.has(root)) continue;
    seen.add(root);
    const stack: { file: string; next: number }[] = [{ file: root, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const imports = program.files.get(top.file)?.imports ?? [];
      const edge = imports[top.next++];
      if (edge === undefined) {
        order.push(top.file);
        stack.pop();
        continue;
      }
      if (edge.target !== undefined && !seen.has(edge.target)) {
        seen.add(edge.target);
        stack.push({ file: edge.target, next: 0 });
      }
    }
  }
  return order;
}

/** What a file offers to `import`: its own blocks and constants (not what it imported itself). */
function exportsOf(file: ResolvedFile): Map<string, ImportedSymbol> {
  const out = new Map<string, ImportedSymbol>();
  for (const item of file.file.items) {
    if (item.kind === "Block") {
      const info = file.blocks.get(item.name.name);
      if (info && !info.imported) out.set(item.name.name, { kind: "block", decl: item });
    } else if (item.kind === "Const") {
      const value = file.constants.get(item.name.name);
      out.set(item.name.name, value === undefined ? { kind: "const" } : { kind: "const", value });
    }
  }
  return out;
}

export function analysisContext(resolved: ReadonlyMap<string, ResolvedFile>): AnalysisContext {
  const constants = new Map<BlockDecl, ReadonlyMap<string, bigint>>();
  for (const file of resolved.values())
    for (const item of file.file.items) if (item.kind === "Block") constants.set(item, file.constants);
  const constantsOf = (block: BlockDecl) => constants.get(block);
  // One file (no imports): its own maps, not copies (the language server builds contexts per keystroke).
  if (resolved.size === 1) {
    const only = [...resolved.values()][0]!;
    return { calls: only.calls, constantsOf, expectValues: only.expects };
  }
  const calls = new Map<Call | Ident, CallTarget>();
  const expectValues = new Map<ExpectStmt, bigint | number>();
  for (const file of resolved.values()) {
    for (const [k, v] of file.calls) calls.set(k, v);
    for (const [k, v] of file.expects) expectValues.set(k, v);
  }
  return { calls, constantsOf, expectValues };
}
