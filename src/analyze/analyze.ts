// The analysis engine: walks a resolved model, instantiating blocks with their arguments, inferring the
// shape of every value and collecting every parameter tensor with its hierarchical name, role and
// multiplicity. `repeat` and `moe` bodies are analyzed once and multiplied, never expanded, so
// `repeat 1_000_000_000` costs the same as `repeat 2`. Block calls and repeated elements are memoized by
// what decides their analysis (the `key` in `block` and in `element`; shared.ts), so a spec's
// analysis costs a small factor times its text, however many copies its calls and repeats make.
import { catalogue, type DiagnosticName } from "../diagnostics/catalogue.js";
import {
  diagnostic,
  diagnosticOf,
  type Diagnostic,
  type Label,
  type Message,
  type Span,
} from "../diagnostics/diagnostic.js";
import type { MessageArgs } from "../diagnostics/message.js";
import { grouped } from "../diagnostics/numbers.js";
import { didYouMeanHelp } from "../diagnostics/suggest.js";
import { evaluate, type NumValue } from "../resolve/evaluate.js";
import type { BlockInfo, CallTarget, ModelInfo, ResolvedFile } from "../resolve/resolve.js";
import type * as A from "../syntax/ast.js";
import {
  intMinimum,
  layerEntry,
  belowMinimum,
  rangeProblem,
  universalOptions,
  type LayerArgs,
  type LayerEntry,
  type ParamSpec,
} from "../vocabulary/layers.js";
import { kindDef, opDef, type ContainerKind } from "../vocabulary/registry.js";
import { channelAxisProblem, tokenIdProblem } from "../vocabulary/traits.js";
import { broadcastShapes } from "./broadcast.js";
import { expand, Group, rename, renameTensor, sharedOrigin, viewNode, type Entry, type Rename } from "./shared.js";
import {
  dim,
  sameShape,
  showShape,
  showValue,
  fanInUniform,
  type FailOptions,
  type LayerCtx,
  type Shape,
  type TensorValue,
  type Value,
} from "../vocabulary/types.js";
import type { LayerNode, NodeReuse, TensorRecord } from "./records.js";
import { argWithDefault, type ArgVal, type IrOp, type IrValue } from "../ir/ir.js";

// ── What the engine produces ─────────────────────────────────────────────────────────────────────────

export type { FlowOp, LayerNode, NodeFlow, NodeReuse, TensorRecord } from "./records.js";
export { argWithDefault, type ArgVal, type IrOp, type IrValue } from "../ir/ir.js";

export interface TieRecord {
  /** The tensor that shares another's storage (`lm_head.weight`). */
  readonly tensor: string;
  /** The tensor it shares (`wte.weight`). */
  readonly target: string;
  readonly shape: readonly bigint[];
  readonly transposed: boolean;
  /** Elements that counting the tie twice would add (elements × copies). */
  readonly elements: bigint;
}

export interface ModelAnalysis {
  readonly name: string;
  readonly root: LayerNode;
  readonly tensors: readonly TensorRecord[];
  readonly ties: readonly TieRecord[];
  readonly conventions: readonly string[];
  readonly outputs: readonly Value[];
  readonly inputs: readonly { name: string; shape: string; dtype: string }[];
  /** Every block call, for `expect` statements inside blocks. */
  readonly blockCalls: readonly { readonly decl: A.BlockDecl; readonly node: LayerNode }[];
  /** The operations as analyzed — once per analysis, not per copy (src/ir/ir.ts, "Invariants"; the lowering
   *  pass, src/lower/, spells every copy out) — the values they pass, and which values are the model's
   *  inputs and outputs. `LayerNode.ops` index `ops`. */
  readonly ops: readonly IrOp[];
  readonly values: readonly IrValue[];
  readonly inputIds: readonly number[];
  readonly outputIds: readonly number[];
  /** Work the analysis did: stages analyzed, plus one per reuse of a memoized block call or repeated
   *  element. Grows with the spec's text, not with repeat counts or the number of copies (tested). */
  readonly steps: number;
  /** What the model holds with every copy spelled out, counted without spelling it out. */
  readonly expansion: Expansion;
}

/** The size of the lowered model — what code generation spells out (src/lower/) — counted exactly without
 *  lowering: every op weighs its copies (the product of the enclosing `repeat` and `moe` counts), and a
 *  reused unit its first analysis's weight rescaled to its own copies. Code generation checks its budgets
 *  on it before lowering (src/emit/budgets.ts); it equals what lowering lists (tested). */
export interface Expansion {
  /** Operations (`moe` counts its router and its combining op). */
  readonly ops: bigint;
  /** Values: the model's inputs and every op's outputs. */
  readonly values: bigint;
  /** Elements of one sample of all those values together. */
  readonly elements: bigint;
}

interface Tally {
  ops: bigint;
  values: bigint;
  elements: bigint;
}

/** Deepest nesting of block instantiations (a recursive block is reported by the resolver; this bounds
 *  the engine regardless). */
const maxInstantiationDepth = 64;

/** Most copies of repeats whose copies differ (`repeat … with i` whose body reads `i`, or a name template)
 *  that one model's analysis spells out one by one: far above real models (DenseNet-264 has 130 dense
 *  layers), low enough that the analysis stays quick. */
const maxDistinctCopies = 10_000;

// ── Argument values as the engine sees them ──────────────────────────────────────────────────────────

type EValue = ArgVal;

/** Names visible in a body: constants, block parameters, local constants, symbolic dimensions. */
class Env {
  readonly nums = new Map<string, EValue>();
  readonly values = new Map<string, Value>();
  /** Value names of this body that were read (for NN2009, unused values). */
  readonly used = new Set<string>();
  /** For the parameters of a block call: the block's name. */
  block?: string;
  constructor(readonly parent?: Env) {}

  /** The block whose body this is (directly or in a nested body); undefined in a model's body. */
  inBlock(): string | undefined {
    for (let e: Env | undefined = this; e; e = e.parent) if (e.block !== undefined) return e.block;
    return undefined;
  }

  num(name: string): EValue | undefined {
    for (let e: Env | undefined = this; e; e = e.parent) {
      const v = e.nums.get(name);
      if (v) return v;
    }
    return undefined;
  }

  /** The value bound to a name, marking the name as read. */
  value(name: string): Value | undefined {
    for (let e: Env | undefined = this; e; e = e.parent) {
      const v = e.values.get(name);
      if (v) {
        e.used.add(name);
        return v;
      }
    }
    return undefined;
  }
}

/** A naming scope: where unnamed calls take their position. */
interface Scope {
  readonly prefix: string;
  position: number;
  /** The names given in this scope so far (shared by the transparent scopes inside it: `residual`). */
  readonly names: ScopeNames;
  readonly node: LayerNode;
  readonly frozen: boolean;
  /** Copies of everything in this scope (repeat and moe counts multiplied). */
  readonly multiplicity: bigint;
  readonly activeMultiplicity: bigint;
  /** Inside a call that applies an instance again (`share = a`): the call's name (`from`), the instance's
   *  (`to`) and where `share` is written. A layer named `from.x` here uses the tensors of `to.x`. */
  readonly share?: ShareScope;
}

interface ShareScope {
  readonly from: string;
  readonly to: string;
  readonly span: Span;
}

/** Names taken in one naming scope: each local name that is not a number (an `as` path) where it was given,
 *  and the numbers (positions, `as 3`, the copies k … k + n − 1 of `repeat n from k`) as intervals, checked
 *  for overlaps in one sort when the scope's body ends (`open` counts the bodies being analyzed in it), so
 *  that a body of n statements costs n log n whatever order its numbers come in. */
interface ScopeNames {
  readonly taken: Map<string, Span>;
  readonly numbers: { readonly from: bigint; readonly to: bigint; readonly span: Span }[];
  open: number;
}

function newNames(): ScopeNames {
  return { taken: new Map(), numbers: [], open: 0 };
}

class Abort extends Error {}

class ArgError extends Error {
  constructor(
    readonly arg: string,
    /** What is wrong: the argument's type, or a value outside the option's range. */
    readonly problem: Message<"WrongOptionType" | "OptionOutOfRange">,
    readonly details: { readonly notes?: readonly string[]; readonly help?: string } = {},
  ) {
    super(problem[0]);
  }
}

/** What the engine needs across files: every call's resolution and each block's own constants. */
export interface AnalysisContext {
  readonly calls: ReadonlyMap<A.Call | A.Ident, CallTarget>;
  readonly constantsOf: (block: A.BlockDecl) => ReadonlyMap<string, bigint> | undefined;
  /** The right-hand side of every `expect` whose value is known. */
  readonly expectValues: ReadonlyMap<A.ExpectStmt, bigint | number>;
}

export interface AnalyzeOptions {
  /** Reuse the analysis of a block call or repeated element for the same (definition, arguments, input
   *  shape); on by default. `false` analyzes every use afresh (exponential on some specs): the same
   *  result, for tests that compare the two. */
  readonly memo?: boolean;
  /** Symbolic dimensions set by name (`nnc count --dim seq=128`): the model is analyzed with the
   *  dimension, and the name, at this size instead of its declared maximum. Above the maximum: NN3018. */
  readonly dims?: ReadonlyMap<string, bigint>;
}

export function analyzeModel(
  resolved: ResolvedFile,
  model: ModelInfo,
  context: AnalysisContext,
  options: AnalyzeOptions = {},
): { value: ModelAnalysis | null; diagnostics: Diagnostic[] } {
  return new Engine(resolved, context, options.memo ?? true, options.dims).run(model);
}

type BlockCall = { readonly decl: A.BlockDecl; readonly node: LayerNode };

/** What an analysis adds to the model besides nodes, in order; a memoized unit's lists are shared as one
 *  `Group` by each of its uses (see shared.ts). */
interface Lists {
  readonly tensors: Entry<TensorRecord>[];
  readonly blockCalls: Entry<BlockCall>[];
  /** Layer, block and moe names, for the "did you mean" of a tie. */
  readonly layers: Entry<string>[];
  /** A layer's name and its convention: shown as `name: convention`. */
  readonly conventions: Entry<readonly [string, string]>[];
}

function lists(): Lists {
  return { tensors: [], blockCalls: [], layers: [], conventions: [] };
}

/** A block call or repeated element analyzed once, reused for the same key (built in `block`, `element`). */
interface Memo {
  readonly root: LayerNode;
  /** Its name, copies and active copies where it was analyzed. */
  readonly prefix: string;
  readonly multiplicity: bigint;
  readonly activeMultiplicity: bigint;
  readonly lists: Lists;
  readonly output: Value;
  /** The value numbers it read from outside, where it was analyzed: its input's, then those of the outer
   *  values its names may mean (a repeated body's; `freeValueIds`). */
  readonly bound: readonly number[];
  /** How many block instantiations deep it goes below its own level (−1: none). */
  readonly height: number;
  /** Its weight in the expansion, at `multiplicity` copies. */
  readonly tally: Tally;
}

/** Where a unit's analysis started, to tell whether it can be memoized and to restore the outer lists. */
interface UnitStart {
  readonly outer: Lists;
  readonly diagnostics: number;
  readonly ties: number;
  readonly failed: boolean;
  readonly values: number;
  readonly depth: number;
  readonly deepest: number;
  readonly tally: Tally;
}

interface UnitEnd {
  /** Nothing reported, no tie met: the same key gives the same analysis anywhere. */
  readonly clean: boolean;
  readonly height: number;
  readonly lists: Lists;
  /** What the unit added to the expansion. */
  readonly tally: Tally;
}

class Engine {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly seen = new Set<string>();
  private readonly ties: TieRecord[] = [];
  /** The model's lists; a unit's lists are a group in its parent's from the unit's start. */
  private readonly all: Lists = lists();
  /** The lists of the unit being analyzed. */
  private lists: Lists = this.all;
  /** Layers by full name, for `tie`: those analyzed here; names under a reused unit are found through
   *  `reused`. Never rolled back (a rolled-back name is under a prefix no later lookup uses). */
  private readonly layersByName = new Map<string, LayerNode>();
  /** Reused units by their name: where they were first analyzed and how their names read here. */
  private readonly reused = new Map<string, { readonly prefix: string; readonly rename: Rename }>();
  private readonly memo = new Map<string, Memo>();
  /** Tie options met (a tie looks outside its unit, so a unit with one is never memoized). */
  private tieCount = 0;
  /** Each layer call's arguments as written (a use of an instance is compared with them: NN5009). */
  private readonly layerArgs = new WeakMap<LayerNode, IrOp["args"]>();
  /** `share` names not found when met: reported when the model ends, as defined later or unknown. */
  private readonly pendingShares: { rel: string; prefixes: string[]; span: Span }[] = [];
  /** Deepest block instantiation entered in the current unit (−1: none). */
  private deepest = -1;
  private steps = 0;
  /** Copies of repeats whose copies differ, analyzed one by one so far (`oneByOne`). */
  private distinctCopies = 0n;
  private depth = 0;
  private failed = false;
  /** The expansion so far (`Expansion`). */
  private tally: Tally = { ops: 0n, values: 0n, elements: 0n };

