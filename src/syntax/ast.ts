// The abstract syntax tree of a `.nn` file. Built from the Chevrotain CST by `build-ast.ts`; every node
// carries the span of the source it came from. The tree is plain data (no classes, no parent links) so it
// can be compared structurally (round-trip tests) and serialized.
import type { Span } from "../diagnostics/diagnostic.js";

export interface Name {
  readonly name: string;
  readonly span: Span;
}

// ── Files and top-level items ────────────────────────────────────────────────────────────────────────

export interface FileNode {
  readonly kind: "File";
  readonly items: readonly Item[];
  readonly span: Span;
}

export type Item = ImportDecl | ConstDecl | BlockDecl | ModelDecl;

/** `import { A, B } from "./x.nn"` (names) or `import "./x.nn"` (names = null: everything). */
export interface ImportDecl {
  readonly kind: "Import";
  readonly names: readonly Name[] | null;
  readonly path: StringLit;
  readonly span: Span;
}

/** `const d = 768` — at file level, or inside a body (visible in that body). */
export interface ConstDecl {
  readonly kind: "Const";
  readonly name: Name;
  readonly value: Expr;
  readonly span: Span;
}

/** `block Mlp(d, hidden = 4 * d) { … }` */
export interface BlockDecl {
  readonly kind: "Block";
  readonly name: Name;
  readonly params: readonly Param[];
  readonly body: Body;
  readonly span: Span;
}

export interface Param {
  readonly name: Name;
  readonly default: Expr | null;
  readonly span: Span;
}

/** `model Gpt2(tokens: token[ctx] of vocab) { … }` */
export interface ModelDecl {
  readonly kind: "Model";
  readonly name: Name;
  readonly inputs: readonly InputDecl[];
  readonly body: Body;
  readonly span: Span;
}

/** `image: f32[1, 28, 28]` */
export interface InputDecl {
  readonly name: Name;
  readonly type: TypeExpr;
  readonly span: Span;
}

/** `f32[3, 224, 224]`, `token[seq <= 1024] of vocab`. `dtype` is not validated by the parser. */
export interface TypeExpr {
  readonly kind: "Type";
  readonly dtype: Name;
  readonly dims: readonly Dim[];
  readonly vocab: Expr | null;
  readonly span: Span;
}

/** One dimension: an integer expression, or a symbolic name with an upper bound (`seq <= 1024`).
 *  A bare identifier (`seq`) is an `Ident` expression; the checker decides whether it names a constant or
 *  a symbolic dimension declared earlier. */
export interface Dim {
  readonly size: Expr;
  readonly max: Expr | null;
  readonly span: Span;
}

// ── Bodies and statements ────────────────────────────────────────────────────────────────────────────

export interface Body {
  readonly statements: readonly Statement[];
  readonly span: Span;
}

export type Statement = InputStmt | OutputStmt | ExpectStmt | LossStmt | ConstDecl | BindingStmt | FlowStmt;

/** `input x` / `input a, b` — names a block's inputs. */
export interface InputStmt {
  readonly kind: "Input";
  readonly names: readonly Name[];
  readonly span: Span;
}

/** `output y` / `output logits, probs`. */
export interface OutputStmt {
  readonly kind: "Output";
  readonly values: readonly Expr[];
  readonly span: Span;
}

export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=";

/** `expect params == 124_439_808` */
export interface ExpectStmt {
  readonly kind: "Expect";
  readonly quantity: Name;
  readonly op: CompareOp;
  readonly value: Expr;
  readonly span: Span;
}

/** `loss cross_entropy` / `loss binary_cross_entropy(logits = true)` — `call` is an Ident or Call. */
export interface LossStmt {
  readonly kind: "Loss";
  readonly call: Expr;
  readonly span: Span;
}

/** `gate = x -> dense(4) -> silu` / `q, k, v = x -> split(3)` */
export interface BindingStmt {
  readonly kind: "Binding";
  readonly targets: readonly Name[];
  readonly flow: Flow;
  readonly span: Span;
}

/** A flow on its own line: `dense(128) relu`, `gate * up -> dense(d)`. */
export interface FlowStmt {
  readonly kind: "FlowStmt";
  readonly flow: Flow;
  readonly span: Span;
}

