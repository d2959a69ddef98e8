// What the resolver is given (names imported from other files) and what it returns (`ResolvedFile`), the
// types later stages read. The resolver itself starts in resolve.ts.
import type { Span } from "../diagnostics/diagnostic.js";
import type {
  BlockDecl,
  Call,
  ConstDecl,
  Expr,
  ExpectStmt,
  FileNode,
  Ident,
  LossStmt,
  ModelDecl,
  Name,
  RepeatStage,
} from "../syntax/ast.js";
import type { LayerArgs, LayerEntry, LossEntry } from "../vocabulary/layers.js";

/** A name imported from another file, as the import stage hands it over. */
export type ImportedSymbol =
  | {
      readonly kind: "const";
      /** Absent when the other file could not evaluate it (reported there). */
      readonly value?: bigint;
      /** The name in this file's `import { … }`, for labels. */
      readonly span?: Span;
    }
  | {
      readonly kind: "block";
      readonly decl: BlockDecl;
      /** The file that defines it, so later stages can find that file's resolution. */
      readonly from?: string;
      readonly span?: Span;
    };

export interface BlockInfo {
  readonly name: string;
  readonly decl: BlockDecl;
  readonly imported: boolean;
  /** For an imported block, the file that defines it (when the import stage said). */
  readonly from?: string;
}

/** What a stage's callee (`dense(128)`, `relu`, `Mlp(768)`) resolved to, with its arguments by name. */
export type CallTarget =
  | { readonly kind: "layer"; readonly entry: LayerEntry; readonly args: LayerArgs }
  | { readonly kind: "block"; readonly block: BlockInfo; readonly args: LayerArgs }
  /** A name imported without its definition at hand (`resolve` called without `imported`). */
  | { readonly kind: "opaque"; readonly name: string; readonly args: LayerArgs };

/** One dimension of a model input. */
export type ResolvedDim =
  | { readonly kind: "int"; readonly value: bigint }
  /** `seq <= 1024` declares `seq` (max known unless broken); a later bare `seq` refers to it. */
  | { readonly kind: "symbol"; readonly name: string; readonly max?: bigint }
  /** An expression over symbolic dimensions (`seq * 2`). */
  | { readonly kind: "expr"; readonly expr: Expr }
  | { readonly kind: "invalid" };

export interface ResolvedInput {
  readonly name: Name;
  /** `f32`, `f64` or `token`; absent when unknown (reported). */
  readonly dtype?: string;
  readonly dims: readonly ResolvedDim[];
  readonly vocab?: bigint;
}

export interface ResolvedLoss {
  readonly stmt: LossStmt;
  readonly entry: LossEntry;
  readonly args: LayerArgs;
}

export interface ModelInfo {
  readonly name: string;
  readonly decl: ModelDecl;
  readonly inputs: readonly ResolvedInput[];
  readonly loss?: ResolvedLoss;
}

export interface ResolvedFile {
  readonly file: FileNode;
  /** File-level constants with a known value, local and imported. */
  readonly constants: ReadonlyMap<string, bigint>;
  /** Blocks by name, local and imported. */
  readonly blocks: ReadonlyMap<string, BlockInfo>;
  readonly models: ReadonlyMap<string, ModelInfo>;
  /** Every layer and block call in every body (shortcut bodies included), keyed by its AST node. */
  readonly calls: ReadonlyMap<Call | Ident, CallTarget>;
  /** Every use of a value name in a flow or `output`, to the name that binds it (an input, an `input`
   *  statement or a binding target). */
  readonly values: ReadonlyMap<Ident, Name>;
  /** `const` definitions inside bodies, when their value is known (not symbolic). */
  readonly bodyConstants: ReadonlyMap<ConstDecl, bigint>;
  /** `repeat` counts, when known. */
  readonly repeats: ReadonlyMap<RepeatStage, bigint>;
  /** The right-hand side of each `expect`, when known. */
  readonly expects: ReadonlyMap<ExpectStmt, bigint | number>;
}