  private readonly ops: IrOp[] = [];
  private readonly irValues: IrValue[] = [];
  /** Values bound by name whose flow holds parameters, by value number: what an unused block input wastes. */
  private readonly held = new Map<number, { readonly params: bigint; readonly span: Span }>();

  constructor(
    private readonly resolved: ResolvedFile,
    private readonly context: AnalysisContext,
    private readonly memoize: boolean,
    private readonly dims: ReadonlyMap<string, bigint> = new Map(),
  ) {}

  /** Gives a tensor value its number in the op list. */
  private fresh(v: TensorValue): TensorValue {
    const id = this.irValues.length;
    this.irValues.push({
      id,
      shape: v.shape.map((d) => d.size),
      dtype: v.dtype,
      ...(v.vocab !== undefined ? { vocab: v.vocab } : {}),
      ...(v.shape[0]?.symbol !== undefined ? { symbolicLength: true } : {}),
    });
    return { ...v, id };
  }

  private freshValue(v: Value): Value {
    return v.kind === "tensor" ? this.fresh(v) : { ...v, items: v.items.map((i) => this.fresh(i)) };
  }

  /** Lists an op, under `owner` (`LayerNode.ops`); it stands for `copies` ops of the expanded model. */
  private record(op: Omit<IrOp, "outputs">, output: Value, copies: bigint, owner: LayerNode): void {
    const items = output.kind === "tensor" ? [output] : output.items;
    owner.ops.push(this.ops.length);
    owner.opsAt.push(owner.children.length);
    this.ops.push({ ...op, outputs: items.map((i) => i.id!) });
    this.expanded(1n, items, copies);
  }

  /** Adds `ops` ops making `values`, each `copies` times, to the expansion. */
  private expanded(ops: bigint, values: readonly TensorValue[], copies: bigint): void {
    this.tally.ops += ops * copies;
    this.tally.values += BigInt(values.length) * copies;
    for (const v of values) this.tally.elements += v.shape.reduce((a, d) => a * d.size, 1n) * copies;
  }

  run(model: ModelInfo): { value: ModelAnalysis | null; diagnostics: Diagnostic[] } {
    const root: LayerNode = node("", "model", model.decl.name.span, 1n, 1n);
    const env = new Env();
    for (const [name, value] of this.resolved.constants) env.nums.set(name, { kind: "int", value });
    const inputs: TensorValue[] = [];
    const symbols = new Map<string, bigint>();
    model.inputs.forEach((input, k) => {
      // Every axis of a token input indexes positions (ids, not features), and so does a symbolic length.
      const tokens = input.dtype === "token";
      const shape: Shape = input.dims.map((d, i) => {
        if (d.kind === "int") return tokens ? { ...dim(d.value, i === 0), positions: true } : dim(d.value);
        if (d.kind === "symbol") {
          const set = this.dims.get(d.name);
          if (set !== undefined && d.max !== undefined && set > d.max) {
            const declared = model.decl.inputs[k]?.type.dims[i];
            this.push(
              diagnostic(
                "DimensionAboveMaximum",
                declared?.max?.span ?? declared?.span ?? model.decl.name.span,
                { name: d.name, value: grouped(set), max: grouped(d.max) },
                { help: `give \`${d.name}\` at most ${grouped(d.max)}, or raise the maximum in the spec` },
              ),
            );
          }
          // A later bare `seq` refers to the bound declared first.
          const max = set ?? d.max ?? symbols.get(d.name) ?? 1n;
          symbols.set(d.name, max);
          env.nums.set(d.name, { kind: "int", value: max });
          return { size: max, symbol: d.name, seq: true, positions: true };
        }
        if (d.kind === "expr") {
          const v = this.int(d.expr, env);
          return { size: v ?? 1n, seq: true, positions: true };
        }
        this.failed = true;
        return dim(1n);
      });
      const value: TensorValue = {
        kind: "tensor",
        shape,
        dtype: input.dtype === "token" ? "token" : "float",
        ...(input.vocab !== undefined ? { vocab: input.vocab } : {}),
        origin: input.name.span,
      };
      const numbered = this.fresh(value);
      env.values.set(input.name.name, numbered);
      inputs.push(numbered);
      this.expanded(0n, [numbered], 1n);
    });
    if (this.failed) return { value: null, diagnostics: this.diagnostics };
    const scope: Scope = {
      prefix: "",
      position: 0,
      names: newNames(),
      node: root,
      frozen: false,
      multiplicity: 1n,
      activeMultiplicity: 1n,
    };
    let outputs: Value[] = [];
    try {
      const result = this.body(model.decl.body, inputs[0] ?? null, env, scope);
      outputs = result.outputs;
      root.outputShape = outputs.map(showValue).join(", ");
      root.flow = { inputs: inputs.map((i) => i.id!), outputs: outputs.flatMap(valueIds) };
    } catch (error) {
      if (!(error instanceof Abort)) throw error;
      this.failed = true;
    }
    this.reportPendingShares();
    if (this.failed) return { value: null, diagnostics: this.diagnostics };
    const all = this.all;
    let tensors: TensorRecord[] | undefined;
    let conventions: string[] | undefined;
    let blockCalls: BlockCall[] | undefined;
    return {
      value: {
        name: model.name,
        root,
        // Spelled out on first use (`nnc count --format json`); checking never needs the list.
        get tensors() {
          return (tensors ??= [...expand(all.tensors, renameTensor, { finished: true })]);
        },
        ties: this.ties,
        get conventions() {
          return (conventions ??= [
            ...new Set(
              expand(all.conventions, ([name, c], r) => `${r ? r.name(name) : name}: ${c}`, { finished: true }),
            ),
          ]);
        },
        outputs,
        // A call inside a reused unit has the figures of the same call in its first analysis, listed
        // before it: each distinct call is listed once, at its first occurrence.
        get blockCalls() {
          return (blockCalls ??= [
            ...expand(all.blockCalls, (c, r) => (r ? { decl: c.decl, node: viewNode(c.node, r) } : c), {
              once: true,
              finished: true,
            }),
          ]);
        },
        ops: this.ops,
        values: this.irValues,
        inputIds: inputs.map((i) => i.id!),
        outputIds: outputs.flatMap((o) => (o.kind === "tensor" ? [o.id!] : o.items.map((i) => i.id!))),
        inputs: model.inputs.map((i, k) => ({
          name: i.name.name,
          shape: showShape(inputs[k]!.shape),
          dtype: i.dtype === "token" ? `token (ids < ${i.vocab})` : (i.dtype ?? "f32"),
        })),
        steps: this.steps,
        expansion: { ...this.tally },
      },
      diagnostics: this.diagnostics,
    };
  }

  // ── reporting ──────────────────────────────────────────────────────────────────────────────────────

