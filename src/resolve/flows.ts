// Flows and their stages: each stage's callee resolved (a value name, a layer kind, a block, an opaque
// import) and its arguments checked, `repeat` counts, `as` names, bodies where a callee takes one, and value
// expressions (`x + y`, `[a, b]`). Calls between local blocks are recorded for recursion.ts.
import { diagnostic, type Span } from "../diagnostics/diagnostic.js";
import { didYouMean, didYouMeanHelp } from "../diagnostics/suggest.js";
import type { Arg, Body, Call, Expr, ExprStage, Flow, Ident, Name, RepeatStage } from "../syntax/ast.js";
import { layerKinds, type BoundArg, type LayerArgs, type ParamSpec } from "../vocabulary/layers.js";
import { anyArgType, blockArgType, checkArgs, checkValue } from "./arguments.js";
import { nested, type BodyCtx, type ResolveContext } from "./context.js";
import { describeNonNumber } from "./evaluate.js";
import { Scope, type NumEntry } from "./scope.js";

export function resolveFlow(cx: ResolveContext, flow: Flow, ctx: BodyCtx): void {
  flow.stages.forEach((stage, i) => {
    if (stage.kind === "Repeat") resolveRepeat(cx, stage, ctx);
    else resolveStage(cx, stage, ctx, i === 0 && flow.stages.length > 1);
  });
}

function resolveRepeat(cx: ResolveContext, stage: RepeatStage, ctx: BodyCtx): void {
  const count = checkValue(cx, stage.count, { kind: "int", min: 0n }, ctx, "the repeat count");
  if (count?.kind === "int") cx.repeats.set(stage, count.value);
  if (stage.start) checkValue(cx, stage.start, { kind: "int", min: 0n }, ctx, "the first copy's number");
  registerAlias(cx, stage.alias, ctx);
  const inner = nested(ctx, false, "repeat");
  const index = stage.index;
  if (index) {
    const clash = indexClash(ctx.scope.find(index.name));
    if (clash) {
      cx.report(
        diagnostic("DuplicateDefinition", index.span, ["already", { name: index.name, what: clash.what }], {
          ...(clash.span ? { labels: [{ span: clash.span, message: "declared here" }] } : {}),
          help: "give the index a name of its own",
        }),
      );
    } else {
      const scope = new Scope(ctx.scope);
      scope.entries.set(index.name, { kind: "index", name: index });
      cx.repeatIndices.set(index.name, index);
      cx.resolveBody(stage.body, { ...inner, scope });
      checkTemplate(cx, stage);
      return;
    }
  }
  cx.resolveBody(stage.body, inner);
  checkTemplate(cx, stage);
}

/** What an index named like an integer name in scope would hide (a repeat's index hides nothing). */
function indexClash(entry: NumEntry | undefined): { what: string; span?: Span } | undefined {
  switch (entry?.kind) {
    case undefined:
      return undefined;
    case "const":
      return { what: "constant", span: entry.decl.name.span };
    case "importedConst":
    case "opaque":
      return { what: "imported name" };
    case "param":
    case "laterParam":
      return { what: "parameter", span: entry.name.span };
    case "dim":
      return { what: "symbolic dimension", span: entry.name.span };
    case "index":
      return { what: "repeat index", span: entry.name.span };
  }
}

/** The name template of `repeat n as "encoder_layer_{i}" with i`: it uses the index, and filled in it is a
 *  name path (segments of letters, digits and `_`, separated by `.`). */
function checkTemplate(cx: ResolveContext, stage: RepeatStage): void {
  const template = stage.template;
  if (!template) return;
  const shown = JSON.stringify(template.value);
  if (!stage.index) {
    cx.report(
      diagnostic("BadNameTemplate", template.span, ["noIndex", { name: "i" }], {
        help: `name the index and use it in the template: \`repeat … as "layer_{i}" with i { … }\``,
      }),
    );
    return;
  }
  const name = stage.index.name;
  const placeholder = `{${name}}`;
  if (!template.value.includes(placeholder)) {
    cx.report(
      diagnostic("BadNameTemplate", template.span, ["unused", { template: shown, name }], {
        help: `write \`${placeholder}\` where the copy's number goes, as in \`"layer_${placeholder}"\``,
      }),
    );
    return;
  }
  const filled = template.value.split(placeholder).join("0");
  const problem = !/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(filled)
    ? /[{}]/.test(filled)
      ? `only \`${placeholder}\` may stand in braces`
      : "it must be segments of letters, digits and `_`, separated by `.`"
    : undefined;
  if (problem) cx.report(diagnostic("BadNameTemplate", template.span, ["notAPath", { template: shown, problem }]));
}

