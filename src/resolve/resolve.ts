// Name resolution and the checks that need no shapes: file-level names, constants (exact integers), block
// parameters, the callee of every stage, value names, `as` names, block recursion, the arguments of every
// call (against the vocabulary table or the block's parameters) and the placement of statements. Reports
// every problem in one run and never throws; later stages read the `ResolvedFile` it returns. The parts
// share one `ResolveContext` (context.ts lists them).
import { sortDiagnostics, type Result } from "../diagnostics/diagnostic.js";
import type { FileNode } from "../syntax/ast.js";
import { resolveBlock, resolveModel } from "./blocks.js";
import { resolveBody } from "./bodies.js";
import type { ResolveCache } from "./cache.js";
import { ResolveContext } from "./context.js";
import { constEntry, declareFileNames, evaluateConst } from "./names.js";
import { checkRecursion } from "./recursion.js";
import type { ImportedSymbol, ResolvedFile } from "./types.js";

export type {
  BlockInfo,
  CallTarget,
  ImportedSymbol,
  ModelInfo,
  ResolvedDim,
  ResolvedFile,
  ResolvedInput,
  ResolvedLoss,
} from "./types.js";

/** Checks `file`; `imported` holds the names its imports bring in. Without `imported`, names listed in
 *  `import { … }` are opaque (any use is accepted) and a whole-file `import "…"` makes every unknown
 *  layer and constant name acceptable. `cache` (the language server's, one per file) reuses the last run's
 *  resolution of unchanged blocks and models (cache.ts). Never throws. */
export function resolve(
  file: FileNode,
  imported?: ReadonlyMap<string, ImportedSymbol>,
  cache?: ResolveCache,
): Result<ResolvedFile> {
  const cx: ResolveContext = new ResolveContext(file, imported, (body, outer) => resolveBody(cx, body, outer));
  const firsts = declareFileNames(cx);
  // Every definition is checked, duplicates included; only the first of a name is visible to others.
  for (const item of file.items) {
    if (item.kind !== "Const") continue;
    const entry = cx.fileScope.entries.get(item.name.name);
    if (entry?.kind === "const" && entry.decl === item) {
      evaluateConst(cx, entry);
    } else {
      const shadow = constEntry(item, cx.fileScope, false);
      if (shadow.kind === "const") evaluateConst(cx, shadow);
    }
  }
  cache?.begin(cx);
  for (const item of file.items) {
    if (item.kind !== "Block" || cache?.restore(cx, item)) continue;
    resolveBlock(cx, item, cx.blocks.get(item.name.name)?.decl === item);
    cache?.resolved(cx, item);
  }
  for (const item of file.items) {
    if (item.kind !== "Model") continue;
    let info = cache?.restore(cx, item)?.model;
    if (!info) {
      info = resolveModel(cx, item);
      cache?.resolved(cx, item, info);
    }
    if (firsts.has(item)) cx.models.set(info.name, info);
  }
  cache?.end(cx);
  checkRecursion(cx);

  const constants = new Map<string, bigint>();
  for (const [name, entry] of cx.fileScope.entries) {
    if (entry.kind === "const" && entry.value.kind === "int") constants.set(name, entry.value.value);
    else if (entry.kind === "importedConst" && entry.value !== undefined) constants.set(name, entry.value);
  }
  return {
    value: {
      file,
      constants,
      blocks: cx.blocks,
      models: cx.models,
      calls: cx.calls,
      values: cx.values,
      bodyConstants: cx.bodyConstants,
      repeats: cx.repeats,
      expects: cx.expects,
    },
    diagnostics: sortDiagnostics(cx.diagnostics),
  };
}