  private push(d: Diagnostic): void {
    this.failed = true;
    const key = `${d.code}:${d.span?.file}:${d.span?.start}:${d.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.diagnostics.push(d);
  }

  private report<N extends DiagnosticName>(
    code: N,
    span: Span,
    message: MessageArgs<N>,
    options: { labels?: readonly Label[]; help?: string | undefined; notes?: string[] } = {},
  ): void {
    this.push(diagnostic(code, span, message, options));
  }

  /** A warning: reported once per place (a body analyzed again, as a repeat's first copy, may word it
   *  differently), and the analysis goes on as if it were not there. */
  private warn<N extends DiagnosticName>(
    code: N,
    span: Span,
    message: MessageArgs<N>,
    options: { labels?: readonly Label[]; help?: string | undefined; notes?: string[] } = {},
  ): void {
    if (
      this.diagnostics.some(
        (d) => d.code === catalogue[code].code && d.span?.file === span.file && d.span?.start === span.start,
      )
    )
      return;
    const failed = this.failed;
    this.push(diagnostic(code, span, message, options));
    this.failed = failed;
  }

  // ── bodies ─────────────────────────────────────────────────────────────────────────────────────────

  /** Runs a body on `input` (null: a model with no inputs). Returns the outputs (the final current value,
   *  or what `output` names). */
  /** A body in a scope; when the last body analyzed in the scope ends (a transparent `residual`'s is
   *  analyzed inside its enclosing one), the scope's numbers are checked (NN2011). */
  private body(
    body: A.Body,
    input: Value | null,
    parentEnv: Env,
    scope: Scope,
    callSite?: Span,
  ): { outputs: Value[]; current: Value | null } {
    const names = scope.names;
    names.open++;
    let ended = false;
    try {
      const out = this.bodyIn(body, input, parentEnv, scope, callSite);
      ended = true;
      return out;
    } finally {
      names.open--;
      if (ended && names.open === 0) this.checkNumbers(scope);
    }
  }

  private bodyIn(
    body: A.Body,
    input: Value | null,
    parentEnv: Env,
    scope: Scope,
    callSite?: Span,
  ): { outputs: Value[]; current: Value | null } {
    const env = new Env(parentEnv);
    let current = input;
    let outputs: Value[] | null = null;
    const bindings: Bound[] = [];
    for (const st of body.statements) {
      switch (st.kind) {
        case "Input": {
          const items = input?.kind === "tuple" ? input.items : input ? [input] : [];
          if (items.length !== st.names.length) {
            const takes = `${st.names.length} input${st.names.length === 1 ? "" : "s"}`;
            this.report(
              "BlockArity",
              callSite ?? st.span,
              { count: st.names.length, s: st.names.length === 1 ? "" : "s", given: items.length },
              {
                ...(callSite ? { labels: [{ span: st.span, message: `it declares ${takes} here` }] } : {}),
                help:
                  st.names.length > 1
                    ? `call it on a list: \`[${st.names.map((n) => n.name).join(", ")}] -> …\``
                    : undefined,
              },
            );
            throw new Abort();
          }
          st.names.forEach((n, i) => env.values.set(n.name, items[i]!));
          if (st.names.length > 1) {
            current = null;
            // With several inputs, names are the only way to use them.
            st.names.forEach((n, i) => {
              const held = this.held.get(items[i]!.id!);
              if (held) bindings.push({ names: [n], params: held.params, input: held.span });
            });
          }
          break;
        }
        case "Const": {
          const v = this.num(st.value, env);
          if (v) env.nums.set(st.name.name, v);
          break;
        }
        case "Binding": {
          const from = scope.node.children.length;
          const v = this.flow(st.flow, current, env, scope);
          const params = this.paramsOf(scope, from);
          if (params > 0n) {
            bindings.push({ names: st.targets, params });
            const items = v.kind === "tuple" ? v.items : [v];
            for (const item of items)
              if (item.id !== undefined) this.held.set(item.id, { params, span: st.targets[0]!.span });
          }
          const bound = v.kind === "tensor" ? [v] : v.items;
          if (st.targets.length === bound.length)
            st.targets.forEach((t, i) => {
              const id = bound[i]!.id;
              if (id !== undefined) scope.node.names.push([id, t.name]);
            });
          if (st.targets.length === 1) env.values.set(st.targets[0]!.name, v);
          else {
            const items = v.kind === "tuple" ? v.items : [v];
            if (items.length !== st.targets.length) {
              this.report(
                "ShapeMismatch",
                st.targets[0]!.span,
                ["destructure", { names: st.targets.length, count: items.length, s: items.length === 1 ? "" : "s" }],
                {
                  labels: [{ span: st.flow.span, message: `this gives ${showValue(v)}` }],
                },
              );
              throw new Abort();
            }
            st.targets.forEach((t, i) => env.values.set(t.name, items[i]!));
          }
          break;
        }
        case "FlowStmt":
          current = this.flow(st.flow, current, env, scope);
          break;
        case "Output":
          outputs = st.values.map((e) => this.valueExpr(e, env, scope));
          break;
        case "Expect":
        case "Loss":
          break;
      }
    }
    this.unused(bindings, env);
    if (outputs) return { outputs, current };
    return { outputs: current ? [current] : [], current };
  }

  /** NN2009: a named value (or an input of a block with several) that holds parameters and is never read.
   *  Its parameters are counted all the same, as rustc's unused warnings say of unused code; a name that
   *  starts with `_` marks it as intended. */
  private unused(bindings: readonly Bound[], env: Env): void {
    for (const b of bindings) {
      if (b.names.some((n) => env.used.has(n.name) || n.name.startsWith("_"))) continue;
      const list = b.names.map((n) => `\`${n.name}\``);
      const names = list.length === 1 ? list[0]! : `${list.slice(0, -1).join(", ")} and ${list[list.length - 1]}`;
      // In a block, the figure depends on the call's arguments (and a memoized call is not analyzed
      // again): say it without one, for every call.
      const block = env.inBlock();
      const first = b.names[0]!;
      if (b.input) {
        this.warn("UnusedValue", first.span, ["blockInput", { names }], {
          labels: [{ span: b.input, message: "computed here" }],
          help: `use it, or leave it out of the block's inputs; if that is intended, name it \`_${first.name}\``,
        });
        continue;
      }
      // Per copy of an enclosing repeat (said in the golden case's comment, not the message: a repeat whose
      // first copy changes the shape is analyzed as 1 + (n − 1) copies, the first maybe reused, so the
      // copy that reports it varies with memoization).
      const copies = "";
      const count =
        block === undefined ? `the ${grouped(b.params)} parameter${b.params === 1n ? "" : "s"}` : "the parameters";
      const tail = block === undefined ? copies : ` in every call of \`${block}\``;
      const one = list.length === 1;
      const single = b.params === 1n && block === undefined;
      this.warn(
        "UnusedValue",
        first.span,
        [
          one ? "one" : "several",
          { names, params: count, compute: single ? "computes" : "compute", be: single ? "is" : "are", where: tail },
        ],
        {
          help: one
            ? `use it or remove it; if that is intended, name it \`_${first.name}\``
            : "use them or remove them; if that is intended, start a name with `_`",
        },
      );
    }
  }

  /** Parameters (not buffers, not tied) of one copy of what was added to `scope` since child `from`. */
  private paramsOf(scope: Scope, from: number): bigint {
    let total = 0n;
    const m = scope.multiplicity;
    if (m === 0n) return 0n;
    for (const c of scope.node.children.slice(from)) total += (subtreeParams(c) * c.multiplicity) / m;
    return total;
  }

  private flow(flow: A.Flow, current: Value | null, env: Env, scope: Scope): Value {
    let value = current;
    for (const stage of flow.stages) value = this.stage(stage, value, env, scope);
    if (!value) throw new Abort();
    return value;
  }

  private need(value: Value | null, span: Span): Value {
    if (value) return value;
    this.report("BadValueUse", span, ["noCurrent", {}], {
      help: "start the line with a value name, as in `x -> dense(4)`",
    });
    throw new Abort();
  }

  private stage(stage: A.Stage, current: Value | null, env: Env, scope: Scope): Value {
    this.steps++;
    if (stage.kind === "Repeat") return this.repeat(stage, this.need(current, stage.span), env, scope);
    const expr = stage.expr;
    if (expr.kind === "Ident" || expr.kind === "Call") {
      const target = this.context.calls.get(expr);
      if (target) return this.call(stage, expr, target, this.need(current, stage.span), env, scope);
      if (expr.kind === "Ident") {
        const v = env.value(expr.name);
        if (v) return { ...v, origin: expr.span } as Value;
      }
      // Reported by the resolver.
      this.failed = true;
      throw new Abort();
    }
    return this.valueExpr(expr, env, scope);
  }

  /** A value expression: a name, `a + b`, `a * b`, `[a, b]`; `scope.multiplicity` copies of it in the model. */
  private valueExpr(expr: A.Expr, env: Env, scope: Scope): Value {
    switch (expr.kind) {
      case "Ident": {
        const v = env.value(expr.name);
        if (v) return v;
        this.failed = true;
        throw new Abort();
      }
      case "Binary": {
        const left = this.valueExpr(expr.left, env, scope);
        const right = this.valueExpr(expr.right, env, scope);
        if (expr.op !== "+" && expr.op !== "-" && expr.op !== "*") {
          this.report("BadValueUse", expr.span, ["combine", { op: expr.op }]);
          throw new Abort();
        }
        const kind = arithmeticOps[expr.op];
        const verb = arithmeticVerbs[expr.op];
        const labels = [
          { span: left.origin, message: `this is ${showValue(left)}` },
          { span: right.origin, message: `this is ${showValue(right)}` },
        ];
        if (left.kind !== "tensor" || right.kind !== "tensor") {
          this.report(
            "ShapeMismatch",
            expr.span,
            ["combine", { verb, left: showValue(left), right: showValue(right) }],
            { labels, help: "elementwise operations take one value on each side, not a list" },
          );
          throw new Abort();
        }
        const broadcast = broadcastShapes(left.shape, right.shape);
        if (!broadcast.ok) {
          this.report(
            "BroadcastMismatch",
            expr.span,
            [
              broadcast.symbolic ? "symbolic" : "sizes",
              {
                verb,
                left: showValue(left),
                right: showValue(right),
                axis: broadcast.axis,
                a: broadcast.a,
                b: broadcast.b,
              },
            ],
            {
              labels,
              help: broadcast.symbolic
                ? "a symbolic length broadcasts only against itself or a fixed 1"
                : "aligned from the last axis, sizes must be equal or 1",
            },
          );
          throw new Abort();
        }
        // Token ids: `+` and `*` of equal shapes compute floats from them (residual sums of ids are legal, if
        // odd); a subtraction or a broadcast of ids is refused, as nothing meaningful comes of it.
        const broadcasting = !sameShape(left.shape, right.shape);
        if (broadcasting || expr.op === "-") {
          for (const v of [left, right]) {
            if (v.dtype !== "token") continue;
            this.report("WrongDtype", v.origin, ["ids", { kind: expr.op, shape: showShape(v.shape) }], {
              labels: [{ span: expr.span, message: broadcasting ? "broadcast here" : "subtracted here" }],
              help: "look the ids up with `embedding` first",
            });
            throw new Abort();
          }
        }
        const out = this.fresh({ ...arithmetic(left, right, expr.span, `\`${expr.op}\``), shape: broadcast.shape });
        this.record(
          {
            kind,
            name: "",
            args: new Map(),
            inputs: [left.id!, right.id!],
            tensors: [],
            span: expr.span,
          },
          out,
          scope.multiplicity,
          scope.node,
        );
        scope.node.flowOps.push({
          kind,
          inputs: [left.id!, right.id!],
          output: out.id!,
          after: scope.node.children.length,
        });
        return out;
      }
      case "List": {
        const items = expr.items.map((e) => this.valueExpr(e, env, scope));
        const tensors = items.flatMap((i) => (i.kind === "tuple" ? i.items : [i]));
        return { kind: "tuple", items: tensors, origin: expr.span };
      }
      default:
        this.report("BadValueUse", expr.span, ["expected", {}]);
        throw new Abort();
    }
  }

  // ── calls ──────────────────────────────────────────────────────────────────────────────────────────

  private nameFor(stage: A.ExprStage | A.RepeatStage, scope: Scope): string {
    const position = scope.position++;
    const local = stage.alias ? stage.alias.name : String(position);
    this.claim(scope, local, stage.alias ? stage.alias.span : stage.span);
    return scope.prefix ? `${scope.prefix}.${local}` : local;
  }

  /** Takes a local name (or, with `to`, the numbers `local` … `to − 1` of a numbered repeat) in `scope`:
   *  a name given twice — an `as 3` where a position or a numbered copy is 3 — names two layers (NN2011).
   *  Names are checked at once, numbers when the scope's body ends (`checkNumbers`). */
  private claim(scope: Scope, local: string, span: Span, to?: bigint): void {
    const { taken, numbers } = scope.names;
    if (to !== undefined || /^\d+$/.test(local)) {
      const from = BigInt(local);
      numbers.push({ from, to: to ?? from + 1n, span });
      return;
    }
    const first = taken.get(local);
    if (first) this.nameTaken(scope, local, span, first);
    else taken.set(local, span);
  }

  /** The numbers of a scope whose body has ended, sorted: each that overlaps one before it is NN2011, at the
   *  one given later in the text. */
  private checkNumbers(scope: Scope): void {
    const claims = scope.names.numbers.filter((c) => c.from < c.to);
    claims.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : a.span.start - b.span.start));
    let cover: (typeof claims)[number] | undefined;
    for (const c of claims) {
      if (cover && c.from < cover.to) {
        const [later, earlier] = c.span.start >= cover.span.start ? [c, cover] : [cover, c];
        this.nameTaken(scope, String(c.from), later.span, earlier.span);
      }
      if (!cover || c.to > cover.to) cover = c;
    }
  }

  private nameTaken(scope: Scope, name: string, span: Span, first: Span): void {
    this.report(
      "NameTaken",
      span,
      { name: scope.prefix ? `${scope.prefix}.${name}` : name },
      {
        labels: [{ span: first, message: "first named here" }],
        help: "give one of them another name with `as`, or number the copies from another index with `from`",
      },
    );
  }

  private call(
    stage: A.ExprStage,
    expr: A.Call | A.Ident,
    target: CallTarget,
    input: Value,
    env: Env,
    scope: Scope,
  ): Value {
    if (target.kind === "opaque") {
      this.failed = true;
      throw new Abort();
    }
    const args = expr.kind === "Call" ? expr.args : [];
    const frozen = scope.frozen || this.flag(args, "frozen", env);
    const named = this.frozenNames(args, env);
    if (
      named &&
      (target.kind === "block" || kindDef(target.entry.aliasOf ?? target.entry.kind)?.form === "container")
    ) {
      const what = target.kind === "block" ? `a call of block \`${target.block.name}\`` : `\`${target.entry.kind}\``;
      this.report("FrozenTensor", named.span, ["notLayer", { what }], {
        notes: ["tensor names are a layer's own (`dense(4, frozen = bias)`)"],
        help: "write `frozen = true`, or name the tensors on the layers inside",
      });
      throw new Abort();
    }
    if (target.kind === "block") {
      const share = this.ownShare(args, env, scope, target.block.name);
      return this.block(stage, target.block, target.args, input, env, scope, frozen, share);
    }
    const entry = target.entry.aliasOf ? (layerEntry(target.entry.aliasOf) ?? target.entry) : target.entry;
    const def = kindDef(entry.kind);
    if (def?.form === "container") {
      // Each container kind's walk and lowering: a container without one does not compile.
      const walk: { readonly [K in ContainerKind]: () => Value } = {
        residual: () => this.residual(stage, args, input, env, scope, frozen),
        moe: () => this.moe(stage, entry, args, target.args, input, env, scope, frozen),
      };
      return walk[entry.kind as ContainerKind]();
    }
    const share = this.ownShare(args, env, scope, target.entry.kind);
    return this.layer(stage, entry, target.entry.kind, args, target.args, input, env, scope, frozen, share);
  }

  /** The instance a call's `share = path` applies again, found from the innermost naming scope outwards
   *  as a tie's layer is; undefined when there is none (a name not found yet is reported when the model
   *  ends, as defined later or unknown; the others at once). */
  private ownShare(
    args: readonly A.Arg[],
    env: Env,
    scope: Scope,
    kind: string,
  ): { node: LayerNode; found: LayerNode; span: Span } | undefined {
    const arg = this.tieArg(args, env, "share");
    if (!arg) return undefined;
    // A unit with a `share` reads tensors from outside itself: never memoized.
    this.tieCount++;
    const rel = arg.path.join(".");
    const prefixes = prefixesOf(scope.prefix);
    let found: LayerNode | undefined;
    for (const p of prefixes) {
      found = this.findLayer(p ? `${p}.${rel}` : rel);
      if (found) break;
    }
    if (!found) {
      this.pendingShares.push({ rel, prefixes, span: arg.span });
      return undefined;
    }
    if (scope.prefix === found.name || scope.prefix.startsWith(`${found.name}.`)) {
      this.report("ShareTargetUnknown", arg.span, ["encloses", { name: rel }], {
        labels: [{ span: found.span, message: `\`${rel}\` is this call` }],
        help: "apply the instance after it, outside its own body",
      });
      return undefined;
    }
    const instance = this.instanceOf(found);
    if (instance.kind !== kind) {
      this.report(
        "ShareTargetUnknown",
        arg.span,
        ["otherKind", { name: rel, found: `\`${instance.kind}\``, wanted: `\`${kind}\`` }],
        {
          labels: [{ span: instance.span, message: `\`${rel}\` is defined here` }],
          help: `a call with \`share = ${rel}\` is written as the instance is: \`${instance.kind}(…, share = ${rel})\``,
        },
      );
      return undefined;
    }
    return { node: instance, found, span: arg.span };
  }

  /** What an op applying an instance again records (`IrOp.reuses`, `reuseTail`): the name of the op it is
   *  (in the instance, or a reuse of it: the lowering follows the chain) and how many trailing segments of
   *  its own name that name ends with (its path inside the call that shares), which the lowering spells
   *  per copy as the op's. */
  private reuseOf(
    name: string,
    share: { found: LayerNode } | undefined,
    scope: Scope,
    suffix = "",
  ): { reuses: string; reuseTail: number } {
    if (share) return { reuses: share.found.name + suffix, reuseTail: segments(suffix).length };
    const s = scope.share!;
    const full = name + suffix;
    return { reuses: s.to + full.slice(s.from.length), reuseTail: segments(full).length - segments(s.from).length };
  }

  /** The instance a node applies: itself, or the one it shares (a reuse of a reuse is of the instance). */
  private instanceOf(n: LayerNode): LayerNode {
    return n.shares !== undefined ? (this.findLayer(n.shares) ?? n) : n;
  }

  /** Inside a call that shares an instance: the instance's layer that the layer `name` is (`a.fc` for
   *  `b.fc` when `b` shares `a`). Reported when it has none or another kind. */
  private inheritedShare(name: string, kind: string, span: Span, scope: Scope): LayerNode | undefined {
    const s = scope.share;
    if (!s) return undefined;
    this.tieCount++;
    const target = s.to + name.slice(s.from.length);
    const found = this.findLayer(target);
    if (!found || found.kind !== kind) {
      this.report("ShareTargetUnknown", span, ["noCounterpart", { name: s.to, target }], {
        labels: [{ span: s.span, message: `this call applies \`${s.to}\` again` }],
        ...(found ? { notes: [`\`${target}\` is \`${found.kind}\`, not \`${kind}\``] } : {}),
        help: "a call that shares an instance is given the instance's arguments, so that it has the same layers",
      });
      return undefined;
    }
    return this.instanceOf(found);
  }

  private reportPendingShares(): void {
    const seen = new Set<number>();
    for (const { rel, prefixes, span } of this.pendingShares) {
      if (seen.has(span.start)) continue;
      seen.add(span.start);
      const later = prefixes.map((p) => this.findLayer(p ? `${p}.${rel}` : rel)).find((n) => n !== undefined);
      this.report("ShareTargetUnknown", span, later ? ["later", { name: rel }] : ["noLayer", { name: rel }], {
        ...(later ? { labels: [{ span: later.span, message: `\`${rel}\` is defined here` }] } : {}),
        help: later
          ? "define the instance first; the call that shares it comes after"
          : (didYouMeanHelp(rel, [...new Set(expand(this.all.layers, (n, r) => (r ? r.name(n) : n)))]) ??
            "`share` names a layer or block call defined earlier, by its `as` name"),
      });
    }
    this.pendingShares.length = 0;
  }

  /** `frozen = bias` or `frozen = [weight, bias]`: the tensor names written, each with its span, and the
   *  span of the whole value; undefined for `frozen = true/false` or no `frozen`. */
  private frozenNames(
    args: readonly A.Arg[],
    env: Env,
  ): { readonly names: readonly { name: string; span: Span }[]; readonly span: Span } | undefined {
    const arg = args.find((a) => a.name?.name === "frozen");
    if (!arg) return undefined;
    const v = arg.value;
    const items = v.kind === "List" ? v.items : v.kind === "Ident" ? [v] : undefined;
    if (!items || (v.kind === "Ident" && env.num(v.name)?.kind === "bool")) return undefined;
    const names = items.flatMap((i) => (i.kind === "Ident" ? [{ name: i.name, span: i.span }] : []));
    return { names, span: v.span };
  }

  private flag(args: readonly A.Arg[], name: string, env: Env): boolean {
    const arg = args.find((a) => a.name?.name === name);
    if (!arg) return false;
    const v = this.num(arg.value, env);
    return v?.kind === "bool" ? v.value : false;
  }

  private layer(
    stage: A.ExprStage,
    entry: LayerEntry,
    written: string,
    args: readonly A.Arg[],
    given: LayerArgs,
    input: Value,
    env: Env,
    scope: Scope,
    frozen: boolean,
    share?: { node: LayerNode; found: LayerNode; span: Span },
  ): Value {
    const name = this.nameFor(stage, scope);
    const bound = this.bind(entry.args, entry.options, given, env);
    const inputs = input.kind === "tuple" ? input.items : [input];
    if (inputs.length === 0) {
      this.report("BadValueUse", stage.span, ["emptyList", { kind: written }]);
      throw new Abort();
    }
    const def = opDef(entry.kind);
    if (input.kind === "tuple" && def?.inputs !== "list") {
      this.report("BadValueUse", stage.span, ["oneValue", { kind: written, count: inputs.length }], {
        labels: [{ span: input.origin, message: "this is a list" }],
        help: "combine the values first, with `+`, `*` or `concat`",
      });
      throw new Abort();
    }
    const callSpan = stage.expr.span;
    const fn = def?.shape;
    if (!fn) {
      this.report("UnknownLayer", callSpan, ["noShapeRules", { name: written }]);
      throw new Abort();
    }
    const ctx = this.ctx(entry, written, bound, inputs, args, callSpan);
    let outcome;
    try {
      // Every decimal given is range-checked, read by the shape rules or not (dropout's `p` is read only
      // by the code generator).
      for (const p of [...entry.args, ...entry.options])
        if (p.type.kind === "decimal" && bound.has(p.name)) ctx.decimal(p.name);
      // The kind's traits first (token ids where it needs floats), then its shape rule, then the axis it
      // reads channels or features from (after the rule, so that a wrong rank is reported as such).
      const ids = inputs.map((i) => tokenIdProblem(entry, written, i)).find((p) => p !== undefined);
      outcome = ids
        ? ctx.fail("WrongDtype", ids.message, {
            showInput: ids.showInput,
            ...(ids.labels ? { labels: ids.labels } : {}),
            ...(ids.notes ? { notes: ids.notes } : {}),
            help: ids.help,
          })
        : fn(ctx);
      const axis = outcome && channelAxisProblem(entry, written, inputs[0]!, (n) => ctx.int(n));
      if (axis)
        outcome = ctx.fail("SequenceAsChannels", axis.message, {
          showInput: true,
          help: axis.help,
          ...(axis.notes ? { notes: axis.notes } : {}),
        });
    } catch (error) {
      if (!(error instanceof ArgError)) throw error;
      const arg =
        args.find((a) => a.name?.name === error.arg) ?? args[entry.args.findIndex((p) => p.name === error.arg)];
      this.push(
        diagnosticOf(error.problem, arg?.value.span ?? callSpan, {
          ...(error.details.notes ? { notes: [...error.details.notes] } : {}),
          help: error.details.help,
        }),
      );
      throw new Abort();
    }
    if (!outcome) throw new Abort();
    const ids = idTraits(entry, inputs, stage.span, `\`${written}\``);
    const made = outcome.output;
    const output: Value = this.freshValue(
      isShape(made)
        ? { kind: "tensor", shape: made, ...ids, origin: stage.span }
        : made.kind === "tuple"
          ? { ...made, items: made.items.map((i) => ({ ...withoutIds(i), ...ids })), origin: stage.span }
          : { ...withoutIds(made), ...ids, origin: stage.span },
    );
    const layerNode = node(name, written, stage.span, scope.multiplicity, scope.activeMultiplicity);
    layerNode.flow = { inputs: inputs.map((i) => i.id!), outputs: valueIds(output) };
    layerNode.outputShape = showValue(output);
    layerNode.macs = outcome.macs;
    if (outcome.convention) {
      (layerNode as { convention?: string }).convention = outcome.convention;
      this.lists.conventions.push([name, outcome.convention]);
    }
    const instance = share?.node ?? this.inheritedShare(name, written, stage.span, scope);
    if (instance) {
      // A use of an instance: its tensors, none of its own, recorded with what it reuses.
      const at = share?.span ?? scope.share!.span;
      // A differing argument is the cause of whatever else differs: reported alone.
      const tensors = this.sameArguments(instance, entry, bound, at)
        ? this.sharedTensors(instance, outcome.tensors, callLabel(name, written), inputs[0]!, at)
        : instance.tensors;
      layerNode.shares = instance.name;
      return this.recordLayer(
        stage,
        entry,
        name,
        bound,
        inputs,
        tensors,
        outcome.attrs,
        output,
        scope,
        layerNode,
        this.reuseOf(name, share, scope),
      );
    }
    const tie = this.tieArg(args, env);
    if (tie) this.tieCount++;
    const named = this.frozenNames(args, env);
    for (const n of named?.names ?? []) {
      if (outcome.tensors.some((t) => t.name === n.name)) continue;
      const own = outcome.tensors.map((t) => `\`${t.name}\``);
      this.report("FrozenTensor", n.span, ["unknown", { kind: written, name: n.name }], {
        ...(own.length > 0 ? { notes: [`this \`${written}\` has ${own.join(", ")}`] } : {}),
        help:
          own.length === 0
            ? `this \`${written}\` has no tensors: remove \`frozen\``
            : (didYouMeanHelp(
                n.name,
                outcome.tensors.map((t) => t.name),
              ) ?? `name one of its tensors, or leave \`${n.name}\` out of \`frozen\``),
      });
      throw new Abort();
    }
    for (const t of outcome.tensors) {
      const full = t.bare ? name : `${name}.${t.name}`;
      let tiedTo: string | undefined;
      if (tie && t.name === "weight") tiedTo = this.tie(tie, full, t.shape, scope);
      const record: TensorRecord = {
        name: full,
        shape: t.shape,
        role: t.role,
        ...(t.elementBytes !== undefined ? { elementBytes: t.elementBytes } : {}),
        ...(t.init ? { init: t.init } : {}),
        multiplicity: scope.multiplicity,
        activeMultiplicity: scope.activeMultiplicity,
        frozen: frozen || (named?.names.some((n) => n.name === t.name) ?? false),
        ...(tiedTo ? { tiedTo } : {}),
        ...(tiedTo && tie?.transposed ? { tiedTransposed: true as const } : {}),
        ...(t.layout ? { layout: t.layout } : {}),
        ...(t.bare ? { bare: true as const } : {}),
      };
      layerNode.tensors.push(record);
      this.lists.tensors.push(record);
    }
    if (tie && !outcome.tensors.some((t) => t.name === "weight")) {
      const arg = args.find((a) => a.name?.name === "tie")!;
      this.report("TieTargetUnknown", arg.span, ["noWeightToTie", { name: written }]);
    }
    return this.recordLayer(
      stage,
      entry,
      name,
      bound,
      inputs,
      layerNode.tensors,
      outcome.attrs,
      output,
      scope,
      layerNode,
    );
  }

  /** A use of an instance is given the instance's arguments (defaults applied), but for those PyTorch takes
   *  per call (`ParamSpec.perCall`): a module has one stride, one dropout, one set of options. The first
   *  difference is reported (NN5009) at the use's `share`; false then. */
  private sameArguments(instance: LayerNode, entry: LayerEntry, bound: IrOp["args"], at: Span): boolean {
    const theirs = this.layerArgs.get(instance);
    if (!theirs) return true;
    for (const spec of [...entry.args, ...entry.options]) {
      if (spec.perCall) continue;
      const here = argWithDefault(entry, bound, spec.name);
      const there = argWithDefault(entry, theirs, spec.name);
      if (here === undefined || there === undefined || argKey(here) === argKey(there)) continue;
      const [a, b] = [showArg(here), showArg(there)];
      this.report(
        "ShareArgumentMismatch",
        at,
        { target: instance.name, arg: spec.name, here: a, there: b },
        {
          labels: [{ span: instance.span, message: `the instance \`${instance.name}\`: ${spec.name} = ${b}` }],
          help: `a PyTorch module keeps the \`${spec.name}\` it was made with for every call: write \`${spec.name} = ${b}\` here (or leave it out), or drop \`share\` for a layer of its own`,
        },
      );
      return false;
    }
    return true;
  }

  /** Places a layer's node in its scope and records its op (with what it reuses, for a use of an instance). */
  private recordLayer(
    stage: A.ExprStage,
    entry: LayerEntry,
    name: string,
    bound: IrOp["args"],
    inputs: readonly TensorValue[],
    tensors: readonly TensorRecord[],
    attrs: IrOp["attrs"],
    output: Value,
    scope: Scope,
    layerNode: LayerNode,
    reuse: { reuses?: string; reuseTail?: number } = {},
  ): Value {
    scope.node.children.push(layerNode);
    this.addLayer(name, layerNode);
    this.layerArgs.set(layerNode, bound);
    this.record(
      {
        kind: entry.kind,
        name,
        entry,
        args: bound,
        inputs: inputs.map((i) => i.id!),
        tensors,
        ...reuse,
        ...(attrs ? { attrs } : {}),
        span: stage.span,
      },
      output,
      scope.multiplicity,
      layerNode,
    );
    return output;
  }

  /** The tensors of `instance` that a use of it (the layer `name`, on `input`) reads: its shapes must be
   *  the instance's, or the use is reported (NN5007) at its `share`; `label` names the use in the note. */
  private sharedTensors(
    instance: LayerNode,
    own: readonly { readonly name: string; readonly shape: readonly bigint[]; readonly bare?: boolean }[],
    label: string,
    input: TensorValue,
    at: Span,
  ): readonly TensorRecord[] {
    const show = (s: readonly bigint[]) => `[${s.join(", ")}]`;
    const theirs = instance.tensors;
    const local = (t: TensorRecord) => (t.name === instance.name ? "weight" : t.name.slice(instance.name.length + 1));
    const mine = new Map(own.map((t) => [t.name, t.shape]));
    for (const t of [...theirs.map((x) => ({ name: local(x), shape: x.shape })), ...own]) {
      const a = mine.get(t.name);
      const b = theirs.find((x) => local(x) === t.name)?.shape;
      if (a && b && a.length === b.length && a.every((d, i) => d === b[i])) continue;
      this.report(
        "ShareShapeMismatch",
        at,
        {
          target: instance.name,
          tensor: `\`${t.name}\``,
          shape: a ? show(a) : "none",
          found: b ? show(b) : "none",
        },
        {
          labels: [
            { span: instance.span, message: `the instance \`${instance.name}\`${b ? `: ${t.name} ${show(b)}` : ""}` },
          ],
          notes: [`${label} is given ${showValue(input)} here`],
          help: "every use of an instance must give it inputs of the sizes its tensors were made for; for a layer of its own, drop `share`",
        },
      );
      return theirs;
    }
    return theirs;
  }

  private tieArg(
    args: readonly A.Arg[],
    env: Env,
    option: "tie" | "share" = "tie",
  ): { path: readonly string[]; transposed: boolean; span: Span } | undefined {
    const arg = args.find((a) => a.name?.name === option);
    if (!arg) return undefined;
    const v = this.num(arg.value, env);
    if (v?.kind === "path") return { path: v.path, transposed: v.transposed, span: arg.value.span };
    if (v?.kind === "name") return { path: [v.value], transposed: false, span: arg.value.span };
    return undefined;
  }

  /** Resolves a tie target from the innermost naming scope outwards; returns the shared tensor's name. */
  private tie(
    tie: { path: readonly string[]; transposed: boolean; span: Span },
    tensor: string,
    shape: readonly bigint[],
    scope: Scope,
  ): string | undefined {
    const rel = tie.path.join(".");
    const prefixes: string[] = [];
    for (let p = scope.prefix; ; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") {
      prefixes.push(p);
      if (p === "") break;
    }
    let target: LayerNode | undefined;
    for (const p of prefixes) {
      target = this.findLayer(p ? `${p}.${rel}` : rel);
      if (target) break;
    }
    const weight = target?.tensors.find((t) => t.name.endsWith(".weight") && t.name === `${target!.name}.weight`);
    if (!target || !weight) {
      this.report(
        "TieTargetUnknown",
        tie.span,
        target ? ["noWeightToShare", { name: rel }] : ["noLayer", { name: rel }],
        {
          help: target
            ? undefined
            : (didYouMeanHelp(rel, [...new Set(expand(this.all.layers, (n, r) => (r ? r.name(n) : n)))]) ??
              "a tie names a layer defined earlier, by its `as` name"),
        },
      );
      return undefined;
    }
    const wanted = tie.transposed ? [...shape].reverse() : shape;
    const same = wanted.length === weight.shape.length && wanted.every((s, i) => s === weight.shape[i]);
    if (!same) {
      const show = (s: readonly bigint[]) => `[${s.join(", ")}]`;
      const flipped = [...shape].reverse();
      const transposedFits =
        !tie.transposed && flipped.length === weight.shape.length && flipped.every((s, i) => s === weight.shape[i]);
      const what = tie.transposed
        ? `the transpose of ${weight.name} ${show([...weight.shape].reverse())}`
        : `${weight.name} ${show(weight.shape)}`;
      this.report(
        "TieShapeMismatch",
        tie.span,
        { tensor, shape: show(shape), target: what },
        {
          labels: [{ span: target.span, message: `${weight.name} is ${show(weight.shape)}` }],
          help: transposedFits
            ? `the shapes are transposes: write \`tie = transpose(${rel})\``
            : "a tie needs the same shape",
        },
      );
      return undefined;
    }
    const elements = shape.reduce((a, b) => a * b, 1n);
    this.ties.push({
      tensor,
      target: weight.name,
      shape,
      transposed: tie.transposed,
      elements: elements * scope.multiplicity,
    });
    return weight.name;
  }

  private block(
    stage: A.ExprStage,
    block: BlockInfo,
    args: LayerArgs,
    input: Value,
    env: Env,
    scope: Scope,
    frozen: boolean,
    share?: { node: LayerNode; found: LayerNode; span: Span },
  ): Value {
    if (this.depth >= maxInstantiationDepth) {
      this.report("RecursiveBlock", stage.span, ["depth", { max: maxInstantiationDepth }]);
      throw new Abort();
    }
    const name = this.nameFor(stage, scope);
    const instance = share?.node ?? this.inheritedShare(name, block.name, stage.span, scope);
    // A call that applies an instance again maps its layers' names to the instance's (`b.fc` → `a.fc`).
    const shareScope: ShareScope | undefined = share
      ? { from: name, to: share.found.name, span: share.span }
      : scope.share;
    const blockEnv = new Env(this.fileEnv(block.decl));
    blockEnv.block = block.name;
    // Parameters as the resolver bound them (positional, then named), then defaults (which may use
    // earlier parameters).
    const params = block.decl.params;
    const given = new Map<string, A.Expr>();
    for (const [name, arg] of args)
      if (name !== "frozen" && name !== "tie" && name !== "share") given.set(name, arg.expr);
    for (const p of params) {
      const expr = given.get(p.name.name);
      const v = expr ? this.num(expr, env) : p.default ? this.num(p.default, blockEnv) : undefined;
      if (v) blockEnv.nums.set(p.name.name, v);
      else {
        this.failed = true;
        throw new Abort();
      }
    }
    // The call's analysis depends on nothing else: the body sees only the file's constants and these.
    const key =
      !this.memoize || shareScope
        ? undefined
        : `block ${idOf(block.decl)}(${params.map((p) => argKey(blockEnv.nums.get(p.name.name)!)).join(", ")}) ${valueKey(input)} ${frozen}`;
    const known = key === undefined ? undefined : this.memo.get(key);
    if (known && this.depth + known.height < maxInstantiationDepth) {
      const { view, output } = this.reuse(known, name, scope.multiplicity, scope.activeMultiplicity);
      view.count = 1n;
      view.activeCount = 1n;
      reuseFlow(view, known, valueIds(input), output);
      scope.node.children.push(view);
      return { ...output, origin: stage.span };
    }
    const start = this.beginUnit();
    let end: UnitEnd | undefined;
    let out: Value;
    const blockNode = node(name, block.name, stage.span, scope.multiplicity, scope.activeMultiplicity);
    try {
      this.deepest = Math.max(this.deepest, this.depth);
      if (instance) blockNode.shares = instance.name;
      scope.node.children.push(blockNode);
      this.addLayer(name, blockNode);
      this.lists.blockCalls.push({ decl: block.decl, node: blockNode });
      const inner: Scope = {
        prefix: name,
        position: 0,
        names: newNames(),
        node: blockNode,
        frozen,
        multiplicity: scope.multiplicity,
        activeMultiplicity: scope.activeMultiplicity,
        ...(shareScope ? { share: shareScope } : {}),
      };
      this.depth++;
      try {
        const result = this.body(block.decl.body, input, blockEnv, inner, stage.expr.span);
        out =
          result.outputs.length === 1
            ? result.outputs[0]!
            : {
                kind: "tuple" as const,
                items: result.outputs.flatMap((o) => (o.kind === "tuple" ? o.items : [o])),
                origin: stage.span,
              };
        blockNode.outputShape = showValue(out);
        blockNode.flow = { inputs: valueIds(input), outputs: valueIds(out) };
        blockNode.macs = sumMacs(blockNode);
      } finally {
        this.depth--;
      }
    } finally {
      end = this.endUnit(start);
    }
    this.remember(key, start, end, blockNode, name, scope.multiplicity, scope.activeMultiplicity, out, valueIds(input));
    return { ...out, origin: stage.span } as Value;
  }

  // ── memoized units: block calls and repeated elements ───────────────────────────────────────────────

  private addLayer(name: string, n: LayerNode): void {
    this.layersByName.set(name, n);
    this.lists.layers.push(name);
  }

  /** A layer by full name, also inside a reused unit (as a view of the layer it was first analyzed as). */
  private findLayer(name: string): LayerNode | undefined {
    const own = this.layersByName.get(name);
    if (own) return own;
    for (let i = name.indexOf("."); ; i = name.indexOf(".", i + 1)) {
      const end = i === -1 ? name.length : i;
      const unit = this.reused.get(name.slice(0, end));
      if (unit) {
        const found = this.findLayer(unit.prefix + name.slice(end));
        return found && viewNode(found, unit.rename);
      }
      if (i === -1) return undefined;
    }
  }

  /** Starts a unit's own lists, attached to the current ones as a group. */
  private beginUnit(): UnitStart {
    const start: UnitStart = {
      outer: this.lists,
      diagnostics: this.diagnostics.length,
      ties: this.tieCount,
      failed: this.failed,
      values: this.irValues.length,
      depth: this.depth,
      deepest: this.deepest,
      tally: { ...this.tally },
    };
    const inner = lists();
    this.attach(inner, null);
    this.lists = inner;
    this.failed = false;
    this.deepest = -1;
    return start;
  }

  /** Ends a unit (also when it aborts): back to the outer lists. */
  private endUnit(start: UnitStart): UnitEnd {
    const end: UnitEnd = {
      clean:
        !this.diagnostics.slice(start.diagnostics).some((d) => d.severity === "error") &&
        this.tieCount === start.ties &&
        !this.failed,
      height: this.deepest < 0 ? -1 : this.deepest - start.depth,
      lists: this.lists,
      tally: {
        ops: this.tally.ops - start.tally.ops,
        values: this.tally.values - start.tally.values,
        elements: this.tally.elements - start.tally.elements,
      },
    };
    this.lists = start.outer;
    this.failed ||= start.failed;
    this.deepest = Math.max(start.deepest, this.deepest);
    return end;
  }

  private attach(l: Lists, r: Rename | null): void {
    this.lists.tensors.push(new Group(l.tensors, r));
    this.lists.blockCalls.push(new Group(l.blockCalls, r));
    this.lists.layers.push(new Group(l.layers, r));
    this.lists.conventions.push(new Group(l.conventions, r));
  }

  /** Keeps a unit's analysis for reuse: when it reported nothing, met no tie, and its output is its own. */
  private remember(
    key: string | undefined,
    start: UnitStart,
    end: UnitEnd,
    root: LayerNode,
    prefix: string,
    multiplicity: bigint,
    activeMultiplicity: bigint,
    output: Value,
    bound: readonly number[],
  ): void {
    if (key === undefined || !end.clean || multiplicity === 0n || activeMultiplicity === 0n) return;
    const items = output.kind === "tensor" ? [output] : output.items;
    if (!items.every((v) => v.id !== undefined && v.id >= start.values)) return;
    this.memo.set(key, {
      root,
      prefix,
      multiplicity,
      activeMultiplicity,
      lists: end.lists,
      output,
      bound,
      height: end.height,
      tally: end.tally,
    });
  }

  /** A memoized unit used again under `name`: its lists shared, its root a view, its output fresh. */
  private reuse(
    memo: Memo,
    name: string,
    multiplicity: bigint,
    activeMultiplicity: bigint,
  ): { view: LayerNode; output: Value } {
    this.steps++;
    const r = rename(memo.prefix, name, memo.multiplicity, multiplicity, memo.activeMultiplicity, activeMultiplicity);
    this.attach(memo.lists, r);
    this.reused.set(name, { prefix: memo.prefix, rename: r });
    // Every op of the unit has a multiple of the unit's copies: the rescaling is exact.
    this.tally.ops += r.copies(memo.tally.ops);
    this.tally.values += r.copies(memo.tally.values);
    this.tally.elements += r.copies(memo.tally.elements);
    return { view: viewNode(memo.root, r), output: this.freshValue(memo.output) };
  }

  /** The free names of a repeated body, whose values (numbers, value shapes) its analysis may read. */
  private envKey(stage: A.RepeatStage, env: Env): string {
    return namesIn(stage)
      .map((n) => {
        const num = env.num(n);
        const value = env.value(n);
        return `${n}=${num ? argKey(num) : "-"}/${value ? valueKey(value) : "-"}`;
      })
      .join(" ");
  }

  /** The value numbers of the outer values a repeated body's names may mean, in `envKey`'s order (the
   *  names it mentions that are bound outside it now). */
  private freeValueIds(stage: A.RepeatStage, env: Env): number[] {
    return namesIn(stage).flatMap((n) => {
      const value = env.value(n);
      return value ? valueIds(value) : [];
    });
  }

  /** The constants of the file that defines `block`: its body is evaluated under them. */
  private fileEnv(block: A.BlockDecl): Env {
    const env = new Env();
    for (const [name, value] of this.context.constantsOf(block) ?? this.resolved.constants)
      env.nums.set(name, { kind: "int", value });
    return env;
  }

  private residual(
    stage: A.ExprStage,
    args: readonly A.Arg[],
    input: Value,
    env: Env,
    scope: Scope,
    frozen: boolean,
  ): Value {
    if (input.kind !== "tensor") {
      this.report("BadValueUse", stage.span, ["notList", { kind: "residual" }]);
      throw new Abort();
    }
    const body = stage.body;
    if (!body) throw new Abort();
    const inner: Scope = stage.alias
      ? {
          prefix: this.nameFor(stage, scope),
          position: 0,
          names: newNames(),
          node: scope.node,
          frozen,
          multiplicity: scope.multiplicity,
          activeMultiplicity: scope.activeMultiplicity,
          ...(scope.share ? { share: scope.share } : {}),
        }
      : { ...scope, frozen };
    const main = this.body(body, input, env, inner);
    // Transparent scopes share the enclosing counter.
    if (!stage.alias) scope.position = inner.position;
    const out = this.single(main.outputs, stage.span, "the residual body");
    let other: TensorValue = input;
    const shortcutArg = args.find((a) => a.name?.name === "shortcut");
    if (shortcutArg && shortcutArg.value.kind === "BodyLit") {
      const sc = this.body(shortcutArg.value.body, input, env, inner === scope ? scope : inner);
      if (!stage.alias) scope.position = inner.position;
      other = this.single(sc.outputs, shortcutArg.span, "the shortcut");
    }
    if (!sameShape(out.shape, other.shape)) {
      this.report(
        "ShapeMismatch",
        stage.expr.span,
        ["residual", { body: showShape(out.shape), input: showShape(other.shape) }],
        {
          labels: [
            { span: out.origin, message: `the body gives ${showShape(out.shape)}` },
            {
              span: shortcutArg ? shortcutArg.span : other.origin,
              message: `${shortcutArg ? "the shortcut gives" : "the input is"} ${showShape(other.shape)}`,
            },
          ],
          help: shortcutArg
            ? "make the shortcut produce the body's shape"
            : "add a `shortcut = { … }` that projects the input to the body's shape",
        },
      );
      throw new Abort();
    }
    const sum = this.fresh(arithmetic(out, other, stage.span, "`residual`"));
    scope.node.flowOps.push({
      kind: "add",
      inputs: [out.id!, other.id!],
      output: sum.id!,
      residual: shortcutArg ? "shortcut" : "identity",
      after: scope.node.children.length,
    });
    this.record(
      { kind: "add", name: "", args: new Map(), inputs: [out.id!, other.id!], tensors: [], span: stage.span },
      sum,
      scope.multiplicity,
      scope.node,
    );
    return sum;
  }

  private single(values: readonly Value[], span: Span, what: string): TensorValue {
    const v = values[0];
    if (values.length === 1 && v?.kind === "tensor") return v;
    this.report("BadValueUse", span, [
      "oneOutput",
      { what, found: values.length === 0 ? "none" : values.map(showValue).join(", ") },
    ]);
    throw new Abort();
  }

  private moe(
    stage: A.ExprStage,
    entry: LayerEntry,
    args: readonly A.Arg[],
    given: LayerArgs,
    input: Value,
    env: Env,
    scope: Scope,
    frozen: boolean,
  ): Value {
    const bound = this.bind(entry.args, entry.options, given, env);
    const experts = bound.get("experts")?.kind === "int" ? (bound.get("experts") as { value: bigint }).value : 1n;
    const topK = bound.get("top_k")?.kind === "int" ? (bound.get("top_k") as { value: bigint }).value : 1n;
    if (input.kind !== "tensor") {
      this.report("BadValueUse", stage.span, ["notList", { kind: "moe" }]);
      throw new Abort();
    }
    if (topK > experts) {
      const arg = args.find((a) => a.name?.name === "top_k") ?? args[1];
      this.report("WrongOptionType", arg?.span ?? stage.span, ["topK", { topK, experts }]);
      throw new Abort();
    }
    const d = input.shape[input.shape.length - 1];
    const ids = tokenIdProblem(entry, "moe", input);
    if (ids || !d || input.shape.slice(0, -1).some((x) => !x.seq)) {
      this.report(
        ids ? "WrongDtype" : "WrongRank",
        stage.expr.span,
        ids ? ids.message : ["moe", { shape: showShape(input.shape) }],
        {
          labels: [{ span: input.origin, message: `this is ${showShape(input.shape)}` }],
          help: ids?.help,
        },
      );
      throw new Abort();
    }
    const axis = channelAxisProblem(entry, "moe", input, () => undefined);
    if (axis) {
      this.report("SequenceAsChannels", stage.expr.span, axis.message, {
        labels: [{ span: input.origin, message: `this has shape ${showShape(input.shape)}` }],
        help: axis.help,
        notes: [...(axis.notes ?? [])],
      });
      throw new Abort();
    }
    const name = this.nameFor(stage, scope);
    const moeNode = node(name, "moe", stage.span, scope.multiplicity, scope.activeMultiplicity);
    // Inside a call that applies an instance again: the instance's router (its experts' layers are mapped
    // as any layer inside the call is).
    const instance = this.inheritedShare(name, "moe", stage.span, scope);
    let router: TensorRecord = {
      name: `${name}.router.weight`,
      shape: [experts, d.size],
      role: "matrix",
      init: fanInUniform(d.size),
      multiplicity: scope.multiplicity,
      activeMultiplicity: scope.activeMultiplicity,
      frozen,
    };
    if (instance) {
      router = this.sharedTensors(
        instance,
        [{ name: "router.weight", shape: router.shape }],
        callLabel(name, "moe"),
        input,
        scope.share!.span,
      )[0]!;
      moeNode.shares = instance.name;
    } else {
      moeNode.tensors.push(router);
      this.lists.tensors.push(router);
    }
    scope.node.children.push(moeNode);
    this.addLayer(name, moeNode);
    const tokens = input.shape.slice(0, -1).reduce((a, x) => a * x.size, 1n);
    const expertsName = `${name}.experts.{0..${experts - 1n}}`;
    const expertsNode = node(
      expertsName,
      "experts",
      stage.span,
      scope.multiplicity * experts,
      scope.activeMultiplicity * topK,
      experts,
      topK,
    );
    moeNode.children.push(expertsNode);
    const inner: Scope = {
      prefix: expertsName,
      position: 0,
      names: newNames(),
      node: expertsNode,
      frozen,
      multiplicity: scope.multiplicity * experts,
      activeMultiplicity: scope.activeMultiplicity * topK,
      ...(scope.share ? { share: scope.share } : {}),
    };
    // Expanded, a moe has a router op (its output: a score per expert) and a combining op besides the experts.
    this.expanded(2n, [{ ...input, shape: [...input.shape.slice(0, -1), dim(experts)] }, input], scope.multiplicity);
    const body = this.body(stage.body!, input, env, inner);
    const out = this.single(body.outputs, stage.span, "the expert body");
    if (!sameShape(out.shape, input.shape)) {
      this.report("ShapeMismatch", stage.expr.span, [
        "expert",
        { input: showShape(input.shape), output: showShape(out.shape) },
      ]);
      throw new Abort();
    }
    expertsNode.outputShape = showShape(out.shape);
    expertsNode.macs = sumMacs(expertsNode);
    expertsNode.flow = { inputs: valueIds(input), outputs: valueIds(out) };
    moeNode.flow = expertsNode.flow;
    // The router and the combining op, listed (not tallied again: `expanded` above counted them) so that
    // activation memory sees their values and scratch; the one analyzed expert output stands for all. The
    // router runs before the experts (the moe node's child 0), the combining op after.
    const routerOut = this.fresh({ ...input, shape: [...input.shape.slice(0, -1), dim(experts)], origin: stage.span });
    const combined = this.fresh({ ...input, origin: stage.span });
    moeNode.ops.push(this.ops.length, this.ops.length + 1);
    moeNode.opsAt.push(0, 1);
    this.ops.push(
      {
        kind: "dense",
        name: `${name}.router`,
        entry: layerEntry("dense")!,
        args: new Map<string, ArgVal>([
          ["out", { kind: "int", value: experts }],
          ["bias", { kind: "bool", value: false }],
        ]),
        inputs: [input.id!],
        outputs: [routerOut.id!],
        tensors: [router],
        ...(instance ? this.reuseOf(name, undefined, scope, ".router") : {}),
        span: stage.span,
      },
      {
        kind: "moe_combine",
        name,
        args: new Map<string, ArgVal>([
          ["experts", { kind: "int", value: experts }],
          ["top_k", { kind: "int", value: topK }],
        ]),
        inputs: [routerOut.id!, out.id!],
        outputs: [combined.id!],
        tensors: [],
        span: stage.span,
      },
    );
    moeNode.outputShape = showShape(out.shape);
    // Per token: the router, and top_k experts.
    moeNode.macs = tokens * d.size * experts + topK * expertsNode.macs;
    return { ...out, origin: stage.span };
  }

  private repeat(stage: A.RepeatStage, input: Value, env: Env, scope: Scope): Value {
    const count = this.int(stage.count, env);
    if (count === undefined) throw new Abort();
    if (count < 0n) {
      this.report("NonPositiveSize", stage.count.span, ["notNegative", { what: "a repeat count", value: count }]);
      throw new Abort();
    }
    let start = 0n;
    if (stage.start) {
      const given = this.int(stage.start, env);
      if (given === undefined) throw new Abort();
      if (given < 0n) {
        this.report("NonPositiveSize", stage.start.span, [
          "notNegative",
          { what: "the first copy's number", value: given },
        ]);
        throw new Abort();
      }
      start = given;
    }
    if (this.distinct(stage)) return this.oneByOne(stage, input, env, scope, count, start);
    // `repeat n from k { … }` without a name numbers its copies k … k + n − 1 in the enclosing body, as
    // the layers of an `nn.Sequential`; the statements after it go on from k + n.
    const flat = stage.start !== null && stage.alias === null;
    const name = flat ? scope.prefix : this.nameFor(stage, scope);
    if (flat) {
      this.claim(scope, String(start), stage.start!.span, start + count);
      scope.position = Number(start + count);
    }
    if (count === 0n) return input;
    // All copies at once: exact when the body keeps its input's shape (then every copy is the same).
    const mark = this.mark(scope);
    const all = this.element(stage, input, env, scope, name, start, 0n, count);
    if (count === 1n || sameValue(all, input)) return all;
    // The first copy changes the shape (VGG's first convolution of a stage takes 3 channels, the others
    // 64): count it alone, then the other count − 1 copies, which must keep the shape.
    this.rollback(scope, mark);
    const first = this.element(stage, input, env, scope, name, start, 0n, 1n);
    const rest = this.element(stage, first, env, scope, name, start, 1n, count - 1n);
    if (count > 2n && !sameValue(rest, first)) {
      this.report("ShapeMismatch", stage.span, ["repeat", { first: showValue(first), rest: showValue(rest), count }], {
        help: "after its first copy, a repeated body must keep the shape of its input",
      });
      throw new Abort();
    }
    return rest;
  }

  /** Whether a repeat's copies differ from each other: its body reads its index (`with i`), or a name
   *  template names each copy. Such a repeat is analyzed copy by copy (`oneByOne`). */
  private distinct(stage: A.RepeatStage): boolean {
    return stage.template !== null || (stage.index !== null && namesIn(stage).includes(stage.index.name));
  }

  /** A repeat whose copies differ: each copy analyzed on its own, with the index bound to its number
   *  (`start` + k), on the previous copy's output (whose shape may change from copy to copy: DenseNet's
   *  growing channels). Each copy is named as in a repeat of identical copies (`h.3`, `3` …), or by the name
   *  template (`encoder_layer_3`). A copy whose analysis does not depend on its number (a template's body
   *  that never reads the index) is reused from the first one, as any repeated element. The copies one by
   *  one are bounded per model (`maxDistinctCopies`): past it, NN3029 rather than a long analysis. */
  private oneByOne(stage: A.RepeatStage, input: Value, env: Env, scope: Scope, count: bigint, start: bigint): Value {
    this.distinctCopies += count;
    if (this.distinctCopies > maxDistinctCopies) {
      this.report(
        "TooManyDistinctCopies",
        stage.count.span,
        { count: grouped(count), max: grouped(BigInt(maxDistinctCopies)) },
        {
          notes: [
            stage.template
              ? "a name template names every copy, so each is analyzed on its own"
              : `the body reads \`${stage.index!.name}\`, so each copy is analyzed on its own`,
          ],
          help: "repeat identical copies without the index (they are counted without being spelled out), or fewer",
        },
      );
      throw new Abort();
    }
    const template = stage.template;
    let name = "";
    if (template) {
      scope.position++;
    } else if (stage.start !== null && stage.alias === null) {
      name = scope.prefix;
      this.claim(scope, String(start), stage.start.span, start + count);
      scope.position = Number(start + count);
    } else {
      name = this.nameFor(stage, scope);
    }
    let value = input;
    for (let k = 0n; k < count; k++) {
      const number = start + k;
      const copyEnv = new Env(env);
      if (stage.index) copyEnv.nums.set(stage.index.name, { kind: "int", value: number });
      let named: string | undefined;
      if (template) {
        const local = template.value.split(`{${stage.index!.name}}`).join(String(number));
        this.claim(scope, local, template.span);
        named = scope.prefix ? `${scope.prefix}.${local}` : local;
      }
      value = this.element(stage, value, copyEnv, scope, name, start, k, 1n, named);
    }
    return value;
  }

  /** Copies `from` … `from + count − 1` of a repeated body, analyzed once and counted `count` times; they
   *  are named `name.(numberedFrom + from)` … (`name` is empty for a numbered repeat at the top of a model),
   *  or `named` (one copy named by a template). */
  private element(
    stage: A.RepeatStage,
    input: Value,
    env: Env,
    scope: Scope,
    name: string,
    numberedFrom: bigint,
    from: bigint,
    count: bigint,
    named?: string,
  ): Value {
    const first = numberedFrom + from;
    const last = first + count - 1n;
    const index = count === 1n ? String(first) : `{${first}..${last}}`;
    const element = named ?? (name === "" ? index : `${name}.${index}`);
    const multiplicity = scope.multiplicity * count;
    const activeMultiplicity = scope.activeMultiplicity * count;
    // Which copies these are changes only names and counts: the body, its input and the values it can
    // see decide the rest.
    const key =
      !this.memoize || scope.share
        ? undefined
        : `repeat ${idOf(stage)} ${valueKey(input)} ${scope.frozen} ${this.envKey(stage, env)}`;
    const known = key === undefined ? undefined : this.memo.get(key);
    // The values the body can read from outside: its input and the outer values its names may mean.
    const free = this.freeValueIds(stage, env);
    const bound = [...valueIds(input), ...free];
    if (known && this.depth + known.height < maxInstantiationDepth) {
      const { view, output } = this.reuse(known, element, multiplicity, activeMultiplicity);
      view.count = count;
      view.activeCount = count;
      reuseFlow(view, known, bound, output);
      scope.node.children.push(view);
      return output;
    }
    const start = this.beginUnit();
    let end: UnitEnd | undefined;
    const repeatNode = node(element, "repeat", stage.span, multiplicity, activeMultiplicity, count);
    let root = repeatNode;
    let out: Value;
    try {
      scope.node.children.push(repeatNode);
      const inner: Scope = {
        prefix: element,
        position: 0,
        names: newNames(),
        node: repeatNode,
        frozen: scope.frozen,
        multiplicity,
        activeMultiplicity,
        ...(scope.share ? { share: scope.share } : {}),
      };
      // `repeat … { Block() }`: the single unnamed call lives directly under `h.i`, like nn.ModuleList; so
      // does `repeat … { input h  [h, memory] -> Block() }`, a call on the copy's input and outer values.
      const statements = stage.body.statements;
      const given = statements[0]?.kind === "Input" && statements.length === 2 ? statements[0] : undefined;
      const only = statements.length === 1 ? statements[0] : given ? statements[1] : undefined;
      const stages = only?.kind === "FlowStmt" ? only.flow.stages : [];
      const lead = given && stages.length === 2 && stages[0]!.kind === "ExprStage" ? stages[0] : undefined;
      const single = stages.length === 1 ? stages[0] : lead ? stages[1] : undefined;
      const call = single?.kind === "ExprStage" && !single.alias && single.body === null ? single : undefined;
      // A body that names the value it runs on (`y -> repeat 3 { z = dense(4)  z + y }`) reads two values
      // that are one in this analysis but not in the copies after the first: its input (the previous copy's
      // output) and the name's. Its input is then numbered apart (`aliased`), so that they stay apart when
      // the copies are spelled out (src/lower/).
      const aliased = !call && valueIds(input).some((id) => free.includes(id)) ? this.freshValue(input) : undefined;
      out = call
        ? this.directStage(call, lead ? this.givenValue(given!, lead, input, env, inner) : input, env, inner, element)
        : this.single(this.body(stage.body, aliased ?? input, env, inner).outputs, stage.span, "the repeated body");
      // The call is the repeated element itself: it takes the repeat node's place, with its count.
      const direct = call && repeatNode.children.length === 1 ? repeatNode.children[0]! : undefined;
      if (direct) {
        direct.count = count;
        direct.activeCount = count;
        if (lead) direct.chained = valueIds(input);
        scope.node.children[scope.node.children.indexOf(repeatNode)] = direct;
        root = direct;
      } else {
        repeatNode.outputShape = showValue(out);
        repeatNode.macs = sumMacs(repeatNode);
        repeatNode.flow = { inputs: valueIds(input), outputs: valueIds(out) };
        // An aliased body's input: like a reused unit's, its numbers inside lead to those around it, in
        // `bound`'s order (input, then the outer values its names may mean), and its outputs are its own.
        if (aliased) {
          repeatNode.flow = { inputs: valueIds(aliased), outputs: valueIds(out) };
          repeatNode.reuse = {
            inputs: [...valueIds(aliased), ...free].map((inside, i): [number, number] => [inside, bound[i]!]),
            outputs: valueIds(out).map((id): [number, number] => [id, id]),
          };
        }
      }
    } finally {
      end = this.endUnit(start);
    }
    this.remember(key, start, end, root, element, multiplicity, activeMultiplicity, out, bound);
    return out;
  }

  private mark(scope: Scope) {
    return {
      tensors: this.lists.tensors.length,
      ties: this.ties.length,
      children: scope.node.children.length,
      flowOps: scope.node.flowOps.length,
      names: scope.node.names.length,
      diagnostics: this.diagnostics.length,
      blockCalls: this.lists.blockCalls.length,
      layers: this.lists.layers.length,
      failed: this.failed,
      tally: { ...this.tally },
    };
  }

  /** Undoes everything analyzed since `mark` (a repeat analyzed under a wrong assumption). */
  private rollback(scope: Scope, mark: ReturnType<Engine["mark"]>): void {
    this.lists.tensors.length = mark.tensors;
    this.ties.length = mark.ties;
    scope.node.children.length = mark.children;
    scope.node.flowOps.length = mark.flowOps;
    scope.node.names.length = mark.names;
    for (const d of this.diagnostics.splice(mark.diagnostics))
      this.seen.delete(`${d.code}:${d.span?.file}:${d.span?.start}:${d.message}`);
    this.lists.blockCalls.length = mark.blockCalls;
    // Names analyzed since stay in `layersByName`, under a prefix no later lookup uses; conventions are
    // kept, as they always were.
    this.lists.layers.length = mark.layers;
    this.failed = mark.failed;
    // The ops and values stay: a rolled-back unit stays memoized (the first copy of the same repeat reuses
    // it), and its nodes' `ops` refer to them.
    this.tally = { ...mark.tally };
  }

  /** Runs a single stage named `name` (the repeat element `h.{0..11}`) instead of by its position: the
   *  stage is given that name as if written `as`. */
  /** The value \`lead\` makes of a repeated body's input named by \`given\` (\`input h\`) and outer values. */
  private givenValue(given: A.InputStmt, lead: A.ExprStage, input: Value, env: Env, scope: Scope): Value {
    const inner = new Env(env);
    inner.values.set(given.names[0]!.name, input);
    return this.stage(lead, null, inner, scope);
  }

  private directStage(st: A.ExprStage, input: Value, env: Env, scope: Scope, name: string): Value {
    this.steps++;
    const target = st.expr.kind === "Ident" || st.expr.kind === "Call" ? this.context.calls.get(st.expr) : undefined;
    if (!target) return this.stage(st, input, env, scope);
    const aliasScope: Scope = { ...scope, prefix: parentOf(name), position: 0, names: newNames() };
    const aliased: A.ExprStage = { ...st, alias: { name: lastOf(name), span: st.span } };
    const out = this.call(aliased, st.expr as A.Call | A.Ident, target, input, env, aliasScope);
    return out;
  }

  // ── arguments ──────────────────────────────────────────────────────────────────────────────────────

  /** Evaluates a layer call's arguments, as the resolver bound them to parameter names (the one binding:
   *  the analysis runs only on resolved files), in `env`. */
  private bind(
    positional: readonly ParamSpec[],
    options: readonly ParamSpec[],
    given: LayerArgs,
    env: Env,
  ): Map<string, EValue> {
    const out = new Map<string, EValue>();
    const specs = [...positional, ...options, ...universalOptions];
    for (const [key, arg] of given) {
      const spec = specs.find((p) => p.name === key);
      if (!spec || key === "frozen" || key === "tie" || key === "share" || key === "shortcut") continue;
      const v = this.num(arg.expr, env, spec);
      if (v) this.checkMinimum(key, spec, v, arg.expr.span);
      if (v) out.set(key, v);
    }
    return out;
  }

  /** Integer minimums (sizes ≥ 1, paddings ≥ 0) of values that come through a block's parameters
   *  (`block B(h) { gru(h) }` called as `B(0)`), known only here; literals were checked by the resolver,
   *  with the same wording (NN3005). */
  private checkMinimum(name: string, spec: ParamSpec, v: EValue, span: Span): void {
    const values =
      v.kind === "int"
        ? [v.value]
        : v.kind === "list"
          ? v.items.flatMap((i) => (i.kind === "int" ? [i.value] : []))
          : [];
    const min = intMinimum(spec.type, v.kind === "list" ? "item" : "int");
    const bad = min === undefined ? undefined : values.find((x) => x < min);
    if (min === undefined || bad === undefined) return;
    this.report("NonPositiveSize", span, belowMinimum(`\`${name}\``, min, bad), {
      notes: ["the value comes from a block's argument"],
    });
    throw new Abort();
  }

  /** Evaluates an argument expression to an engine value. Identifiers that name no number are enum
   *  names or layer paths (the resolver has checked which is allowed). */
  private num(expr: A.Expr, env: Env, spec?: ParamSpec): EValue | undefined {
    switch (expr.kind) {
      case "Bool":
        return { kind: "bool", value: expr.value };
      case "Decimal":
        return { kind: "decimal", value: expr.value };
      case "List": {
        const items: EValue[] = [];
        for (const item of expr.items) {
          const v = this.num(item, env);
          if (!v) return undefined;
          items.push(v);
        }
        return { kind: "list", items };
      }
      case "BodyLit":
        return { kind: "body", body: expr.body };
      case "String":
        return { kind: "string", value: expr.value };
      case "Ident": {
        const v = env.num(expr.name);
        if (v) return v;
        return spec?.type.kind === "path"
          ? { kind: "path", path: [expr.name], transposed: false }
          : { kind: "name", value: expr.name };
      }
      case "Member": {
        const path = memberPath(expr);
        return path ? { kind: "path", path, transposed: false } : undefined;
      }
      case "Call": {
        if (expr.callee.name === "transpose" && expr.args.length === 1) {
          const inner = expr.args[0]!.value;
          const path = inner.kind === "Ident" ? [inner.name] : inner.kind === "Member" ? memberPath(inner) : undefined;
          return path ? { kind: "path", path, transposed: true } : undefined;
        }
        return undefined;
      }
      default: {
        const diagnostics: Diagnostic[] = [];
        const v = evaluate(expr, { decimals: true, lookup: (id) => toNum(env.num(id.name)) }, diagnostics);
        for (const d of diagnostics) this.push(d);
        if (v.kind === "int") return { kind: "int", value: v.value };
        if (v.kind === "decimal") return { kind: "decimal", value: v.value };
        return undefined;
      }
    }
  }

  private int(expr: A.Expr, env: Env): bigint | undefined {
    const v = this.num(expr, env);
    if (v?.kind === "int") return v.value;
    if (v) this.report("NotAnInteger", expr.span, ["integer", {}]);
    else this.failed = true;
    return undefined;
  }

  private ctx(
    entry: LayerEntry,
    written: string,
    bound: Map<string, EValue>,
    inputs: readonly TensorValue[],
    args: readonly A.Arg[],
    callSpan: Span,
  ): LayerCtx {
    const engine = this;
    const get = (name: string): EValue | undefined => argWithDefault(entry, bound, name);
    const argSpan = (name: string): Span => {
      const arg = args.find((a) => a.name?.name === name) ?? args[entry.args.findIndex((p) => p.name === name)];
      return arg?.value.span ?? callSpan;
    };
    const int = (name: string): bigint => {
      const v = get(name);
      if (v?.kind === "int") return v.value;
      throw new ArgError(name, [
        "WrongOptionType",
        ["mustBe", { name, expected: `an integer here${v ? "" : " (it has no value)"}` }],
      ]);
    };
    return {
      kind: written,
      input: inputs[0]!,
      inputs,
      has: (name) => bound.has(name),
      int,
      pair(name) {
        const v = get(name);
        if (v?.kind === "int") return [v.value, v.value];
        if (v?.kind === "list" && v.items.length === 2 && v.items.every((i) => i.kind === "int")) {
          return [(v.items[0] as { value: bigint }).value, (v.items[1] as { value: bigint }).value];
        }
        throw new ArgError(name, [
          "WrongOptionType",
          ["mustBe", { name, expected: "an integer or a list of two integers" }],
        ]);
      },
      ints(name) {
        const v = get(name);
        if (v?.kind === "int") return [v.value];
        if (v?.kind === "list" && v.items.every((i) => i.kind === "int"))
          return v.items.map((i) => (i as { value: bigint }).value);
        throw new ArgError(name, ["WrongOptionType", ["mustBe", { name, expected: "a list of integers" }]]);
      },
      isList: (name) => get(name)?.kind === "list",
      bool(name) {
        const v = get(name);
        if (v?.kind === "bool") return v.value;
        throw new ArgError(name, ["WrongOptionType", ["mustBe", { name, expected: "`true` or `false`" }]]);
      },
      decimal(name) {
        const v = get(name);
        const value = v?.kind === "decimal" ? v.value : v?.kind === "int" ? Number(v.value) : undefined;
        if (value === undefined)
          throw new ArgError(name, ["WrongOptionType", ["mustBe", { name, expected: "a number" }]]);
        // Literals were range-checked by the resolver; this catches values passed in through a block's
        // parameters (`block B(q) { dropout(q) }` called as `B(1)`), known only here.
        const type = [...entry.args, ...entry.options].find((p) => p.name === name)?.type;
        const problem = type?.kind === "decimal" ? rangeProblem(`\`${name}\``, value, type.range, "pass") : undefined;
        if (problem) {
          throw new ArgError(name, ["OptionOutOfRange", problem.message], {
            notes: [problem.note, "the value comes from a block's argument"],
            help: problem.help,
          });
        }
        return value;
      },
      name(name) {
        const v = get(name);
        return v?.kind === "name" ? v.value : undefined;
      },
      string(name) {
        const v = get(name);
        if (v?.kind === "string") return v.value;
        throw new ArgError(name, ["WrongOptionType", ["mustBe", { name, expected: 'a string such as `"q_proj"`' }]]);
      },
      fail(code, message, options: FailOptions = {}) {
        const labels: Label[] = [...(options.labels ?? [])];
        if (options.showInput)
          labels.push({ span: inputs[0]!.origin, message: `this has shape ${showShape(inputs[0]!.shape)}` });
        engine.report(code, options.arg ? argSpan(options.arg) : callSpan, message, {
          labels,
          help: options.help,
          ...(options.notes ? { notes: [...options.notes] } : {}),
        });
        return undefined;
      },
    };
  }
}