function registerAlias(cx: ResolveContext, alias: Name | null, ctx: BodyCtx): void {
  if (!alias) return;
  const prev = ctx.aliases.get(alias.name);
  if (prev) {
    cx.report(
      diagnostic(
        "DuplicateLayerName",
        alias.span,
        { name: alias.name },
        {
          labels: [{ span: prev.span, message: "first named here" }],
          help: "rename one of them",
        },
      ),
    );
    return;
  }
  ctx.aliases.set(alias.name, alias);
}

function callable(cx: ResolveContext, name: string): "layer" | "block" | "opaque" | undefined {
  if (cx.blocks.has(name)) return "block";
  if (layerKinds.has(name)) return "layer";
  if (cx.opaque.has(name) || cx.openWorld) return "opaque";
  return undefined;
}

function resolveStage(cx: ResolveContext, stage: ExprStage, ctx: BodyCtx, startsFlow: boolean): void {
  const expr = stage.expr;
  if (expr.kind === "Ident") {
    const bound = ctx.values.find(expr.name);
    if (bound) {
      cx.values.set(expr, bound);
      if (stage.body) unexpectedBody(cx, stage.body, `value \`${expr.name}\``, expr.span);
      return;
    }
    if (callable(cx, expr.name)) {
      resolveCall(cx, stage, expr, { name: expr.name, span: expr.span }, [], ctx);
      return;
    }
    unknownStageName(cx, expr, ctx, startsFlow);
    if (stage.body) cx.resolveBody(stage.body, nested(ctx, false));
    return;
  }
  if (expr.kind === "Call") {
    if (callable(cx, expr.callee.name)) {
      resolveCall(cx, stage, expr, expr.callee, expr.args, ctx);
      return;
    }
    unknownLayer(cx, expr.callee, ctx);
    for (const arg of expr.args)
      checkValue(cx, arg.value, anyArgType, ctx, arg.name ? `\`${arg.name.name}\`` : "an argument");
    if (stage.body) cx.resolveBody(stage.body, nested(ctx, false));
    return;
  }
  if (expr.kind === "Binary" || expr.kind === "List") {
    checkValueExpr(cx, expr, ctx);
    if (stage.body) unexpectedBody(cx, stage.body, "a value", expr.span);
    return;
  }
  cx.report(
    diagnostic("BadValueUse", expr.span, ["notLayerOrValue", { found: describeNonNumber(expr) }], {
      ...(expr.kind === "Int" ? { help: "arguments go in parentheses: `dense(128)`" } : {}),
    }),
  );
}

function unknownStageName(cx: ResolveContext, ident: Ident, ctx: BodyCtx, startsFlow: boolean): void {
  const valueNames = ctx.values.names();
  const callables = [...layerKinds.keys(), ...cx.blocks.keys()];
  const suggestion = didYouMean(ident.name, [...valueNames, ...callables]);
  const valueLike = suggestion !== undefined ? valueNames.includes(suggestion) : startsFlow;
  const help = suggestion !== undefined ? `did you mean \`${suggestion}\`?` : undefined;
  const isNumber = ctx.scope.find(ident.name) !== undefined;
  const notes = isNumber ? [`\`${ident.name}\` is a number, not a layer or a value`] : [];
  if (valueLike) {
    cx.report(diagnostic("UnknownValue", ident.span, { name: ident.name }, { help, notes }));
  } else {
    cx.report(diagnostic("UnknownLayer", ident.span, ["unknown", { name: ident.name }], { help, notes }));
  }
}

function unknownLayer(cx: ResolveContext, callee: Name, ctx: BodyCtx): void {
  const notes: string[] = [];
  if (ctx.values.find(callee.name)) notes.push(`\`${callee.name}\` is a value, not a layer`);
  else if (ctx.scope.find(callee.name)) notes.push(`\`${callee.name}\` is a number, not a layer`);
  else if (cx.modelNames.has(callee.name)) notes.push(`\`${callee.name}\` is a model; only blocks can be called`);
  cx.report(
    diagnostic("UnknownLayer", callee.span, ["unknown", { name: callee.name }], {
      help: didYouMeanHelp(callee.name, [...layerKinds.keys(), ...cx.blocks.keys()]),
      notes,
    }),
  );
}

