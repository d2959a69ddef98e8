// The arguments of a call against its signature: positional and named arguments bound to parameters (a
// layer kind's from the vocabulary, a block's, a loss's options), then each value checked against its
// type: enums, exact integers and their minimums, decimals in their declared ranges, lists, bodies and
// layer paths.
import { diagnostic } from "../diagnostics/diagnostic.js";
import { didYouMeanHelp } from "../diagnostics/suggest.js";
import type { Arg, Expr, Ident, Name } from "../syntax/ast.js";
import { bindArguments } from "../vocabulary/binder.js";
import {
  belowMinimum,
  describeType,
  inRange,
  rangeProblem,
  universalOptions,
  type ArgType,
  type ArgValue,
  type BoundArg,
  type LayerArgs,
  type ParamSpec,
} from "../vocabulary/layers.js";
import { nested, type BodyCtx, type ResolveContext } from "./context.js";
import { describeNonNumber } from "./evaluate.js";
import { evaluateNumber } from "./names.js";

export interface Signature {
  /** `\`dense\`` or `block \`Mlp\``, for messages. */
  readonly label: string;
  /** `conv2d(out, kernel)`, for help lines. */
  readonly usage: string;
  readonly positional: readonly ParamSpec[];
  readonly options: readonly ParamSpec[];
  readonly universal: boolean;
}

/** What a block argument may be: block parameters are untyped (sizes, numbers, flags, lists). */
const blockArgTypes: readonly ArgType[] = [
  { kind: "size" },
  { kind: "decimal", range: { why: "any finite number" } },
  { kind: "bool" },
  { kind: "list", of: { kind: "size" } },
  { kind: "string" },
];
export const blockArgType: ArgType = { kind: "oneOf", types: blockArgTypes };
/** Arguments of an opaque callee, and of unknown options: anything well formed. */
export const anyArgType: ArgType = { kind: "oneOf", types: [...blockArgTypes, { kind: "body" }, { kind: "path" }] };

