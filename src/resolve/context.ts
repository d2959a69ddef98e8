// The one context every part of the resolver shares: the file and its imports, the tables it fills (the
// `ResolvedFile` to return), the diagnostics, and the records of one body being checked (`BodyCtx`). Each
// part is a file of functions taking this context first:
//   names.ts      file-level names, constants and integer expressions
//   blocks.ts     block parameters, models and their inputs
//   bodies.ts     bodies and the statements allowed where they stand
//   flows.ts      flows, stages, calls and value expressions
//   arguments.ts  the arguments of a call against its signature
//   recursion.ts  cycles of block calls
// resolve.ts runs them in order. A body can hold a body (`repeat`, `residual`, a body argument): flows.ts and
// arguments.ts reach bodies.ts through `ResolveContext.resolveBody`, so no two files import each other.
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type {
  Body,
  Call,
  ConstDecl,
  ExpectStmt,
  FileNode,
  Ident,
  InputStmt,
  LossStmt,
  Name,
  RepeatStage,
} from "../syntax/ast.js";
import { Scope, ValueScope } from "./scope.js";
import type { BlockInfo, CallTarget, ImportedSymbol, ModelInfo, ResolvedLoss } from "./types.js";

/** The model or block whose body is being checked. */
export interface Owner {
  readonly kind: "model" | "block";
  readonly name: string;
  /** Whether the owner is a local block (its calls are edges of the recursion graph). */
  readonly localBlock: boolean;
  input?: InputStmt;
  loss?: ResolvedLoss | { stmt: LossStmt };
}

export interface BodyCtx {
  readonly owner: Owner;
  /** Inside `residual`, `repeat`, `moe` or a shortcut body. */
  readonly nested: boolean;
  readonly scope: Scope;
  readonly values: ValueScope;
  /** `as` names of this naming scope (shared with transparent bodies: residual, shortcut). */
  readonly aliases: Map<string, Name>;
  /** A \`repeat\` or \`residual\` body, given the current value: \`input h\` may name it, once. */
  readonly given?: { readonly container: "repeat" | "residual"; input?: InputStmt };
}

/** How names are looked up in one integer expression. */
export interface NumCtx {
  readonly scope: Scope;
  readonly values?: ValueScope;
  /** Whether symbolic dimensions (`seq`) may appear. */
  readonly dims: boolean;
  /** What is being evaluated, for messages: "`out`", "the repeat count". */
  readonly what: string;
  /** Help for an unknown name when no suggestion is found. */
  readonly unknownHelp?: string;
}

/** Longest cycle (of constants or blocks) spelled out in a message and its labels. */
export const maxCycleSteps = 12;

export interface Edge {
  readonly from: string;
  readonly to: string;
  readonly site: Name;
}

export class ResolveContext {
  readonly diagnostics: Diagnostic[] = [];
  readonly fileScope = new Scope();
  readonly blocks = new Map<string, BlockInfo>();
  readonly models = new Map<string, ModelInfo>();
  readonly calls = new Map<Call | Ident, CallTarget>();
  readonly values = new Map<Ident, Name>();
  readonly bodyConstants = new Map<ConstDecl, bigint>();
  readonly repeats = new Map<RepeatStage, bigint>();
  /** The indices of the repeats checked so far in the block or model being checked (`with i`), by name:
   *  an unknown name that is one is used outside its repeat. Cleared per block and model, so that a
   *  diagnostic does not depend on which other bodies were checked (or reused from the cache) before. */
  readonly repeatIndices = new Map<string, Name>();
  readonly expects = new Map<ExpectStmt, bigint | number>();
  /** Imported names whose definition is not at hand. */
  readonly opaque = new Set<string>();
  /** A whole-file import without its symbols: unknown layer and constant names are accepted. */
  openWorld = false;
  /** Calls between local blocks, by caller (recursion.ts). */
  readonly edges = new Map<string, Edge[]>();
  readonly modelNames = new Set<string>();

  constructor(
    readonly file: FileNode,
    readonly imported: ReadonlyMap<string, ImportedSymbol> | undefined,
    /** Checks a body nested in the one being checked (bodies.ts `resolveBody`). */
    readonly resolveBody: (body: Body, outer: BodyCtx) => void,
  ) {}

  report(d: Diagnostic): void {
    this.diagnostics.push(d);
  }
}

/** The context of a body inside `ctx`'s (`repeat`, `residual`, `moe`, a shortcut or body argument): its
 *  own value names; its own `as` names unless `transparentNames` (residual, shortcut). */
export function nested(ctx: BodyCtx, transparentNames: boolean, given?: "repeat" | "residual"): BodyCtx {
  return {
    owner: ctx.owner,
    nested: true,
    scope: ctx.scope,
    values: new ValueScope(ctx.values),
    aliases: transparentNames ? ctx.aliases : new Map(),
    ...(given ? { given: { container: given } } : {}),
  };
}
