// Name resolution and the checks that need no shapes: file-level names, constants (exact integers), block
// parameters, the callee of every stage, value names, `as` names, block recursion, the arguments of every
// call (against the vocabulary table or the block's parameters) and the placement of statements. Reports
// every problem in one run and never throws; later stages read the `ResolvedFile` it returns.
import {
  diagnostic,
  sortDiagnostics,
  type Diagnostic,
  type Label,
  type Result,
  type Span,
} from "../diagnostics/diagnostic.js";
import { didYouMean, didYouMeanHelp } from "../diagnostics/suggest.js";
import type {
  Arg,
  BlockDecl,
  Body,
  Call,
  ConstDecl,
  Expr,
  ExpectStmt,
  FileNode,
  Flow,
  Ident,
  InputStmt,
  Item,
  LossStmt,
  ModelDecl,
  Name,
  RepeatStage,
  ExprStage,
  Statement,
  TypeExpr,
} from "../syntax/ast.js";
import {
  describeType,
  inRange,
  rangeProblem,
  expectQuantities,
  expectQuantityNames,
  inputDtypeNames,
  inputDtypes,
  layerKinds,
  lossKinds,
  losses,
  universalOptions,
  type ArgType,
  type ArgValue,
  type BoundArg,
  type LayerArgs,
  type LayerEntry,
  type LossEntry,
  type ParamSpec,
} from "../vocabulary/layers.js";
import { describeNonNumber, evaluate, intValue, invalid, namesIn, symbolic, type NumValue } from "./evaluate.js";

// ── What the resolver is given and what it returns ───────────────────────────────────────────────────

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

/** Checks `file`; `imported` holds the names its imports bring in. Without `imported`, names listed in
 *  `import { … }` are opaque (any use is accepted) and a whole-file `import "…"` makes every unknown
 *  layer and constant name acceptable. Never throws. */
export function resolve(file: FileNode, imported?: ReadonlyMap<string, ImportedSymbol>): Result<ResolvedFile> {
  return new Resolver(file, imported).run();
}

// ── Scopes ───────────────────────────────────────────────────────────────────────────────────────────

/** A name usable in integer expressions. */
type NumEntry =
  | {
      kind: "const";
      decl: ConstDecl;
      scope: Scope;
      dims: boolean;
      state: "pending" | "evaluating" | "done";
      value: NumValue;
    }
  | { kind: "importedConst"; value: bigint | undefined }
  | { kind: "param"; name: Name }
  /** A block parameter not yet in scope (a default refers to a later parameter). */
  | { kind: "laterParam"; name: Name }
  | { kind: "dim"; name: Name }
  | { kind: "opaque" };

type ConstEntry = Extract<NumEntry, { kind: "const" }>;

/** One constant on the path of `evaluateConst`: the reference that led to it, and its own references. */
interface ConstFrame {
  readonly entry: ConstEntry;
  readonly via: Ident | undefined;
  readonly deps: readonly Ident[];
  next: number;
}

class Scope {
  readonly entries = new Map<string, NumEntry>();
  constructor(readonly parent?: Scope) {}

  find(name: string): NumEntry | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      const entry = s.entries.get(name);
      if (entry) return entry;
    }
    return undefined;
  }

  /** Names usable here, for suggestions. */
  names(dims: boolean): string[] {
    const out = new Set<string>();
    for (let s: Scope | undefined = this; s; s = s.parent) {
      for (const [name, entry] of s.entries) {
        if (entry.kind === "laterParam" || (entry.kind === "dim" && !dims)) continue;
        out.add(name);
      }
    }
    return [...out];
  }
}

/** Value names bound in a body (and the bodies around it). */
class ValueScope {
  readonly entries = new Map<string, Name>();
  constructor(readonly parent?: ValueScope) {}

  find(name: string): Name | undefined {
    for (let s: ValueScope | undefined = this; s; s = s.parent) {
      const bound = s.entries.get(name);
      if (bound) return bound;
    }
    return undefined;
  }

  names(): string[] {
    const out = new Set<string>();
    for (let s: ValueScope | undefined = this; s; s = s.parent) for (const name of s.entries.keys()) out.add(name);
    return [...out];
  }
}

/** The model or block whose body is being checked. */
interface Owner {
  readonly kind: "model" | "block";
  readonly name: string;
  /** Whether the owner is a local block (its calls are edges of the recursion graph). */
  readonly localBlock: boolean;
  input?: InputStmt;
  loss?: ResolvedLoss | { stmt: LossStmt };
}

interface BodyCtx {
  readonly owner: Owner;
  /** Inside `residual`, `repeat`, `moe` or a shortcut body. */
  readonly nested: boolean;
  readonly scope: Scope;
  readonly values: ValueScope;
  /** `as` names of this naming scope (shared with transparent bodies: residual, shortcut). */
  readonly aliases: Map<string, Name>;
}

/** How names are looked up in one integer expression. */
interface NumCtx {
  readonly scope: Scope;
  readonly values?: ValueScope;
  /** Whether symbolic dimensions (`seq`) may appear. */
  readonly dims: boolean;
  /** What is being evaluated, for messages: "`out`", "the repeat count". */
  readonly what: string;
  /** Help for an unknown name when no suggestion is found. */
  readonly unknownHelp?: string;
}

interface Signature {
  /** `\`dense\`` or `block \`Mlp\``, for messages. */
  readonly label: string;
  /** `conv2d(out, kernel)`, for help lines. */
  readonly usage: string;
  readonly positional: readonly ParamSpec[];
  readonly options: readonly ParamSpec[];
  readonly universal: boolean;
}

/** Longest cycle (of constants or blocks) spelled out in a message and its labels. */
const maxCycleSteps = 12;

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly site: Name;
}

/** What a block argument may be: block parameters are untyped (sizes, numbers, flags, lists). */
const blockArgTypes: readonly ArgType[] = [
  { kind: "size" },
  { kind: "decimal", range: { why: "any finite number" } },
  { kind: "bool" },
  { kind: "list", of: { kind: "size" } },
];
const blockArgType: ArgType = { kind: "oneOf", types: blockArgTypes };
/** Arguments of an opaque callee, and of unknown options: anything well formed. */
const anyArgType: ArgType = { kind: "oneOf", types: [...blockArgTypes, { kind: "body" }, { kind: "path" }] };

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

// ── The resolver ─────────────────────────────────────────────────────────────────────────────────────