export function checkArgs(
  cx: ResolveContext,
  callee: Name,
  args: readonly Arg[],
  sig: Signature,
  ctx: BodyCtx,
): LayerArgs {
  const all = [...sig.positional, ...sig.options, ...(sig.universal ? universalOptions : [])];
  const bound = new Map<string, BoundArg>();

  const bind = (spec: ParamSpec, arg: Arg): void => {
    const refused =
      arg.value.kind === "Ident" && !ctx.scope.find(arg.value.name)
        ? spec.refuses?.find((r) => r.name === (arg.value as Ident).name)
        : undefined;
    if (refused) {
      cx.report(
        diagnostic(
          "WrongOptionType",
          arg.value.span,
          ["refused", { callee: sig.label, name: spec.name, value: refused.name }],
          { notes: [refused.why], help: refused.help },
        ),
      );
      bound.set(spec.name, { name: spec.name, expr: arg.value });
      return;
    }
    const value = checkValue(cx, arg.value, spec.type, ctx, `\`${spec.name}\``);
    bound.set(spec.name, { name: spec.name, expr: arg.value, ...(value ? { value } : {}) });
  };

  const b = bindArguments(sig.positional, all, args);
  for (const step of b.steps) {
    switch (step.kind) {
      case "bind":
        bind(step.param, step.arg);
        break;
      case "positionalAfterNamed": {
        const would = step.would;
        cx.report(
          diagnostic(
            "PositionalAfterNamed",
            step.arg.span,
            {},
            {
              labels: [{ span: step.firstNamed.name.span, message: "named argument here" }],
              help: would
                ? `name it: \`${would.name} = …\`, or move it before the named arguments`
                : "move it before the named arguments",
            },
          ),
        );
        break;
      }
      case "tooManyPositional": {
        const n = sig.positional.length;
        cx.report(
          diagnostic(
            "TooManyArguments",
            step.arg.span,
            { callee: sig.label, count: n === 0 ? "no" : n, s: n === 1 ? "" : "s", found: step.positionalCount },
            {
              labels: [{ span: callee.span, message: `called as \`${sig.usage}\`` }],
              ...(sig.positional[0]?.name === "out"
                ? {
                    help: "the input size comes from the value flowing in: give only the output size, as in `dense(128)`",
                  }
                : sig.options.length > 0
                  ? { help: `options are passed by name, as in \`${sig.options[0]!.name} = …\`` }
                  : {}),
            },
          ),
        );
        break;
      }
      case "unknownName": {
        const name = step.arg.name;
        const names = step.names;
        cx.report(
          diagnostic(
            "UnknownOption",
            name.span,
            { callee: sig.label, name: name.name },
            {
              help:
                didYouMeanHelp(name.name, names) ??
                (names.length ? `options of ${sig.label}: ${names.map((n) => `\`${n}\``).join(", ")}` : undefined),
            },
          ),
        );
        checkValue(cx, step.arg.value, anyArgType, ctx, `\`${name.name}\``);
        break;
      }
      case "duplicate":
        cx.report(
          diagnostic(
            "DuplicateOption",
            step.arg.name.span,
            { name: step.param.name },
            {
              labels: [{ span: step.first, message: "first given here" }],
              help: "remove one of them",
            },
          ),
        );
        break;
    }
  }

  const missing = b.missing.map((s) => `\`${s.name}\``);
  if (missing.length > 0) {
    const list =
      missing.length === 1 ? missing[0]! : `${missing.slice(0, -1).join(", ")} and ${missing[missing.length - 1]!}`;
    cx.report(
      diagnostic(
        "MissingArgument",
        callee.span,
        { s: missing.length === 1 ? "" : "s", names: list, callee: sig.label },
        {
          help: `${sig.label} is called as \`${sig.usage}\``,
        },
      ),
    );
  }
  return bound;
}

/** Checks one argument value against its type; returns its value, or undefined when it is ill-typed
 *  (reported). */
export function checkValue(
  cx: ResolveContext,
  expr: Expr,
  type: ArgType,
  ctx: BodyCtx,
  what: string,
): ArgValue | undefined {
  const alts = flatten(type);
  const has = (kind: ArgType["kind"]): boolean => alts.some((t) => t.kind === kind);
  const numeric = alts.filter((t) => t.kind === "int" || t.kind === "size" || t.kind === "decimal");
  const wrongType = (extra: { help?: string | undefined; notes?: string[] } = {}): undefined => {
    cx.report(
      diagnostic(
        "WrongOptionType",
        expr.span,
        ["expects", { what, type: describeType(type), found: describeNonNumber(expr) }],
        extra,
      ),
    );
    return undefined;
  };

  switch (expr.kind) {
    case "Ident": {
      const name = expr.name;
      for (const t of alts) if (t.kind === "enum" && t.values.includes(name)) return { kind: "enum", value: name };
      const entry = ctx.scope.find(name);
      // A block parameter or an opaque import may stand for a value of any type.
      if (entry?.kind === "param" || entry?.kind === "opaque") return { kind: "symbolic", expr };
      // A tensor name (`frozen = bias`) is the call's own: no value or constant of the body is meant.
      if (has("tensorName")) return { kind: "tensorName", value: name };
      if (numeric.length > 0 && entry) return numericValue(cx, expr, numeric, ctx, what);
      if (has("path") && (!entry || numeric.length === 0)) return { kind: "path", path: [name], transposed: false };
      const enums = alts.flatMap((t) => (t.kind === "enum" ? t.values : []));
      if (enums.length > 0) {
        cx.report(
          diagnostic(
            "BadEnumValue",
            expr.span,
            { name, what },
            {
              help: didYouMeanHelp(name, enums) ?? `expected ${describeType(type)}`,
              notes: [`${what} accepts ${describeType(type)}`],
            },
          ),
        );
        return undefined;
      }
      if (numeric.length > 0) return numericValue(cx, expr, numeric, ctx, what);
      if (cx.openWorld && !entry) return { kind: "symbolic", expr };
      if (has("string")) return wrongType({ help: `write it as a string: \`${JSON.stringify(name)}\`` });
      if (has("bool")) return wrongType({ help: didYouMeanHelp(name, ["true", "false"]) });
      return wrongType();
    }
    case "Int":
    case "Decimal":
    case "Binary":
    case "Unary":
      if (numeric.length > 0) return numericValue(cx, expr, numeric, ctx, what);
      if (has("bool") && expr.kind === "Int" && (expr.value === 0n || expr.value === 1n)) {
        return wrongType({ help: `write \`${expr.value === 1n ? "true" : "false"}\`` });
      }
      return wrongType();
    case "Bool":
      if (has("bool")) return { kind: "bool", value: expr.value };
      return wrongType();
    case "List": {
      const list = alts.find((t): t is Extract<ArgType, { kind: "list" }> => t.kind === "list");
      if (!list) return wrongType();
      if (list.length !== undefined && expr.items.length !== list.length) {
        cx.report(
          diagnostic("WrongOptionType", expr.span, [
            "listLength",
            { what, type: describeType(type), count: expr.items.length },
          ]),
        );
        return undefined;
      }
      const items: ArgValue[] = [];
      let ok = true;
      for (const item of expr.items) {
        const v = checkValue(cx, item, list.of, ctx, what);
        if (v) items.push(v);
        else ok = false;
      }
      return ok ? { kind: "list", items } : undefined;
    }
    case "BodyLit":
      if (!has("body")) return wrongType();
      cx.resolveBody(expr.body, nested(ctx, true));
      return { kind: "body", body: expr.body };
    case "Member": {
      if (!has("path")) return wrongType();
      const path = pathOf(expr);
      return path ? { kind: "path", path, transposed: false } : wrongType();
    }
    case "Call": {
      if (!has("path")) return wrongType();
      const inner = expr.args[0];
      if (expr.callee.name === "transpose" && expr.args.length === 1 && inner && inner.name === null) {
        const path = pathOf(inner.value);
        if (path) return { kind: "path", path, transposed: true };
      }
      return wrongType({ help: "a tie names a layer, as in `tie = wte` or `tie = transpose(wte)`" });
    }
    case "String":
      if (has("string")) return { kind: "string", value: expr.value };
      return wrongType();
  }
}

function numericValue(
  cx: ResolveContext,
  expr: Expr,
  numeric: readonly ArgType[],
  ctx: BodyCtx,
  what: string,
): ArgValue | undefined {
  const decimals = numeric.some((t) => t.kind === "decimal");
  const ints = numeric.filter(
    (t): t is Extract<ArgType, { kind: "int" | "size" }> => t.kind === "int" || t.kind === "size",
  );
  const dims = ints.some((t) => t.kind === "size");
  const value = evaluateNumber(cx, expr, { scope: ctx.scope, values: ctx.values, dims, what }, decimals);
  switch (value.kind) {
    case "int": {
      if (ints.length === 0) return decimalInRange(cx, expr, Number(value.value), numeric, what);
      const mins = ints.map((t) => t.min);
      const min = mins.some((m) => m === undefined) ? undefined : mins.reduce((a, b) => (a! < b! ? a : b));
      if (min !== undefined && value.value < min) {
        cx.report(diagnostic("NonPositiveSize", expr.span, belowMinimum(what, min, value.value)));
        return undefined;
      }
      return { kind: "int", value: value.value };
    }
    case "decimal":
      return decimalInRange(cx, expr, value.value, numeric, what);
    case "symbolic":
      return { kind: "symbolic", expr };
    case "invalid":
      return undefined;
  }
}

/** Numeric literals are range-checked here: finite, and within the registry's declared range (`eps > 0`,
 *  `p in [0, 1)`, …), reported at the value. Values that come through a block's parameters are checked
 *  by the analysis, which knows them (same `rangeProblem`). */
function decimalInRange(
  cx: ResolveContext,
  expr: Expr,
  value: number,
  numeric: readonly ArgType[],
  what: string,
): ArgValue | undefined {
  const ranges = numeric.flatMap((t) => (t.kind === "decimal" ? [t.range] : []));
  if (ranges.length === 0 || ranges.some((r) => inRange(value, r))) return { kind: "decimal", value };
  const problem = rangeProblem(what, value, ranges[0]!, "write")!;
  cx.report(diagnostic("OptionOutOfRange", expr.span, problem.message, { notes: [problem.note], help: problem.help }));
  return undefined;
}

function flatten(type: ArgType): ArgType[] {
  return type.kind === "oneOf" ? type.types.flatMap(flatten) : [type];
}

/** `wte` → `["wte"]`, `encoder.embed` → `["encoder", "embed"]`; undefined for anything else. */
function pathOf(expr: Expr): string[] | undefined {
  const names: string[] = [];
  let e = expr;
  while (e.kind === "Member") {
    names.push(e.property.name);
    e = e.object;
  }
  if (e.kind !== "Ident") return undefined;
  names.push(e.name);
  return names.reverse();
}
