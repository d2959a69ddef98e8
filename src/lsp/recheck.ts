// The language server's re-check of the entry file's models after a keystroke: a model whose inputs did not
// change is not analyzed again; its diagnostics from the last check are reused, moved to where its text now
// stands. (Load runs on the whole program every time; parsing reuses unchanged items, incremental.ts, and
// resolution unchanged blocks and models, src/resolve/cache.ts. The analyses themselves, for hover, are made
// when a request first needs them.)
//
// What a model's analysis, figures and `expect` checks read (src/program/check.ts `checkModel`) is: the
// model's own text; the text of every block it calls, transitively (through the resolver's `calls`); and the
// file-level constants of the entry file and of each file defining one of those items (`constantsOf`, the
// entry's `constants`). The resolver's results for those items — call targets and their evaluated arguments,
// expect values — are a function of the same things. So the cache key of a model is: for each of those items,
// in the order a depth-first walk of the calls meets them, its file, the column it starts at and its text;
// then those files' constants with their values. Its entry is the diagnostics of the last check, each span
// stored relative to the item it lies in (offset and line from the item's start; the column as it is, which
// the item's text and starting column fix). A diagnostic with a span outside those items makes the model
// uncacheable (it is checked every time).
//
// Invariant: the diagnostics are those of `checkProgram` on the same text, in the same order, spans included.
// test/lsp-recheck.test.ts replays random edits on the examples and compares them with a fresh check.
import type { Diagnostic, Span } from "../diagnostics/diagnostic.js";
import type { ModelInfo, ResolvedFile } from "../resolve/resolve.js";
import { analysisContext, checkModel, type CheckedModel } from "../program/check.js";
import type { AnalysisContext } from "../analyze/analyze.js";
import type { Program } from "../program/load.js";
import type * as A from "../syntax/ast.js";

interface Place {
  readonly file: string;
  readonly item: A.Item;
  readonly start: number;
  readonly line: number;
  readonly column: number;
  readonly end: number;
}

/** A span as offsets and lines from the start of the `i`-th item of a model's closure. */
interface RelSpan {
  readonly i: number;
  readonly start: number;
  readonly end: number;
  readonly line: number;
  readonly endLine: number;
  readonly column: number;
  readonly endColumn: number;
}

interface RelDiagnostic {
  readonly diagnostic: Diagnostic;
  readonly span: RelSpan | undefined;
  readonly labels: readonly RelSpan[];
}

export interface ModelCheckResult {
  /** The models' diagnostics, in model order (as `checkProgram` appends them after resolution's). */
  readonly diagnostics: Diagnostic[];
  /** The models checked now (a model found in the cache is absent): undefined when it did not analyze. */
  readonly checked: Map<ModelInfo, CheckedModel | undefined>;
  /** How many models came from the cache. */
  readonly reused: number;
}

/** The item of `places` (sorted by start, not overlapping) that contains `offset`. */
function placeAt(places: readonly Place[], offset: number): Place | undefined {
  let lo = 0;
  let hi = places.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const p = places[mid]!;
    if (offset < p.start) hi = mid - 1;
    else if (offset >= p.end) lo = mid + 1;
    else return p;
  }
  return undefined;
}

export class ModelChecks {
  /** Model key → its diagnostics, relative to its closure. Holds only the keys of the last run. */
  private cache = new Map<string, RelDiagnostic[]>();
  /** Item texts → small numbers, so that keys stay short. */
  private texts = new Map<string, number>();

