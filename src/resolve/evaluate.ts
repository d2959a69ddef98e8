// Exact evaluation of size expressions: bigint arithmetic with `+ - * / // %` and unary `-`. `/` must divide
// exactly, `//` floors and `%` takes the sign of the divisor (so `a == (a // b) * b + a % b`). Decimals are
// evaluated only where a caller allows them (option values such as `eps`). Names are resolved by the caller.
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { Expr, Ident } from "../syntax/ast.js";

/** The result of evaluating an expression. */
export type NumValue =
  | { readonly kind: "int"; readonly value: bigint }
  | { readonly kind: "decimal"; readonly value: number }
  /** Depends on something known only later: a block parameter, a symbolic dimension, an opaque import. */
  | { readonly kind: "symbolic" }
  /** Broken; the reason has been reported already (callers report nothing more about it). */
  | { readonly kind: "invalid" };

export const symbolic: NumValue = { kind: "symbolic" };
export const invalid: NumValue = { kind: "invalid" };
export const intValue = (value: bigint): NumValue => ({ kind: "int", value });

/** Integers must stay below this magnitude: 2^96, far beyond any real size or count, small enough that
 *  repeated multiplication of large literals cannot build absurd numbers. */
export const maxMagnitudeBits = 96;
export const maxMagnitude = 1n << BigInt(maxMagnitudeBits);

export interface EvaluateOptions {
  /** Whether decimal literals are accepted (options such as `eps`); otherwise they are NN3004. */
  readonly decimals: boolean;
  /** Resolves a name; reports its own diagnostics and returns `invalid` after doing so. */
  readonly lookup: (ident: Ident) => NumValue;
}

/** Evaluates `expr`, appending what is wrong with it to `diagnostics`. Never throws. Iterative (an explicit
 *  stack, left operand first), so expression depth is bounded by memory, not by the call stack. */
export function evaluate(expr: Expr, options: EvaluateOptions, diagnostics: Diagnostic[]): NumValue {
  const work: { expr: Expr; operandsDone: boolean }[] = [{ expr, operandsDone: false }];
  const results: NumValue[] = [];
  while (work.length > 0) {
    const frame = work.pop()!;
    const e = frame.expr;
    if (e.kind === "Binary") {
      if (!frame.operandsDone) {
        work.push(
          { expr: e, operandsDone: true },
          { expr: e.right, operandsDone: false },
          { expr: e.left, operandsDone: false },
        );
      } else {
        const right = results.pop() ?? invalid;
        const left = results.pop() ?? invalid;
        results.push(binary(e, left, right, diagnostics));
      }
    } else if (e.kind === "Unary") {
      if (!frame.operandsDone) {
        work.push({ expr: e, operandsDone: true }, { expr: e.operand, operandsDone: false });
      } else {
        const operand = results.pop() ?? invalid;
        if (operand.kind === "int") results.push(checkMagnitude(-operand.value, e, diagnostics));
        else if (operand.kind === "decimal") results.push({ kind: "decimal", value: -operand.value });
        else results.push(operand);
      }
    } else {
      results.push(leaf(e, options, diagnostics));
    }
  }
  return results.pop() ?? invalid;
}

function leaf(expr: Expr, options: EvaluateOptions, diagnostics: Diagnostic[]): NumValue {
  switch (expr.kind) {
    case "Int":
      return checkMagnitude(expr.value, expr, diagnostics);
    case "Decimal":
      if (options.decimals) return { kind: "decimal", value: expr.value };
      diagnostics.push(
        diagnostic("NotAnInteger", expr.span, ["decimal", { text: expr.raw }], {
          help: "sizes and counts are exact integers",
        }),
      );
      return invalid;
    case "Ident":
      return options.lookup(expr);
    default: {
      const what = describeNonNumber(expr);
      diagnostics.push(
        options.decimals
          ? diagnostic("WrongOptionType", expr.span, ["notANumber", { found: what }])
          : diagnostic("NotAnInteger", expr.span, ["other", { found: what }]),
      );
      return invalid;
    }
  }
}

/** The names an expression refers to, left to right (without evaluating it). Iterative. */
export function namesIn(expr: Expr): Ident[] {
  const out: Ident[] = [];
  const work: Expr[] = [expr];
  while (work.length > 0) {
    const e = work.pop()!;
    if (e.kind === "Ident") out.push(e);
    else if (e.kind === "Binary") work.push(e.right, e.left);
    else if (e.kind === "Unary") work.push(e.operand);
  }
  return out;
}

