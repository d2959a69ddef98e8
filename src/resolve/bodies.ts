// Bodies and their statements: constants of a body (evaluated before its statements), `input`, `output`,
// `expect`, `loss`, bindings and flows, each checked for where it stands (`input` only at the top of a
// block, `loss` only at the top of a model, …), and value names bound once per body.
import { diagnostic, type Label, type Span } from "../diagnostics/diagnostic.js";
import type { Variant } from "../diagnostics/message.js";
import { didYouMeanHelp } from "../diagnostics/suggest.js";
import type { Body, ExpectStmt, InputStmt, LossStmt, Name, Statement } from "../syntax/ast.js";
import { expectQuantities, expectQuantityNames, layerKinds, lossKinds, losses } from "../vocabulary/layers.js";
import { checkArgs } from "./arguments.js";
import type { BodyCtx, ResolveContext } from "./context.js";
import { describeNonNumber } from "./evaluate.js";
import { checkValueExpr, resolveFlow } from "./flows.js";
import { constEntry, evaluateConst, evaluateNumber } from "./names.js";
import { Scope, type ConstEntry, type ValueScope } from "./scope.js";

/** Words people write for an `expect` quantity. */
const expectSynonyms: Record<string, string> = {
  parameters: "params",
  param: "params",
  parameter: "params",
  weight: "weights",
  bias: "biases",
  buffer: "buffers",
  frozen: "non_trainable",
  nontrainable: "non_trainable",
};

export function resolveBody(cx: ResolveContext, body: Body, outer: BodyCtx): void {
  const scope = new Scope(outer.scope);
  const ctx: BodyCtx = { ...outer, scope };
  const dims = ctx.owner.kind === "model";
  const consts: ConstEntry[] = [];
  for (const stmt of body.statements) {
    if (stmt.kind !== "Const") continue;
    const name = stmt.name;
    const prev = scope.entries.get(name.name);
    if (prev?.kind === "const") {
      cx.report(
        diagnostic("DuplicateDefinition", name.span, ["defined", { name: name.name }], {
          labels: [{ span: prev.decl.name.span, message: "first defined here" }],
        }),
      );
      continue;
    }
    const clash = outer.scope.entries.get(name.name);
    if (clash?.kind === "param" || clash?.kind === "dim" || clash?.kind === "index") {
      const what = clash.kind === "param" ? "parameter" : clash.kind === "dim" ? "symbolic dimension" : "repeat index";
      cx.report(
        diagnostic("DuplicateDefinition", name.span, ["already", { name: name.name, what }], {
          labels: [{ span: clash.name.span, message: "declared here" }],
          help: "rename the constant",
        }),
      );
      continue;
    }
    const entry = constEntry(stmt, scope, dims) as ConstEntry;
    scope.entries.set(name.name, entry);
    consts.push(entry);
  }
  for (const entry of consts) {
    const value = evaluateConst(cx, entry);
    if (value.kind === "int") cx.bodyConstants.set(entry.decl, value.value);
  }
  for (const stmt of body.statements) resolveStatement(cx, stmt, ctx);
}

function resolveStatement(cx: ResolveContext, stmt: Statement, ctx: BodyCtx): void {
  switch (stmt.kind) {
    case "Const":
      return;
    case "Input":
      return resolveInputStmt(cx, stmt, ctx);
    case "Output":
      if (ctx.nested) {
        misplaced(cx, keywordSpan(stmt.span, "output".length), "outputNested");
      }
      for (const value of stmt.values) checkValueExpr(cx, value, ctx);
      return;
    case "Expect":
      return resolveExpect(cx, stmt, ctx);
    case "Loss":
      return resolveLoss(cx, stmt, ctx);
    case "Binding":
      resolveFlow(cx, stmt.flow, ctx);
      for (const target of stmt.targets) bindValue(cx, target, ctx.values);
      return;
    case "FlowStmt":
      return resolveFlow(cx, stmt.flow, ctx);
  }
}

function misplaced(
  cx: ResolveContext,
  span: Span,
  variant: Variant<"MisplacedStatement">,
  options: { labels?: Label[]; help?: string } = {},
): void {
  cx.report(diagnostic("MisplacedStatement", span, [variant, {}], options));
}

/** The span of the first token of a statement (its keyword). */
function keywordSpan(span: Span, length: number): Span {
  return { ...span, end: span.start + length, endLine: span.line, endColumn: span.column + length };
}

