// File-level names (imports, constants, blocks, models; duplicates and clashes) and integer expressions:
// constants evaluated exactly, in dependency order, with cycles reported; every name in an integer
// expression looked up in its scope.
import { keywordNames } from "../../grammar/tokens.js";
import { diagnostic, type Label, type Span } from "../diagnostics/diagnostic.js";
import type { MessageArgs } from "../diagnostics/message.js";
import { didYouMeanHelp } from "../diagnostics/suggest.js";
import type { ConstDecl, Expr, Ident, Item, Name } from "../syntax/ast.js";
import { layerKinds } from "../vocabulary/layers.js";
import { maxCycleSteps, type NumCtx, type ResolveContext } from "./context.js";
import { evaluate, intValue, invalid, namesIn, symbolic, type NumValue } from "./evaluate.js";
import type { ConstEntry, NumEntry, Scope } from "./scope.js";

/** One constant on the path of `evaluateConst`: the reference that led to it, and its own references. */
interface ConstFrame {
  readonly entry: ConstEntry;
  readonly via: Ident | undefined;
  readonly deps: readonly Ident[];
  next: number;
}

/** Declares imported and local names; returns the items that define a name first. */
export function declareFileNames(cx: ResolveContext): Set<Item> {
  const firsts = new Set<Item>();
  // Imports first: a local definition of an imported name is a clash.
  const importSpans = new Map<string, Span>();
  for (const item of cx.file.items) {
    if (item.kind !== "Import") continue;
    if (item.names === null) {
      if (cx.imported === undefined) cx.openWorld = true;
      continue;
    }
    for (const n of item.names) if (!importSpans.has(n.name)) importSpans.set(n.name, n.span);
  }
  if (cx.imported) {
    for (const [name, symbol] of cx.imported) {
      if (symbol.kind === "const") cx.fileScope.entries.set(name, { kind: "importedConst", value: symbol.value });
      else
        cx.blocks.set(name, {
          name,
          decl: symbol.decl,
          imported: true,
          ...(symbol.from !== undefined ? { from: symbol.from } : {}),
        });
      if (symbol.span && !importSpans.has(name)) importSpans.set(name, symbol.span);
    }
  }
  for (const name of importSpans.keys()) {
    if (cx.imported?.has(name)) continue;
    // Listed in `import { … }` but not handed over: accept any use rather than cascade.
    cx.opaque.add(name);
    cx.fileScope.entries.set(name, { kind: "opaque" });
  }

  const defined = new Map<string, Name>();
  for (const item of cx.file.items) {
    if (item.kind === "Import") continue;
    const name = item.name;
    const first = defined.get(name.name);
    if (first) {
      cx.report(
        diagnostic("DuplicateDefinition", name.span, ["defined", { name: name.name }], {
          labels: [{ span: first.span, message: "first defined here" }],
          help: "rename one of the definitions",
        }),
      );
      continue;
    }
    defined.set(name.name, name);
    firsts.add(item);
    if (importSpans.has(name.name) || cx.imported?.has(name.name)) {
      const at = importSpans.get(name.name);
      cx.report(
        diagnostic("ImportClash", name.span, ["local", { name: name.name }], {
          labels: at ? [{ span: at, message: "imported here" }] : [],
          help: "rename the local definition, or do not import the name",
        }),
      );
      cx.opaque.delete(name.name);
      cx.blocks.delete(name.name);
    }
    if (item.kind === "Const") {
      cx.fileScope.entries.set(name.name, constEntry(item, cx.fileScope, false));
    } else if (item.kind === "Block") {
      if (layerKinds.has(name.name)) {
        cx.report(
          diagnostic("ReservedName", name.span, ["layerKind", { name: name.name }], {
            help: `rename the block: \`${name.name}\` always means the layer`,
          }),
        );
      }
      cx.fileScope.entries.delete(name.name);
      // A block named like a layer kind stays out of the table: the name keeps meaning the layer.
      if (!layerKinds.has(name.name)) cx.blocks.set(name.name, { name: name.name, decl: item, imported: false });
    } else {
      cx.fileScope.entries.delete(name.name);
      cx.modelNames.add(name.name);
    }
  }
  return firsts;
}

export function constEntry(decl: ConstDecl, scope: Scope, dims: boolean): NumEntry {
  return { kind: "const", decl, scope, dims, state: "pending", value: invalid };
}

// ── Constants and integer expressions ──────────────────────────────────────────────────────────────

/** Evaluates a constant after the constants it uses, by an iterative depth-first walk of the references
 *  (a chain of thousands of constants must not overflow the stack). A reference back to a constant on the
 *  current path closes a cycle: it is reported once, and every constant of the cycle is invalid. */
export function evaluateConst(cx: ResolveContext, root: ConstEntry): NumValue {
  if (root.state !== "pending") return root.state === "done" ? root.value : invalid;
  const path: ConstFrame[] = [];
  const enter = (entry: ConstEntry, via: Ident | undefined): void => {
    entry.state = "evaluating";
    const seen = new Set<string>();
    const deps = namesIn(entry.decl.value).filter((id) => !seen.has(id.name) && seen.add(id.name));
    path.push({ entry, via, deps, next: 0 });
  };
  enter(root, undefined);
  while (path.length > 0) {
    const top = path[path.length - 1]!;
    const ident = top.deps[top.next];
    if (ident) {
      top.next++;
      const dep = top.entry.scope.find(ident.name);
      if (dep?.kind !== "const") continue;
      if (dep.state === "pending") enter(dep, ident);
      else if (dep.state === "evaluating") reportConstCycle(cx, path, dep, ident);
      continue;
    }
    path.pop();
    const entry = top.entry;
    entry.value = evaluate(
      entry.decl.value,
      {
        decimals: false,
        lookup: (id) =>
          lookupNumber(cx, id, { scope: entry.scope, dims: entry.dims, what: `\`${entry.decl.name.name}\`` }),
      },
      cx.diagnostics,
    );
    entry.state = "done";
  }
  return root.value;
}

