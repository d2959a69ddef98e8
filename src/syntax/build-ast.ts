// The CST visitor that builds the AST. It runs only on a CST without parse errors, but stays defensive: a
// missing child yields a placeholder, never an exception. Number literals are validated here.
import type { CstElement, CstNode, IToken } from "chevrotain";
import type * as C from "../../grammar/cst.js";
import { parser } from "../../grammar/parser.js";
import { diagnostic, type Diagnostic, type Span } from "../diagnostics/diagnostic.js";
import type { SourceText } from "../diagnostics/source.js";
import type * as A from "./ast.js";

/** Longest operator chain (`a + b + …`, `- - x`, `a.b.c…`) accepted in one expression. Keeps the AST
 *  shallow enough for every later recursive pass. */
export const maxChain = 256;

const BaseVisitor = parser.getBaseCstVisitorConstructorWithDefaults();

function isToken(e: CstElement | undefined): e is IToken {
  return e !== undefined && (e as IToken).image !== undefined;
}

const none: never[] = [];

function startOf(e: CstElement): number {
  return isToken(e) ? e.startOffset : (e.location?.startOffset ?? 0);
}

/** One method per grammar rule, typed by the CST types generated from the parser (grammar/cst.ts): a rule
 *  renamed, added or removed in the grammar, or a child read under a wrong name, is a compile error here.
 *  Chevrotain keys children by rule or token name; a child list is absent when the rule matched none. */
export class AstBuilder extends BaseVisitor implements C.NnCstVisitor<CstNode, unknown> {
  readonly diagnostics: Diagnostic[] = [];

  constructor(
    private readonly fileName: string,
    private readonly source: SourceText,
  ) {
    super();
  }

  /** Chevrotain passes a visitor method `(children, param)`; the node itself is passed as `param` so that
   *  every method can read its location. */
  override visit(node: CstNode | CstNode[] | undefined): unknown {
    const n = Array.isArray(node) ? node[0] : node;
    return n === undefined ? undefined : super.visit(n, n);
  }

  // ── spans ──────────────────────────────────────────────────────────────────────────────────────────

  tokenSpan(token: IToken): Span {
    const ok = Number.isFinite(token.startOffset) && token.startOffset >= 0;
    if (!ok) return this.emptySpan();
    return this.source.span(token.startOffset, (token.endOffset ?? token.startOffset) + 1);
  }

  /** The lexer and parser track only offsets (cheaper); lines and columns come from the source. */
  nodeSpan(node: CstNode): Span {
    const l = node.location;
    if (!l || !Number.isFinite(l.startOffset) || !Number.isFinite(l.endOffset ?? NaN)) return this.emptySpan();
    return this.source.span(l.startOffset, (l.endOffset ?? l.startOffset) + 1);
  }

  emptySpan(): Span {
    return { file: this.fileName, start: 0, end: 0, line: 1, column: 1, endLine: 1, endColumn: 1 };
  }

  span(a: Span, b: Span): Span {
    return { ...a, end: b.end, endLine: b.endLine, endColumn: b.endColumn };
  }

  name(token: IToken | undefined): A.Name {
    if (!token) return { name: "<missing>", span: this.emptySpan() };
    return { name: token.image, span: this.tokenSpan(token) };
  }

  // ── top level ──────────────────────────────────────────────────────────────────────────────────────

  file(ctx: C.FileCstChildren, node: CstNode): A.FileNode {
    const items = (ctx.item ?? none).map((n) => this.visit(n) as A.Item);
    const span = items.length > 0 ? this.span(items[0]!.span, items[items.length - 1]!.span) : this.nodeSpan(node);
    return { kind: "File", items, span };
  }

  item(ctx: C.ItemCstChildren): A.Item {
    const child = ctx.importDecl?.[0] ?? ctx.constDecl?.[0] ?? ctx.blockDecl?.[0] ?? ctx.modelDecl?.[0];
    return this.visit(child!) as A.Item;
  }