class Resolver {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly fileScope = new Scope();
  private readonly blocks = new Map<string, BlockInfo>();
  private readonly models = new Map<string, ModelInfo>();
  private readonly calls = new Map<Call | Ident, CallTarget>();
  private readonly values = new Map<Ident, Name>();
  private readonly bodyConstants = new Map<ConstDecl, bigint>();
  private readonly repeats = new Map<RepeatStage, bigint>();
  private readonly expects = new Map<ExpectStmt, bigint | number>();
  /** Imported names whose definition is not at hand. */
  private readonly opaque = new Set<string>();
  /** A whole-file import without its symbols: unknown layer and constant names are accepted. */
  private openWorld = false;
  private readonly edges = new Map<string, Edge[]>();
  private readonly modelNames = new Set<string>();

  constructor(
    private readonly file: FileNode,
    private readonly imported: ReadonlyMap<string, ImportedSymbol> | undefined,
  ) {}

  run(): Result<ResolvedFile> {
    const firsts = this.declareFileNames();
    // Every definition is checked, duplicates included; only the first of a name is visible to others.
    for (const item of this.file.items) {
      if (item.kind !== "Const") continue;
      const entry = this.fileScope.entries.get(item.name.name);
      if (entry?.kind === "const" && entry.decl === item) {
        this.evaluateConst(entry);
      } else {
        const shadow = this.constEntry(item, this.fileScope, false);
        if (shadow.kind === "const") this.evaluateConst(shadow);
      }
    }
    for (const item of this.file.items)
      if (item.kind === "Block") this.resolveBlock(item, this.blocks.get(item.name.name)?.decl === item);
    for (const item of this.file.items) {
      if (item.kind !== "Model") continue;
      const info = this.resolveModel(item);
      if (firsts.has(item)) this.models.set(info.name, info);
    }
    this.checkRecursion();

    const constants = new Map<string, bigint>();
    for (const [name, entry] of this.fileScope.entries) {
      if (entry.kind === "const" && entry.value.kind === "int") constants.set(name, entry.value.value);
      else if (entry.kind === "importedConst" && entry.value !== undefined) constants.set(name, entry.value);
    }
    return {
      value: {
        file: this.file,
        constants,
        blocks: this.blocks,
        models: this.models,
        calls: this.calls,
        values: this.values,
        bodyConstants: this.bodyConstants,
        repeats: this.repeats,
        expects: this.expects,
      },
      diagnostics: sortDiagnostics(this.diagnostics),
    };
  }

  private report(d: Diagnostic): void {
    this.diagnostics.push(d);
  }

  // ── File-level names ───────────────────────────────────────────────────────────────────────────────

  /** Declares imported and local names; returns the items that define a name first. */
  private declareFileNames(): Set<Item> {
    const firsts = new Set<Item>();
    // Imports first: a local definition of an imported name is a clash.
    const importSpans = new Map<string, Span>();
    for (const item of this.file.items) {
      if (item.kind !== "Import") continue;
      if (item.names === null) {
        if (this.imported === undefined) this.openWorld = true;
        continue;
      }
      for (const n of item.names) if (!importSpans.has(n.name)) importSpans.set(n.name, n.span);
    }
    if (this.imported) {
      for (const [name, symbol] of this.imported) {
        if (symbol.kind === "const") this.fileScope.entries.set(name, { kind: "importedConst", value: symbol.value });
        else
          this.blocks.set(name, {
            name,
            decl: symbol.decl,
            imported: true,
            ...(symbol.from !== undefined ? { from: symbol.from } : {}),
          });
        if (symbol.span && !importSpans.has(name)) importSpans.set(name, symbol.span);
      }
    }
    for (const name of importSpans.keys()) {
      if (this.imported?.has(name)) continue;
      // Listed in `import { … }` but not handed over: accept any use rather than cascade.
      this.opaque.add(name);
      this.fileScope.entries.set(name, { kind: "opaque" });
    }

    const defined = new Map<string, Name>();
    for (const item of this.file.items) {
      if (item.kind === "Import") continue;
      const name = item.name;
      const first = defined.get(name.name);
      if (first) {
        this.report(
          diagnostic("DuplicateDefinition", name.span, `\`${name.name}\` is defined twice`, {
            labels: [{ span: first.span, message: "first defined here" }],
            help: "rename one of the definitions",
          }),
        );
        continue;
      }
      defined.set(name.name, name);
      firsts.add(item);
      if (importSpans.has(name.name) || this.imported?.has(name.name)) {
        const at = importSpans.get(name.name);
        this.report(
          diagnostic("ImportClash", name.span, `\`${name.name}\` is both imported and defined here`, {
            labels: at ? [{ span: at, message: "imported here" }] : [],
            help: "rename the local definition, or do not import the name",
          }),
        );
        this.opaque.delete(name.name);
        this.blocks.delete(name.name);
      }
      if (item.kind === "Const") {
        this.fileScope.entries.set(name.name, this.constEntry(item, this.fileScope, false));
      } else if (item.kind === "Block") {
        if (layerKinds.has(name.name)) {
          this.report(
            diagnostic("ReservedName", name.span, `block \`${name.name}\` has the name of a layer kind`, {
              help: `rename the block: \`${name.name}\` always means the layer`,
            }),
          );
        }
        this.fileScope.entries.delete(name.name);
        // A block named like a layer kind stays out of the table: the name keeps meaning the layer.
        if (!layerKinds.has(name.name)) this.blocks.set(name.name, { name: name.name, decl: item, imported: false });
      } else {
        this.fileScope.entries.delete(name.name);
        this.modelNames.add(name.name);
      }
    }
    return firsts;
  }

  private constEntry(decl: ConstDecl, scope: Scope, dims: boolean): NumEntry {
    return { kind: "const", decl, scope, dims, state: "pending", value: invalid };
  }

  // ── Constants and integer expressions ──────────────────────────────────────────────────────────────

  /** Evaluates a constant after the constants it uses, by an iterative depth-first walk of the references
   *  (a chain of thousands of constants must not overflow the stack). A reference back to a constant on the
   *  current path closes a cycle: it is reported once, and every constant of the cycle is invalid. */
  private evaluateConst(root: ConstEntry): NumValue {
    if (root.state !== "pending") return root.state === "done" ? root.value : invalid;
    const path: ConstFrame[] = [];
    const enter = (entry: ConstEntry, via: Ident | undefined): void => {
      entry.state = "evaluating";
      const seen = new Set<string>();
      const deps = namesIn(entry.decl.value).filter((id) => !seen.has(id.name) && seen.add(id.name));
      path.push({ entry, via, deps, next: 0 });
    };
    enter(root, undefined);
    while (path.length > 0) {
      const top = path[path.length - 1]!;
      const ident = top.deps[top.next];
      if (ident) {
        top.next++;
        const dep = top.entry.scope.find(ident.name);
        if (dep?.kind !== "const") continue;
        if (dep.state === "pending") enter(dep, ident);
        else if (dep.state === "evaluating") this.reportConstCycle(path, dep, ident);
        continue;
      }
      path.pop();
      const entry = top.entry;
      entry.value = evaluate(
        entry.decl.value,
        {
          decimals: false,
          lookup: (id) =>
            this.lookupNumber(id, { scope: entry.scope, dims: entry.dims, what: `\`${entry.decl.name.name}\`` }),
        },
        this.diagnostics,
      );
      entry.state = "done";
    }
    return root.value;
  }