/** Stages applied left to right. `arrows[i]` is true when `->` was written before `stages[i]` (always false
 *  for i = 0); it only affects printing. */
export interface Flow {
  readonly stages: readonly Stage[];
  readonly arrows: readonly boolean[];
  readonly span: Span;
}

export type Stage = ExprStage | RepeatStage;

/** One stage: a layer or block call (`dense(128)`, `relu`), a value (`x`, `gate * up`, `[a, b]`), or a
 *  container (`residual { … }`, `moe(8, 2) { … }`). `alias` is the `as name`, a name path whose `name` is
 *  its segments joined by `.` (`as output.LayerNorm`, `as 3`); `body` the `{ … }`. */
export interface ExprStage {
  readonly kind: "ExprStage";
  readonly expr: Expr;
  readonly alias: Name | null;
  readonly body: Body | null;
  readonly span: Span;
}

/** `repeat 12 as h { … }`; `repeat 5 as layer3 from 1 { … }` numbers the copies from `start` (null: from 0);
 *  `repeat 6 from 1 with i { … }` binds the copy's number to `index` inside the body; `repeat 12 as
 *  "encoder_layer_{i}" with i { … }` names each copy by the `template` (a string after `as`, in place of
 *  `alias`) with `{i}` replaced by the copy's number. */
export interface RepeatStage {
  readonly kind: "Repeat";
  readonly count: Expr;
  readonly alias: Name | null;
  readonly template: StringLit | null;
  readonly start: Expr | null;
  readonly index: Name | null;
  readonly body: Body;
  readonly span: Span;
}

// ── Expressions ──────────────────────────────────────────────────────────────────────────────────────

export type Expr =
  IntLit | DecimalLit | StringLit | BoolLit | Ident | Call | Binary | Unary | ListExpr | Member | BodyLit;

/** An integer literal; `raw` keeps the digits as written (with `_`) for the formatter. */
export interface IntLit {
  readonly kind: "Int";
  readonly value: bigint;
  readonly raw: string;
  readonly span: Span;
}

export interface DecimalLit {
  readonly kind: "Decimal";
  readonly value: number;
  readonly raw: string;
  readonly span: Span;
}

export interface StringLit {
  readonly kind: "String";
  readonly value: string;
  readonly span: Span;
}

export interface BoolLit {
  readonly kind: "Bool";
  readonly value: boolean;
  readonly span: Span;
}

export interface Ident {
  readonly kind: "Ident";
  readonly name: string;
  readonly span: Span;
}

/** `dense(128, bias = false)`: positional arguments first, then named ones (the checker enforces order). */
export interface Call {
  readonly kind: "Call";
  readonly callee: Name;
  readonly args: readonly Arg[];
  readonly span: Span;
}

export interface Arg {
  readonly name: Name | null;
  readonly value: Expr;
  readonly span: Span;
}

export type BinaryOp = "+" | "-" | "*" | "/" | "//" | "%";

export interface Binary {
  readonly kind: "Binary";
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}

export interface Unary {
  readonly kind: "Unary";
  readonly op: "-";
  readonly operand: Expr;
  readonly span: Span;
}

/** `[3, 3]` as a number list, or `[a, b]` as a tuple of values. */
export interface ListExpr {
  readonly kind: "List";
  readonly items: readonly Expr[];
  readonly span: Span;
}

/** `encoder.embed` — a dotted path (used by `tie`); a segment may be a keyword or an integer
 *  (`model.layers.0`), and the path may start with a keyword (an `Ident` named `model`). */
export interface Member {
  readonly kind: "Member";
  readonly object: Expr;
  readonly property: Name;
  readonly span: Span;
}

/** `{ conv2d(256, 1); batchnorm }` as an option value (`shortcut = …`). */
export interface BodyLit {
  readonly kind: "BodyLit";
  readonly body: Body;
  readonly span: Span;
}

/** Binding strength of binary operators, for the parser's documentation and the printer's parentheses. */
export const precedence: Record<BinaryOp, number> = { "+": 1, "-": 1, "*": 2, "/": 2, "//": 2, "%": 2 };
