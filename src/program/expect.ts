// `expect` assertions: compared with the figures of the model, or of every call of the block that states
// them. A failed assertion is an error at the assertion, with the figures that decide it in a note.
import type { AnalysisContext, ModelAnalysis } from "../analyze/analyze.js";
import { grouped, nodeFigures, type Figures } from "../count/count.js";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { Body, CompareOp, ExpectStmt, ModelDecl } from "../syntax/ast.js";

type Quantities = Record<string, bigint>;

function quantities(f: Figures): Quantities {
  const q: Quantities = {
    params: f.params,
    weights: f.weights,
    biases: f.biases,
    buffers: f.buffers,
    trainable: f.trainable,
    non_trainable: f.nonTrainable,
    macs: f.macs,
    flops: f.flops,
  };
  return q;
}

function holds(actual: bigint, op: CompareOp, wanted: bigint | number): boolean {
  // Exact: a decimal right-hand side is compared without converting the count to a float.
  const cmp =
    typeof wanted === "bigint" ? (actual < wanted ? -1 : actual > wanted ? 1 : 0) : compareMixed(actual, wanted);
  switch (op) {
    case "==":
      return cmp === 0;
    case "!=":
      return cmp !== 0;
    case "<":
      return cmp < 0;
    case "<=":
      return cmp <= 0;
    case ">":
      return cmp > 0;
    case ">=":
      return cmp >= 0;
  }
}

function compareMixed(a: bigint, b: number): number {
  if (!Number.isFinite(b)) return b > 0 ? -1 : 1;
  const floor = BigInt(Math.floor(b));
  if (a < floor) return -1;
  if (a > floor) return 1;
  return Number.isInteger(b) ? 0 : -1;
}

function expectsIn(body: Body): ExpectStmt[] {
  return body.statements.filter((s): s is ExpectStmt => s.kind === "Expect");
}

function check(
  stmt: ExpectStmt,
  q: Quantities,
  context: AnalysisContext,
  where: string,
  breakdown: string,
): Diagnostic | undefined {
  const wanted = context.expectValues.get(stmt);
  const actual = q[stmt.quantity.name];
  if (wanted === undefined || actual === undefined) return undefined; // reported by the resolver
  if (holds(actual, stmt.op, wanted)) return undefined;
  const shown = typeof wanted === "bigint" ? grouped(wanted) : String(wanted);
  return diagnostic(
    "ExpectFailed",
    stmt.span,
    { quantity: stmt.quantity.name, op: stmt.op, expected: shown, where, actual: grouped(actual) },
    {
      notes: [breakdown],
    },
  );
}

function breakdownOf(q: Quantities): string {
  return `params ${grouped(q["params"]!)} = weights ${grouped(q["weights"]!)} + biases ${grouped(q["biases"]!)}; buffers ${grouped(q["buffers"]!)}; trainable ${grouped(q["trainable"]!)}`;
}

export function checkExpects(
  model: ModelDecl,
  figures: Figures,
  analysis: ModelAnalysis,
  context: AnalysisContext,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const q = quantities(figures);
  for (const stmt of expectsIn(model.body)) {
    const d = check(stmt, q, context, `\`${model.name.name}\``, breakdownOf(q));
    if (d) out.push(d);
  }
  // Block assertions hold for every call of the block; the first failing call is reported.
  const reported = new Set<ExpectStmt>();
  for (const { decl, node } of analysis.blockCalls) {
    for (const stmt of expectsIn(decl.body)) {
      if (reported.has(stmt)) continue;
      const bq = quantities(nodeFigures(node));
      const d = check(stmt, bq, context, `the call \`${node.name}\``, breakdownOf(bq));
      if (d) {
        reported.add(stmt);
        out.push({ ...d, labels: [{ span: node.span, message: `this call of \`${decl.name.name}\`` }] });
      }
    }
  }
  return out;
}
