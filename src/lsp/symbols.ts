// The symbol index of a checked program: every definition (models, blocks, constants, block parameters,
// symbolic dimensions, repeat indices, value names, `as` layer names) and every reference to one, across the entry file
// and its imports, for go-to-definition, find-references, rename, hover and the outline.
//
// The resolver (src/resolve/) records two kinds of references: each layer or block call, to its
// target (`calls`), and each use of a value name, to the name that binds it (`values`). It records no
// reference for constants, parameters and symbolic dimensions (it evaluates them through scopes it does
// not keep), so this file walks the AST with the same scoping rules: file-level constants and imported
// names, then block parameters (in order), then each body's constants (visible in the whole body and the
// bodies inside it), then symbolic dimensions declared in a model's header. An identifier that names no
// constant in scope (an enum value such as `tanh`, a `tie` path) is not a reference; a `share` path is a
// reference to the `as` name it matches earlier in the same model or block (the instance it applies again).
//
// Definitions are keyed by file and offset (`defKey`), so the same definition found through two programs
// (a library imported by two open files, each parsed separately) is the same symbol.
import type { Span } from "../diagnostics/diagnostic.js";
import type { CallTarget, ResolvedFile } from "../resolve/resolve.js";
import type { Program } from "../program/load.js";
import type * as A from "../syntax/ast.js";

export type DefKind = "model" | "block" | "const" | "param" | "dim" | "index" | "value" | "layerName";

export interface Def {
  readonly kind: DefKind;
  readonly name: string;
  /** The span of the name where it is defined. */
  readonly span: Span;
  /** The span of the whole definition (the outline's range). */
  readonly range: Span;
  /** The node that defines it, for hover texts. */
  readonly node?: A.ConstDecl | A.BlockDecl | A.ModelDecl | A.Param;
}

/** The declaration of a block definition. */
export function blockDeclOf(def: Def | undefined): A.BlockDecl | undefined {
  return def?.kind === "block" ? (def.node as A.BlockDecl | undefined) : undefined;
}

export interface Ref {
  readonly span: Span;
  readonly def: Def;
}

/** A layer or block call: its callee's span, the stage it stands in (the analysis keys nodes by it). */
export interface CallSite {
  readonly span: Span;
  readonly stage: Span;
  readonly target: CallTarget;
  readonly node: A.Call | A.Ident;
}

export interface FileIndex {
  readonly file: string;
  readonly defs: Def[];
  /** References, definitions excluded. */
  readonly refs: Ref[];
  readonly calls: CallSite[];
  /** Option names written in calls (`bias` in `dense(4, bias = false)`). */
  readonly optionNames: Span[];
  /** Each import's path string and the file it names (undefined when it could not be loaded). */
  readonly importPaths: { readonly span: Span; readonly target: string | undefined }[];
  /** Names a file exports (its own blocks and constants), for the files that import it. */
  readonly exports: Map<string, Def>;
}

export function defKey(span: Span): string {
  return `${span.file}\u0000${span.start}`;
}

export interface ProgramIndex {
  readonly files: ReadonlyMap<string, FileIndex>;
  readonly defs: ReadonlyMap<string, Def>;
}

/** Indexes every file of `program` that parsed; `resolved` is the resolver's result per file (a file that
 *  did not resolve is indexed from its AST alone: no call or value references). */
export function indexProgram(program: Program, resolved: ReadonlyMap<string, ResolvedFile>): ProgramIndex {
  const files = new Map<string, FileIndex>();
  const defs = new Map<string, Def>();
  const visit = (file: string, stack: Set<string>): FileIndex | undefined => {
    const done = files.get(file);
    if (done) return done;
    const loaded = program.files.get(file);
    if (!loaded?.ast || stack.has(file)) return undefined;
    stack.add(file);
    const imported = new Map<string, FileIndex>();
    for (const { target } of loaded.imports) {
      if (target === undefined) continue;
      const other = visit(target, stack);
      if (other) imported.set(target, other);
    }
    const index = new FileIndexer(file, loaded.ast, loaded.imports, imported, resolved.get(file), defs).run();
    files.set(file, index);
    stack.delete(file);
    return index;
  };
  for (const file of program.files.keys()) visit(file, new Set());
  return { files, defs };
}