function sameValue(a: Value, b: Value): boolean {
  if (a.kind === "tensor" && b.kind === "tensor") return sameShape(a.shape, b.shape) && a.dtype === b.dtype;
  if (a.kind === "tuple" && b.kind === "tuple")
    return a.items.length === b.items.length && a.items.every((x, i) => sameValue(x, b.items[i]!));
  return false;
}

function node(
  name: string,
  kind: string,
  span: Span,
  multiplicity: bigint,
  activeMultiplicity: bigint,
  count = 1n,
  activeCount = count,
): LayerNode {
  return {
    name,
    kind,
    outputShape: "",
    tensors: [],
    macs: 0n,
    children: [],
    count,
    activeCount,
    multiplicity,
    activeMultiplicity,
    span,
    flowOps: [],
    names: [],
    ops: [],
    opsAt: [],
  };
}

/** A reused unit's view: which value numbers of its first analysis stand for which here (its input and
 *  the outer values it reads, `bound`; its outputs). Its own `flow` and everything inside it keep the first
 *  analysis's numbers. */
function reuseFlow(view: LayerNode, memo: Memo, bound: readonly number[], output: Value): void {
  const pairs = (from: readonly number[], to: readonly number[]): [number, number][] =>
    from.slice(0, to.length).map((f, i) => [f, to[i]!]);
  const inputs = pairs(memo.bound, bound);
  const outputs = pairs(valueIds(memo.output), valueIds(output));
  // A view of a view (a repeated element whose one call was itself a reused block call): its `flow` and
  // insides keep the numbers of the first analysis of all, which its own pairs lead to the memo's numbers;
  // chained through the memo's pairs they lead here.
  // So are an aliased repeated body's (`element`), whose pairs follow the memo's `bound` one for one (where
  // a value may stand twice): they are chained by position.
  const inner = view.reuse;
  if (inner) {
    const chain = (own: NodeReuse["inputs"], next: readonly [number, number][]) => {
      if (own.length === next.length && own.every(([, mid], i) => next[i]![0] === mid))
        return own.map(([first], i): [number, number] => [first, next[i]![1]]);
      const to = new Map(next);
      return own.flatMap(([first, mid]): [number, number][] => (to.has(mid) ? [[first, to.get(mid)!]] : []));
    };
    view.reuse = { inputs: chain(inner.inputs, inputs), outputs: chain(inner.outputs, outputs) };
  } else view.reuse = { inputs, outputs };
}