  private evaluateNumber(expr: Expr, ctx: NumCtx, decimals: boolean): NumValue {
    return evaluate(expr, { decimals, lookup: (id) => this.lookupNumber(id, ctx) }, this.diagnostics);
  }

  private lookupNumber(ident: Ident, ctx: NumCtx): NumValue {
    const entry = ctx.scope.find(ident.name);
    if (!entry) return this.unknownNumberName(ident, ctx);
    switch (entry.kind) {
      case "const":
        // `evaluating`: a member of a cycle, reported already.
        return this.evaluateConst(entry);
      case "importedConst":
        return entry.value === undefined ? invalid : intValue(entry.value);
      case "param":
      case "opaque":
        return symbolic;
      case "laterParam":
        this.report(
          diagnostic("UnknownName", ident.span, `parameter \`${ident.name}\` is used before it is declared`, {
            labels: [{ span: entry.name.span, message: "declared here" }],
            help: "a default may refer only to earlier parameters and to constants",
          }),
        );
        return invalid;
      case "dim":
        if (ctx.dims) return symbolic;
        this.report(
          diagnostic(
            "WrongOptionType",
            ident.span,
            `${ctx.what} needs a fixed integer, but \`${ident.name}\` is a symbolic dimension`,
            {
              labels: [{ span: entry.name.span, message: "declared here" }],
            },
          ),
        );
        return invalid;
    }
  }

  private unknownNumberName(ident: Ident, ctx: NumCtx): NumValue {
    if (this.openWorld) return symbolic;
    const name = ident.name;
    const bound = ctx.values?.find(name);
    if (bound) {
      this.report(
        diagnostic("BadValueUse", ident.span, `\`${name}\` is a value, not a number`, {
          labels: [{ span: bound.span, message: "bound here" }],
          ...(ctx.what ? { notes: [`${ctx.what} needs an integer`] } : {}),
        }),
      );
      return invalid;
    }
    const notes: string[] = [];
    if (layerKinds.has(name)) notes.push(`\`${name}\` is a layer kind, not a number`);
    else if (this.blocks.has(name)) notes.push(`\`${name}\` is a block, not a number`);
    else if (this.modelNames.has(name)) notes.push(`\`${name}\` is a model, not a number`);
    this.report(
      diagnostic("UnknownName", ident.span, `unknown name \`${name}\``, {
        help: didYouMeanHelp(name, ctx.scope.names(ctx.dims)) ?? ctx.unknownHelp,
        notes,
      }),
    );
    return invalid;
  }

