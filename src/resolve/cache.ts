// Reuse of block and model resolutions between runs on successive texts of one file (the language server:
// a keystroke changes one item, and the incremental parser keeps the AST objects of the others).
//
// A block's or model's resolution reads the item itself and its environment: the file-level names and what
// they stand for (constants and their definitions, blocks' names and parameters — a call is checked against
// the parameters' names and which have a default, never the block's body —, imports and what they bring in,
// which names are models). It writes entries keyed by the item's own nodes (calls, value names, body
// constants, repeat counts, expects), recursion edges from the block, a `ModelInfo` for a model, and
// diagnostics. So when the environment is the same as in the last run — every import and constant item the
// same object (an item is reparsed, a new object, when its text changes), the same blocks (names, parameter
// names, which have defaults) and model names in the same order, the same imported symbols — an item that is
// the same object as in the last run resolves to what it did then. Only items whose resolution reported
// nothing are kept (a diagnostic may point elsewhere). A reused `block` call target is given the `BlockInfo`
// of this run by name (its declaration may be a new object: a block whose body changed).
//
// Invariant: `resolve` with a cache returns what it returns without one, maps in the same order;
// test/lsp-recheck.test.ts compares the language server's checks with fresh ones over random edits.
import type { Call, ConstDecl, ExpectStmt, FileNode, Ident, Item, Name, RepeatStage } from "../syntax/ast.js";
import type { Edge, ResolveContext } from "./context.js";
import type { CallTarget, ImportedSymbol, ModelInfo } from "./types.js";

interface ItemResolution {
  readonly calls: [Call | Ident, CallTarget][];
  readonly values: [Ident, Name][];
  readonly bodyConstants: [ConstDecl, bigint][];
  readonly repeats: [RepeatStage, bigint][];
  readonly expects: [ExpectStmt, bigint | number][];
  readonly edges: Edge[];
  model?: ModelInfo;
}

const empty = (): ItemResolution => ({
  calls: [],
  values: [],
  bodyConstants: [],
  repeats: [],
  expects: [],
  edges: [],
});

/** What an item's resolution reads besides the item (see above), as a list compared element by element. */
function environment(file: FileNode, imported: ReadonlyMap<string, ImportedSymbol> | undefined): unknown[] {
  const out: unknown[] = [];
  for (const item of file.items) {
    if (item.kind === "Model") out.push(`model ${item.name.name}`);
    else if (item.kind === "Block")
      out.push(`block ${item.name.name}(${item.params.map((p) => (p.default ? `${p.name.name}=` : p.name.name))})`);
    else out.push(item);
  }
  if (imported === undefined) out.push(undefined);
  else
    for (const [name, s] of imported)
      out.push(name, s.kind, s.kind === "const" ? s.value : s.decl, s.kind === "block" ? s.from : undefined);
  return out;
}

function sameList(a: readonly unknown[] | undefined, b: readonly unknown[]): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** One file's block and model resolutions from the last run (one instance per file; see above). */
export class ResolveCache {
  private env: unknown[] | undefined;
  private items = new Map<Item, ItemResolution>();
  private fresh = new Set<Item>();
  private next = new Map<Item, ItemResolution>();
  /** Diagnostics count before the item being resolved. */
  private mark = 0;
  /** How many items the last run reused (for tests and the benchmark). */
  reused = 0;

  /** Starts a run of `resolve` on `cx`'s file, before any item is resolved. */
  begin(cx: ResolveContext): void {
    const env = environment(cx.file, cx.imported);
    if (!sameList(this.env, env)) this.items = new Map();
    this.env = env;
    this.fresh = new Set();
    this.next = new Map();
    this.reused = 0;
  }

  /** Puts the last run's resolution of `item` into `cx`, if it has one; returns it. */
  restore(cx: ResolveContext, item: Item): ItemResolution | undefined {
    const r = this.items.get(item);
    if (!r) {
      this.mark = cx.diagnostics.length;
      return undefined;
    }
    for (const [k, v] of r.calls) {
      if (v.kind === "block") {
        const block = cx.blocks.get(v.block.name);
        cx.calls.set(k, block ? { ...v, block } : v);
      } else cx.calls.set(k, v);
    }
    for (const [k, v] of r.values) cx.values.set(k, v);
    for (const [k, v] of r.bodyConstants) cx.bodyConstants.set(k, v);
    for (const [k, v] of r.repeats) cx.repeats.set(k, v);
    for (const [k, v] of r.expects) cx.expects.set(k, v);
    for (const e of r.edges) {
      const list = cx.edges.get(e.from) ?? [];
      list.push(e);
      cx.edges.set(e.from, list);
    }
    this.next.set(item, r);
    this.reused++;
    return r;
  }

  /** After `item` was resolved afresh (`restore` returned nothing): keeps it if it reported nothing. */
  resolved(cx: ResolveContext, item: Item, model?: ModelInfo): void {
    if (cx.diagnostics.length !== this.mark) return;
    const r = empty();
    if (model) r.model = model;
    this.next.set(item, r);
    this.fresh.add(item);
  }

  /** Ends the run: files the entries of the items resolved afresh under them (by where their keys stand). */
  end(cx: ResolveContext): void {
    if (this.fresh.size > 0) {
      const items = cx.file.items;
      const owner = (node: { readonly span: { readonly start: number } }): ItemResolution | undefined => {
        let lo = 0;
        let hi = items.length - 1;
        const at = node.span.start;
        while (lo <= hi) {
          const mid = (lo + hi) >> 1;
          const s = items[mid]!.span;
          if (at < s.start) hi = mid - 1;
          else if (at >= s.end) lo = mid + 1;
          else return this.fresh.has(items[mid]!) ? this.next.get(items[mid]!) : undefined;
        }
        return undefined;
      };
      for (const e of cx.calls) owner(e[0])?.calls.push(e);
      for (const e of cx.values) owner(e[0])?.values.push(e);
      for (const e of cx.bodyConstants) owner(e[0])?.bodyConstants.push(e);
      for (const e of cx.repeats) owner(e[0])?.repeats.push(e);
      for (const e of cx.expects) owner(e[0])?.expects.push(e);
      for (const list of cx.edges.values()) for (const e of list) owner(e.site)?.edges.push(e);
    }
    this.items = this.next;
  }
}
