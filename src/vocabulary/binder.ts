// THE argument binder: which parameter each argument of a call binds to — positional arguments in order,
// named ones by name — for layer calls, loss calls and block calls alike. It decides and reports nothing
// itself: it returns the steps in argument order (a binding, or a problem: a positional argument after a
// named one, too many positional arguments, an unknown or repeated name) and the required parameters left
// without an argument, for its caller to word. Its caller is the resolver (src/resolve/arguments.ts), which
// reports the problems and records the bindings (`CallTarget.args`); the analysis reads those, so every
// call's arguments are bound once.
import type { Arg, Name } from "../syntax/ast.js";
import type { Span } from "../diagnostics/diagnostic.js";

/** What the binder needs of a parameter: its name, and whether it has a default (else it is required). */
export interface Bindable {
  readonly name: string;
  readonly default?: unknown;
}

export type BindStep<P extends Bindable> =
  /** `arg` binds to `param` (also after a `positionalAfterNamed` step, to the parameter it would take). */
  | { readonly kind: "bind"; readonly param: P; readonly arg: Arg }
  /** A positional argument after a named one (`firstNamed`); `would` is the parameter it is bound to next,
   *  the next positional parameter not given yet (none when they are all given). */
  | {
      readonly kind: "positionalAfterNamed";
      readonly arg: Arg;
      readonly firstNamed: Arg & { readonly name: Name };
      readonly would: P | undefined;
    }
  /** The first positional argument beyond the positional parameters (later ones make no step);
   *  `positionalCount` is the number of positional arguments written. */
  | { readonly kind: "tooManyPositional"; readonly arg: Arg; readonly positionalCount: number }
  /** A name that is no parameter; `names` are the parameters' names, for "did you mean". */
  | { readonly kind: "unknownName"; readonly arg: Arg & { readonly name: Name }; readonly names: readonly string[] }
  /** A parameter given a second time; `first` is where it was given first. */
  | {
      readonly kind: "duplicate";
      readonly arg: Arg & { readonly name: Name };
      readonly param: P;
      readonly first: Span;
    };

export interface Binding<P extends Bindable> {
  readonly steps: readonly BindStep<P>[];
  /** Parameters without a default that no argument binds, in parameter order. */
  readonly missing: readonly P[];
}

/** Binds `args` to `positional` (in order) and to `named` by name (every parameter a name may give:
 *  the positional ones, the options, the universal options; the first of a name wins). */
export function bindArguments<P extends Bindable>(
  positional: readonly P[],
  named: readonly P[],
  args: readonly Arg[],
): Binding<P> {
  const byName = new Map<string, P>();
  for (const p of named) if (!byName.has(p.name)) byName.set(p.name, p);
  const steps: BindStep<P>[] = [];
  const givenAt = new Map<string, Span>();
  let firstNamed: (Arg & { readonly name: Name }) | undefined;
  let position = 0;
  let tooMany = false;
  const positionalCount = args.filter((a) => a.name === null).length;
  const bind = (param: P, arg: Arg): void => {
    givenAt.set(param.name, arg.span);
    steps.push({ kind: "bind", param, arg });
  };

  for (const arg of args) {
    if (arg.name === null) {
      if (firstNamed) {
        // Bind it to the next positional parameter not given yet, so nothing else cascades from it.
        while (position < positional.length && givenAt.has(positional[position]!.name)) position++;
        const would = positional[position++];
        steps.push({ kind: "positionalAfterNamed", arg, firstNamed, would });
        if (would) bind(would, arg);
        continue;
      }
      const param = positional[position++];
      if (!param) {
        if (!tooMany) steps.push({ kind: "tooManyPositional", arg, positionalCount });
        tooMany = true;
        continue;
      }
      bind(param, arg);
      continue;
    }
    const withName = arg as Arg & { readonly name: Name };
    firstNamed ??= withName;
    const param = byName.get(arg.name.name);
    if (!param) {
      steps.push({ kind: "unknownName", arg: withName, names: named.map((p) => p.name) });
      continue;
    }
    const first = givenAt.get(param.name);
    if (first) {
      steps.push({ kind: "duplicate", arg: withName, param, first });
      continue;
    }
    bind(param, arg);
  }
  const missing = named.filter((p) => p.default === undefined && !givenAt.has(p.name));
  return { steps, missing };
}