  private reportConstCycle(path: readonly ConstFrame[], target: ConstEntry, closing: Ident): void {
    const start = path.findIndex((frame) => frame.entry === target);
    if (start < 0) return;
    const members = path.slice(start).map((frame) => frame.entry.decl);
    const refs: Ident[] = [];
    for (const frame of path.slice(start + 1)) if (frame.via) refs.push(frame.via);
    refs.push(closing);
    // Start the cycle at the definition that comes first in the file, so the report is stable.
    let first = 0;
    members.forEach((m, i) => {
      if (m.name.span.start < members[first]!.name.span.start) first = i;
    });
    const order = members.map((_, i) => (first + i) % members.length);
    const names = order.map((i) => members[i]!.name.name);
    const labels: Label[] = order.map((i) => {
      const from = members[i]!.name.name;
      const to = members[(i + 1) % members.length]!.name.name;
      return { span: refs[i]!.span, message: from === to ? `\`${from}\` uses itself` : `\`${from}\` uses \`${to}\`` };
    });
    const head = members[order[0]!]!;
    const shown = names.length <= maxCycleSteps ? [...names, names[0]!] : [...names.slice(0, maxCycleSteps), "…"];
    const message =
      members.length === 1
        ? `constant \`${head.name.name}\` is defined in terms of itself`
        : `constants form a cycle: ${shown.map((n) => (n === "…" ? n : `\`${n}\``)).join(" → ")}`;
    this.report(
      diagnostic("ConstCycle", head.name.span, message, {
        labels: labels.slice(0, maxCycleSteps),
        help: "give one of them a value that does not depend on the others",
        notes:
          labels.length > maxCycleSteps
            ? [`the cycle has ${labels.length} steps; the first ${maxCycleSteps} are shown`]
            : [],
      }),
    );
  }

  // ── Blocks and models ──────────────────────────────────────────────────────────────────────────────

  /** `visible`: the block is the one its name refers to (not a duplicate, not named like a layer kind). */
  private resolveBlock(decl: BlockDecl, visible: boolean): void {
    const scope = new Scope(this.fileScope);
    const first = new Map<string, Name>();
    for (const param of decl.params) {
      const name = param.name;
      const prev = first.get(name.name);
      if (prev) {
        this.report(
          diagnostic("DuplicateDefinition", name.span, `parameter \`${name.name}\` is declared twice`, {
            labels: [{ span: prev.span, message: "first declared here" }],
          }),
        );
        continue;
      }
      first.set(name.name, name);
      scope.entries.set(name.name, { kind: "laterParam", name });
      if (name.name === "frozen" || name.name === "tie") {
        this.report(
          diagnostic(
            "ReservedName",
            name.span,
            `\`${name.name}\` is an option of every block call and cannot be a parameter`,
            {
              help: "rename the parameter",
            },
          ),
        );
      }
    }
    let defaulted: Name | undefined;
    for (const param of decl.params) {
      if (param.default !== null) defaulted ??= param.name;
      else if (defaulted) {
        this.report(
          diagnostic(
            "BadParameterDefault",
            param.name.span,
            `parameter \`${param.name.name}\` has no default but follows one that has`,
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
        this.checkValue(
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
    this.resolveBody(decl.body, { owner, nested: false, scope, values: ctxValues, aliases: new Map() });
  }

  private resolveModel(decl: ModelDecl): ModelInfo {
    const scope = new Scope(this.fileScope);
    const values = new ValueScope();
    const inputs: ResolvedInput[] = [];
    for (const input of decl.inputs) {
      this.bindValue(input.name, values);
      inputs.push(this.resolveInputType(input.name, input.type, scope));
    }
    const owner: Owner = { kind: "model", name: decl.name.name, localBlock: false };
    this.resolveBody(decl.body, { owner, nested: false, scope, values, aliases: new Map() });
    const loss = owner.loss && "entry" in owner.loss ? owner.loss : undefined;
    return { name: decl.name.name, decl, inputs, ...(loss ? { loss } : {}) };
  }

  private resolveInputType(name: Name, type: TypeExpr, scope: Scope): ResolvedInput {
    const dtype = inputDtypeNames.get(type.dtype.name);
    if (!dtype) {
      this.report(
        diagnostic("UnknownDtype", type.dtype.span, `unknown input type \`${type.dtype.name}\``, {
          help:
            didYouMeanHelp(
              type.dtype.name,
              inputDtypes.map((d) => d.name),
            ) ?? "use `f32`, `f64` or `token`",
        }),
      );
    }
    const dims: ResolvedDim[] = [];
    for (const dim of type.dims) {
      if (dim.max !== null) {
        const max = this.positiveInt(dim.max, { scope, dims: false, what: "the bound of a symbolic dimension" });
        if (dim.size.kind !== "Ident") {
          this.report(
            diagnostic("BadSymbolicDim", dim.size.span, "a bounded dimension needs a name on the left of `<=`", {
              help: "write it as `seq <= 1024`",
            }),
          );
          dims.push({ kind: "invalid" });
          continue;
        }
        const dimName: Name = { name: dim.size.name, span: dim.size.span };
        const existing = scope.find(dimName.name);
        if (existing?.kind === "dim") {
          this.report(
            diagnostic(
              "DuplicateDefinition",
              dimName.span,
              `symbolic dimension \`${dimName.name}\` is declared twice`,
              {
                labels: [{ span: existing.name.span, message: "first declared here" }],
                help: `refer to it without a bound: \`${dimName.name}\``,
              },
            ),
          );
        } else if (existing) {
          this.report(
            diagnostic(
              "BadSymbolicDim",
              dimName.span,
              `\`${dimName.name}\` is already a constant; a symbolic dimension needs a new name`,
              {
                ...(existing.kind === "const"
                  ? { labels: [{ span: existing.decl.name.span, message: "defined here" }] }
                  : {}),
                help: "rename the dimension",
              },
            ),
          );
        } else {
          scope.entries.set(dimName.name, { kind: "dim", name: dimName });
        }
        dims.push({ kind: "symbol", name: dimName.name, ...(max !== undefined ? { max } : {}) });
        continue;
      }
      const value = this.evaluateNumber(
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
          this.report(
            diagnostic("NonPositiveSize", dim.size.span, `an input dimension must be positive, found ${value.value}`),
          );
          dims.push({ kind: "invalid" });
        } else dims.push({ kind: "int", value: value.value });
      } else if (value.kind === "symbolic") {
        dims.push(
          dim.size.kind === "Ident" ? { kind: "symbol", name: dim.size.name } : { kind: "expr", expr: dim.size },
        );
      } else dims.push({ kind: "invalid" });
    }
    let vocab: bigint | undefined;
    if (type.vocab !== null) {
      if (dtype && !dtype.needsVocabulary) {
        this.report(
          diagnostic("TokenNeedsVocabulary", type.vocab.span, `\`${dtype.name}\` inputs take no vocabulary`, {
            labels: [{ span: type.dtype.span, message: "a float input" }],
            help: "remove `of …`, or make the input `token`",
          }),
        );
      }
      vocab = this.positiveInt(type.vocab, { scope, dims: false, what: "the vocabulary size" });
    } else if (dtype?.needsVocabulary) {
      this.report(
        diagnostic("TokenNeedsVocabulary", type.dtype.span, "a `token` input needs a vocabulary size", {
          help: "add `of <vocabulary size>`, as in `token[1024] of 50_257`",
        }),
      );
    }
    return { name, ...(dtype ? { dtype: dtype.name } : {}), dims, ...(vocab !== undefined ? { vocab } : {}) };
  }

  /** Evaluates an integer that must be ≥ 1; undefined unless known and valid. */
  private positiveInt(expr: Expr, ctx: NumCtx): bigint | undefined {
    const value = this.evaluateNumber(expr, ctx, false);
    if (value.kind !== "int") return undefined;
    if (value.value < 1n) {
      this.report(diagnostic("NonPositiveSize", expr.span, `${ctx.what} must be positive, found ${value.value}`));
      return undefined;
    }
    return value.value;
  }

  // ── Bodies ─────────────────────────────────────────────────────────────────────────────────────────

  private nested(ctx: BodyCtx, transparentNames: boolean): BodyCtx {
    return {
      owner: ctx.owner,
      nested: true,
      scope: ctx.scope,
      values: new ValueScope(ctx.values),
      aliases: transparentNames ? ctx.aliases : new Map(),
    };
  }

  private resolveBody(body: Body, outer: BodyCtx): void {
    const scope = new Scope(outer.scope);
    const ctx: BodyCtx = { ...outer, scope };
    const dims = ctx.owner.kind === "model";
    const consts: ConstEntry[] = [];
    for (const stmt of body.statements) {
      if (stmt.kind !== "Const") continue;
      const name = stmt.name;
      const prev = scope.entries.get(name.name);
      if (prev?.kind === "const") {
        this.report(
          diagnostic("DuplicateDefinition", name.span, `\`${name.name}\` is defined twice`, {
            labels: [{ span: prev.decl.name.span, message: "first defined here" }],
          }),
        );
        continue;
      }
      const clash = outer.scope.entries.get(name.name);
      if (clash?.kind === "param" || clash?.kind === "dim") {
        this.report(
          diagnostic(
            "DuplicateDefinition",
            name.span,
            `\`${name.name}\` is already a ${clash.kind === "param" ? "parameter" : "symbolic dimension"}`,
            {
              labels: [{ span: clash.name.span, message: "declared here" }],
              help: "rename the constant",
            },
          ),
        );
        continue;
      }
      const entry = this.constEntry(stmt, scope, dims) as ConstEntry;
      scope.entries.set(name.name, entry);
      consts.push(entry);
    }
    for (const entry of consts) {
      const value = this.evaluateConst(entry);
      if (value.kind === "int") this.bodyConstants.set(entry.decl, value.value);
    }
    for (const stmt of body.statements) this.resolveStatement(stmt, ctx);
  }

  private resolveStatement(stmt: Statement, ctx: BodyCtx): void {
    switch (stmt.kind) {
      case "Const":
        return;
      case "Input":
        return this.resolveInputStmt(stmt, ctx);
      case "Output":
        if (ctx.nested) {
          this.misplaced(
            this.keywordSpan(stmt.span, "output".length),
            "`output` is only allowed at the top of a model or block body",
          );
        }
        for (const value of stmt.values) this.checkValueExpr(value, ctx);
        return;
      case "Expect":
        return this.resolveExpect(stmt, ctx);
      case "Loss":
        return this.resolveLoss(stmt, ctx);
      case "Binding":
        this.resolveFlow(stmt.flow, ctx);
        for (const target of stmt.targets) this.bindValue(target, ctx.values);
        return;
      case "FlowStmt":
        return this.resolveFlow(stmt.flow, ctx);
    }
  }

  private misplaced(span: Span, message: string, options: { labels?: Label[]; help?: string } = {}): void {
    this.report(diagnostic("MisplacedStatement", span, message, options));
  }

  /** The span of the first token of a statement (its keyword). */
  private keywordSpan(span: Span, length: number): Span {
    return { ...span, end: span.start + length, endLine: span.line, endColumn: span.column + length };
  }

  private resolveInputStmt(stmt: InputStmt, ctx: BodyCtx): void {
    const keyword = this.keywordSpan(stmt.span, "input".length);
    if (ctx.owner.kind === "model") {
      this.misplaced(keyword, "`input` is only allowed in blocks", {
        help: "a model declares its inputs in its header: `model Name(x: f32[784]) { … }`",
      });
    } else if (ctx.nested) {
      this.misplaced(keyword, "`input` is only allowed at the top of a block body");
    } else if (ctx.owner.input) {
      this.misplaced(keyword, "a block declares its inputs once", {
        labels: [{ span: this.keywordSpan(ctx.owner.input.span, "input".length), message: "first declared here" }],
        help: "list every input in one statement: `input a, b`",
      });
    } else {
      ctx.owner.input = stmt;
    }
    for (const name of stmt.names) this.bindValue(name, ctx.values);
  }

  private resolveExpect(stmt: ExpectStmt, ctx: BodyCtx): void {
    if (ctx.nested) {
      this.misplaced(
        this.keywordSpan(stmt.span, "expect".length),
        "`expect` is only allowed at the top of a model or block body",
      );
    }
    const q = stmt.quantity;
    if (!expectQuantityNames.has(q.name)) {
      this.report(
        diagnostic("BadExpectQuantity", q.span, `unknown quantity \`${q.name}\``, {
          help: expectSynonyms[q.name]
            ? `did you mean \`${expectSynonyms[q.name]}\`?`
            : didYouMeanHelp(
                q.name,
                expectQuantities.map((x) => x.name),
              ),
          notes: [`quantities: ${expectQuantities.map((x) => x.name).join(", ")}`],
        }),
      );
    }
    const value = this.evaluateNumber(
      stmt.value,
      { scope: ctx.scope, values: ctx.values, dims: false, what: "an `expect` value" },
      true,
    );
    if (value.kind === "int" || value.kind === "decimal") this.expects.set(stmt, value.value);
  }

  private resolveLoss(stmt: LossStmt, ctx: BodyCtx): void {
    const keyword = this.keywordSpan(stmt.span, "loss".length);
    let placed = true;
    if (ctx.owner.kind === "block") {
      this.misplaced(keyword, "`loss` is only allowed in models", {
        help: "state the loss in the model that uses this block",
      });
      placed = false;
    } else if (ctx.nested) {
      this.misplaced(keyword, "`loss` is only allowed at the top of a model body");
      placed = false;
    } else if (ctx.owner.loss) {
      this.report(
        diagnostic("DuplicateLoss", keyword, "a model states at most one loss", {
          labels: [{ span: this.keywordSpan(ctx.owner.loss.stmt.span, "loss".length), message: "first loss here" }],
          help: "remove one of the `loss` statements",
        }),
      );
      placed = false;
    }
    const call = stmt.call;
    const callee: Name | undefined =
      call.kind === "Ident" ? { name: call.name, span: call.span } : call.kind === "Call" ? call.callee : undefined;
    if (!callee) {
      this.report(
        diagnostic("UnknownLoss", call.span, `expected a loss name, found ${describeNonNumber(call)}`, {
          notes: [`losses: ${losses.map((l) => l.name).join(", ")}`],
        }),
      );
      if (placed) ctx.owner.loss = { stmt };
      return;
    }
    const entry = lossKinds.get(callee.name);
    if (!entry) {
      this.report(
        diagnostic("UnknownLoss", callee.span, `unknown loss \`${callee.name}\``, {
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
    const args = this.checkArgs(
      callee,
      call.kind === "Call" ? call.args : [],
      { label: `loss \`${entry.name}\``, usage: entry.name, positional: [], options: entry.options, universal: false },
      ctx,
    );
    if (placed) ctx.owner.loss = { stmt, entry, args };
  }

  /** Binds a value name in `values` (a model input, an `input` name or a binding target). */
  private bindValue(name: Name, values: ValueScope): void {
    if (layerKinds.has(name.name) || this.blocks.has(name.name)) {
      const block = this.blocks.get(name.name);
      const isLayer = layerKinds.has(name.name);
      this.report(
        diagnostic(
          "ValueShadowsLayer",
          name.span,
          `value \`${name.name}\` reuses the name of ${isLayer ? "a layer kind" : "a block"}`,
          {
            labels:
              !isLayer && block && !block.imported
                ? [{ span: block.decl.name.span, message: "block defined here" }]
                : [],
            help: `rename the value: \`${name.name}\` always means the ${isLayer ? "layer" : "block"}`,
          },
        ),
      );
      return;
    }
    const prev = values.entries.get(name.name);
    if (prev) {
      this.report(
        diagnostic("DuplicateDefinition", name.span, `value \`${name.name}\` is bound twice`, {
          labels: [{ span: prev.span, message: "first bound here" }],
          help: "give the second value another name",
        }),
      );
      return;
    }
    values.entries.set(name.name, name);
  }

  private registerAlias(alias: Name | null, ctx: BodyCtx): void {
    if (!alias) return;
    const prev = ctx.aliases.get(alias.name);
    if (prev) {
      this.report(
        diagnostic("DuplicateLayerName", alias.span, `two layers named \`${alias.name}\` in one scope`, {
          labels: [{ span: prev.span, message: "first named here" }],
          help: "rename one of them",
        }),
      );
      return;
    }
    ctx.aliases.set(alias.name, alias);
  }

  // ── Flows and stages ───────────────────────────────────────────────────────────────────────────────

  private resolveFlow(flow: Flow, ctx: BodyCtx): void {
    flow.stages.forEach((stage, i) => {
      if (stage.kind === "Repeat") this.resolveRepeat(stage, ctx);
      else this.resolveStage(stage, ctx, i === 0 && flow.stages.length > 1);
    });
  }

  private resolveRepeat(stage: RepeatStage, ctx: BodyCtx): void {
    const count = this.checkValue(stage.count, { kind: "int", min: 0n }, ctx, "the repeat count");
    if (count?.kind === "int") this.repeats.set(stage, count.value);
    this.registerAlias(stage.alias, ctx);
    this.resolveBody(stage.body, this.nested(ctx, false));
  }

  private callable(name: string): "layer" | "block" | "opaque" | undefined {
    if (this.blocks.has(name)) return "block";
    if (layerKinds.has(name)) return "layer";
    if (this.opaque.has(name) || this.openWorld) return "opaque";
    return undefined;
  }

  private resolveStage(stage: ExprStage, ctx: BodyCtx, startsFlow: boolean): void {
    const expr = stage.expr;
    if (expr.kind === "Ident") {
      const bound = ctx.values.find(expr.name);
      if (bound) {
        this.values.set(expr, bound);
        if (stage.body) this.unexpectedBody(stage.body, `value \`${expr.name}\``, expr.span);
        return;
      }
      if (this.callable(expr.name)) {
        this.resolveCall(stage, expr, { name: expr.name, span: expr.span }, [], ctx);
        return;
      }
      this.unknownStageName(expr, ctx, startsFlow);
      if (stage.body) this.resolveBody(stage.body, this.nested(ctx, false));
      return;
    }
    if (expr.kind === "Call") {
      if (this.callable(expr.callee.name)) {
        this.resolveCall(stage, expr, expr.callee, expr.args, ctx);
        return;
      }
      this.unknownLayer(expr.callee, ctx);
      for (const arg of expr.args)
        this.checkValue(arg.value, anyArgType, ctx, arg.name ? `\`${arg.name.name}\`` : "an argument");
      if (stage.body) this.resolveBody(stage.body, this.nested(ctx, false));
      return;
    }
    if (expr.kind === "Binary" || expr.kind === "List") {
      this.checkValueExpr(expr, ctx);
      if (stage.body) this.unexpectedBody(stage.body, "a value", expr.span);
      return;
    }
    this.report(
      diagnostic("BadValueUse", expr.span, `expected a layer or a value, found ${describeNonNumber(expr)}`, {
        ...(expr.kind === "Int" ? { help: "arguments go in parentheses: `dense(128)`" } : {}),
      }),
    );
  }

  private unknownStageName(ident: Ident, ctx: BodyCtx, startsFlow: boolean): void {
    const valueNames = ctx.values.names();
    const callables = [...layerKinds.keys(), ...this.blocks.keys()];
    const suggestion = didYouMean(ident.name, [...valueNames, ...callables]);
    const valueLike = suggestion !== undefined ? valueNames.includes(suggestion) : startsFlow;
    const help = suggestion !== undefined ? `did you mean \`${suggestion}\`?` : undefined;
    const isNumber = ctx.scope.find(ident.name) !== undefined;
    const notes = isNumber ? [`\`${ident.name}\` is a number, not a layer or a value`] : [];
    if (valueLike) {
      this.report(diagnostic("UnknownValue", ident.span, `unknown value \`${ident.name}\``, { help, notes }));
    } else {
      this.report(diagnostic("UnknownLayer", ident.span, `unknown layer \`${ident.name}\``, { help, notes }));
    }
  }

  private unknownLayer(callee: Name, ctx: BodyCtx): void {
    const notes: string[] = [];
    if (ctx.values.find(callee.name)) notes.push(`\`${callee.name}\` is a value, not a layer`);
    else if (ctx.scope.find(callee.name)) notes.push(`\`${callee.name}\` is a number, not a layer`);
    else if (this.modelNames.has(callee.name)) notes.push(`\`${callee.name}\` is a model; only blocks can be called`);
    this.report(
      diagnostic("UnknownLayer", callee.span, `unknown layer \`${callee.name}\``, {
        help: didYouMeanHelp(callee.name, [...layerKinds.keys(), ...this.blocks.keys()]),
        notes,
      }),
    );
  }

  private braceSpan(body: Body): Span {
    const s = body.span;
    return { ...s, end: s.start + 1, endLine: s.line, endColumn: s.column + 1 };
  }

  private unexpectedBody(body: Body, what: string, at: Span): void {
    this.report(
      diagnostic("UnexpectedBody", this.braceSpan(body), `${what} takes no \`{ … }\` body`, {
        labels: [{ span: at, message: "this takes no body" }],
        help: "remove the body, or use `residual { … }` or `repeat n { … }` around it",
      }),
    );
  }

  private resolveCall(stage: ExprStage, node: Call | Ident, callee: Name, args: readonly Arg[], ctx: BodyCtx): void {
    this.registerAlias(stage.alias, ctx);
    const block = this.blocks.get(callee.name);
    if (block) {
      const params = block.decl.params;
      const positional: ParamSpec[] = params.map((p) => ({
        name: p.name.name,
        type: blockArgType,
        ...(p.default ? { default: { kind: "derived", formula: "the block's default" } as const } : {}),
      }));
      const bound = this.checkArgs(
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
      this.calls.set(node, { kind: "block", block, args: bound });
      if (ctx.owner.localBlock && !block.imported) {
        const list = this.edges.get(ctx.owner.name) ?? [];
        list.push({ from: ctx.owner.name, to: block.name, site: callee });
        this.edges.set(ctx.owner.name, list);
      }
      if (stage.body) this.unexpectedBody(stage.body, `block \`${block.name}\``, callee.span);
      return;
    }
    const entry = layerKinds.get(callee.name);
    if (entry) {
      const positional = entry.args.filter((a) => a.default === undefined).map((a) => a.name);
      const bound = this.checkArgs(
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
      this.calls.set(node, { kind: "layer", entry, args: bound });
      if (entry.body === "required") {
        if (!stage.body) {
          this.report(
            diagnostic("MissingBody", callee.span, `\`${entry.kind}\` needs a \`{ … }\` body`, {
              help:
                entry.kind === "moe"
                  ? "add the expert: `moe(8, 2) { dense(4 * d) gelu dense(d) }`"
                  : `add one: \`${entry.kind} { … }\``,
            }),
          );
        } else {
          // `residual` is transparent for naming; each expert of `moe` is its own scope.
          this.resolveBody(stage.body, this.nested(ctx, entry.kind === "residual"));
        }
      } else if (stage.body) {
        this.unexpectedBody(stage.body, `\`${entry.kind}\``, callee.span);
      }
      return;
    }
    // Opaque: an imported name without its definition.
    const bound = new Map<string, BoundArg>();
    args.forEach((arg, i) => {
      const key = arg.name?.name ?? String(i);
      const value = this.checkValue(arg.value, anyArgType, ctx, arg.name ? `\`${arg.name.name}\`` : "an argument");
      bound.set(key, { name: key, expr: arg.value, ...(value ? { value } : {}) });
    });
    this.calls.set(node, { kind: "opaque", name: callee.name, args: bound });
    if (stage.body) this.resolveBody(stage.body, this.nested(ctx, false));
  }

  /** A value expression in a flow or `output`: value names combined with `+`, `*` and lists. Iterative, in
   *  source order. */
  private checkValueExpr(root: Expr, ctx: BodyCtx): void {
    const work: Expr[] = [root];
    while (work.length > 0) {
      const expr = work.pop()!;
      switch (expr.kind) {
        case "Ident": {
          const bound = ctx.values.find(expr.name);
          if (bound) {
            this.values.set(expr, bound);
            break;
          }
          const notes: string[] = [];
          if (layerKinds.has(expr.name)) notes.push(`\`${expr.name}\` is a layer kind; bind a value with \`name = …\``);
          else if (this.blocks.has(expr.name))
            notes.push(`\`${expr.name}\` is a block; bind a value with \`name = …\``);
          else if (ctx.scope.find(expr.name)) notes.push(`\`${expr.name}\` is a number, not a value`);
          this.report(
            diagnostic("UnknownValue", expr.span, `unknown value \`${expr.name}\``, {
              help: didYouMeanHelp(expr.name, ctx.values.names()),
              notes,
            }),
          );
          break;
        }
        case "Binary":
          if (expr.op !== "+" && expr.op !== "*") {
            this.report(
              diagnostic("BadValueUse", expr.span, `\`${expr.op}\` is not defined on values`, {
                help: "values combine with `+` (add) and `*` (multiply)",
              }),
            );
          }
          work.push(expr.right, expr.left);
          break;
        case "List":
          for (let i = expr.items.length - 1; i >= 0; i--) work.push(expr.items[i]!);
          break;
        default:
          this.report(diagnostic("BadValueUse", expr.span, `expected a value, found ${describeNonNumber(expr)}`));
      }
    }
  }

  // ── Arguments ──────────────────────────────────────────────────────────────────────────────────────

  private checkArgs(callee: Name, args: readonly Arg[], sig: Signature, ctx: BodyCtx): LayerArgs {
    const all = [...sig.positional, ...sig.options, ...(sig.universal ? universalOptions : [])];
    const byName = new Map<string, ParamSpec>();
    for (const spec of all) if (!byName.has(spec.name)) byName.set(spec.name, spec);
    const bound = new Map<string, BoundArg>();
    const givenAt = new Map<string, Span>();
    let firstNamed: Arg | undefined;
    let position = 0;
    let tooMany = false;
    const positionalCount = args.filter((a) => a.name === null).length;

    const bind = (spec: ParamSpec, arg: Arg): void => {
      givenAt.set(spec.name, arg.span);
      const refused =
        arg.value.kind === "Ident" && !ctx.scope.find(arg.value.name)
          ? spec.refuses?.find((r) => r.name === (arg.value as Ident).name)
          : undefined;
      if (refused) {
        this.report(
          diagnostic("WrongOptionType", arg.value.span, `${sig.label} takes no \`${spec.name} = ${refused.name}\``, {
            notes: [refused.why],
            help: refused.help,
          }),
        );
        bound.set(spec.name, { name: spec.name, expr: arg.value });
        return;
      }
      const value = this.checkValue(arg.value, spec.type, ctx, `\`${spec.name}\``);
      bound.set(spec.name, { name: spec.name, expr: arg.value, ...(value ? { value } : {}) });
    };

    for (const arg of args) {
      if (arg.name === null) {
        if (firstNamed?.name) {
          // Bind it to the next positional parameter not given yet, so nothing else cascades from it.
          while (position < sig.positional.length && givenAt.has(sig.positional[position]!.name)) position++;
          const would = sig.positional[position++];
          this.report(
            diagnostic("PositionalAfterNamed", arg.span, "positional argument after a named one", {
              labels: [{ span: firstNamed.name.span, message: "named argument here" }],
              help: would
                ? `name it: \`${would.name} = …\`, or move it before the named arguments`
                : "move it before the named arguments",
            }),
          );
          if (would) bind(would, arg);
          continue;
        }
        const spec = sig.positional[position++];
        if (!spec) {
          if (!tooMany) {
            const n = sig.positional.length;
            this.report(
              diagnostic(
                "TooManyArguments",
                arg.span,
                `${sig.label} takes ${n === 0 ? "no" : n} positional argument${n === 1 ? "" : "s"}, found ${positionalCount}`,
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
            tooMany = true;
          }
          continue;
        }
        bind(spec, arg);
        continue;
      }
      firstNamed ??= arg;
      const name = arg.name;
      const spec = byName.get(name.name);
      if (!spec) {
        const names = all.map((s) => s.name);
        this.report(
          diagnostic("UnknownOption", name.span, `${sig.label} has no option \`${name.name}\``, {
            help:
              didYouMeanHelp(name.name, names) ??
              (names.length ? `options of ${sig.label}: ${names.map((n) => `\`${n}\``).join(", ")}` : undefined),
          }),
        );
        this.checkValue(arg.value, anyArgType, ctx, `\`${name.name}\``);
        continue;
      }
      const prev = givenAt.get(spec.name);
      if (prev) {
        this.report(
          diagnostic("DuplicateOption", name.span, `\`${spec.name}\` is given twice`, {
            labels: [{ span: prev, message: "first given here" }],
            help: "remove one of them",
          }),
        );
        continue;
      }
      bind(spec, arg);
    }

    const missing = all
      .filter((spec) => spec.default === undefined && !givenAt.has(spec.name))
      .map((s) => `\`${s.name}\``);
    if (missing.length > 0) {
      const list =
        missing.length === 1 ? missing[0]! : `${missing.slice(0, -1).join(", ")} and ${missing[missing.length - 1]!}`;
      this.report(
        diagnostic(
          "MissingArgument",
          callee.span,
          `missing argument${missing.length === 1 ? "" : "s"} ${list} of ${sig.label}`,
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
  private checkValue(expr: Expr, type: ArgType, ctx: BodyCtx, what: string): ArgValue | undefined {
    const alts = flatten(type);
    const has = (kind: ArgType["kind"]): boolean => alts.some((t) => t.kind === kind);
    const numeric = alts.filter((t) => t.kind === "int" || t.kind === "size" || t.kind === "decimal");
    const wrongType = (extra: { help?: string | undefined; notes?: string[] } = {}): undefined => {
      this.report(
        diagnostic(
          "WrongOptionType",
          expr.span,
          `${what} expects ${describeType(type)}, found ${describeNonNumber(expr)}`,
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
        if (numeric.length > 0 && entry) return this.numericValue(expr, numeric, ctx, what);
        if (has("path") && (!entry || numeric.length === 0)) return { kind: "path", path: [name], transposed: false };
        const enums = alts.flatMap((t) => (t.kind === "enum" ? t.values : []));
        if (enums.length > 0) {
          this.report(
            diagnostic("BadEnumValue", expr.span, `\`${name}\` is not a valid value for ${what}`, {
              help: didYouMeanHelp(name, enums) ?? `expected ${describeType(type)}`,
              notes: [`${what} accepts ${describeType(type)}`],
            }),
          );
          return undefined;
        }
        if (numeric.length > 0) return this.numericValue(expr, numeric, ctx, what);
        if (this.openWorld && !entry) return { kind: "symbolic", expr };
        if (has("bool")) return wrongType({ help: didYouMeanHelp(name, ["true", "false"]) });
        return wrongType();
      }
      case "Int":
      case "Decimal":
      case "Binary":
      case "Unary":
        if (numeric.length > 0) return this.numericValue(expr, numeric, ctx, what);
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
          this.report(
            diagnostic(
              "WrongOptionType",
              expr.span,
              `${what} expects ${describeType(type)}, found a list of ${expr.items.length}`,
            ),
          );
          return undefined;
        }
        const items: ArgValue[] = [];
        let ok = true;
        for (const item of expr.items) {
          const v = this.checkValue(item, list.of, ctx, what);
          if (v) items.push(v);
          else ok = false;
        }
        return ok ? { kind: "list", items } : undefined;
      }
      case "BodyLit":
        if (!has("body")) return wrongType();
        this.resolveBody(expr.body, this.nested(ctx, true));
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
        return wrongType();
    }
  }

  private numericValue(expr: Expr, numeric: readonly ArgType[], ctx: BodyCtx, what: string): ArgValue | undefined {
    const decimals = numeric.some((t) => t.kind === "decimal");
    const ints = numeric.filter(
      (t): t is Extract<ArgType, { kind: "int" | "size" }> => t.kind === "int" || t.kind === "size",
    );
    const dims = ints.some((t) => t.kind === "size");
    const value = this.evaluateNumber(expr, { scope: ctx.scope, values: ctx.values, dims, what }, decimals);
    switch (value.kind) {
      case "int": {
        if (ints.length === 0) return this.decimalInRange(expr, Number(value.value), numeric, what);
        const mins = ints.map((t) => t.min);
        const min = mins.some((m) => m === undefined) ? undefined : mins.reduce((a, b) => (a! < b! ? a : b));
        if (min !== undefined && value.value < min) {
          const rule =
            min === 1n ? "must be positive" : min === 0n ? "must not be negative" : `must be at least ${min}`;
          this.report(diagnostic("NonPositiveSize", expr.span, `${what} ${rule}, found ${value.value}`));
          return undefined;
        }
        return { kind: "int", value: value.value };
      }
      case "decimal":
        return this.decimalInRange(expr, value.value, numeric, what);
      case "symbolic":
        return { kind: "symbolic", expr };
      case "invalid":
        return undefined;
    }
  }

  /** Numeric literals are range-checked here: finite, and within the registry's declared range (`eps > 0`,
   *  `p in [0, 1)`, …), reported at the value. Values that come through a block's parameters are checked
   *  by the analysis, which knows them (same `rangeProblem`). */
  private decimalInRange(expr: Expr, value: number, numeric: readonly ArgType[], what: string): ArgValue | undefined {
    const ranges = numeric.flatMap((t) => (t.kind === "decimal" ? [t.range] : []));
    if (ranges.length === 0 || ranges.some((r) => inRange(value, r))) return { kind: "decimal", value };
    const problem = rangeProblem(what, value, ranges[0]!, "write")!;
    this.report(
      diagnostic("OptionOutOfRange", expr.span, problem.message, { notes: [problem.note], help: problem.help }),
    );
    return undefined;
  }

  // ── Block recursion ────────────────────────────────────────────────────────────────────────────────

  /** Finds cycles in the graph of calls between local blocks: an iterative depth-first search (a chain of
   *  thousands of blocks must not overflow the stack); each back edge closes one cycle. */
  private checkRecursion(): void {
    const order = new Map<string, number>();
    for (const item of this.file.items)
      if (item.kind === "Block" && !order.has(item.name.name)) order.set(item.name.name, order.size);
    const color = new Map<string, 1 | 2>();
    const seen = new Set<string>();
    for (const root of order.keys()) {
      if (color.has(root)) continue;
      // path[i] is a block on the current path; its `via` is the edge that entered it.
      const path: { block: string; via: Edge | undefined; next: number }[] = [{ block: root, via: undefined, next: 0 }];
      color.set(root, 1);
      while (path.length > 0) {
        const top = path[path.length - 1]!;
        const edge = (this.edges.get(top.block) ?? [])[top.next];
        if (!edge) {
          color.set(top.block, 2);
          path.pop();
          continue;
        }
        top.next++;
        const state = color.get(edge.to);
        if (state === 1) {
          const j = path.findIndex((f) => f.block === edge.to);
          const cycle: Edge[] = [];
          for (const f of path.slice(j + 1)) if (f.via) cycle.push(f.via);
          cycle.push(edge);
          this.reportCycle(cycle, order, seen);
        } else if (state === undefined) {
          color.set(edge.to, 1);
          path.push({ block: edge.to, via: edge, next: 0 });
        }
      }
    }
  }

  private reportCycle(cycle: readonly Edge[], order: ReadonlyMap<string, number>, seen: Set<string>): void {
    let first = 0;
    cycle.forEach((e, i) => {
      if ((order.get(e.from) ?? 0) < (order.get(cycle[first]!.from) ?? 0)) first = i;
    });
    const edges = cycle.map((_, i) => cycle[(first + i) % cycle.length]!);
    const key = edges.map((e) => e.from).join(" ");
    if (seen.has(key)) return;
    seen.add(key);
    const head = edges[0]!;
    const through = edges.slice(1).map((e) => `\`${e.from}\``);
    let list: string;
    if (through.length > maxCycleSteps)
      list = `${through.slice(0, maxCycleSteps).join(", ")} and ${through.length - maxCycleSteps} more`;
    else if (through.length > 1) list = `${through.slice(0, -1).join(", ")} and ${through[through.length - 1]}`;
    else list = through[0] ?? "";
    const message =
      through.length === 0
        ? `block \`${head.from}\` calls itself`
        : `block \`${head.from}\` calls itself through ${list}`;
    this.report(
      diagnostic("RecursiveBlock", head.site.span, message, {
        labels: edges
          .slice(0, maxCycleSteps)
          .map((e) => ({ span: e.site.span, message: `\`${e.from}\` calls \`${e.to}\`` })),
        help: "a block may not call itself, directly or through other blocks; use `repeat` to apply it several times",
      }),
    );
  }
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