function binary(
  expr: Extract<Expr, { kind: "Binary" }>,
  left: NumValue,
  right: NumValue,
  diagnostics: Diagnostic[],
): NumValue {
  const op = expr.op;
  const divides = op === "/" || op === "//" || op === "%";
  // A divisor known to be zero is an error even when the dividend is symbolic.
  if (divides && ((right.kind === "int" && right.value === 0n) || (right.kind === "decimal" && right.value === 0))) {
    if (left.kind === "invalid") return invalid;
    diagnostics.push(
      diagnostic("DivisionByZero", expr.right.span, op === "%" ? ["remainder", {}] : ["division", {}], {
        labels: expr.right.kind === "Int" ? [] : [{ span: expr.right.span, message: "this is 0" }],
      }),
    );
    return invalid;
  }
  if (left.kind === "invalid" || right.kind === "invalid") return invalid;
  if (left.kind === "symbolic" || right.kind === "symbolic") return symbolic;
  if (left.kind === "int" && right.kind === "int") {
    const a = left.value;
    const b = right.value;
    switch (op) {
      case "+":
        return checkMagnitude(a + b, expr, diagnostics);
      case "-":
        return checkMagnitude(a - b, expr, diagnostics);
      case "*":
        return checkMagnitude(a * b, expr, diagnostics);
      case "/":
        if (a % b !== 0n) {
          diagnostics.push(
            diagnostic(
              "InexactDivision",
              expr.span,
              { a, b },
              {
                labels: operandLabels(expr, a, b),
                help: `use \`//\` for floor division (${a} // ${b} = ${floorDiv(a, b)}), or make ${a} a multiple of ${b}`,
              },
            ),
          );
          return invalid;
        }
        return checkMagnitude(a / b, expr, diagnostics);
      case "//":
        return checkMagnitude(floorDiv(a, b), expr, diagnostics);
      case "%":
        return checkMagnitude(floorMod(a, b), expr, diagnostics);
    }
  }
  const a = toNumber(left);
  const b = toNumber(right);
  switch (op) {
    case "+":
      return decimal(a + b);
    case "-":
      return decimal(a - b);
    case "*":
      return decimal(a * b);
    case "/":
      return decimal(a / b);
    case "//":
      return decimal(Math.floor(a / b));
    case "%":
      return decimal(a - b * Math.floor(a / b));
  }
}

function operandLabels(
  expr: Extract<Expr, { kind: "Binary" }>,
  a: bigint,
  b: bigint,
): { span: Expr["span"]; message: string }[] {
  const labels: { span: Expr["span"]; message: string }[] = [];
  if (expr.left.kind !== "Int") labels.push({ span: expr.left.span, message: `this is ${a}` });
  if (expr.right.kind !== "Int") labels.push({ span: expr.right.span, message: `this is ${b}` });
  return labels;
}

function decimal(value: number): NumValue {
  return { kind: "decimal", value };
}

function toNumber(v: NumValue): number {
  return v.kind === "int" ? Number(v.value) : v.kind === "decimal" ? v.value : NaN;
}

/** Floor division (rounds toward negative infinity). `b` must not be 0. */
export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** The remainder of floor division: 0 or of the sign of `b`. `b` must not be 0. */
export function floorMod(a: bigint, b: bigint): bigint {
  const r = a % b;
  return r !== 0n && r < 0n !== b < 0n ? r + b : r;
}

function checkMagnitude(value: bigint, expr: Expr, diagnostics: Diagnostic[]): NumValue {
  if (value >= maxMagnitude || value <= -maxMagnitude) {
    diagnostics.push(
      diagnostic(
        "SizeOverflow",
        expr.span,
        { bits: maxMagnitudeBits },
        {
          notes: [`nnc keeps integers between -2^${maxMagnitudeBits} and 2^${maxMagnitudeBits} (about 7.9e28)`],
        },
      ),
    );
    return invalid;
  }
  return { kind: "int", value };
}

/** `a list`, ``the string "x"``, … — for "expected …, found …" messages. */
export function describeNonNumber(expr: Expr): string {
  switch (expr.kind) {
    case "Int":
      return `\`${expr.raw}\``;
    case "Decimal":
      return `the decimal \`${expr.raw}\``;
    case "String":
      return "a string";
    case "Bool":
      return `\`${expr.value}\``;
    case "Ident":
      return `\`${expr.name}\``;
    case "Call":
      return `a call of \`${expr.callee.name}\``;
    case "Binary":
    case "Unary":
      return "an arithmetic expression";
    case "List":
      return "a list";
    case "Member":
      return "a path";
    case "BodyLit":
      return "a body";
  }
}