  importDecl(ctx: C.ImportDeclCstChildren, node: CstNode): A.ImportDecl {
    const path = ctx.StringLiteral?.[0];
    const hasBraces = (ctx.LCurly?.length ?? 0) > 0;
    return {
      kind: "Import",
      names: hasBraces ? (ctx.Identifier ?? none).map((tk) => this.name(tk)) : null,
      path: this.stringLit(path),
      span: this.nodeSpan(node),
    };
  }

  constDecl(ctx: C.ConstDeclCstChildren, node: CstNode): A.ConstDecl {
    return {
      kind: "Const",
      name: this.name(ctx.Identifier?.[0]),
      value: this.expr(ctx.expression?.[0]),
      span: this.nodeSpan(node),
    };
  }

  blockDecl(ctx: C.BlockDeclCstChildren, node: CstNode): A.BlockDecl {
    return {
      kind: "Block",
      name: this.name(ctx.Identifier?.[0]),
      params: (ctx.param ?? none).map((n) => this.visit(n) as A.Param),
      body: this.bodyOf(ctx.body?.[0]),
      span: this.nodeSpan(node),
    };
  }

  param(ctx: C.ParamCstChildren, node: CstNode): A.Param {
    const value = ctx.expression?.[0];
    return {
      name: this.name(ctx.Identifier?.[0]),
      default: value ? this.expr(value) : null,
      span: this.nodeSpan(node),
    };
  }

  modelDecl(ctx: C.ModelDeclCstChildren, node: CstNode): A.ModelDecl {
    return {
      kind: "Model",
      name: this.name(ctx.Identifier?.[0]),
      inputs: (ctx.inputDecl ?? none).map((n) => this.visit(n) as A.InputDecl),
      body: this.bodyOf(ctx.body?.[0]),
      span: this.nodeSpan(node),
    };
  }

  inputDecl(ctx: C.InputDeclCstChildren, node: CstNode): A.InputDecl {
    return {
      name: this.name(ctx.Identifier?.[0]),
      type: this.visit(ctx.typeExpr?.[0]) as A.TypeExpr,
      span: this.nodeSpan(node),
    };
  }

  typeExpr(ctx: C.TypeExprCstChildren, node: CstNode): A.TypeExpr {
    const vocab = ctx.expression?.[0];
    return {
      kind: "Type",
      dtype: this.name(ctx.Identifier?.[0]),
      dims: (ctx.dim ?? none).map((n) => this.visit(n) as A.Dim),
      vocab: vocab ? this.expr(vocab) : null,
      span: this.nodeSpan(node),
    };
  }

  dim(ctx: C.DimCstChildren, node: CstNode): A.Dim {
    const [size, max] = ctx.expression ?? none;
    return { size: this.expr(size), max: max ? this.expr(max) : null, span: this.nodeSpan(node) };
  }

  // ── bodies and statements ──────────────────────────────────────────────────────────────────────────

  bodyOf(node: CstNode | undefined): A.Body {
    if (!node) return { statements: [], span: this.emptySpan() };
    return this.visit(node) as A.Body;
  }

  body(ctx: C.BodyCstChildren, node: CstNode): A.Body {
    return {
      statements: (ctx.statement ?? none).map((n) => this.visit(n) as A.Statement),
      span: this.nodeSpan(node),
    };
  }

  statement(ctx: C.StatementCstChildren): A.Statement {
    // Every alternative is a sub-rule; a lone flow becomes a FlowStmt.
    const flowNode = ctx.flow?.[0];
    if (flowNode) return this.flowStmt(this.visit(flowNode) as A.Flow);
    const child =
      ctx.binding?.[0] ??
      ctx.inputStmt?.[0] ??
      ctx.outputStmt?.[0] ??
      ctx.expectStmt?.[0] ??
      ctx.lossStmt?.[0] ??
      ctx.constDecl?.[0];
    if (child) return this.visit(child) as A.Statement;
    return this.flowStmt({ stages: [], arrows: [], span: this.emptySpan() });
  }

  inputStmt(ctx: C.InputStmtCstChildren, node: CstNode): A.InputStmt {
    return { kind: "Input", names: (ctx.Identifier ?? none).map((tk) => this.name(tk)), span: this.nodeSpan(node) };
  }