function resolveInputStmt(cx: ResolveContext, stmt: InputStmt, ctx: BodyCtx): void {
  const keyword = keywordSpan(stmt.span, "input".length);
  const given = ctx.given;
  if (given) {
    // `repeat n { input h … }`: h is the value the copy is given (the previous copy's output).
    if (given.input) {
      misplaced(cx, keyword, "inputTwiceNested", {
        labels: [{ span: keywordSpan(given.input.span, "input".length), message: "first named here" }],
      });
    } else if (stmt.names.length !== 1) {
      misplaced(cx, keyword, "inputManyNested", {
        help: `this \`${given.container}\` body's one value: \`input ${stmt.names[0]?.name ?? "x"}\``,
      });
    } else {
      given.input = stmt;
    }
  } else if (ctx.nested) {
    misplaced(cx, keyword, "inputNested", {
      help: "a `moe` expert or a shortcut reads the value it is given without naming it; to name it, write the body as a block with `input`",
    });
  } else if (ctx.owner.kind === "model") {
    misplaced(cx, keyword, "inputInModel", {
      help: "a model declares its inputs in its header: `model Name(x: f32[784]) { … }`",
    });
  } else if (ctx.owner.input) {
    misplaced(cx, keyword, "inputTwice", {
      labels: [{ span: keywordSpan(ctx.owner.input.span, "input".length), message: "first declared here" }],
      help: "list every input in one statement: `input a, b`",
    });
  } else {
    ctx.owner.input = stmt;
  }
  for (const name of stmt.names) bindValue(cx, name, ctx.values);
}

function resolveExpect(cx: ResolveContext, stmt: ExpectStmt, ctx: BodyCtx): void {
  if (ctx.nested) {
    misplaced(cx, keywordSpan(stmt.span, "expect".length), "expectNested");
  }
  const q = stmt.quantity;
  if (!expectQuantityNames.has(q.name)) {
    cx.report(
      diagnostic(
        "BadExpectQuantity",
        q.span,
        { name: q.name },
        {
          help: expectSynonyms[q.name]
            ? `did you mean \`${expectSynonyms[q.name]}\`?`
            : didYouMeanHelp(
                q.name,
                expectQuantities.map((x) => x.name),
              ),
          notes: [`quantities: ${expectQuantities.map((x) => x.name).join(", ")}`],
        },
      ),
    );
  }
  const value = evaluateNumber(
    cx,
    stmt.value,
    { scope: ctx.scope, values: ctx.values, dims: false, what: "an `expect` value" },
    true,
  );
  if (value.kind === "int" || value.kind === "decimal") cx.expects.set(stmt, value.value);
}

function resolveLoss(cx: ResolveContext, stmt: LossStmt, ctx: BodyCtx): void {
  const keyword = keywordSpan(stmt.span, "loss".length);
  let placed = true;
  if (ctx.owner.kind === "block") {
    misplaced(cx, keyword, "lossInBlock", {
      help: "state the loss in the model that uses this block",
    });
    placed = false;
  } else if (ctx.nested) {
    misplaced(cx, keyword, "lossNested");
    placed = false;
  } else if (ctx.owner.loss) {
    cx.report(
      diagnostic(
        "DuplicateLoss",
        keyword,
        {},
        {
          labels: [{ span: keywordSpan(ctx.owner.loss.stmt.span, "loss".length), message: "first loss here" }],
          help: "remove one of the `loss` statements",
        },
      ),
    );
    placed = false;
  }
  const call = stmt.call;
  const callee: Name | undefined =
    call.kind === "Ident" ? { name: call.name, span: call.span } : call.kind === "Call" ? call.callee : undefined;
  if (!callee) {
    cx.report(
      diagnostic("UnknownLoss", call.span, ["notAName", { found: describeNonNumber(call) }], {
        notes: [`losses: ${losses.map((l) => l.name).join(", ")}`],
      }),
    );
    if (placed) ctx.owner.loss = { stmt };
    return;
  }
  const entry = lossKinds.get(callee.name);
  if (!entry) {
    cx.report(
      diagnostic("UnknownLoss", callee.span, ["unknown", { name: callee.name }], {
        help: didYouMeanHelp(
          callee.name,
          losses.map((l) => l.name),
        ),
        notes: [`losses: ${losses.map((l) => l.name).join(", ")}`],
      }),
    );
    if (placed) ctx.owner.loss = { stmt };
    return;
  }
  const args = checkArgs(
    cx,
    callee,
    call.kind === "Call" ? call.args : [],
    { label: `loss \`${entry.name}\``, usage: entry.name, positional: [], options: entry.options, universal: false },
    ctx,
  );
  if (placed) ctx.owner.loss = { stmt, entry, args };
}

/** Binds a value name in `values` (a model input, an `input` name or a binding target). */
export function bindValue(cx: ResolveContext, name: Name, values: ValueScope): void {
  if (layerKinds.has(name.name) || cx.blocks.has(name.name)) {
    const block = cx.blocks.get(name.name);
    const isLayer = layerKinds.has(name.name);
    cx.report(
      diagnostic(
        "ValueShadowsLayer",
        name.span,
        { name: name.name, what: isLayer ? "a layer kind" : "a block" },
        {
          labels:
            !isLayer && block && !block.imported ? [{ span: block.decl.name.span, message: "block defined here" }] : [],
          help: `rename the value: \`${name.name}\` always means the ${isLayer ? "layer" : "block"}`,
        },
      ),
    );
    return;
  }
  const prev = values.entries.get(name.name);
  if (prev) {
    cx.report(
      diagnostic("DuplicateDefinition", name.span, ["value", { name: name.name }], {
        labels: [{ span: prev.span, message: "first bound here" }],
        help: "give the second value another name",
      }),
    );
    return;
  }
  values.entries.set(name.name, name);
}