function valueIds(v: Value): number[] {
  return (v.kind === "tensor" ? [v] : v.items).flatMap((i) => (i.id === undefined ? [] : [i.id]));
}

/** MACs of one copy of `n`: its children's MACs, each times its count. */
function sumMacs(n: LayerNode): bigint {
  return n.children.reduce((a, c) => a + c.macs * c.count, 0n);
}

function memberPath(expr: A.Expr): string[] | undefined {
  if (expr.kind === "Ident") return [expr.name];
  if (expr.kind === "Member") {
    const inner = memberPath(expr.object);
    return inner ? [...inner, expr.property.name] : undefined;
  }
  return undefined;
}

function toNum(v: EValue | undefined): NumValue {
  if (v?.kind === "int") return { kind: "int", value: v.value };
  if (v?.kind === "decimal") return { kind: "decimal", value: v.value };
  return { kind: "invalid" };
}

function parentOf(name: string): string {
  const i = name.lastIndexOf(".");
  return i === -1 ? "" : name.slice(0, i);
}

function lastOf(name: string): string {
  const i = name.lastIndexOf(".");
  return i === -1 ? name : name.slice(i + 1);
}

// ── memo keys ───────────────────────────────────────────────────────────────────────────────────────

const ids = new WeakMap<object, number>();
let nextId = 0;