export function evaluateNumber(cx: ResolveContext, expr: Expr, ctx: NumCtx, decimals: boolean): NumValue {
  return evaluate(expr, { decimals, lookup: (id) => lookupNumber(cx, id, ctx) }, cx.diagnostics);
}

function lookupNumber(cx: ResolveContext, ident: Ident, ctx: NumCtx): NumValue {
  const entry = ctx.scope.find(ident.name);
  if (!entry) return unknownNumberName(cx, ident, ctx);
  switch (entry.kind) {
    case "const":
      // `evaluating`: a member of a cycle, reported already.
      return evaluateConst(cx, entry);
    case "importedConst":
      return entry.value === undefined ? invalid : intValue(entry.value);
    case "param":
    case "opaque":
    case "index":
      return symbolic;
    case "laterParam":
      cx.report(
        diagnostic("UnknownName", ident.span, ["beforeDeclared", { name: ident.name }], {
          labels: [{ span: entry.name.span, message: "declared here" }],
          help: "a default may refer only to earlier parameters and to constants",
        }),
      );
      return invalid;
    case "dim":
      if (ctx.dims) return symbolic;
      cx.report(
        diagnostic("WrongOptionType", ident.span, ["symbolicDim", { what: ctx.what, name: ident.name }], {
          labels: [{ span: entry.name.span, message: "declared here" }],
        }),
      );
      return invalid;
  }
}

function unknownNumberName(cx: ResolveContext, ident: Ident, ctx: NumCtx): NumValue {
  if (cx.openWorld) return symbolic;
  const name = ident.name;
  const bound = ctx.values?.find(name);
  if (bound) {
    cx.report(
      diagnostic("BadValueUse", ident.span, ["valueAsNumber", { name }], {
        labels: [{ span: bound.span, message: "bound here" }],
        ...(ctx.what ? { notes: [`${ctx.what} needs an integer`] } : {}),
      }),
    );
    return invalid;
  }
  if (keywordNames.has(name)) {
    // `dense(model)`: a keyword parses here only as the start of a layer path (`tie = model.norm`).
    cx.report(
      diagnostic("ReservedName", ident.span, ["keyword", { name }], {
        notes: ["a keyword names a layer (`as model`, `tie = model.norm`), never a number"],
        help: `write another name here, such as \`${name}_\``,
      }),
    );
    return invalid;
  }
  const notes: string[] = [];
  if (layerKinds.has(name)) notes.push(`\`${name}\` is a layer kind, not a number`);
  else if (cx.blocks.has(name)) notes.push(`\`${name}\` is a block, not a number`);
  else if (cx.modelNames.has(name)) notes.push(`\`${name}\` is a model, not a number`);
  const index = cx.repeatIndices.get(name);
  if (index) notes.push(`\`${name}\` is a repeat's index, visible only in that repeat's body`);
  cx.report(
    diagnostic("UnknownName", ident.span, ["unknown", { name }], {
      help: didYouMeanHelp(name, ctx.scope.names(ctx.dims)) ?? ctx.unknownHelp,
      notes,
      ...(index ? { labels: [{ span: index.span, message: "the index of this repeat" }] } : {}),
    }),
  );
  return invalid;
}

function reportConstCycle(cx: ResolveContext, path: readonly ConstFrame[], target: ConstEntry, closing: Ident): void {
  const start = path.findIndex((frame) => frame.entry === target);
  if (start < 0) return;
  const members = path.slice(start).map((frame) => frame.entry.decl);
  const refs: Ident[] = [];
  for (const frame of path.slice(start + 1)) if (frame.via) refs.push(frame.via);
  refs.push(closing);
  // Start the cycle at the definition that comes first in the file, so the report is stable.
  let first = 0;
  members.forEach((m, i) => {
    if (m.name.span.start < members[first]!.name.span.start) first = i;
  });
  const order = members.map((_, i) => (first + i) % members.length);
  const names = order.map((i) => members[i]!.name.name);
  const labels: Label[] = order.map((i) => {
    const from = members[i]!.name.name;
    const to = members[(i + 1) % members.length]!.name.name;
    return { span: refs[i]!.span, message: from === to ? `\`${from}\` uses itself` : `\`${from}\` uses \`${to}\`` };
  });
  const head = members[order[0]!]!;
  const shown = names.length <= maxCycleSteps ? [...names, names[0]!] : [...names.slice(0, maxCycleSteps), "…"];
  const message: MessageArgs<"ConstCycle"> =
    members.length === 1
      ? ["self", { name: head.name.name }]
      : ["cycle", { cycle: shown.map((n) => (n === "…" ? n : `\`${n}\``)).join(" → ") }];
  cx.report(
    diagnostic("ConstCycle", head.name.span, message, {
      labels: labels.slice(0, maxCycleSteps),
      help: "give one of them a value that does not depend on the others",
      notes:
        labels.length > maxCycleSteps
          ? [`the cycle has ${labels.length} steps; the first ${maxCycleSteps} are shown`]
          : [],
    }),
  );
}