  outputStmt(ctx: C.OutputStmtCstChildren, node: CstNode): A.OutputStmt {
    return { kind: "Output", values: (ctx.expression ?? none).map((n) => this.expr(n)), span: this.nodeSpan(node) };
  }

  expectStmt(ctx: C.ExpectStmtCstChildren, node: CstNode): A.ExpectStmt {
    const opNode = ctx.compareOp?.[0];
    const opToken = opNode ? Object.values(opNode.children).flat().find(isToken) : undefined;
    return {
      kind: "Expect",
      quantity: this.name(ctx.Identifier?.[0]),
      op: (opToken?.image ?? "==") as A.CompareOp,
      value: this.expr(ctx.expression?.[0]),
      span: this.nodeSpan(node),
    };
  }

  compareOp(_ctx: C.CompareOpCstChildren): undefined {
    return undefined;
  }

  lossStmt(ctx: C.LossStmtCstChildren, node: CstNode): A.LossStmt {
    return { kind: "Loss", call: this.expr(ctx.expression?.[0]), span: this.nodeSpan(node) };
  }

  binding(ctx: C.BindingCstChildren, node: CstNode): A.BindingStmt {
    return {
      kind: "Binding",
      targets: (ctx.Identifier ?? none).map((tk) => this.name(tk)),
      flow: this.visit(ctx.flow?.[0]) as A.Flow,
      span: this.nodeSpan(node),
    };
  }

  flow(ctx: C.FlowCstChildren, node: CstNode): A.Flow {
    const stageNodes = ctx.stage ?? none;
    const arrows = (ctx.Arrow ?? none).map((tk) => tk.startOffset);
    const stages = stageNodes.map((n) => this.visit(n) as A.Stage);
    // Stages and arrows are both in source order: one pass (a scan of every arrow per stage was quadratic,
    // about 30 s for a flow of 120,000 stages with an arrow before every third).
    let next = 0;
    const flags = stageNodes.map((n, i) => {
      if (i === 0) return false;
      const prevStart = startOf(stageNodes[i - 1]!);
      const start = startOf(n);
      while (next < arrows.length && arrows[next]! <= prevStart) next++;
      return next < arrows.length && arrows[next]! < start;
    });
    return { stages, arrows: flags, span: this.nodeSpan(node) };
  }

  flowStmt(flow: A.Flow): A.FlowStmt {
    return { kind: "FlowStmt", flow, span: flow.span };
  }

  stage(ctx: C.StageCstChildren, node: CstNode): A.Stage {
    const pathNode = ctx.namePath?.[0];
    const alias = pathNode ? (this.visit(pathNode) as A.Name) : null;
    const bodyNode = ctx.body?.[0];
    const expr = this.expr(ctx.expression?.[0]);
    if ((ctx.Repeat?.length ?? 0) > 0) {
      const startNode = ctx.From ? ctx.expression?.[1] : undefined;
      const start = ctx.From ? this.expr(startNode) : null;
      const templateToken = ctx.StringLiteral?.[0];
      const indexToken = ctx.With ? ctx.Identifier?.[0] : undefined;
      return {
        kind: "Repeat",
        count: expr,
        alias,
        template: templateToken ? this.stringLit(templateToken) : null,
        start,
        index: indexToken ? this.name(indexToken) : null,
        body: this.bodyOf(bodyNode),
        span: this.nodeSpan(node),
      };
    }
    return { kind: "ExprStage", expr, alias, body: bodyNode ? this.bodyOf(bodyNode) : null, span: this.nodeSpan(node) };
  }

  /** `output.LayerNorm`, `conv.0.0`, `3`: one name whose text is the segments joined by `.`. */
  namePath(ctx: C.NamePathCstChildren, node: CstNode): A.Name {
    const segments = (ctx.segment ?? none).map((n) => this.visit(n) as A.Name);
    if (segments.length > maxChain) {
      this.diagnostics.push(diagnostic("NestingTooDeep", segments[maxChain]!.span, ["path", { max: maxChain }]));
    }
    return { name: segments.map((s) => s.name).join("."), span: this.nodeSpan(node) };
  }