/** A number for an AST node (a block's declaration, a repeat, a body literal), for memo keys. */
function idOf(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextId++));
  return id;
}

/** What the analysis sees of a value: shapes (sizes, symbols, sequence axes), dtype and vocabulary. */
function valueKey(v: Value): string {
  if (v.kind === "tuple") return `(${v.items.map(valueKey).join(", ")})`;
  const dims = v.shape.map(
    (d) => `${d.size}${d.symbol !== undefined ? `:${d.symbol}` : ""}${d.seq ? "s" : ""}${d.positions ? "p" : ""}`,
  );
  const lost = v.idsLost ? `!${v.idsLost.span.file}:${v.idsLost.span.start}` : "";
  return `${v.dtype}${v.vocab !== undefined ? `<${v.vocab}` : ""}${lost}[${dims.join(", ")}]`;
}

function argKey(v: EValue): string {
  switch (v.kind) {
    case "int":
      return `${v.value}n`;
    case "decimal":
      return `${Object.is(v.value, -0) ? "-0" : v.value}d`;
    case "bool":
      return String(v.value);
    case "name":
      return JSON.stringify(v.value);
    case "list":
      return `[${v.items.map(argKey).join(", ")}]`;
    case "body":
      return `{${idOf(v.body)}}`;
    case "path":
      return `${v.transposed ? "T" : ""}(${v.path.map((p) => JSON.stringify(p)).join(".")})`;
    case "string":
      return `s${JSON.stringify(v.value)}`;
  }
}