class NumScope {
  readonly entries = new Map<string, Def>();
  constructor(readonly parent?: NumScope) {}
  find(name: string): Def | undefined {
    for (let s: NumScope | undefined = this; s; s = s.parent) {
      const d = s.entries.get(name);
      if (d) return d;
    }
    return undefined;
  }
}

class FileIndexer {
  private readonly index: FileIndex;

  constructor(
    private readonly file: string,
    private readonly ast: A.FileNode,
    private readonly imports: readonly { decl: A.ImportDecl; target: string | undefined }[],
    private readonly importedFiles: ReadonlyMap<string, FileIndex>,
    private readonly resolved: ResolvedFile | undefined,
    private readonly allDefs: Map<string, Def>,
  ) {
    this.index = { file, defs: [], refs: [], calls: [], optionNames: [], importPaths: [], exports: new Map() };
  }

  run(): FileIndex {
    const fileScope = new NumScope();
    const blocks = new Map<string, Def>();
    for (const { decl, target } of this.imports) {
      this.index.importPaths.push({ span: decl.path.span, target });
      const other = target === undefined ? undefined : this.importedFiles.get(target);
      if (!other) continue;
      if (decl.names === null) {
        for (const [name, def] of other.exports) this.bringIn(name, def, fileScope, blocks);
        continue;
      }
      for (const n of decl.names) {
        const def = other.exports.get(n.name);
        if (!def) continue;
        this.ref(n.span, def);
        this.bringIn(n.name, def, fileScope, blocks);
      }
    }
    for (const item of this.ast.items) {
      if (item.kind === "Const") {
        const def = this.def("const", item.name, item.span, item);
        if (!fileScope.entries.has(item.name.name)) fileScope.entries.set(item.name.name, def);
        if (!this.index.exports.has(item.name.name)) this.index.exports.set(item.name.name, def);
      } else if (item.kind === "Block") {
        const def = this.def("block", item.name, item.span, item);
        if (!blocks.has(item.name.name)) blocks.set(item.name.name, def);
        if (!this.index.exports.has(item.name.name)) this.index.exports.set(item.name.name, def);
      } else if (item.kind === "Model") {
        this.def("model", item.name, item.span, item);
      }
    }
    for (const item of this.ast.items) {
      if (item.kind === "Const") this.expr(item.value, fileScope);
      else if (item.kind === "Block") this.block(item, fileScope);
      else if (item.kind === "Model") this.model(item, fileScope);
    }
    for (const { head, rest } of this.sharePaths) {
      let def = head;
      for (const part of rest) {
        const block = this.instanceOf.get(def);
        const next = block && this.blockNames.get(block)?.get(part.name);
        if (!next) break;
        this.ref(part.span, next);
        def = next;
      }
    }
    // Call sites and value references, as the resolver recorded them.
    if (this.resolved) {
      for (const [ident, bound] of this.resolved.values) {
        const def = this.allDefs.get(defKey(bound.span));
        if (def) this.ref(ident.span, def);
      }
    }
    return this.index;
  }

  private bringIn(name: string, def: Def, scope: NumScope, blocks: Map<string, Def>): void {
    if (def.kind === "const") scope.entries.set(name, def);
    else if (def.kind === "block") blocks.set(name, def);
  }

  private def(kind: DefKind, name: A.Name, range: Span, node?: Def["node"]): Def {
    const def: Def = { kind, name: name.name, span: name.span, range, ...(node ? { node } : {}) };
    this.index.defs.push(def);
    this.allDefs.set(defKey(name.span), def);
    return def;
  }

  private ref(span: Span, def: Def): void {
    this.index.refs.push({ span, def });
  }