function braceSpan(body: Body): Span {
  const s = body.span;
  return { ...s, end: s.start + 1, endLine: s.line, endColumn: s.column + 1 };
}

function unexpectedBody(cx: ResolveContext, body: Body, what: string, at: Span): void {
  cx.report(
    diagnostic(
      "UnexpectedBody",
      braceSpan(body),
      { what },
      {
        labels: [{ span: at, message: "this takes no body" }],
        help: "remove the body, or use `residual { … }` or `repeat n { … }` around it",
      },
    ),
  );
}

/** `tie` on a block call: a block instance is applied again with `share` (every tensor shared), which a
 *  `tie` (one layer's weight) does not say; refused, never ignored (issue 14, item 5). */
function refuseBlockTie(cx: ResolveContext, args: readonly Arg[], bound: LayerArgs, callee: Name, block: string): void {
  const tie = args.find((a) => a.name?.name === "tie");
  if (!tie) return;
  const value = bound.get("tie")?.value;
  const target = value?.kind === "path" ? value.path.join(".") : "name";
  cx.report(
    diagnostic(
      "TieOnBlock",
      tie.span,
      { block },
      {
        labels: [{ span: callee.span, message: `a call of block \`${block}\`` }],
        notes: [
          "`tie` shares one layer's weight; `share` applies a whole block instance again (PyTorch's module reuse)",
        ],
        help: `to apply the instance \`${target}\` again, with every tensor shared and gradients summed, write \`share = ${target}\``,
      },
    ),
  );
}

/** `share = a` applies the instance `a` again (PyTorch's module reuse): the call owns no tensors, so
 *  `tie` and `frozen` beside it, `transpose(…)` as its target, and a container (whose layers are named
 *  in the enclosing body, not under a name of its own) are refused here; what it names is found by the
 *  analysis, which knows the layers' full names. */
function checkShare(cx: ResolveContext, args: readonly Arg[], bound: LayerArgs, container?: string): void {
  const share = args.find((a) => a.name?.name === "share");
  if (!share) return;
  const value = bound.get("share")?.value;
  if (container !== undefined) {
    cx.report(
      diagnostic("ShareConflict", share.span, ["container", { kind: container }], {
        help: `write the \`${container}\` in a block and share a call of that block`,
      }),
    );
    return;
  }
  if (value?.kind === "path" && value.transposed) {
    cx.report(
      diagnostic("ShareConflict", share.value.span, ["transposed", {}], {
        help: "to share one transposed weight, write `tie = transpose(…)`",
      }),
    );
  }
  for (const option of ["tie", "frozen"]) {
    const other = args.find((a) => a.name?.name === option);
    if (!other) continue;
    cx.report(
      diagnostic("ShareConflict", other.span, ["option", { option }], {
        labels: [{ span: share.span, message: "this call reuses an instance" }],
        help:
          option === "tie"
            ? "a reused instance's weights are its own: tie them where the instance is defined"
            : "write `frozen = true` on the instance; its uses share its tensors, frozen or not",
      }),
    );
  }
}