const freeNames = new WeakMap<A.RepeatStage, string[]>();

/** The names a repeated body mentions, sorted (a superset of its free names). */
function namesIn(stage: A.RepeatStage): string[] {
  let names = freeNames.get(stage);
  if (!names) {
    const found = new Set<string>();
    collectIdents(stage.body, found);
    names = [...found].sort();
    freeNames.set(stage, names);
  }
  return names;
}

/** Every identifier in an AST subtree (more than the free names: a superset is safe for a key). */
function collectIdents(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) collectIdents(item, out);
    return;
  }
  if (typeof node !== "object" || node === null) return;
  const n = node as { kind?: unknown; name?: unknown };
  if (n.kind === "Ident" && typeof n.name === "string") out.add(n.name);
  for (const [k, v] of Object.entries(node)) if (k !== "span") collectIdents(v, out);
}

// ── token ids through the graph (vocabulary/kind.ts, `TokenIds`) ────────────────────────────────────────────────

type IdTraits =
  | { readonly dtype: "token"; readonly vocab?: bigint }
  | { readonly dtype: "float"; readonly idsLost?: TensorValue["idsLost"] };

/** The dtype of what a kind makes of its inputs: token ids stay ids only through kinds that `keeps` them
 *  (all inputs ids: the largest vocabulary); a kind that `computes` with ids makes floats that remember
 *  where the ids were lost (`by`, at `span`), and so does a `keeps` kind that mixes ids with floats. */