  /** The `as` names given so far in the model or block being indexed, for `share = name`. */
  private layerNames = new Map<string, Def>();
  /** Each block's `as` names (for a path into an instance of it, `share = encoder.fc`). */
  private readonly blockNames = new Map<A.BlockDecl, ReadonlyMap<string, Def>>();
  /** The block an `as` name's call instantiates. */
  private readonly instanceOf = new Map<Def, A.BlockDecl>();
  /** `share` paths' later parts, resolved once every block is indexed (a block may follow its use). */
  private readonly sharePaths: { head: Def; rest: readonly A.Name[] }[] = [];

  private block(decl: A.BlockDecl, fileScope: NumScope): void {
    this.layerNames = new Map();
    const scope = new NumScope(fileScope);
    for (const param of decl.params) {
      if (param.default) this.expr(param.default, scope);
      if (!scope.entries.has(param.name.name))
        scope.entries.set(param.name.name, this.def("param", param.name, param.span, param));
    }
    this.body(decl.body, scope);
    this.blockNames.set(decl, this.layerNames);
  }

  private model(decl: A.ModelDecl, fileScope: NumScope): void {
    this.layerNames = new Map();
    const scope = new NumScope(fileScope);
    for (const input of decl.inputs) {
      this.def("value", input.name, input.span);
      for (const dim of input.type.dims) {
        if (dim.max !== null) {
          this.expr(dim.max, scope);
          if (dim.size.kind === "Ident" && !scope.find(dim.size.name)) {
            scope.entries.set(dim.size.name, this.def("dim", { name: dim.size.name, span: dim.size.span }, dim.span));
            continue;
          }
        }
        this.expr(dim.size, scope);
      }
      if (input.type.vocab) this.expr(input.type.vocab, scope);
    }
    this.body(decl.body, scope);
  }

  private body(body: A.Body, outer: NumScope): void {
    const scope = new NumScope(outer);
    for (const stmt of body.statements) {
      if (stmt.kind === "Const" && !scope.entries.has(stmt.name.name))
        scope.entries.set(stmt.name.name, this.def("const", stmt.name, stmt.span, stmt));
    }
    for (const stmt of body.statements) {
      switch (stmt.kind) {
        case "Const":
          this.expr(stmt.value, scope);
          break;
        case "Input":
          for (const n of stmt.names) this.def("value", n, n.span);
          break;
        case "Output":
          for (const v of stmt.values) this.expr(v, scope);
          break;
        case "Expect":
          this.expr(stmt.value, scope);
          break;
        case "Loss":
          if (stmt.call.kind === "Call") for (const a of stmt.call.args) this.arg(a, scope);
          break;
        case "Binding":
          this.flow(stmt.flow, scope);
          for (const t of stmt.targets) this.def("value", t, t.span);
          break;
        case "FlowStmt":
          this.flow(stmt.flow, scope);
          break;
      }
    }
  }

  private flow(flow: A.Flow, scope: NumScope): void {
    for (const stage of flow.stages) {
      if (stage.kind === "Repeat") {
        this.expr(stage.count, scope);
        if (stage.start) this.expr(stage.start, scope);
        if (stage.alias) this.layerName(stage.alias, stage.span);
        // `with i`: the copy's number, visible in the body only.
        const inner = stage.index ? new NumScope(scope) : scope;
        if (stage.index) {
          const def = this.def("index", stage.index, stage.span);
          inner.entries.set(stage.index.name, def);
          // `as "layer_{i}"`: the placeholder refers to the index (a rename renames it too).
          if (stage.template) for (const span of placeholders(stage.template, stage.index.name)) this.ref(span, def);
        }
        this.body(stage.body, inner);
        continue;
      }
      const target = this.resolved?.calls.get(stage.expr as A.Call | A.Ident);
      if (target && (stage.expr.kind === "Call" || stage.expr.kind === "Ident")) {
        const callee = stage.expr.kind === "Call" ? stage.expr.callee.span : stage.expr.span;
        this.index.calls.push({ span: callee, stage: stage.span, target, node: stage.expr });
        if (target.kind === "block") {
          const def = this.allDefs.get(defKey(target.block.decl.name.span));
          if (def) this.ref(callee, def);
        }
        if (stage.expr.kind === "Call") for (const a of stage.expr.args) this.arg(a, scope);
      } else {
        this.expr(stage.expr, scope);
      }
      if (stage.alias) {
        const def = this.layerName(stage.alias, stage.span);
        if (target?.kind === "block") this.instanceOf.set(def, target.block.decl);
      }
      if (stage.body) this.body(stage.body, scope);
    }
  }

