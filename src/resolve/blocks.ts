// Blocks and models: a block's parameters (duplicates, reserved names, defaults in order and well typed), a
// model's inputs (dtype, dimensions fixed or symbolic, vocabulary), then the body of each.
import { diagnostic } from "../diagnostics/diagnostic.js";
import { didYouMeanHelp } from "../diagnostics/suggest.js";
import type { BlockDecl, Expr, ModelDecl, Name, TypeExpr } from "../syntax/ast.js";
import { inputDtypeNames, inputDtypes } from "../vocabulary/layers.js";
import { blockArgType, checkValue } from "./arguments.js";
import type { NumCtx, Owner, ResolveContext } from "./context.js";
import { bindValue, resolveBody } from "./bodies.js";
import { evaluateNumber } from "./names.js";
import { Scope, ValueScope } from "./scope.js";
import type { ModelInfo, ResolvedDim, ResolvedInput } from "./types.js";

/** `visible`: the block is the one its name refers to (not a duplicate, not named like a layer kind). */
export function resolveBlock(cx: ResolveContext, decl: BlockDecl, visible: boolean): void {
  const scope = new Scope(cx.fileScope);
  const first = new Map<string, Name>();
  for (const param of decl.params) {
    const name = param.name;
    const prev = first.get(name.name);
    if (prev) {
      cx.report(
        diagnostic("DuplicateDefinition", name.span, ["parameter", { name: name.name }], {
          labels: [{ span: prev.span, message: "first declared here" }],
        }),
      );
      continue;
    }
    first.set(name.name, name);
    scope.entries.set(name.name, { kind: "laterParam", name });
    if (name.name === "frozen" || name.name === "tie" || name.name === "share") {
      cx.report(
        diagnostic("ReservedName", name.span, ["blockOption", { name: name.name }], {
          help: "rename the parameter",
        }),
      );
    }
  }
  let defaulted: Name | undefined;
  for (const param of decl.params) {
    if (param.default !== null) defaulted ??= param.name;
    else if (defaulted) {
      cx.report(
        diagnostic(
          "BadParameterDefault",
          param.name.span,
          { name: param.name.name },
          {
            labels: [{ span: defaulted.span, message: `\`${defaulted.name}\` has a default` }],
            help: `give \`${param.name.name}\` a default, or move it before \`${defaulted.name}\``,
          },
        ),
      );
    }
  }
  const ctxValues = new ValueScope();
  for (const param of decl.params) {
    if (first.get(param.name.name) !== param.name) continue;
    if (param.default) {
      checkValue(
        cx,
        param.default,
        blockArgType,
        {
          owner: { kind: "block", name: decl.name.name, localBlock: false },
          nested: false,
          scope,
          values: ctxValues,
          aliases: new Map(),
        },
        `the default of \`${param.name.name}\``,
      );
    }
    scope.entries.set(param.name.name, { kind: "param", name: param.name });
  }
  const owner: Owner = { kind: "block", name: decl.name.name, localBlock: visible };
  cx.repeatIndices.clear();
  resolveBody(cx, decl.body, { owner, nested: false, scope, values: ctxValues, aliases: new Map() });
}

export function resolveModel(cx: ResolveContext, decl: ModelDecl): ModelInfo {
  const scope = new Scope(cx.fileScope);
  const values = new ValueScope();
  const inputs: ResolvedInput[] = [];
  for (const input of decl.inputs) {
    bindValue(cx, input.name, values);
    inputs.push(resolveInputType(cx, input.name, input.type, scope));
  }
  const owner: Owner = { kind: "model", name: decl.name.name, localBlock: false };
  cx.repeatIndices.clear();
  resolveBody(cx, decl.body, { owner, nested: false, scope, values, aliases: new Map() });
  const loss = owner.loss && "entry" in owner.loss ? owner.loss : undefined;
  return { name: decl.name.name, decl, inputs, ...(loss ? { loss } : {}) };
}