  /** Checks every model of the entry file of an analyzable program (see `resolveProgram`). */
  run(program: Program, resolved: ReadonlyMap<string, ResolvedFile>): ModelCheckResult {
    const entryResolved = resolved.get(program.entry);
    const diagnostics: Diagnostic[] = [];
    const checked = new Map<ModelInfo, CheckedModel | undefined>();
    if (!entryResolved) return { diagnostics, checked, reused: 0 };

    // Where each item stands, per file.
    const places = new Map<A.Item, Place>();
    const byFile = new Map<string, Place[]>();
    const sources = new Map<string, string>();
    for (const [file, loaded] of program.files) {
      if (!loaded.ast) continue;
      sources.set(file, loaded.source.text);
      const list: Place[] = [];
      for (const item of loaded.ast.items) {
        const s = item.span;
        const place = { file, item, start: s.start, line: s.line, column: s.column, end: s.end };
        places.set(item, place);
        list.push(place);
      }
      byFile.set(file, list);
    }
    // The blocks each item calls directly, in the order the resolver met the calls.
    const calls = new Map<A.Item, A.BlockDecl[]>();
    for (const r of resolved.values()) {
      for (const [node, target] of r.calls) {
        if (target.kind !== "block") continue;
        const list = byFile.get(node.span.file);
        const at = list && placeAt(list, node.span.start);
        if (!at) continue;
        let out = calls.get(at.item);
        if (!out) calls.set(at.item, (out = []));
        if (!out.includes(target.block.decl)) out.push(target.block.decl);
      }
    }
    if (this.texts.size > 4 * places.size + 1024) {
      this.texts = new Map();
      this.cache = new Map();
    }
    const textId = (p: Place): number => {
      const text = sources.get(p.file)!.slice(p.start, p.end);
      let id = this.texts.get(text);
      if (id === undefined) this.texts.set(text, (id = this.texts.size));
      return id;
    };
    const ids = new Map<A.Item, number>();
    const constantsKey = new Map<string, string>();
    const constantsOf = (file: string): string => {
      let k = constantsKey.get(file);
      if (k === undefined) {
        const r = resolved.get(file);
        k = r ? [...r.constants].map(([n, v]) => `${n}=${v}`).join(",") : "?";
        constantsKey.set(file, k);
      }
      return k;
    };

    const next = new Map<string, RelDiagnostic[]>();
    let context: AnalysisContext | undefined;
    let reused = 0;
    for (const model of entryResolved.models.values()) {
      // The closure: the model, then the blocks it calls, depth first.
      const closure: Place[] = [];
      const seen = new Set<A.Item>();
      const stack: A.Item[] = [model.decl];
      let complete = true;
      while (stack.length > 0) {
        const item = stack.pop()!;
        if (seen.has(item)) continue;
        seen.add(item);
        const place = places.get(item);
        if (!place) {
          complete = false;
          break;
        }
        closure.push(place);
        const out = calls.get(item);
        if (out) for (let i = out.length - 1; i >= 0; i--) if (!seen.has(out[i]!)) stack.push(out[i]!);
      }
      let key: string | undefined;
      if (complete) {
        const files = new Set<string>([program.entry]);
        const parts: string[] = [];
        for (const p of closure) {
          files.add(p.file);
          let id = ids.get(p.item);
          if (id === undefined) ids.set(p.item, (id = textId(p)));
          parts.push(`${p.file}\u0000${p.column}\u0000${id}`);
        }
        for (const f of files) parts.push(`${f}\u0000${constantsOf(f)}`);
        key = parts.join("\u0001");
        const hit = next.get(key) ?? this.cache.get(key);
        if (hit) {
          next.set(key, hit);
          for (const d of hit) diagnostics.push(materialize(d, closure));
          reused++;
          continue;
        }
      }
      context ??= analysisContext(resolved);
      const result = checkModel(entryResolved, model, context);
      checked.set(model, result.value);
      for (const d of result.diagnostics) diagnostics.push(d);
      const rel = key === undefined ? null : relativeAll(result.diagnostics, closure);
      if (key !== undefined && rel) next.set(key, rel);
    }
    this.cache = next;
    return { diagnostics, checked, reused };
  }
}

function relative(span: Span, closure: readonly Place[]): RelSpan | undefined {
  for (let i = 0; i < closure.length; i++) {
    const p = closure[i]!;
    if (p.file === span.file && span.start >= p.start && span.end <= p.end) {
      return {
        i,
        start: span.start - p.start,
        end: span.end - p.start,
        line: span.line - p.line,
        endLine: span.endLine - p.line,
        column: span.column,
        endColumn: span.endColumn,
      };
    }
  }
  return undefined;
}

/** The diagnostics with spans relative to the closure, or null when a span lies outside it. */
function relativeAll(diagnostics: readonly Diagnostic[], closure: readonly Place[]): RelDiagnostic[] | null {
  const out: RelDiagnostic[] = [];
  for (const d of diagnostics) {
    const span = d.span ? relative(d.span, closure) : undefined;
    if (d.span && !span) return null;
    const labels: RelSpan[] = [];
    for (const l of d.labels) {
      const r = relative(l.span, closure);
      if (!r) return null;
      labels.push(r);
    }
    out.push({ diagnostic: d, span, labels });
  }
  return out;
}

function absolute(r: RelSpan, closure: readonly Place[]): Span {
  const p = closure[r.i]!;
  return {
    file: p.file,
    start: p.start + r.start,
    end: p.start + r.end,
    line: p.line + r.line,
    column: r.column,
    endLine: p.line + r.endLine,
    endColumn: r.endColumn,
  };
}

function materialize(r: RelDiagnostic, closure: readonly Place[]): Diagnostic {
  const d = r.diagnostic;
  return {
    ...d,
    ...(r.span ? { span: absolute(r.span, closure) } : {}),
    labels: d.labels.map((l, i) => ({ ...l, span: absolute(r.labels[i]!, closure) })),
  };
}