function idTraits(entry: LayerEntry, inputs: readonly TensorValue[], span: Span, by: string): IdTraits {
  const tokens = inputs.filter((i) => i.dtype === "token");
  if (entry.tokenIds === "keeps") {
    if (tokens.length === inputs.length) {
      const vocabs = tokens.map((i) => i.vocab);
      const vocab = vocabs.every((v) => v !== undefined) ? vocabs.reduce((a, b) => (a! > b! ? a : b)) : undefined;
      return vocab === undefined ? { dtype: "token" } : { dtype: "token", vocab };
    }
    if (tokens.length > 0) return { dtype: "float", idsLost: { span, by } };
    const lost = inputs.find((i) => i.idsLost)?.idsLost;
    return lost ? { dtype: "float", idsLost: lost } : { dtype: "float" };
  }
  return tokens.length > 0 && entry.tokenIds === "computes"
    ? { dtype: "float", idsLost: { span, by } }
    : { dtype: "float" };
}

/** `a + b`, `a * b`, a residual's sum: floats; from token ids, floats that remember where the ids were lost. */
/** The op of each operator of value arithmetic, and its verb in messages. */
const arithmeticOps = { "+": "add", "-": "sub", "*": "mul" } as const;
const arithmeticVerbs = { "+": "add", "-": "subtract", "*": "multiply" } as const;

function arithmetic(left: TensorValue, right: TensorValue, span: Span, by: string): TensorValue {
  const base = withoutIds(left);
  if (left.dtype === "token" || right.dtype === "token")
    return { ...base, dtype: "float", idsLost: { span, by }, origin: span };
  const lost = left.idsLost ?? right.idsLost;
  return { ...base, dtype: "float", ...(lost ? { idsLost: lost } : {}), origin: span };
}

/** A tensor value without its id traits (dtype, vocabulary, where ids were lost), to set them anew. */
function withoutIds(v: TensorValue): Omit<TensorValue, "dtype" | "vocab" | "idsLost"> {
  const { dtype: _dtype, vocab: _vocab, idsLost: _lost, ...rest } = v;
  return rest;
}

function isShape(v: Value | Shape): v is Shape {
  return Array.isArray(v);
}

// ── unused values (NN2009) ─────────────────────────────────────────────────────────────────────────────

/** A named value of a body (or an input of a block with several) that holds parameters. */
interface Bound {
  readonly names: readonly A.Name[];
  readonly params: bigint;
  /** For a block input: where the value passed in was computed. */
  readonly input?: Span;
}

const subtreeParamCache = new WeakMap<LayerNode, bigint>();

/** Parameters of one copy of a node's subtree: tensors that are not buffers and not tied (counted at the
 *  tensor they share), as count.ts sums them. */
function subtreeParams(n: LayerNode): bigint {
  const origin = sharedOrigin(n);
  const known = subtreeParamCache.get(origin);
  if (known !== undefined) return known;
  const m = origin.multiplicity;
  let total = 0n;
  if (m !== 0n) {
    for (const t of origin.tensors)
      if (t.role !== "buffer" && t.tiedTo === undefined) total += (elementsOf(t.shape) * t.multiplicity) / m;
    for (const c of origin.children) total += (subtreeParams(c) * c.multiplicity) / m;
  }
  subtreeParamCache.set(origin, total);
  return total;
}

function elementsOf(shape: readonly bigint[]): bigint {
  return shape.reduce((a, b) => a * b, 1n);
}

/** A naming prefix and every prefix enclosing it, innermost first, `""` last. */
function prefixesOf(prefix: string): string[] {
  const prefixes: string[] = [];
  for (let p = prefix; ; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") {
    prefixes.push(p);
    if (p === "") break;
  }
  return prefixes;
}

/** Segments of a name (`h.{0..11}.attn` → `h`, `{0..11}`, `attn`). */
function segments(name: string): string[] {
  return name.match(/\{[^}]*\}|[^.]+/g) ?? [];
}

/** How a message names a call: its own last name (`fc1`), or `this \`dense\`` when it has only a position. */
function callLabel(name: string, written: string): string {
  const last = name.slice(name.lastIndexOf(".") + 1);
  return /^\d+$/.test(last) ? `this \`${written}\`` : `\`${last}\``;
}

/** An argument as a person would write it, for messages (`2`, `[1, 2]`, `true`, `reflect`, `"q"`). */
function showArg(v: ArgVal): string {
  switch (v.kind) {
    case "int":
    case "decimal":
    case "bool":
    case "name":
      return String(v.value);
    case "string":
      return JSON.stringify(v.value);
    case "list":
      return `[${v.items.map(showArg).join(", ")}]`;
    case "path":
      return v.transposed ? `transpose(${v.path.join(".")})` : v.path.join(".");
    case "body":
      return "{ … }";
  }
}
