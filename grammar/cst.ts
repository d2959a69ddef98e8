// The concrete syntax tree's types, generated from grammar/parser.ts by `npm run grammar` (Chevrotain's
// generateCstDts). Do not edit: test/grammar-docs.test.ts checks that this file is current.
import type { CstNode, ICstVisitor, IToken } from "chevrotain";

export interface FileCstNode extends CstNode {
  name: "file";
  children: FileCstChildren;
}

export type FileCstChildren = {
  Separator?: IToken[];
  item?: ItemCstNode[];
};

export interface ItemCstNode extends CstNode {
  name: "item";
  children: ItemCstChildren;
}

export type ItemCstChildren = {
  importDecl?: ImportDeclCstNode[];
  constDecl?: ConstDeclCstNode[];
  blockDecl?: BlockDeclCstNode[];
  modelDecl?: ModelDeclCstNode[];
};

export interface ImportDeclCstNode extends CstNode {
  name: "importDecl";
  children: ImportDeclCstChildren;
}

export type ImportDeclCstChildren = {
  Import: IToken[];
  LCurly?: IToken[];
  Identifier?: IToken[];
  Comma?: IToken[];
  RCurly?: IToken[];
  From?: IToken[];
  StringLiteral?: IToken[];
};

export interface ConstDeclCstNode extends CstNode {
  name: "constDecl";
  children: ConstDeclCstChildren;
}

export type ConstDeclCstChildren = {
  Const: IToken[];
  Identifier: IToken[];
  Equals: IToken[];
  expression: ExpressionCstNode[];
};

export interface BlockDeclCstNode extends CstNode {
  name: "blockDecl";
  children: BlockDeclCstChildren;
}

export type BlockDeclCstChildren = {
  Block: IToken[];
  Identifier: IToken[];
  LParen?: IToken[];
  param?: ParamCstNode[];
  Comma?: IToken[];
  RParen?: IToken[];
  body: BodyCstNode[];
};

export interface ParamCstNode extends CstNode {
  name: "param";
  children: ParamCstChildren;
}

export type ParamCstChildren = {
  Identifier: IToken[];
  Equals?: IToken[];
  expression?: ExpressionCstNode[];
};

export interface ModelDeclCstNode extends CstNode {
  name: "modelDecl";
  children: ModelDeclCstChildren;
}

export type ModelDeclCstChildren = {
  Model: IToken[];
  Identifier: IToken[];
  LParen: IToken[];
  inputDecl?: InputDeclCstNode[];
  Comma?: IToken[];
  RParen: IToken[];
  body: BodyCstNode[];
};

export interface InputDeclCstNode extends CstNode {
  name: "inputDecl";
  children: InputDeclCstChildren;
}

export type InputDeclCstChildren = {
  Identifier: IToken[];
  Colon: IToken[];
  typeExpr: TypeExprCstNode[];
};

export interface TypeExprCstNode extends CstNode {
  name: "typeExpr";
  children: TypeExprCstChildren;
}

export type TypeExprCstChildren = {
  Identifier: IToken[];
  LBracket: IToken[];
  dim?: DimCstNode[];
  Comma?: IToken[];
  RBracket: IToken[];
  Of?: IToken[];
  expression?: ExpressionCstNode[];
};

export interface DimCstNode extends CstNode {
  name: "dim";
  children: DimCstChildren;
}

export type DimCstChildren = {
  expression: ExpressionCstNode[];
  LessEq?: IToken[];
};

export interface BodyCstNode extends CstNode {
  name: "body";
  children: BodyCstChildren;
}

export type BodyCstChildren = {
  LCurly: IToken[];
  Separator?: IToken[];
  statement?: StatementCstNode[];
  RCurly: IToken[];
};

export interface StatementCstNode extends CstNode {
  name: "statement";
  children: StatementCstChildren;
}

export type StatementCstChildren = {
  inputStmt?: InputStmtCstNode[];
  outputStmt?: OutputStmtCstNode[];
  expectStmt?: ExpectStmtCstNode[];
  lossStmt?: LossStmtCstNode[];
  constDecl?: ConstDeclCstNode[];
  binding?: BindingCstNode[];
  flow?: FlowCstNode[];
};

export interface InputStmtCstNode extends CstNode {
  name: "inputStmt";
  children: InputStmtCstChildren;
}

export type InputStmtCstChildren = {
  Input: IToken[];
  Identifier: IToken[];
  Comma?: IToken[];
};

export interface OutputStmtCstNode extends CstNode {
  name: "outputStmt";
  children: OutputStmtCstChildren;
}

export type OutputStmtCstChildren = {
  Output: IToken[];
  expression: ExpressionCstNode[];
  Comma?: IToken[];
};

export interface ExpectStmtCstNode extends CstNode {
  name: "expectStmt";
  children: ExpectStmtCstChildren;
}

export type ExpectStmtCstChildren = {
  Expect: IToken[];
  Identifier: IToken[];
  compareOp: CompareOpCstNode[];
  expression: ExpressionCstNode[];
};

export interface CompareOpCstNode extends CstNode {
  name: "compareOp";
  children: CompareOpCstChildren;
}

export type CompareOpCstChildren = {
  EqEq?: IToken[];
  NotEq?: IToken[];
  LessEq?: IToken[];
  Less?: IToken[];
  GreaterEq?: IToken[];
  Greater?: IToken[];
};

export interface LossStmtCstNode extends CstNode {
  name: "lossStmt";
  children: LossStmtCstChildren;
}

export type LossStmtCstChildren = {
  Loss: IToken[];
  expression: ExpressionCstNode[];
};