  private layerName(alias: A.Name, range: Span): Def {
    const def = this.def("layerName", alias, range);
    this.layerNames.set(alias.name, def);
    return def;
  }

  private arg(a: A.Arg, scope: NumScope): void {
    if (a.name) this.index.optionNames.push(a.name.span);
    // `share = encoder`: the instance named by `as` earlier in the same model or block.
    // `share = encoder.fc`: then `fc` is the `as` name inside the block that `encoder` calls.
    if (a.name?.name === "share") {
      const parts = pathParts(a.value);
      const head = parts === undefined ? undefined : this.layerNames.get(parts[0]!.name);
      if (!head) return;
      this.ref(parts![0]!.span, head);
      if (parts!.length > 1) this.sharePaths.push({ head, rest: parts!.slice(1) });
      return;
    }
    // `tie = wte`: a layer path, not a constant.
    if (a.name?.name === "tie") return;
    this.expr(a.value, scope);
  }

  private expr(e: A.Expr, scope: NumScope): void {
    switch (e.kind) {
      case "Ident": {
        if (this.resolved?.values.has(e) || this.resolved?.calls.has(e)) return;
        const def = scope.find(e.name);
        if (def) this.ref(e.span, def);
        return;
      }
      case "Call":
        for (const a of e.args) this.arg(a, scope);
        return;
      case "Binary":
        this.expr(e.left, scope);
        this.expr(e.right, scope);
        return;
      case "Unary":
        this.expr(e.operand, scope);
        return;
      case "List":
        for (const item of e.items) this.expr(item, scope);
        return;
      case "BodyLit":
        this.body(e.body, scope);
        return;
      default:
        return;
    }
  }
}

/** Where `{name}` names the index inside a name template, one span per placeholder (the name, without the
 *  braces). A template with escapes or on several lines has none (its text is not its value there). */
function placeholders(template: A.StringLit, name: string): Span[] {
  const value = template.value;
  const s = template.span;
  if (/["\\\n]/.test(value) || s.end - s.start !== value.length + 2) return [];
  const out: Span[] = [];
  for (let at = value.indexOf(`{${name}}`); at >= 0; at = value.indexOf(`{${name}}`, at + 1)) {
    const start = s.start + 2 + at;
    const column = s.column + 2 + at;
    out.push({ ...s, start, end: start + name.length, column, endLine: s.line, endColumn: column + name.length });
  }
  return out;
}

/** A dotted path as written (`encoder.fc`), or undefined for another expression. */
/** `encoder.fc` → its names with their spans, first to last; undefined for anything but a dotted path. */
function pathParts(e: A.Expr): A.Name[] | undefined {
  if (e.kind === "Ident") return [{ name: e.name, span: e.span }];
  if (e.kind !== "Member") return undefined;
  const object = pathParts(e.object);
  return object === undefined ? undefined : [...object, e.property];
}

/** The definition or reference at `offset` in `file` (definitions are their own references). */
export function symbolAt(index: ProgramIndex, file: string, offset: number): Ref | undefined {
  const f = index.files.get(file);
  if (!f) return undefined;
  const inside = (s: Span) => s.start <= offset && offset <= s.end;
  for (const r of f.refs) if (inside(r.span)) return r;
  for (const d of f.defs) if (inside(d.span)) return { span: d.span, def: d };
  return undefined;
}

/** Every reference to the definition with key `key` in an index (definition included when asked). */
export function referencesTo(index: ProgramIndex, key: string, includeDefinition: boolean): Span[] {
  const out: Span[] = [];
  for (const f of index.files.values()) {
    for (const r of f.refs) if (defKey(r.def.span) === key) out.push(r.span);
    if (includeDefinition) for (const d of f.defs) if (defKey(d.span) === key) out.push(d.span);
  }
  return out;
}
