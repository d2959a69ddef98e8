// The resolver's scopes: integer names (constants, block parameters, symbolic dimensions) and value names,
// each a chain from a body to the bodies around it and the file.
import type { ConstDecl, Name } from "../syntax/ast.js";
import type { NumValue } from "./evaluate.js";

/** A name usable in integer expressions. */
export type NumEntry =
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
  /** The index of a `repeat … with i`: an integer, one per copy, known only when the copies are analyzed. */
  | { kind: "index"; name: Name }
  | { kind: "opaque" };

export type ConstEntry = Extract<NumEntry, { kind: "const" }>;

export class Scope {
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
export class ValueScope {
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