export interface BindingCstNode extends CstNode {
  name: "binding";
  children: BindingCstChildren;
}

export type BindingCstChildren = {
  Identifier: IToken[];
  Comma?: IToken[];
  Equals: IToken[];
  flow: FlowCstNode[];
};

export interface FlowCstNode extends CstNode {
  name: "flow";
  children: FlowCstChildren;
}

export type FlowCstChildren = {
  stage: StageCstNode[];
  Arrow?: IToken[];
};

export interface StageCstNode extends CstNode {
  name: "stage";
  children: StageCstChildren;
}

export type StageCstChildren = {
  Repeat?: IToken[];
  expression?: ExpressionCstNode[];
  As?: IToken[];
  namePath?: NamePathCstNode[];
  StringLiteral?: IToken[];
  From?: IToken[];
  With?: IToken[];
  Identifier?: IToken[];
  body?: BodyCstNode[];
};

export interface NamePathCstNode extends CstNode {
  name: "namePath";
  children: NamePathCstChildren;
}

export type NamePathCstChildren = {
  segment: SegmentCstNode[];
  Dot?: IToken[];
};

export interface SegmentCstNode extends CstNode {
  name: "segment";
  children: SegmentCstChildren;
}

export type SegmentCstChildren = {
  Word?: IToken[];
  Integer?: IToken[];
};

export interface ExpressionCstNode extends CstNode {
  name: "expression";
  children: ExpressionCstChildren;
}

export type ExpressionCstChildren = {
  operand: OperandCstNode[];
  Plus?: IToken[];
  Minus?: IToken[];
  Star?: IToken[];
  SlashSlash?: IToken[];
  Slash?: IToken[];
  Percent?: IToken[];
};

export interface OperandCstNode extends CstNode {
  name: "operand";
  children: OperandCstChildren;
}

export type OperandCstChildren = {
  Minus?: IToken[];
  Integer?: IToken[];
  Decimal?: IToken[];
  StringLiteral?: IToken[];
  True?: IToken[];
  False?: IToken[];
  call?: CallCstNode[];
  LParen?: IToken[];
  expression?: ExpressionCstNode[];
  RParen?: IToken[];
  list?: ListCstNode[];
  body?: BodyCstNode[];
  Dot?: IToken[];
  segment?: SegmentCstNode[];
};

export interface CallCstNode extends CstNode {
  name: "call";
  children: CallCstChildren;
}

export type CallCstChildren = {
  Identifier: IToken[];
  LParen?: IToken[];
  arg?: ArgCstNode[];
  Comma?: IToken[];
  RParen?: IToken[];
};

export interface ArgCstNode extends CstNode {
  name: "arg";
  children: ArgCstChildren;
}

export type ArgCstChildren = {
  Identifier?: IToken[];
  Equals?: IToken[];
  keywordPath?: KeywordPathCstNode[];
  expression?: ExpressionCstNode[];
};

export interface KeywordPathCstNode extends CstNode {
  name: "keywordPath";
  children: KeywordPathCstChildren;
}

export type KeywordPathCstChildren = {
  NameKeyword: IToken[];
  Dot?: IToken[];
  segment?: SegmentCstNode[];
};

export interface ListCstNode extends CstNode {
  name: "list";
  children: ListCstChildren;
}

export type ListCstChildren = {
  LBracket: IToken[];
  expression?: ExpressionCstNode[];
  Comma?: IToken[];
  RBracket: IToken[];
};

export interface NnCstVisitor<IN, OUT> extends ICstVisitor<IN, OUT> {
  file(children: FileCstChildren, param?: IN): OUT;
  item(children: ItemCstChildren, param?: IN): OUT;
  importDecl(children: ImportDeclCstChildren, param?: IN): OUT;
  constDecl(children: ConstDeclCstChildren, param?: IN): OUT;
  blockDecl(children: BlockDeclCstChildren, param?: IN): OUT;
  param(children: ParamCstChildren, param?: IN): OUT;
  modelDecl(children: ModelDeclCstChildren, param?: IN): OUT;
  inputDecl(children: InputDeclCstChildren, param?: IN): OUT;
  typeExpr(children: TypeExprCstChildren, param?: IN): OUT;
  dim(children: DimCstChildren, param?: IN): OUT;
  body(children: BodyCstChildren, param?: IN): OUT;
  statement(children: StatementCstChildren, param?: IN): OUT;
  inputStmt(children: InputStmtCstChildren, param?: IN): OUT;
  outputStmt(children: OutputStmtCstChildren, param?: IN): OUT;
  expectStmt(children: ExpectStmtCstChildren, param?: IN): OUT;
  compareOp(children: CompareOpCstChildren, param?: IN): OUT;
  lossStmt(children: LossStmtCstChildren, param?: IN): OUT;
  binding(children: BindingCstChildren, param?: IN): OUT;
  flow(children: FlowCstChildren, param?: IN): OUT;
  stage(children: StageCstChildren, param?: IN): OUT;
  namePath(children: NamePathCstChildren, param?: IN): OUT;
  segment(children: SegmentCstChildren, param?: IN): OUT;
  expression(children: ExpressionCstChildren, param?: IN): OUT;
  operand(children: OperandCstChildren, param?: IN): OUT;
  call(children: CallCstChildren, param?: IN): OUT;
  arg(children: ArgCstChildren, param?: IN): OUT;
  keywordPath(children: KeywordPathCstChildren, param?: IN): OUT;
  list(children: ListCstChildren, param?: IN): OUT;
}