  /** A name, a keyword used as a name, or an integer (written as PyTorch writes it: `07` is `7`). */
  segment(ctx: C.SegmentCstChildren, node: CstNode): A.Name {
    const int = ctx.Integer?.[0];
    if (int) return { name: String(this.intLit(int).value), span: this.tokenSpan(int) };
    const word = ctx.Word?.[0];
    return word ? this.name(word) : { name: "<missing>", span: this.nodeSpan(node) };
  }

  /** `model.embed_tokens` after `tie =`: a path whose first segment is a keyword. */
  keywordPath(ctx: C.KeywordPathCstChildren): A.Expr {
    const first = this.name(ctx.NameKeyword[0]);
    let value: A.Expr = { kind: "Ident", name: first.name, span: first.span };
    const segments = ctx.segment ?? none;
    if (segments.length > maxChain) {
      const at = this.visit(segments[maxChain]!) as A.Name;
      this.diagnostics.push(diagnostic("NestingTooDeep", at.span, ["path", { max: maxChain }]));
      return value;
    }
    for (const n of segments) {
      const property = this.visit(n) as A.Name;
      value = { kind: "Member", object: value, property, span: this.span(value.span, property.span) };
    }
    return value;
  }

  // ── expressions ────────────────────────────────────────────────────────────────────────────────────

  expr(node: CstNode | undefined): A.Expr {
    if (!node) return { kind: "Ident", name: "<missing>", span: this.emptySpan() };
    return this.visit(node) as A.Expr;
  }