function resolveCall(
  cx: ResolveContext,
  stage: ExprStage,
  node: Call | Ident,
  callee: Name,
  args: readonly Arg[],
  ctx: BodyCtx,
): void {
  registerAlias(cx, stage.alias, ctx);
  const block = cx.blocks.get(callee.name);
  if (block) {
    const params = block.decl.params;
    const positional: ParamSpec[] = params.map((p) => ({
      name: p.name.name,
      type: blockArgType,
      ...(p.default ? { default: { kind: "derived", formula: "the block's default" } as const } : {}),
    }));
    const bound = checkArgs(
      cx,
      callee,
      args,
      {
        label: `block \`${block.name}\``,
        usage: `${block.name}(${params.map((p) => (p.default ? `${p.name.name} = …` : p.name.name)).join(", ")})`,
        positional,
        options: [],
        universal: true,
      },
      ctx,
    );
    refuseBlockTie(cx, args, bound, callee, block.name);
    checkShare(cx, args, bound);
    cx.calls.set(node, { kind: "block", block, args: bound });
    if (ctx.owner.localBlock && !block.imported) {
      const list = cx.edges.get(ctx.owner.name) ?? [];
      list.push({ from: ctx.owner.name, to: block.name, site: callee });
      cx.edges.set(ctx.owner.name, list);
    }
    if (stage.body) unexpectedBody(cx, stage.body, `block \`${block.name}\``, callee.span);
    return;
  }
  const entry = layerKinds.get(callee.name);
  if (entry) {
    const positional = entry.args.filter((a) => a.default === undefined).map((a) => a.name);
    const bound = checkArgs(
      cx,
      callee,
      args,
      {
        label: `\`${entry.kind}\``,
        usage: positional.length ? `${entry.kind}(${positional.join(", ")})` : entry.kind,
        positional: entry.args,
        options: entry.options,
        universal: true,
      },
      ctx,
    );
    cx.calls.set(node, { kind: "layer", entry, args: bound });
    checkShare(cx, args, bound, entry.body === "required" ? entry.kind : undefined);
    if (entry.body === "required") {
      if (!stage.body) {
        cx.report(
          diagnostic(
            "MissingBody",
            callee.span,
            { kind: entry.kind },
            {
              help:
                entry.kind === "moe"
                  ? "add the expert: `moe(8, 2) { dense(4 * d) gelu dense(d) }`"
                  : `add one: \`${entry.kind} { … }\``,
            },
          ),
        );
      } else {
        // `residual` is transparent for naming; each expert of `moe` is its own scope.
        cx.resolveBody(stage.body, entry.kind === "residual" ? nested(ctx, true, "residual") : nested(ctx, false));
      }
    } else if (stage.body) {
      unexpectedBody(cx, stage.body, `\`${entry.kind}\``, callee.span);
    }
    return;
  }
  // Opaque: an imported name without its definition.
  const bound = new Map<string, BoundArg>();
  args.forEach((arg, i) => {
    const key = arg.name?.name ?? String(i);
    const value = checkValue(cx, arg.value, anyArgType, ctx, arg.name ? `\`${arg.name.name}\`` : "an argument");
    bound.set(key, { name: key, expr: arg.value, ...(value ? { value } : {}) });
  });
  cx.calls.set(node, { kind: "opaque", name: callee.name, args: bound });
  if (stage.body) cx.resolveBody(stage.body, nested(ctx, false));
}

/** A value expression in a flow or `output`: value names combined with `+`, `-`, `*` and lists. Iterative, in
 *  source order. */
export function checkValueExpr(cx: ResolveContext, root: Expr, ctx: BodyCtx): void {
  const work: Expr[] = [root];
  while (work.length > 0) {
    const expr = work.pop()!;
    switch (expr.kind) {
      case "Ident": {
        const bound = ctx.values.find(expr.name);
        if (bound) {
          cx.values.set(expr, bound);
          break;
        }
        const notes: string[] = [];
        if (layerKinds.has(expr.name)) notes.push(`\`${expr.name}\` is a layer kind; bind a value with \`name = …\``);
        else if (cx.blocks.has(expr.name)) notes.push(`\`${expr.name}\` is a block; bind a value with \`name = …\``);
        else if (ctx.scope.find(expr.name)) notes.push(`\`${expr.name}\` is a number, not a value`);
        cx.report(
          diagnostic(
            "UnknownValue",
            expr.span,
            { name: expr.name },
            {
              help: didYouMeanHelp(expr.name, ctx.values.names()),
              notes,
            },
          ),
        );
        break;
      }
      case "Binary":
        if (expr.op !== "+" && expr.op !== "-" && expr.op !== "*") {
          cx.report(
            diagnostic("BadValueUse", expr.span, ["operator", { op: expr.op }], {
              help: "values combine with `+` (add), `-` (subtract) and `*` (multiply)",
            }),
          );
        }
        work.push(expr.right, expr.left);
        break;
      case "List":
        for (let i = expr.items.length - 1; i >= 0; i--) work.push(expr.items[i]!);
        break;
      default:
        cx.report(diagnostic("BadValueUse", expr.span, ["notAValue", { found: describeNonNumber(expr) }]));
    }
  }
}