function resolveInputType(cx: ResolveContext, name: Name, type: TypeExpr, scope: Scope): ResolvedInput {
  const dtype = inputDtypeNames.get(type.dtype.name);
  if (!dtype) {
    cx.report(
      diagnostic(
        "UnknownDtype",
        type.dtype.span,
        { name: type.dtype.name },
        {
          help:
            didYouMeanHelp(
              type.dtype.name,
              inputDtypes.map((d) => d.name),
            ) ?? "use `f32`, `f64` or `token`",
        },
      ),
    );
  }
  const dims: ResolvedDim[] = [];
  for (const dim of type.dims) {
    if (dim.max !== null) {
      const max = positiveInt(cx, dim.max, { scope, dims: false, what: "the bound of a symbolic dimension" });
      if (dim.size.kind !== "Ident") {
        cx.report(
          diagnostic("BadSymbolicDim", dim.size.span, ["noName", {}], {
            help: "write it as `seq <= 1024`",
          }),
        );
        dims.push({ kind: "invalid" });
        continue;
      }
      const dimName: Name = { name: dim.size.name, span: dim.size.span };
      const existing = scope.find(dimName.name);
      if (existing?.kind === "dim") {
        cx.report(
          diagnostic("DuplicateDefinition", dimName.span, ["dimension", { name: dimName.name }], {
            labels: [{ span: existing.name.span, message: "first declared here" }],
            help: `refer to it without a bound: \`${dimName.name}\``,
          }),
        );
      } else if (existing) {
        cx.report(
          diagnostic("BadSymbolicDim", dimName.span, ["nameTaken", { name: dimName.name }], {
            ...(existing.kind === "const"
              ? { labels: [{ span: existing.decl.name.span, message: "defined here" }] }
              : {}),
            help: "rename the dimension",
          }),
        );
      } else {
        scope.entries.set(dimName.name, { kind: "dim", name: dimName });
      }
      dims.push({ kind: "symbol", name: dimName.name, ...(max !== undefined ? { max } : {}) });
      continue;
    }
    const value = evaluateNumber(
      cx,
      dim.size,
      {
        scope,
        dims: true,
        what: "an input dimension",
        unknownHelp: "declare a symbolic dimension with a bound, as in `seq <= 1024`",
      },
      false,
    );
    if (value.kind === "int") {
      if (value.value < 1n) {
        cx.report(
          diagnostic("NonPositiveSize", dim.size.span, [
            "positive",
            { what: "an input dimension", value: value.value },
          ]),
        );
        dims.push({ kind: "invalid" });
      } else dims.push({ kind: "int", value: value.value });
    } else if (value.kind === "symbolic") {
      dims.push(dim.size.kind === "Ident" ? { kind: "symbol", name: dim.size.name } : { kind: "expr", expr: dim.size });
    } else dims.push({ kind: "invalid" });
  }
  let vocab: bigint | undefined;
  if (type.vocab !== null) {
    if (dtype && !dtype.needsVocabulary) {
      cx.report(
        diagnostic("TokenNeedsVocabulary", type.vocab.span, ["vocabularyGiven", { dtype: dtype.name }], {
          labels: [{ span: type.dtype.span, message: "a float input" }],
          help: "remove `of …`, or make the input `token`",
        }),
      );
    }
    vocab = positiveInt(cx, type.vocab, { scope, dims: false, what: "the vocabulary size" });
  } else if (dtype?.needsVocabulary) {
    cx.report(
      diagnostic("TokenNeedsVocabulary", type.dtype.span, ["vocabularyMissing", {}], {
        help: "add `of <vocabulary size>`, as in `token[1024] of 50_257`",
      }),
    );
  }
  return { name, ...(dtype ? { dtype: dtype.name } : {}), dims, ...(vocab !== undefined ? { vocab } : {}) };
}

/** Evaluates an integer that must be ≥ 1; undefined unless known and valid. */
function positiveInt(cx: ResolveContext, expr: Expr, ctx: NumCtx): bigint | undefined {
  const value = evaluateNumber(cx, expr, ctx, false);
  if (value.kind !== "int") return undefined;
  if (value.value < 1n) {
    cx.report(diagnostic("NonPositiveSize", expr.span, ["positive", { what: ctx.what, value: value.value }]));
    return undefined;
  }
  return value.value;
}