  /** `operand (op operand)*` with `* / // %` binding tighter than `+ -`, both left-associative. The
   *  operators are recovered in source order from their token lists. */
  expression(ctx: C.ExpressionCstChildren): A.Expr {
    const operands = ctx.operand ?? none;
    const ops: IToken[] = [];
    for (const list of [ctx.Plus, ctx.Minus, ctx.Star, ctx.SlashSlash, ctx.Slash, ctx.Percent])
      for (const tk of list ?? none) ops.push(tk);
    ops.sort((a, b) => a.startOffset - b.startOffset);
    const first = this.expr(operands[0]);
    if (ops.length > maxChain) {
      this.diagnostics.push(
        diagnostic("NestingTooDeep", this.tokenSpan(ops[maxChain]!), ["operators", { max: maxChain }], {
          help: "split it with `const` definitions",
        }),
      );
      return first;
    }
    const binary = (op: IToken, left: A.Expr, right: A.Expr): A.Expr => ({
      kind: "Binary",
      op: op.image as A.BinaryOp,
      left,
      right,
      span: this.span(left.span, right.span),
    });
    // Multiplicative runs fold into terms; the terms then fold with `+` and `-`.
    const terms: A.Expr[] = [];
    const additive: IToken[] = [];
    let current = first;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const right = this.expr(operands[i + 1]);
      if (op.image === "+" || op.image === "-") {
        terms.push(current);
        additive.push(op);
        current = right;
      } else current = binary(op, current, right);
    }
    terms.push(current);
    let result = terms[0]!;
    for (let i = 0; i < additive.length; i++) result = binary(additive[i]!, result, terms[i + 1]!);
    return result;
  }

  /** `-`* atom (`.` name)*: members bind tighter than unary minus (`-a.b` is `-(a.b)`). */
  operand(ctx: C.OperandCstChildren, node: CstNode): A.Expr {
    const minus = ctx.Minus ?? none;
    const names = ctx.segment ?? none;
    if (minus.length > maxChain || names.length > maxChain) {
      this.diagnostics.push(
        diagnostic(
          "NestingTooDeep",
          minus.length > maxChain ? this.tokenSpan(minus[0]!) : (this.visit(names[0]!) as A.Name).span,
          minus.length > maxChain ? ["unary", { max: maxChain }] : ["path", { max: maxChain }],
        ),
      );
      return { kind: "Ident", name: "<missing>", span: this.nodeSpan(node) };
    }
    let value = this.atom(ctx, node);
    for (const n of names) {
      const property = this.visit(n) as A.Name;
      value = { kind: "Member", object: value, property, span: this.span(value.span, property.span) };
    }
    for (let i = minus.length - 1; i >= 0; i--) {
      value = { kind: "Unary", op: "-", operand: value, span: this.span(this.tokenSpan(minus[i]!), value.span) };
    }
    return value;
  }

  private atom(ctx: C.OperandCstChildren, node: CstNode): A.Expr {
    const int = ctx.Integer?.[0];
    if (int) return this.intLit(int);
    const dec = ctx.Decimal?.[0];
    if (dec) return this.decimalLit(dec);
    const str = ctx.StringLiteral?.[0];
    if (str) return this.stringLit(str);
    const t = ctx.True?.[0] ?? ctx.False?.[0];
    if (t) return { kind: "Bool", value: t.image === "true", span: this.tokenSpan(t) };
    const call = ctx.call?.[0];
    if (call) return this.visit(call) as A.Expr;
    const inner = ctx.expression?.[0];
    if (inner) return this.expr(inner); // parentheses leave no node: the printer re-derives them
    const list = ctx.list?.[0];
    if (list) return this.visit(list) as A.Expr;
    const body = ctx.body?.[0];
    if (body) return { kind: "BodyLit", body: this.bodyOf(body), span: this.nodeSpan(body) };
    return { kind: "Ident", name: "<missing>", span: this.nodeSpan(node) };
  }

  call(ctx: C.CallCstChildren, node: CstNode): A.Expr {
    const callee = this.name(ctx.Identifier?.[0]);
    if ((ctx.LParen?.length ?? 0) === 0) return { kind: "Ident", name: callee.name, span: callee.span };
    return {
      kind: "Call",
      callee,
      args: (ctx.arg ?? none).map((n) => this.visit(n) as A.Arg),
      span: this.nodeSpan(node),
    };
  }

  arg(ctx: C.ArgCstChildren, node: CstNode): A.Arg {
    const nameToken = ctx.Identifier?.[0];
    return {
      name: nameToken ? this.name(nameToken) : null,
      value: ctx.keywordPath?.[0] ? (this.visit(ctx.keywordPath[0]) as A.Expr) : this.expr(ctx.expression?.[0]),
      span: this.nodeSpan(node),
    };
  }

  list(ctx: C.ListCstChildren, node: CstNode): A.ListExpr {
    return { kind: "List", items: (ctx.expression ?? none).map((n) => this.expr(n)), span: this.nodeSpan(node) };
  }

  // ── literals ───────────────────────────────────────────────────────────────────────────────────────

  intLit(token: IToken): A.IntLit {
    const span = this.tokenSpan(token);
    const raw = token.image;
    if (!/^\d+(_\d+)*$/.test(raw)) {
      this.diagnostics.push(
        diagnostic(
          "MalformedNumber",
          span,
          { text: raw },
          {
            help: "`_` may only stand between two digits, as in `50_257`",
          },
        ),
      );
    }
    return { kind: "Int", value: BigInt(raw.replace(/_/g, "") || "0"), raw, span };
  }

  decimalLit(token: IToken): A.DecimalLit {
    const span = this.tokenSpan(token);
    const raw = token.image;
    if (!/^\d+(_\d+)*(\.\d+(_\d+)*)?([eE][+-]?\d+)?$/.test(raw)) {
      this.diagnostics.push(
        diagnostic(
          "MalformedNumber",
          span,
          { text: raw },
          {
            help: "`_` may only stand between two digits, as in `1_000.5`",
          },
        ),
      );
    }
    return { kind: "Decimal", value: Number(raw.replace(/_/g, "")), raw, span };
  }

  stringLit(token: IToken | undefined): A.StringLit {
    if (!token) return { kind: "String", value: "", span: this.emptySpan() };
    const span = this.tokenSpan(token);
    const inner = token.image.slice(1, -1);
    let value = "";
    for (let i = 0; i < inner.length; i++) {
      const ch = inner[i]!;
      if (ch !== "\\") {
        value += ch;
        continue;
      }
      const next = inner[i + 1] ?? "";
      if (next === '"' || next === "\\") value += next;
      else {
        this.diagnostics.push(
          diagnostic(
            "InvalidStringEscape",
            span,
            { char: next },
            {
              help: 'only `\\"` and `\\\\` are escapes',
            },
          ),
        );
        value += next;
      }
      i++;
    }
    return { kind: "String", value, span };
  }
}
